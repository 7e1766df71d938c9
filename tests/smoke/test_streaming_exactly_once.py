"""A file → Delta stream with availableNow is exactly-once across a restart."""

import json
import os
from pathlib import Path

from pyspark.sql import SparkSession

SCHEMA = "event_id string, amount int"


def _land(folder: Path, name: str, events: list[dict]) -> None:
    """Write a JSON-lines file atomically (temp name outside the folder, then rename)."""
    staging = folder.parent / f".staging-{name}"
    staging.write_text("".join(json.dumps(event) + "\n" for event in events))
    os.replace(staging, folder / name)


def _run_once(spark: SparkSession, landing: Path, table: Path, checkpoint: Path) -> None:
    query = (
        spark.readStream.schema(SCHEMA)
        .json(str(landing))
        .writeStream.format("delta")
        .option("checkpointLocation", str(checkpoint))
        .trigger(availableNow=True)
        .start(str(table))
    )
    query.awaitTermination()


def test_file_stream_to_delta_is_exactly_once_across_restart(spark: SparkSession, tmp_path: Path) -> None:
    landing, table, checkpoint = tmp_path / "landing", tmp_path / "table", tmp_path / "checkpoint"
    landing.mkdir()
    _land(landing, "batch-1.json", [{"event_id": "a", "amount": 1}, {"event_id": "b", "amount": 2}])

    _run_once(spark, landing, table, checkpoint)
    _run_once(spark, landing, table, checkpoint)  # restart with nothing new: writes nothing
    _land(landing, "batch-2.json", [{"event_id": "c", "amount": 3}])
    _run_once(spark, landing, table, checkpoint)  # restart with one new file: only that file

    rows = sorted(tuple(row) for row in spark.read.format("delta").load(str(table)).collect())
    assert rows == [("a", 1), ("b", 2), ("c", 3)]
    commits = spark.sql(f"DESCRIBE HISTORY delta.`{table}`").filter("operation = 'STREAMING UPDATE'").count()
    assert commits == 2


def test_replayed_batch_after_lost_commit_is_not_duplicated(spark: SparkSession, tmp_path: Path) -> None:
    """Deleting the last commit file simulates a driver killed after the Delta commit but before
    Spark's own commit log: the batch is replayed and Delta's txn id skips it."""
    landing, table, checkpoint = tmp_path / "landing", tmp_path / "table", tmp_path / "checkpoint"
    landing.mkdir()
    _land(landing, "batch-1.json", [{"event_id": "a", "amount": 1}])
    _run_once(spark, landing, table, checkpoint)
    for lost in ("0", ".0.crc"):
        (checkpoint / "commits" / lost).unlink()

    _run_once(spark, landing, table, checkpoint)

    assert [tuple(row) for row in spark.read.format("delta").load(str(table)).collect()] == [("a", 1)]
