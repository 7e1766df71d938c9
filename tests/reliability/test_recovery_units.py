"""Fast checks (no Spark) of the pieces that make a restart safe: the event journal's recovery and
the checkpoint check. They run in ``make test`` too; the real crashes are the ``reliability`` tests."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from localdlt import event_journal
from localdlt.recovery import CheckpointCorruptError, check_checkpoint, is_disk_full


def _row(event_type: str, state: str | None = None, event_id: str = "e") -> tuple:
    details = json.dumps(
        {"update_progress": {"state": state}} if state else {"flow_progress": {"status": "RUNNING"}}
    )
    return (
        event_id,
        (1,),
        ("p", "n", "u", "f", "d", 3),
        datetime(2026, 12, 2, tzinfo=timezone.utc),
        "m",
        "INFO",
        "STABLE",
        None,
        details,
        event_type,
    )


def test_journal_rows_round_trip(tmp_path: Path) -> None:
    journal = event_journal.EventJournal(tmp_path, "u1")
    journal.append(_row("flow_progress", event_id="a"))
    rows = list(event_journal.leftovers(tmp_path))
    assert rows == [("u1", [(0, [_row("flow_progress", event_id="a")])])]


def test_recover_writes_every_segment_in_order_and_closes_an_unfinished_update(tmp_path: Path) -> None:
    journal = event_journal.EventJournal(tmp_path, "dead")
    journal.append(_row("flow_progress", event_id="a"))
    journal.rotate()
    journal.append(_row("flow_progress", event_id="b"))
    # A torn last line, as a kill inside a write would leave.
    with (tmp_path / "dead" / "00000001.jsonl").open("a") as out:
        out.write('["c", [2]')
    written: list[tuple[str, int, list[str]]] = []
    count = event_journal.recover(
        tmp_path,
        lambda update, segment, rows: written.append((update, segment, [r[0] for r in rows])),
        interrupted=lambda update, last: _row("update_progress", "FAILED", event_id=f"closed-{update}"),
    )
    assert written == [("dead", 0, ["a"]), ("dead", 1, ["b"]), ("dead", 2, ["closed-dead"])]
    assert count == 3
    assert not (tmp_path / "dead").exists()


def test_recover_adds_no_failure_to_an_update_that_finished(tmp_path: Path) -> None:
    journal = event_journal.EventJournal(tmp_path, "done")
    journal.append(_row("update_progress", "COMPLETED", event_id="z"))
    written: list[int] = []
    event_journal.recover(
        tmp_path,
        lambda update, segment, rows: written.append(len(rows)),
        interrupted=lambda update, last: pytest.fail("the update had finished"),
    )
    assert written == [1]


def test_recover_leaves_the_live_update_alone(tmp_path: Path) -> None:
    event_journal.EventJournal(tmp_path, "live").append(_row("flow_progress"))
    assert (
        event_journal.recover(
            tmp_path, lambda *a: pytest.fail("must not write"), interrupted=lambda *a: (), exclude="live"
        )
        == 0
    )
    assert (tmp_path / "live" / "00000000.jsonl").exists()


def _checkpoint(tmp_path: Path) -> Path:
    checkpoint = tmp_path / "checkpoints" / "bronze"
    for folder in ("offsets", "commits", "sources/0"):
        (checkpoint / folder).mkdir(parents=True)
    (checkpoint / "metadata").write_text('{"id":"7d3c"}')
    (checkpoint / "offsets" / "0").write_text('v1\n{"batchWatermarkMs":0}\n{"logOffset":0}')
    (checkpoint / "offsets" / "1").write_text('v1\n{"batchWatermarkMs":0}\n-')
    (checkpoint / "commits" / "0").write_text('v1\n{"nextBatchWatermarkMs":0}')
    (checkpoint / "sources" / "0" / "0").write_text('v1\n{"path":"file:/x","timestamp":1,"batchId":0}')
    (checkpoint / "localdlt_app_id").write_text("0b5c3b8e-8f0e-4a44-9d7e-2c7d1f1f8b11")
    (checkpoint / "localdlt_last_batch").write_text("0")
    return checkpoint


def test_a_sound_checkpoint_passes(tmp_path: Path) -> None:
    check_checkpoint("bronze", "bronze", _checkpoint(tmp_path))
    check_checkpoint("bronze", "bronze", tmp_path / "not-there")


@pytest.mark.parametrize(
    ("relative", "content", "reason"),
    [
        ("offsets/1", b"\xff\xfegarbage", "not UTF-8 text"),
        ("offsets/1", b"garbage", "no version line (v1) at the start"),
        ("commits/0", b"v1\n{not json", "line 2 is not JSON"),
        ("metadata", b"{", "not JSON"),
        ("sources/0/0", b"v1\n{", "line 2 is not JSON"),
        ("localdlt_app_id", b"nope", "not an app id (UUID)"),
        ("localdlt_last_batch", b"x", "not a batch number"),
    ],
)
def test_a_corrupt_file_is_named_with_the_fix(
    tmp_path: Path, relative: str, content: bytes, reason: str
) -> None:
    checkpoint = _checkpoint(tmp_path)
    (checkpoint / relative).write_bytes(content)
    with pytest.raises(CheckpointCorruptError) as caught:
        check_checkpoint("bronze", "bronze_table", checkpoint)
    assert caught.value.params == {
        "flow": "bronze",
        "target": "bronze_table",
        "file": str(checkpoint / relative),
        "reason": reason,
    }
    assert "--full-refresh bronze_table" in str(caught.value)


def test_disk_full_is_recognised_in_py4j_text() -> None:
    assert is_disk_full("java.io.IOException: No space left on device\n\tat java.base/...")
    assert not is_disk_full(ValueError("something else"))


def test_a_kafka_client_giving_up_is_told_the_broker_address_and_topic(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from localdlt.sources import kafka

    monkeypatch.setattr(kafka, "_ENDPOINTS", {})
    gave_up = (
        "StreamingQueryException: org.apache.kafka.common.errors.TimeoutException: "
        "Timed out waiting for a node assignment. Call: listNodes"
    )
    assert kafka.explain_kafka_failure(gave_up) == gave_up  # no Kafka endpoint known: unchanged
    kafka.rewrite_kafka_options(
        {"kafka.bootstrap.servers": "127.0.0.1:9999", "subscribe": "orders", "kafka.sasl.jaas.config": "x;"}
    )
    assert kafka.explain_kafka_failure(gave_up) == (
        f"{gave_up} — no Kafka broker answered at bootstrap servers 127.0.0.1:9999 (subscribe orders): "
        "is it up and reachable?"
    )
    other = "AnalysisException: no such column"
    assert kafka.explain_kafka_failure(other) == other


def _event(event_type: str, flow: str, level: str, at: datetime, event_id: str) -> tuple:
    details = json.dumps({"planning_information": {}} if event_type == "planning_information" else {})
    origin = ("p", "n", "dead", flow, flow, None)
    return (event_id, (1,), origin, at, "m", level, "STABLE", None, details, event_type)


def _delta_commit(table: Path, version: int, operation: str, at_ms: int, metrics: dict) -> None:
    (table / "_delta_log").mkdir(parents=True, exist_ok=True)
    info = {"commitInfo": {"timestamp": at_ms, "operation": operation, "operationMetrics": metrics}}
    (table / "_delta_log" / f"{version:020d}.json").write_text(json.dumps(info) + "\n")


def test_a_view_refresh_committed_before_the_kill_gets_its_event_back(tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    root = storage / "system" / event_journal.JOURNAL_DIR
    planned = datetime(2026, 12, 2, 9, 0, 0, tzinfo=timezone.utc)
    at_ms = int(planned.timestamp() * 1000)
    # gold_a: refreshed and reported before the kill; gold_b: committed (v2, a MERGE), then killed.
    journal = event_journal.EventJournal(root, "dead")
    journal.append(_event("planning_information", "gold_a", "INFO", planned, "pa"))
    journal.append(_event("flow_progress", "gold_a", "METRICS", planned, "ma"))
    journal.append(_event("planning_information", "gold_b", "INFO", planned, "pb"))
    journal.rotate()
    journal.discard([0])  # flushed: only the refresh index still knows gold_b was being refreshed
    for version, operation, when, metrics in (
        (0, "CREATE TABLE", at_ms - 60_000, {}),
        (1, "WRITE", at_ms - 30_000, {"numOutputRows": "5"}),  # an earlier refresh, reported
        (2, "MERGE", at_ms + 800, {"numTargetRowsInserted": "2", "numTargetRowsUpdated": "3"}),
        (3, "OPTIMIZE", at_ms + 900, {}),
    ):
        _delta_commit(storage / "tables" / "gold_b", version, operation, when, metrics)
    _delta_commit(storage / "tables" / "gold_a", 0, "WRITE", at_ms + 500, {"numOutputRows": "4"})
    written: list[tuple] = []
    event_journal.recover(
        root,
        lambda update, segment, rows: written.extend(rows),
        interrupted=lambda update, last: _row("update_progress", "FAILED", event_id="closed"),
    )
    recovered = [r for r in written if r[0] != "closed"]
    assert [(r[2][3], r[5], r[9], json.loads(r[8])) for r in recovered] == [
        (
            "gold_b",
            "METRICS",
            "flow_progress",
            {"flow_progress": {"status": "RUNNING", "metrics": {"num_output_rows": 5},
                               "recovered_from_table_version": 2}},
        )
    ]  # fmt: skip
    assert recovered[0][3] == datetime.fromtimestamp((at_ms + 800) / 1000, timezone.utc)
    assert [r[0] for r in written][-1] == "closed"
