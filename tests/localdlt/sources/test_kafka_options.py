"""Databricks' shaded Kafka JAAS class rewritten for open-source Spark, proven in the Spark JVM."""

from __future__ import annotations

import logging

import pytest
from py4j.protocol import Py4JJavaError
from pyspark.sql import SparkSession

from localdlt.sources.kafka import rewrite_kafka_options

SECRET = "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=TOPSECRET"
SHADED = (
    "kafkashaded.org.apache.kafka.common.security.plain.PlainLoginModule required "
    f'username="$ConnectionString" password="{SECRET}";'
)
UNSHADED = SHADED.removeprefix("kafkashaded.")


def test_rewrites_only_the_jaas_class(caplog: pytest.LogCaptureFixture) -> None:
    options = {
        "kafka.bootstrap.servers": "ns.servicebus.windows.net:9093",
        "kafka.security.protocol": "SASL_SSL",
        "kafka.sasl.mechanism": "PLAIN",
        "kafka.sasl.jaas.config": SHADED,
        "subscribe": "orders",
        # Not the JAAS option: left exactly as it is.
        "kafka.client.id": "kafkashaded.client",
    }
    with caplog.at_level(logging.DEBUG, logger="localdlt.sources.kafka"):
        rewritten = rewrite_kafka_options(options)
    assert rewritten == {**options, "kafka.sasl.jaas.config": UNSHADED}
    assert options["kafka.sasl.jaas.config"] == SHADED  # the caller's dict is not modified
    assert [r.getMessage() for r in caplog.records] == [
        "option 'kafka.sasl.jaas.config': replaced 1 shaded Kafka class name(s) with the unshaded one(s)"
    ]
    assert all(SECRET not in r.getMessage() and "TOPSECRET" not in str(r.args) for r in caplog.records)


def test_key_is_case_insensitive_and_unshaded_values_are_untouched() -> None:
    assert rewrite_kafka_options({"Kafka.SASL.JAAS.Config": SHADED}) == {"Kafka.SASL.JAAS.Config": UNSHADED}
    assert rewrite_kafka_options({"kafka.sasl.jaas.config": UNSHADED}) == {"kafka.sasl.jaas.config": UNSHADED}
    # Only a class-name prefix is rewritten, not the text inside a value.
    value = (
        'org.apache.kafka.common.security.plain.PlainLoginModule required username="kafkashaded.x" '
        'password="p";'
    )
    assert rewrite_kafka_options({"kafka.sasl.jaas.config": value}) == {"kafka.sasl.jaas.config": value}
    assert rewrite_kafka_options({}) == {}
    # Several modules: each class position is rewritten.
    two = f"{SHADED} kafkashaded.org.apache.kafka.common.security.scram.ScramLoginModule required;"
    assert rewrite_kafka_options({"kafka.sasl.jaas.config": two}) == {
        "kafka.sasl.jaas.config": f"{UNSHADED} "
        "org.apache.kafka.common.security.scram.ScramLoginModule required;"
    }


def _construct_sasl_consumer(spark: SparkSession, jaas: str) -> None:
    """Build (and close) a Kafka consumer in the Spark JVM with SASL: the JAAS login module is
    loaded and the login performed at construction, with no connection to any broker."""
    jvm = spark._jvm
    props = jvm.java.util.Properties()
    for key, value in {
        "bootstrap.servers": "127.0.0.1:9",
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "PLAIN",
        "sasl.jaas.config": jaas,
        "key.deserializer": "org.apache.kafka.common.serialization.ByteArrayDeserializer",
        "value.deserializer": "org.apache.kafka.common.serialization.ByteArrayDeserializer",
    }.items():
        props.setProperty(key, value)
    jvm.org.apache.kafka.clients.consumer.KafkaConsumer(props).close()


def test_open_source_kafka_client_needs_the_rewrite(spark: SparkSession) -> None:
    with pytest.raises(Py4JJavaError) as caught:
        _construct_sasl_consumer(spark, SHADED)
    causes, error = [], caught.value.java_exception
    while error is not None:
        causes.append(str(error.getMessage()))
        error = error.getCause()
    assert (
        "No LoginModule found for kafkashaded.org.apache.kafka.common.security.plain.PlainLoginModule"
        in causes
    )
    _construct_sasl_consumer(
        spark, rewrite_kafka_options({"kafka.sasl.jaas.config": SHADED})["kafka.sasl.jaas.config"]
    )


@pytest.mark.kafka
def test_spark_kafka_read_with_rewritten_options(spark: SparkSession, kafka: str) -> None:
    topic = "localdlt-sources-rewrite"
    spark.createDataFrame(
        [("o-1", '{"n": 1}'), ("o-2", '{"n": 2}')], "key string, value string"
    ).write.format("kafka").option("kafka.bootstrap.servers", kafka).option("topic", topic).save()
    # Pipeline options as written for Databricks (the local broker speaks PLAINTEXT, so the JAAS
    # option is carried but unused by the connection).
    options = rewrite_kafka_options(
        {
            "kafka.bootstrap.servers": kafka,
            "subscribe": topic,
            "startingOffsets": "earliest",
            "kafka.sasl.mechanism": "PLAIN",
            "kafka.sasl.jaas.config": SHADED,
        }
    )
    rows = (
        spark.read.format("kafka")
        .options(**options)
        .load()
        .selectExpr("CAST(key AS STRING) AS key", "CAST(value AS STRING) AS value")
        .collect()
    )
    assert sorted(tuple(r) for r in rows) == [("o-1", '{"n": 1}'), ("o-2", '{"n": 2}')]
