"""The event log's writes (delta-rs, no Spark job): Spark reads every event back with its columns,
an event log that Spark wrote (as localdlt did before) takes the new commits, and a journal
segment already committed is never written twice (Delta's txnAppId/txnVersion rule)."""

from __future__ import annotations

import json
from pathlib import Path

from localdlt import event_journal
from localdlt.eventlog import EVENT_SCHEMA, EventLog, Origin, read_events

UPDATE = "11111111-2222-3333-4444-555555555555"


def _log(spark, storage: Path) -> EventLog:
    return EventLog(spark, storage / "system" / "events", pipeline_id="p-1", pipeline_name="demo",
                    update_id=UPDATE)


def _spark_wrote_segment(spark, storage: Path, log: EventLog, segment: int, messages: list[str]) -> None:
    """What localdlt's Spark writer did: createDataFrame + an idempotent Delta append."""
    rows = [log._row("flow_progress", message, {"flow_progress": {"status": "RUNNING"}}, Origin(), "INFO",
                     None, None) for message in messages]
    (spark.createDataFrame(rows, EVENT_SCHEMA).write.format("delta").mode("append")
     .option("txnAppId", event_journal.txn_app_id(UPDATE)).option("txnVersion", segment)
     .save(str(storage / "system" / "events")))


def test_events_written_without_spark_read_back_with_every_column(spark, tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    log = _log(spark, storage)
    log.emit("flow_progress", "Flow 'silver' is RUNNING.",
             {"flow_progress": {"status": "RUNNING", "metrics": {"num_output_rows": 7}}},
             origin=Origin(flow_name="silver", dataset_name="silver", batch_id=3), level="METRICS",
             event_id="batch-3")
    log.flush()
    log.emit("flow_progress", "Flow 'silver' has FAILED.", {"flow_progress": {"status": "FAILED"}},
             origin=Origin(flow_name="silver", dataset_name="silver"), level="ERROR",
             error={"exceptions": [{"class_name": "ValueError", "message": "bad"}], "fatal": True})
    log.flush()

    events = read_events(spark, storage)
    assert events.schema.simpleString() == EVENT_SCHEMA.simpleString()
    got = [row.asDict(recursive=True) for row in events.collect()]
    assert [(e["id"], e["message"], e["level"], e["maturity_level"], e["event_type"]) for e in got] == [
        ("batch-3", "Flow 'silver' is RUNNING.", "METRICS", "STABLE", "flow_progress"),
        (got[1]["id"], "Flow 'silver' has FAILED.", "ERROR", "STABLE", "flow_progress"),
    ]
    assert got[0]["origin"] == {"pipeline_id": "p-1", "pipeline_name": "demo", "update_id": UPDATE,
                                "flow_name": "silver", "dataset_name": "silver", "batch_id": 3}
    assert json.loads(got[0]["details"])["flow_progress"]["metrics"] == {"num_output_rows": 7}
    assert json.loads(got[1]["error"])["exceptions"][0]["class_name"] == "ValueError"
    assert got[0]["sequence"]["control_plane_seq_no"] < got[1]["sequence"]["control_plane_seq_no"]
    assert got[0]["timestamp"] <= got[1]["timestamp"]
    assert log.recorded("batch-3") and not log.recorded("batch-4")
    history = spark.sql(f"DESCRIBE HISTORY delta.`{storage / 'system' / 'events'}`").collect()
    assert len(history) == 2  # one commit per flush


def test_a_spark_written_event_log_takes_new_commits_and_no_segment_is_written_twice(
    spark, tmp_path: Path
) -> None:
    storage = tmp_path / "storage"
    log = _log(spark, storage)
    _spark_wrote_segment(spark, storage, log, 0, ["from spark, segment 0"])
    _spark_wrote_segment(spark, storage, log, 1, ["from spark, segment 1"])
    row = log._row("flow_progress", "replayed", {"flow_progress": {}}, Origin(), "INFO", None, None)

    log._append(UPDATE, 1, [row])  # segment 1 is committed (by Spark): skipped
    log._append(UPDATE, 2, [row])  # a new segment: written
    log._append(UPDATE, 2, [row])  # and only once
    log._append(UPDATE, 0, [row])  # an older segment: skipped too

    messages = [r["message"] for r in read_events(spark, storage).collect()]
    assert messages == ["from spark, segment 0", "from spark, segment 1", "replayed"]
    other = "99999999-2222-3333-4444-555555555555"  # another update's segments are its own
    log._append(other, 0, [row])
    assert len(read_events(spark, storage).collect()) == 4
