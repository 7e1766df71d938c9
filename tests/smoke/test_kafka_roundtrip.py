"""Produce to and consume from the real local broker with Spark's Kafka sink and source."""

import pytest
from pyspark.sql import SparkSession

pytestmark = pytest.mark.kafka


def test_spark_kafka_sink_and_source_roundtrip(spark: SparkSession, kafka: str) -> None:
    topic = "smoke-roundtrip"
    messages = [("order-1", '{"n": 1}'), ("order-2", '{"n": 2}'), ("order-1", '{"n": 3}')]
    # One partition: one writer sends the rows in order (two tasks would race each other).
    spark.createDataFrame(messages, "key string, value string").coalesce(1).write.format("kafka").option(
        "kafka.bootstrap.servers", kafka
    ).option("topic", topic).save()

    consumed = (
        spark.read.format("kafka")
        .option("kafka.bootstrap.servers", kafka)
        .option("subscribe", topic)
        .option("startingOffsets", "earliest")
        .load()
        .selectExpr("CAST(key AS STRING) AS key", "CAST(value AS STRING) AS value", "partition", "offset")
        .collect()
    )

    assert sorted((row.key, row.value) for row in consumed) == sorted(messages)
    # Same key, same partition: one order's events keep their order.
    order_1 = sorted((row.offset, row.value) for row in consumed if row.key == "order-1")
    assert [value for _, value in order_1] == ['{"n": 1}', '{"n": 3}']
    assert len({row.partition for row in consumed if row.key == "order-1"}) == 1


def test_spark_kafka_stream_reads_new_messages_once(spark: SparkSession, kafka: str, tmp_path) -> None:
    topic = "smoke-stream"
    write = lambda rows: spark.createDataFrame(rows, "value string").write.format("kafka").option(  # noqa: E731
        "kafka.bootstrap.servers", kafka
    ).option("topic", topic).save()
    table, checkpoint = str(tmp_path / "t"), str(tmp_path / "c")

    def drain() -> None:
        (
            spark.readStream.format("kafka")
            .option("kafka.bootstrap.servers", kafka)
            .option("subscribe", topic)
            .option("startingOffsets", "earliest")
            .load()
            .selectExpr("CAST(value AS STRING) AS value")
            .writeStream.format("delta")
            .option("checkpointLocation", checkpoint)
            .trigger(availableNow=True)
            .start(table)
            .awaitTermination()
        )

    write([("a",), ("b",)])
    drain()
    write([("c",)])
    drain()

    assert sorted(row.value for row in spark.read.format("delta").load(table).collect()) == ["a", "b", "c"]
