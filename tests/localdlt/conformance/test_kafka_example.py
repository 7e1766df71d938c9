"""Databricks' Kafka example ("Load data in pipelines": a streaming table over a topic with
``spark.readStream.format("kafka")``, the value parsed from JSON in a second table), run through
localdlt against the real test broker with hand-derived rows. The Event Hubs page reads through
the same Kafka source (its options are checked in test_python_examples.py: no Event Hubs namespace
is reachable here). Its SQL form, ``read_kafka``, likewise."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from localdlt.runner import run_update

EXAMPLES = Path(__file__).parent / "examples"
Rows = Callable[..., list[tuple[Any, ...]]]


def _topic_with_three_messages(kafka: str, name: str) -> str:
    topic = f"conformance-{name}"  # one topic per test: the broker is session-wide
    admin = AdminClient({"bootstrap.servers": kafka})
    for future in admin.create_topics([NewTopic(topic, 1, 1)]).values():
        future.result(30)
    producer = Producer({"bootstrap.servers": kafka})
    for i in (1, 2, 3):
        producer.produce(topic, key=f"k{i}", value=json.dumps({"id": i, "amount": i * 1.5}))
    assert producer.flush(30) == 0
    return topic


def test_kafka_example_reads_the_topic_and_parses_the_values(
    spark: Any, kafka: str, tmp_path: Path, rows: Rows
) -> None:
    topic = _topic_with_three_messages(kafka, tmp_path.name)
    storage = tmp_path / "storage"
    conf = {"conformance.kafka_servers": kafka, "conformance.kafka_topic": topic}

    result = run_update([EXAMPLES / "kafka"], storage, spark=spark, configuration=conf)

    assert result.status == "COMPLETED", result.failed_flows()
    assert rows(storage / "tables" / "kafka_raw", "topic", "partition", "offset") == [
        (topic, 0, 0),
        (topic, 0, 1),
        (topic, 0, 2),
    ]
    assert rows(storage / "tables" / "kafka_parsed", "key", "id", "amount") == [
        ("k1", 1, 1.5),
        ("k2", 2, 3.0),
        ("k3", 3, 4.5),
    ]
    # A second update reads nothing new (the offsets are in the flow's checkpoint).
    again = run_update([EXAMPLES / "kafka"], storage, spark=spark, configuration=conf)
    assert again.status == "COMPLETED", again.failed_flows()
    assert len(rows(storage / "tables" / "kafka_parsed", "key")) == 3


def test_read_kafka_in_a_sql_streaming_table(spark: Any, kafka: str, tmp_path: Path, rows: Rows) -> None:
    topic = _topic_with_three_messages(kafka, tmp_path.name)
    storage = tmp_path / "storage"
    conf = {"conformance.kafka_servers": kafka, "conformance.kafka_topic": topic}

    result = run_update([EXAMPLES / "kafka_sql"], storage, spark=spark, configuration=conf)

    assert result.status == "COMPLETED", result.failed_flows()
    assert rows(storage / "tables" / "kafka_events", "key", "id", "amount", "topic", "offset") == [
        ("k1", 1, 1.5, topic, 0),
        ("k2", 2, 3.0, topic, 1),
        ("k3", 3, 4.5, topic, 2),
    ]
