"""The kill -9 loop of ``test_kill_loop.py`` with the orders pipeline reading the real Kafka broker
(its own file, so that pytest-xdist runs it next to the files loop)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from kill_loop import Production, simulator
from kill_loop_checks import RATE, kill_loop_then_check

pytestmark = [pytest.mark.reliability, pytest.mark.slow, pytest.mark.timeout(5400)]


@pytest.mark.kafka
def test_kill_9_loop_with_kafka(request: pytest.FixtureRequest, kafka: str, tmp_path: Path) -> None:
    from orders_lakehouse.producers.kafka import KafkaProducer, create_topic, local_target

    topic = create_topic(kafka, f"orders-kill-{uuid.uuid4().hex[:8]}")
    conf = {
        "orders.source": "kafka",
        "orders.kafka.bootstrap_servers": kafka,
        "orders.kafka.topic": topic,
        "pipelines.trigger.interval": "1 second",
    }
    with KafkaProducer(local_target(kafka, topic)) as producer:
        production = Production(simulator(seed=17, rate=RATE), producer, RATE)
        kill_loop_then_check(request, "kill -9 loop, Kafka", tmp_path, conf, production, seed=17)
