"""CDC flows, sinks and the ``dp`` spelling run by the executor (the CDC engine itself is
tested in tests/localdlt/cdc)."""

from __future__ import annotations

from pathlib import Path

import pytest

from localdlt.runner import run_update

CDC_PIPELINE = """
import dlt
from pyspark import pipelines as dp

@dlt.view
def changes():
    schema = "id INT, name STRING, seq INT, op STRING"
    return spark.readStream.schema(schema).json(spark.conf.get("test.landing"))

dlt.create_streaming_table("current")
dlt.apply_changes(target="current", source="changes", keys=["id"], sequence_by="seq",
                  apply_as_deletes="op = 'D'", except_column_list=["op"])

dp.create_streaming_table("history")
dp.create_auto_cdc_flow(target="history", source="changes", keys=["id"], sequence_by="seq",
                        apply_as_deletes="op = 'D'", except_column_list=["op"], stored_as_scd_type=2,
                        name="history_flow")

SNAPSHOTS = {1: [(1, "a"), (3, "z")], 2: [(1, "b"), (2, "x")]}

def next_snapshot(latest):
    version = (latest or 0) + 1
    if version not in SNAPSHOTS:
        return None
    return spark.createDataFrame(SNAPSHOTS[version], "id INT, name STRING"), version

dp.create_streaming_table("from_snapshots")
dp.create_auto_cdc_from_snapshot_flow(target="from_snapshots", source=next_snapshot, keys=["id"])
"""


@pytest.mark.slow  # the CDC engine's MERGEs: several Spark jobs per batch
def test_cdc_flows_scd1_scd2_and_snapshots(spark, tmp_path: Path, write_pipeline, landing, rows) -> None:
    # Out of order on purpose: a late older update of key 1, key 2 deleted (then a late update of it).
    folder = landing(
        "in",
        "1.json",
        [
            {"id": 1, "name": "a2", "seq": 2, "op": "U"},
            {"id": 2, "name": "b", "seq": 1, "op": "U"},
            {"id": 1, "name": "a", "seq": 1, "op": "U"},
            {"id": 2, "name": None, "seq": 3, "op": "D"},
            {"id": 2, "name": "late", "seq": 2, "op": "U"},
        ],
    )
    pipeline = write_pipeline({"p.py": CDC_PIPELINE})
    storage = tmp_path / "storage"
    result = run_update([pipeline], storage, spark=spark, configuration={"test.landing": str(folder)})
    assert result.ok, result.failed_flows()
    assert {n: f.status for n, f in result.flows.items()} == {
        "current": "COMPLETED",
        "history_flow": "COMPLETED",
        "from_snapshots": "COMPLETED",
    }
    assert rows(storage / "tables" / "current", "id", "name", "seq") == [(1, "a2", 2)]
    assert rows(storage / "tables" / "history", "id", "name", "__START_AT", "__END_AT") == [
        (1, "a", 1, 2),
        (1, "a2", 2, None),
        (2, "b", 1, 2),
        (2, "late", 2, 3),
    ]
    assert rows(storage / "tables" / "from_snapshots", "id", "name") == [(1, "b"), (2, "x")]
    assert result.flows["from_snapshots"].batches == 2
    assert spark.read.table("current").count() == 1


DLT_SPELLING = """
import dlt
from pyspark.sql import functions as F

@dlt.table
def raw():
    return spark.readStream.schema("id INT, amount INT").json(spark.conf.get("test.landing"))

@dlt.table
@dlt.expect_or_drop("positive", "amount > 0")
def clean():
    return dlt.read_stream("raw")

@dlt.table
def total():
    return dlt.read("clean").agg(F.sum("amount").alias("total"))
"""

