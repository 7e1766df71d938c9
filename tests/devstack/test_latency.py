"""Per-event latency read off disk (``orders_lakehouse.devstack.latency``): hand-made Delta logs with
known commit times, so every latency has an exact expected value. No JVM."""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import write_deltalake

from orders_lakehouse.devstack import latency


def commit(table: Path, version: int, at: float, rows: list[dict] | None = None) -> None:
    """Delta commit ``version`` of ``table`` at epoch second ``at``, adding one Parquet file of ``rows``."""
    log = table / "_delta_log"
    log.mkdir(parents=True, exist_ok=True)
    actions: list[dict] = [{"commitInfo": {"timestamp": round(at * 1000), "operation": "WRITE"}}]
    if rows is not None:
        name = f"part-{version:05d}.parquet"
        pq.write_table(pa.Table.from_pylist(rows), table / name)
        actions.append({"add": {"path": name, "size": 1, "modificationTime": 0, "dataChange": True}})
    (log / f"{version:020d}.json").write_text("\n".join(json.dumps(a) for a in actions) + "\n")


def utc(at: float) -> datetime:
    return datetime.fromtimestamp(at, tz=timezone.utc)


def kafka_record(offset: int, born: float) -> dict:
    """A Bronze row's Kafka coordinates and record timestamp."""
    return {"_kafka_topic": "orders", "_kafka_partition": 0, "_kafka_offset": offset,
            "_kafka_timestamp": utc(born)}  # fmt: skip


def record(event_id: str, offset: int) -> dict:
    return {"event_id": event_id, "_source_file": None, "_kafka_topic": "orders",
            "_kafka_partition": 0, "_kafka_offset": offset}  # fmt: skip


def write_event_log(storage: Path, starts: list[float]) -> None:
    """The event log's RUNNING events of ``fact_orders`` refreshes (plus one of another flow)."""
    rows = [
        {"origin": {"flow_name": flow}, "timestamp": utc(at), "level": "INFO",
         "details": json.dumps({"flow_progress": {"status": "RUNNING"}})}
        for flow, at in [("fact_orders", start) for start in starts] + [("dim_date", starts[0] - 0.2)]
    ]  # fmt: skip
    write_deltalake(str(storage / "system" / "events"), pa.Table.from_pylist(rows))


@pytest.fixture
def kafka_run(tmp_path: Path) -> tuple[Path, float]:
    """A Kafka run: Bronze keeps the record timestamps, Silver two commits, two Gold refreshes."""
    base = float(int(time.time()) - 20)
    tables = tmp_path / "tables"
    bronze = [kafka_record(offset, born) for offset, born in enumerate([base, base + 0.5, base + 1.2])]
    commit(tables / "bronze_order_events", 0, base + 1.0, bronze)
    commit(tables / "silver_order_events", 0, base + 2.0, [record("e1", 0), record("e2", 1)])
    commit(tables / "silver_order_events", 1, base + 4.0, [record("e3", 2), record("e1", 0)])
    commit(tables / "fact_orders", 0, base + 3.0, [{"order_id": "o1"}])
    commit(tables / "fact_orders", 1, base + 6.0, [{"order_id": "o1"}])
    write_event_log(tmp_path, [base + 1.5, base + 5.0])
    return tmp_path, base


def test_kafka_latencies_are_exact(kafka_run: tuple[Path, float]) -> None:
    storage, base = kafka_run
    figures = latency.latencies(storage, landing=None)
    # e1 born base, Silver v0 at +2, first refresh starting after +2 starts at +5, commits at +6.
    # e2 born +0.5; e3 born +1.2, Silver v1 at +4 (e1's second copy keeps its first commit).
    assert [round(v, 3) for v in figures["silver"]] == [2.0, 1.5, 2.8]
    assert [round(v, 3) for v in figures["gold"]] == [6.0, 5.5, 4.8]
    assert [round(p - base, 3) for p in figures["produced"]] == [0.0, 0.5, 1.2]
    assert (figures["missing_source"], figures["gold_refreshes"]) == (0, 2)


