"""The conf a streaming flow starts with (``localdlt.stream_conf``).

Flows whose only stateful operators are deduplications start without Spark's no-data
micro-batches: one micro-batch per update instead of a data batch plus an empty one, with the same
rows; every other stateful plan keeps Spark's default. Stateful flows start with at most one state
partition per core."""

from __future__ import annotations

import json
import os
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from localdlt import storage as storage_layout
from localdlt.runner import run_update
from localdlt.stream_conf import NO_DATA_BATCHES_KEY, SHUFFLE_PARTITIONS_KEY, stream_conf

CORES = str(os.cpu_count())  # the test session: local[*], one shuffle partition per core
STATEFUL = {SHUFFLE_PARTITIONS_KEY: CORES}
OFF = {**STATEFUL, NO_DATA_BATCHES_KEY: "false"}

PIPELINE = '''
import dlt

@dlt.table
def bronze():
    return (spark.readStream.schema("event_id STRING, event_time TIMESTAMP, amount INT")
            .json(spark.conf.get("test.landing")))

@dlt.table
def deduplicated():
    return (dlt.read_stream("bronze").withWatermark("event_time", "10 minutes")
            .dropDuplicatesWithinWatermark(["event_id"]))
'''


def _rate(spark: SparkSession) -> DataFrame:
    return spark.readStream.format("rate").load().withColumn("key", F.col("value") % 3)


def test_only_deduplicating_plans_turn_no_data_batches_off(spark: SparkSession) -> None:
    watermarked = _rate(spark).withWatermark("timestamp", "1 minute")
    assert stream_conf(watermarked.dropDuplicatesWithinWatermark(["key"])) == OFF
    assert stream_conf(watermarked.dropDuplicates(["key", "timestamp"]).where("value > 1")) == OFF
    assert stream_conf(_rate(spark).dropDuplicates(["key"]).unionByName(_rate(spark))) == OFF
    # Stateless: Spark runs no no-data batch anyway, nothing to set.
    assert stream_conf(_rate(spark).where("value > 1").select("key")) == {}
    # A windowed aggregation emits its final rows in a no-data batch: Spark's default stays.
    windows = watermarked.groupBy(F.window("timestamp", "10 seconds")).count()
    assert stream_conf(windows) == STATEFUL
    assert stream_conf(watermarked.dropDuplicatesWithinWatermark(["key"]).groupBy("key").count()) == STATEFUL
    other = _rate(spark).withWatermark("timestamp", "1 minute").withColumnRenamed("key", "other_key")
    deduplicated = watermarked.dropDuplicatesWithinWatermark(["key"])
    stream_stream_join = deduplicated.join(other, F.col("key") == F.col("other_key"))
    assert stream_conf(stream_stream_join) == STATEFUL


def test_state_partitions_are_capped_at_the_cores_and_never_raised(spark: SparkSession) -> None:
    assert spark.sparkContext.defaultParallelism == int(CORES)
    deduplicated = _rate(spark).dropDuplicates(["key"])
    saved = spark.conf.get(SHUFFLE_PARTITIONS_KEY)
    try:
        spark.conf.set(SHUFFLE_PARTITIONS_KEY, "8")  # localdlt's production default on 2 cores
        assert stream_conf(deduplicated)[SHUFFLE_PARTITIONS_KEY] == CORES
        spark.conf.set(SHUFFLE_PARTITIONS_KEY, "1")
        assert stream_conf(deduplicated)[SHUFFLE_PARTITIONS_KEY] == "1"
    finally:
        spark.conf.set(SHUFFLE_PARTITIONS_KEY, saved)


def _batches(checkpoint: Path) -> list[int]:
    return sorted(int(path.name) for path in (checkpoint / "offsets").iterdir() if path.name.isdigit())


def test_a_deduplicating_stream_runs_one_batch_per_update_with_the_same_rows(
    spark: SparkSession, tmp_path: Path, write_pipeline, landing, rows
) -> None:
    first = [
        {"event_id": "a", "event_time": "2026-12-01T10:00:00Z", "amount": 1},
        {"event_id": "b", "event_time": "2026-12-01T10:01:00Z", "amount": 2},
        {"event_id": "a", "event_time": "2026-12-01T10:00:00Z", "amount": 1},
    ]
    # An hour later: the watermark moves past "a" and "b"; "b" again (late: dropped) and "c".
    second = [
        {"event_id": "c", "event_time": "2026-12-01T11:00:00Z", "amount": 3},
        {"event_id": "b", "event_time": "2026-12-01T10:01:00Z", "amount": 2},
    ]
    folder = landing("in", "1.json", first)
    pipeline = write_pipeline({"p.py": PIPELINE})
    storage = tmp_path / "storage"
    configuration = {"test.landing": str(folder)}
    layout = storage_layout.Layout(storage)
    saved = spark.conf.get(SHUFFLE_PARTITIONS_KEY)
    spark.conf.set(SHUFFLE_PARTITIONS_KEY, "8")  # localdlt's production default on 2 cores
    try:
        for number in range(2):
            if number == 1:
                landing("in", "2.json", second)
            _update_once(spark, pipeline, storage, configuration, layout, number)
    finally:
        spark.conf.set(SHUFFLE_PARTITIONS_KEY, saved)
    assert rows(storage / "tables" / "deduplicated", "event_id", "amount") == [("a", 1), ("b", 2), ("c", 3)]
    assert _batches(layout.checkpoint("bronze")) == [0, 1]
    # The session's own settings are untouched: only the flow's stream started with them.
    assert spark.conf.get(NO_DATA_BATCHES_KEY) == "true"
    # The dedup state has one store per core, recorded in the checkpoint (Spark keeps it for good).
    checkpoint = layout.checkpoint("deduplicated")
    assert sorted(path.name for path in (checkpoint / "state" / "0").iterdir() if path.name.isdigit()) == [
        str(n) for n in range(int(CORES))]
    offsets = json.loads((checkpoint / "offsets" / "0").read_text().splitlines()[1])
    assert offsets["conf"][SHUFFLE_PARTITIONS_KEY] == CORES


def _update_once(spark: SparkSession, pipeline: Path, storage: Path, configuration: dict[str, str],
                 layout: storage_layout.Layout, number: int) -> None:
    result = run_update([pipeline], storage, spark=spark, configuration=configuration)
    assert result.ok, result.failed_flows()
    # One micro-batch per update: no empty batch after the one that moved the watermark.
    assert _batches(layout.checkpoint("deduplicated")) == list(range(number + 1))