DP_SPELLING = """
from pyspark import pipelines as dp
from pyspark.sql import functions as F

@dp.table
def raw():
    return spark.readStream.schema("id INT, amount INT").json(spark.conf.get("test.landing"))

@dp.table
@dp.expect_or_drop("positive", "amount > 0")
def clean():
    return spark.readStream.table("raw")

@dp.materialized_view
def total():
    return spark.read.table("clean").agg(F.sum("amount").alias("total"))

dp.create_sink("copy", "delta", {"path": spark.conf.get("test.sink_path")})

@dp.append_flow(target="copy")
def to_copy():
    return spark.readStream.table("clean")
"""


def test_dp_spelling_gives_the_same_tables_and_sinks_are_not_cleared(
    spark, tmp_path: Path, write_pipeline, landing, rows
) -> None:
    folder = landing(
        "in", "1.json", [{"id": 1, "amount": 5}, {"id": 2, "amount": -5}, {"id": 3, "amount": 7}]
    )
    sink = tmp_path / "sink"
    conf = {"test.landing": str(folder), "test.sink_path": str(sink)}
    with_dlt = run_update(
        [write_pipeline({"p.py": DLT_SPELLING})], tmp_path / "a", spark=spark, configuration=conf
    )
    with_dp = run_update(
        [write_pipeline({"p.py": DP_SPELLING})], tmp_path / "b", spark=spark, configuration=conf
    )
    assert with_dlt.ok and with_dp.ok
    for table in ("raw", "clean", "total"):
        columns = ("total",) if table == "total" else ("id", "amount")
        assert rows(tmp_path / "a" / "tables" / table, *columns) == rows(
            tmp_path / "b" / "tables" / table, *columns
        )
    assert rows(tmp_path / "b" / "tables" / "total", "total") == [(12,)]
    assert rows(sink, "id", "amount") == [(1, 5), (3, 7)]
    assert with_dp.flows["to_copy"].rows_written == 2

    # A full refresh resets the sink flow's checkpoint but never clears the sink: rows are appended again.
    again = run_update(
        [write_pipeline({"p.py": DP_SPELLING})],
        tmp_path / "b",
        spark=spark,
        configuration=conf,
        full_refresh=True,
    )
    assert again.ok
    assert rows(tmp_path / "b" / "tables" / "clean", "id", "amount") == [(1, 5), (3, 7)]
    assert rows(sink, "id", "amount") == [(1, 5), (1, 5), (3, 7), (3, 7)]


KAFKA_SINK = """
import dlt
from pyspark.sql import functions as F

dlt.create_sink("alerts", "kafka", {
    "kafka.bootstrap.servers": spark.conf.get("test.bootstrap"),
    "topic": spark.conf.get("test.topic"),
    "kafka.sasl.jaas.config": "kafkashaded.org.apache.kafka.common.security.plain.PlainLoginModule required;",
    "kafka.security.protocol": "PLAINTEXT",
})

@dlt.append_flow(target="alerts")
def publish():
    rows = spark.readStream.schema("id INT").json(spark.conf.get("test.landing"))
    return rows.select(F.to_json(F.struct("id")).alias("value"))
"""


@pytest.mark.kafka
def test_kafka_sink_with_databricks_jaas_class(
    spark, kafka: str, tmp_path: Path, write_pipeline, landing
) -> None:
    folder = landing("in", "1.json", [{"id": 1}, {"id": 2}])
    topic = f"alerts_{tmp_path.name[-12:].replace('-', '_')}"
    conf = {"test.landing": str(folder), "test.bootstrap": kafka, "test.topic": topic}
    result = run_update(
        [write_pipeline({"p.py": KAFKA_SINK})], tmp_path / "s", spark=spark, configuration=conf
    )
    assert result.ok, result.failed_flows()
    values = (
        spark.read.format("kafka")
        .option("kafka.bootstrap.servers", kafka)
        .option("subscribe", topic)
        .option("startingOffsets", "earliest")
        .load()
        .selectExpr("CAST(value AS STRING) AS v")
        .collect()
    )
    assert sorted(r["v"] for r in values) == ['{"id":1}', '{"id":2}']
    assert result.flows["publish"].rows_written == 2
