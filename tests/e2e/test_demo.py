"""The demo's own plumbing, without Spark (``--no-pipeline``): bounded runs, Ctrl-C, the summary table."""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

import pytest
from rich.console import Console

from orders_lakehouse.devstack import demo
from orders_lakehouse.devstack.reconcile import Check
from orders_lakehouse.producers.files import AtomicFileProducer


def landed_lines(landing: Path) -> list[bytes]:
    return [line for path in sorted(landing.iterdir()) for line in path.read_bytes().splitlines()]


def test_bounded_demo_without_pipeline_sends_exactly_rate_times_duration(tmp_path: Path) -> None:
    options = demo.DemoOptions(duration=2.0, rate=40.0, output=tmp_path, seed=3, live=False, pipeline=False)
    outcome = demo.run_demo(options, console=Console(file=open(os.devnull, "w")), handle_signals=False)  # noqa: SIM115
    truth = json.loads((tmp_path / "ground-truth.json").read_text())
    assert truth["messages"] == outcome.truth["messages"] == 80
    assert len(landed_lines(tmp_path / "landing")) == 80
    assert outcome.update is None and outcome.checks == [] and outcome.ok
    assert list((tmp_path / ".landing.staging").iterdir()) == []


def test_ctrl_c_stops_cleanly_and_the_truth_matches_what_landed(tmp_path: Path) -> None:
    options = demo.DemoOptions(duration=None, rate=200.0, output=tmp_path, seed=4, live=False, pipeline=False)
    handler_before = signal.getsignal(signal.SIGINT)  # PySpark's own when a SparkContext exists
    threading.Timer(1.5, os.kill, args=(os.getpid(), signal.SIGINT)).start()
    outcome = demo.run_demo(options, console=Console(file=open(os.devnull, "w")), handle_signals=True)  # noqa: SIM115
    sent = outcome.truth["messages"]
    assert sent > 0  # it ran until the signal; how many depends on the wall clock
    assert len(landed_lines(tmp_path / "landing")) == sent  # the last batch landed, nothing half-written
    assert json.loads((tmp_path / "ground-truth.json").read_text())["messages"] == sent
    assert signal.getsignal(signal.SIGINT) is handler_before  # the handler was put back


def test_a_failing_producer_ends_the_demo_with_its_error_and_the_truth_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The parts unwind on the simulator's error: the error is raised, the ground truth is written."""

    def disk_full(self: AtomicFileProducer) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(AtomicFileProducer, "flush", disk_full)
    options = demo.DemoOptions(duration=0.5, rate=40.0, output=tmp_path, seed=5, live=False, pipeline=False)
    with pytest.raises(OSError, match="^disk full$"):
        demo.run_demo(options, console=Console(file=open(os.devnull, "w")), handle_signals=False)  # noqa: SIM115
    assert json.loads((tmp_path / "ground-truth.json").read_text())["messages"] == 20
    assert list((tmp_path / "landing").iterdir()) == []


def test_summary_marks_each_check() -> None:
    outcome = demo.DemoOutcome(
        truth={
            "messages": 10,
            "valid_events": 8,
            "duplicate_messages": 1,
            "bad_messages": 1,
            "late_events": 0,
            "orders": {"o": {}},
        },
        checks=[
            Check("Bronze rows = messages sent", 10, 10),
            Check("quarantine rows = bad messages injected", 1, 0),
        ],
    )
    console = Console(width=140, record=True, file=open(os.devnull, "w"))  # noqa: SIM115
    console.print(demo.summary(outcome, demo.DemoOptions()))
    text = console.export_text()
    assert "Bronze rows = messages sent" in text and "✓" in text and "✗" in text
    assert not outcome.ok


def test_live_view_shows_rows_dropped_status_alerts_and_freshness(tmp_path: Path) -> None:
    from localdlt.results import FlowResult

    from orders_lakehouse.devstack.live import DemoState, render

    state = DemoState(source="kafka", tables_dir=tmp_path)
    state.sent, state.by_category = 12, {"valid": 10, "bad": 2}
    state.counts = {"bronze_order_events": 12, "silver_order_events": 10, "silver_order_events_quarantine": 2}
    state.on_flow(
        FlowResult("silver_order_events", "silver_order_events", status="RUNNING", dropped_records=2)
    )
    state.on_flow(FlowResult("fact_orders", "fact_orders", status="FAILED", error="boom"))
    state.alerts = [{"alert_type": "dq_drop_rate", "message": "16.7% of rows quarantined"}]
    state.freshness = 2.5
    console = Console(width=160, record=True, file=open(os.devnull, "w"))  # noqa: SIM115
    console.print(render(state))
    text = console.export_text()
    for expected in (
        "sent 12 (bad 2, valid 10)",
        "bronze_order_events",
        "silver_order_events_quarantine",
        "RUNNING",
        "FAILED",
        "fact_orders: boom",
        "alerts (1)",
        "dq_drop_rate: 16.7% of rows quarantined",
        "2.5s",
    ):
        assert expected in text, expected
