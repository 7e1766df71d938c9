"""Streaming flows whose only stateful operators are deduplications start without Spark's no-data
micro-batches (``localdlt.no_data_batches``): one micro-batch per update instead of a data batch
plus an empty one, with the same rows; every other stateful plan keeps Spark's default."""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from localdlt import storage as storage_layout
from localdlt.no_data_batches import NO_DATA_BATCHES_KEY, stream_conf
from localdlt.runner import run_update

OFF = {NO_DATA_BATCHES_KEY: "false"}

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
    assert stream_conf(windows) == {}
    assert stream_conf(watermarked.dropDuplicatesWithinWatermark(["key"]).groupBy("key").count()) == {}
    other = _rate(spark).withWatermark("timestamp", "1 minute").withColumnRenamed("key", "other_key")
    deduplicated = watermarked.dropDuplicatesWithinWatermark(["key"])
    stream_stream_join = deduplicated.join(other, F.col("key") == F.col("other_key"))
    assert stream_conf(stream_stream_join) == {}


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
    for number in range(2):
        if number == 1:
            landing("in", "2.json", second)
        result = run_update([pipeline], storage, spark=spark, configuration=configuration)
        assert result.ok, result.failed_flows()
        # One micro-batch per update: no empty batch after the one that moved the watermark.
        assert _batches(layout.checkpoint("deduplicated")) == list(range(number + 1))
    assert rows(storage / "tables" / "deduplicated", "event_id", "amount") == [("a", 1), ("b", 2), ("c", 3)]
    assert _batches(layout.checkpoint("bronze")) == [0, 1]
    # The session's own setting is untouched: only the flow's stream started with it.
    assert spark.conf.get(NO_DATA_BATCHES_KEY) == "true"
