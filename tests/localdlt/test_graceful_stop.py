"""Stopping a continuous update lets a stream's in-flight micro-batch commit instead of
interrupting it: the batch's rows are in the table and its flow_progress event in the event log
when run_update returns, and nothing is logged as an error."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import pytest

from localdlt.runner import run_update
from localdlt.scheduling import stop_between_batches

# The UDF marks that the batch is being written, then holds it for three seconds: the test stops
# the update inside that window. An interrupted batch would leave `bronze` without its rows (the
# next update would rerun it); a graceful stop waits for its commit.
PIPELINE = '''
import os
import time

import dlt
from pyspark.sql import functions as F

MARKER = spark.conf.get("test.marker")


def hold_the_batch(n):
    if not os.path.exists(MARKER):
        with open(MARKER, "w") as marker:
            marker.write("writing\\n")
        time.sleep(3)
    return n


hold_udf = F.udf(hold_the_batch, "int").asNondeterministic()


@dlt.table
def bronze():
    return spark.readStream.schema("id INT").json(spark.conf.get("test.landing")).select(
        hold_udf("id").alias("id"))
'''


def test_stopping_a_continuous_update_commits_the_batch_in_flight(
    spark, tmp_path: Path, write_pipeline, landing, rows, events, caplog: pytest.LogCaptureFixture
) -> None:
    folder = landing("in", "1.json", [{"id": 1}, {"id": 2}, {"id": 3}])
    marker = tmp_path / "batch-in-flight"
    stop = threading.Event()

    def stop_while_the_batch_is_written() -> None:
        while not marker.exists() and not stop.wait(0.05):
            pass
        stop.set()

    stopper = threading.Thread(target=stop_while_the_batch_is_written, daemon=True)
    stopper.start()
    storage = tmp_path / "storage"
    with caplog.at_level(logging.INFO, logger="localdlt.scheduling"):
        result = run_update(
            [write_pipeline({"p.py": PIPELINE})], storage, spark=spark, continuous=True, duration=600,
            stop_event=stop,
            configuration={"test.landing": str(folder), "test.marker": str(marker),
                           "pipelines.trigger.interval": "500 milliseconds"},
        )
    stopper.join(timeout=5)

    assert marker.exists(), "the update stopped before its first batch began"
    assert result.ok, result.failed_flows()
    assert rows(storage / "tables" / "bronze", "id") == [(1,), (2,), (3,)]
    written = [json.loads(e["details"])["flow_progress"]["metrics"]["num_output_rows"]
               for e in events(storage, "flow_progress")
               if e["origin"]["flow_name"] == "bronze"
               and "num_output_rows" in json.loads(e["details"])["flow_progress"].get("metrics", {})]
    assert sum(written) == 3, written
    assert "stopping flow bronze: waiting for its micro-batch to commit" in caplog.messages
    assert not spark.streams.active


class _Query:
    """A query whose trigger stays active for ``busy_polls`` status reads."""

    def __init__(self, busy_polls: int) -> None:
        self.busy_polls = busy_polls
        self.stopped_while_busy: bool | None = None
        self.isActive = True

    @property
    def status(self) -> dict[str, bool]:
        self.busy_polls -= 1
        return {"isTriggerActive": self.busy_polls >= 0}

    def stop(self) -> None:
        self.stopped_while_busy = self.busy_polls >= 0
        self.isActive = False


def test_a_batch_that_does_not_end_is_interrupted_after_the_grace_period() -> None:
    never_ends = _Query(busy_polls=10**9)
    stop_between_batches("f", never_ends, grace_seconds=0.2)
    assert never_ends.stopped_while_busy is True
    ends_soon = _Query(busy_polls=3)
    stop_between_batches("f", ends_soon, grace_seconds=60)
    assert ends_soon.stopped_while_busy is False
