"""The Kafka producer against the real local broker; Event Hubs settings; unreachable broker."""

from __future__ import annotations

import uuid
from collections import defaultdict

import pytest
from confluent_kafka import Consumer

from orders_lakehouse.cli import main
from orders_lakehouse.devstack.kafka_broker import free_port
from orders_lakehouse.producers.kafka import (
    BrokerUnreachableError,
    KafkaProducer,
    eventhubs_target,
    local_target,
)
from orders_lakehouse.simulator import bad
from orders_lakehouse.simulator.engine import BAD
from orders_lakehouse.simulator.runner import run


def consume_all(bootstrap: str, topic: str, expected: int, timeout: float = 60.0) -> list:
    """Every message of ``topic`` from the beginning (stops at ``expected`` or after ``timeout``)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"test-{uuid.uuid4()}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    out = []
    import time

    deadline = time.monotonic() + timeout
    while len(out) < expected and time.monotonic() < deadline:
        out.extend(m for m in consumer.consume(num_messages=500, timeout=1.0) if m.error() is None)
    # One more short poll: anything beyond `expected` would be a duplicate.
    out.extend(m for m in consumer.consume(num_messages=500, timeout=1.0) if m.error() is None)
    consumer.close()
    return out


@pytest.mark.kafka
def test_exactly_n_delivered_keyed_by_order_in_per_order_order(kafka: str, simulate) -> None:
    topic = f"orders-{uuid.uuid4().hex[:8]}"
    simulator, _ = simulate(0, duplicate_rate=0.02, late_rate=0.0, bad_rate=0.03, bad_kinds=bad.select())
    sent: list = []
    with KafkaProducer(local_target(kafka, topic)) as producer:
        result = run(simulator, producer, limit=600, rate=None, on_message=sent.append)
    assert result.messages == 600 == producer.stats.delivered
    assert producer.stats.failed == 0

    received = consume_all(kafka, topic, 600)
    assert len(received) == 600
    assert sorted(m.value() for m in received) == sorted(m.value for m in sent)
    for message in received:
        if message.key() is not None:  # (some bad payloads are not UTF-8 JSON: look for the field's bytes)
            assert b'"order_id":"' + message.key() + b'"' in message.value()
    assert sum(m.key() is None for m in received) == sum(
        m.key is None for m in sent
    )  # keyless bad messages only
    assert all(m.category == BAD for m in sent if m.key is None)
    # One order -> one partition, and its events in the order they were sent.
    by_key_sent: dict[str, list[bytes]] = defaultdict(list)
    for m in sent:
        if m.key is not None:
            by_key_sent[m.key].append(m.value)
    by_key_received: dict[str, list] = defaultdict(list)
    for m in received:
        if m.key() is not None:
            by_key_received[m.key().decode()].append(m)
    assert {k: len({m.partition() for m in v}) for k, v in by_key_received.items()} == {
        k: 1 for k in by_key_sent
    }
    assert {
        k: [m.value() for m in sorted(v, key=lambda m: m.offset())] for k, v in by_key_received.items()
    } == dict(by_key_sent)
    assert len({m.partition() for m in received}) == 2  # the broker's two partitions are both used


def test_unreachable_broker_gives_one_clear_error() -> None:
    port = free_port()
    with pytest.raises(BrokerUnreachableError) as error:
        KafkaProducer(local_target(f"127.0.0.1:{port}", "orders"), connect_timeout=1.0)
    text = str(error.value)
    assert text.startswith(f"Kafka broker 127.0.0.1:{port} unreachable: no answer within 1s (")
    assert "\n" not in text


def test_simulate_cli_to_unreachable_broker_exits_2_with_one_line(capsys) -> None:
    port = free_port()
    code = main(
        [
            "simulate",
            "--to",
            "kafka",
            "--bootstrap",
            f"127.0.0.1:{port}",
            "--events",
            "5",
            "--connect-timeout",
            "1",
        ]
    )
    out = capsys.readouterr().out
    assert code == 2
    assert out.startswith(f"error: Kafka broker 127.0.0.1:{port} unreachable: no answer within 1s (")
    assert out.count("\n") == 1


def test_eventhubs_target_uses_the_kafka_endpoint_with_sasl_from_the_environment() -> None:
    secret = "Endpoint=sb://my-ns.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=abc="
    target = eventhubs_target("my-ns", "orders", {"EVENTHUBS_CONNECTION_STRING": secret})
    config = target.client_config()
    assert {
        k: config[k]
        for k in (
            "bootstrap.servers",
            "security.protocol",
            "sasl.mechanisms",
            "sasl.username",
            "sasl.password",
        )
    } == {
        "bootstrap.servers": "my-ns.servicebus.windows.net:9093",
        "security.protocol": "SASL_SSL",
        "sasl.mechanisms": "PLAIN",
        "sasl.username": "$ConnectionString",
        "sasl.password": secret,
    }
    assert target.topic == "orders"
    assert config["enable.idempotence"] is True and config["acks"] == "all"
    assert secret not in repr(target)
    # Same delivery settings as the local broker: one code path, only the connection differs.
    local = local_target("127.0.0.1:9092", "orders").client_config()
    shared = ("enable.idempotence", "acks", "retry.backoff.ms", "retry.backoff.max.ms", "delivery.timeout.ms")
    assert {k: local[k] for k in shared} == {k: config[k] for k in shared}


def test_eventhubs_without_connection_string_names_the_variable() -> None:
    with pytest.raises(ValueError) as error:
        eventhubs_target("my-ns", "orders", {})
    assert (
        str(error.value)
        == "set EVENTHUBS_CONNECTION_STRING to the Event Hubs connection string (Endpoint=sb://...)"
    )


@pytest.mark.kafka
def test_a_message_the_client_refuses_is_a_delivery_error(kafka: str) -> None:
    from orders_lakehouse.producers.kafka import DeliveryError

    with pytest.raises(DeliveryError) as error:
        with KafkaProducer(local_target(kafka, "orders-too-big")) as producer:
            producer.send("ORD-1", b"x" * 2_000_000)
    assert (
        str(error.value)
        == "message of 2000000 bytes (key ORD-1) refused: Unable to produce message: Broker: Message size "
           "too large"
    )