def test_files_latency_uses_the_landing_files_visible_time(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    landed = landing / "batch-1.json"
    landed.write_text("{}\n")
    visible = os.stat(landed).st_ctime
    tables = tmp_path / "storage" / "tables"
    silver_row = {"event_id": "e1", "_source_file": landed.resolve().as_uri(), "_kafka_topic": None,
                  "_kafka_partition": None, "_kafka_offset": None}  # fmt: skip
    unknown = {**silver_row, "event_id": "e2", "_source_file": "file:/elsewhere/gone.json"}
    commit(tables / "silver_order_events", 0, visible + 1.25, [silver_row, unknown])
    commit(tables / "fact_orders", 0, visible + 3.0, [{"order_id": "o1"}])
    write_event_log(tmp_path / "storage", [visible + 2.0])
    figures = latency.latencies(tmp_path / "storage", landing)
    assert [round(v, 2) for v in figures["silver"]] == [1.25]
    assert [round(v, 2) for v in figures["gold"]] == [3.0]
    assert figures["missing_source"] == 1  # a file no longer in the landing folder is counted, not guessed


def test_watch_reads_only_new_commits_and_keeps_the_last_window(kafka_run: tuple[Path, float]) -> None:
    storage, base = kafka_run
    watch = latency.LatencyWatch(storage, landing=None, window_s=60)
    first = watch.update()
    assert (first["silver"]["n"], first["silver"]["p50"], first["gold"]["n"]) == (3, 2.0, 3)
    assert watch.update()["silver"]["n"] == 3  # nothing new: the same three events, not six
    tables = storage / "tables"
    commit(tables / "bronze_order_events", 1, base + 7.0, [kafka_record(3, base + 7.0)])
    commit(tables / "silver_order_events", 2, base + 7.5, [record("e4", 3)])
    after = watch.update()
    assert (after["silver"]["n"], after["silver"]["max"]) == (4, 2.8)
    assert after["gold"]["n"] == 3  # e4 has no Gold refresh after its Silver commit yet
    narrow = latency.LatencyWatch(storage, landing=None, window_s=time.time() - (base + 3.0))
    assert narrow.update()["silver"]["n"] == 2  # only the Silver commits of the last window (v1, v2)


def test_percentiles_of_nothing_and_of_a_ramp() -> None:
    assert latency.percentiles([]) == {"p50": None, "p95": None, "p99": None, "max": None, "n": 0}
    ramp = [float(v) for v in range(1, 101)]
    assert latency.percentiles(ramp) == {"p50": 51.0, "p95": 96.0, "p99": 100.0, "max": 100.0, "n": 100}
    assert latency.backlog_grows(ramp, ramp) is True
    assert latency.backlog_grows(ramp, [1.0] * 100) is False


def test_live_view_and_demo_summary_show_p95_latency(kafka_run: tuple[Path, float]) -> None:
    from rich.console import Console

    from orders_lakehouse.devstack import demo
    from orders_lakehouse.devstack.live import DemoState, render

    storage, _ = kafka_run
    state = DemoState(
        source="kafka", tables_dir=storage / "tables", latency_watch=latency.LatencyWatch(storage, None)
    )
    state.refresh_tables()
    console = Console(width=160, record=True, file=open(os.devnull, "w"))  # noqa: SIM115
    console.print(render(state))
    # Silver latencies 1.5 / 2.0 / 2.8 s, Gold 4.8 / 5.5 / 6.0 s: p95 is the largest of three.
    assert "p95 produced → Silver 2.8s, → Gold 6.0s (events of the last minute)" in console.export_text()

    truth = {"messages": 3, "valid_events": 3, "duplicate_messages": 0, "bad_messages": 0, "late_events": 0,
             "orders": {}}  # fmt: skip
    outcome = demo.DemoOutcome(truth=truth, latency=demo._latency(storage, None))
    console.print(demo.summary(outcome, demo.DemoOptions(source="kafka")))
    text = console.export_text()
    assert "latency → Silver p50 / p95 / p99" in text and "2.0 / 2.8 / 2.8 s" in text
    assert "latency → Gold p50 / p95 / p99" in text and "5.5 / 6.0 / 6.0 s" in text
