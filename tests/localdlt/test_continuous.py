"""Continuous mode: every streaming flow runs at once until stopped; materialized views are
recomputed when it stops. Stopped by an event, never by timing assertions."""

from __future__ import annotations

import threading
from pathlib import Path

from localdlt.results import FlowResult
from localdlt.runner import run_update

PIPELINE = """
import dlt
from pyspark.sql import functions as F

@dlt.table
def bronze():
    return spark.readStream.schema("id INT").json(spark.conf.get("test.landing"))

@dlt.table
def silver():
    return dlt.read_stream("bronze").withColumn("twice", F.col("id") * 2)

@dlt.table
def gold():
    return dlt.read("silver").agg(F.count("*").alias("n"))
"""


def test_continuous_runs_all_streams_until_stopped(
    spark, tmp_path: Path, write_pipeline, landing, rows
) -> None:
    folder = landing("in", "1.json", [{"id": 1}, {"id": 2}])
    stop = threading.Event()

    def listener(flow: FlowResult) -> None:
        # Stop once both streams have written the two rows (they run concurrently).
        if flow.name == "silver" and flow.rows_written >= 2:
            stop.set()

    storage = tmp_path / "storage"
    result = run_update(
        [write_pipeline({"p.py": PIPELINE})],
        storage,
        spark=spark,
        continuous=True,
        duration=300,
        stop_event=stop,
        listener=listener,
        configuration={"test.landing": str(folder), "pipelines.trigger.interval": "500 milliseconds"},
    )
    assert result.ok, result.failed_flows()
    assert {n: f.status for n, f in result.flows.items()} == {
        "bronze": "COMPLETED",
        "silver": "COMPLETED",
        "gold": "COMPLETED",
    }
    assert rows(storage / "tables" / "silver", "id", "twice") == [(1, 2), (2, 4)]
    assert rows(storage / "tables" / "gold", "n") == [(2,)]  # recomputed when the run stopped
    assert not spark.streams.active
