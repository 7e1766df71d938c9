"""The event log is complete after a ``kill -9``: a small pipeline (a streaming table over JSON
files, a second one with a drop expectation over it) runs continuously, is killed while a batch is
in flight, and the next (triggered) update recovers the dead update's journaled events, closes it
with an ``update_progress`` FAILED event, and every committed batch of both flows has exactly one
``flow_progress`` event with its row count.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crash_lab import kill_group, start_localdlt, wait_until
from fault_ledger import Record, record
from layer_checks import missing_events
from storage_probe import StorageProbe

pytestmark = [pytest.mark.reliability, pytest.mark.slow, pytest.mark.timeout(2400)]

PIPELINE = """
import dlt

@dlt.table
def events_bronze():
    return (spark.readStream.format("cloudFiles").option("cloudFiles.format", "json")
            .schema("event_id STRING, amount INT").load(spark.conf.get("test.landing")))

@dlt.table
@dlt.expect_or_drop("positive", "amount > 0")
def events_silver():
    return dlt.read_stream("events_bronze")
"""


def _land(landing: Path, index: int, events: int = 50) -> None:
    staging = landing.parent / f".{index}.tmp"
    staging.write_text(
        "".join(json.dumps({"event_id": f"{index}-{n}", "amount": n}) + "\n" for n in range(events))
    )
    staging.replace(landing / f"f{index}.json")


def test_events_of_a_killed_update_are_recovered(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    pipeline, landing, storage = tmp_path / "pipeline", tmp_path / "landing", tmp_path / "storage"
    pipeline.mkdir()
    landing.mkdir()
    (pipeline / "p.py").write_text(PIPELINE)
    conf, log_file = {"test.landing": str(landing)}, tmp_path / "localdlt.log"
    journal = storage / "system" / "event_journal"
    _land(landing, 0)
    assert (
        start_localdlt([pipeline], storage, conf, log_file=log_file, continuous=False).wait(timeout=1200) == 0
    )
    assert list(journal.iterdir()) == []  # an update that ends cleanly leaves no journal

    _land(landing, 1)
    running = start_localdlt(
        [pipeline], storage, {**conf, "pipelines.trigger.interval": "1 second"}, log_file=log_file
    )
    probe = StorageProbe(storage)
    wait_until(lambda: len(probe.commits("events_silver")) >= 2, 1200, "silver's second batch", running)
    _land(landing, 2)
    wait_until(lambda: len(probe.offsets("events_bronze")) >= 3, 600, "bronze's third batch", running)
    kill_group(running)
    killed = [p.name for p in journal.iterdir()]
    assert len(killed) == 1  # the dead update's journal

    _land(landing, 3)
    assert (
        start_localdlt([pipeline], storage, conf, log_file=log_file, continuous=False).wait(timeout=1200) == 0
    )
    assert list(journal.iterdir()) == []

    spark = request.getfixturevalue("spark")
    audit = missing_events(spark, storage, ["events_bronze", "events_silver"])
    events = spark.read.format("delta").load(str(storage / "system" / "events"))
    failed = [
        r[0]
        for r in events.where("event_type = 'update_progress' AND level = 'ERROR'")
        .select("origin.update_id")
        .collect()
    ]
    bronze = spark.read.format("delta").load(str(storage / "tables" / "events_bronze"))
    record(
        Record(
            "event log after kill -9",
            faults=1,
            survived=int(not audit.missing and not audit.duplicated),
            duplicated=len(audit.duplicated),
            events_missing=len(audit.missing),
            details={"batches_audited": audit.batches},
        )
    )
    assert (audit.missing, audit.duplicated) == ([], [])
    assert audit.batches >= 6
    assert failed == killed
    assert (bronze.count(), bronze.select("event_id").distinct().count()) == (200, 200)
