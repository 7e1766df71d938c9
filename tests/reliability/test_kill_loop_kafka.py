"""The kill -9 loop of ``test_kill_loop.py`` with the orders pipeline reading the real Kafka broker
(its own file, so that pytest-xdist runs it next to the files loop)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from kill_loop import Production, kill_loop, reference_run, simulator
from kill_loop_checks import KILLS, RATE, check_and_record

pytestmark = [pytest.mark.reliability, pytest.mark.slow, pytest.mark.timeout(5400)]


@pytest.mark.kafka
def test_kill_9_loop_with_kafka(request: pytest.FixtureRequest, kafka: str, tmp_path: Path) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    from orders_lakehouse.producers.kafka import KafkaProducer, local_target

    topic = f"orders-kill-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": kafka})
    for future in admin.create_topics([NewTopic(topic, 2, 1)]).values():
        future.result(timeout=30)
    storage, log_file = tmp_path / "storage", tmp_path / "localdlt.log"
    conf = {
        "orders.source": "kafka",
        "orders.kafka.bootstrap_servers": kafka,
        "orders.kafka.topic": topic,
        "pipelines.trigger.interval": "1 second",
    }
    with KafkaProducer(local_target(kafka, topic)) as producer:
        production = Production(simulator(seed=17, rate=RATE), producer, RATE)
        outcome = kill_loop(
            storage, conf, production, kills=KILLS, max_kills=KILLS + 8, seed=17, log_file=log_file
        )
    assert reference_run(tmp_path / "reference", conf, log_file) == 0, (
        f"reference run failed; log: {log_file}"
    )
    spark = request.getfixturevalue("spark")
    check_and_record(spark, "kill -9 loop, Kafka", outcome, storage, tmp_path / "reference", log_file)
