"""`make kafka-up` / `make kafka-down` through the module's command line, on a free port."""

import subprocess
import sys
from pathlib import Path

import pytest

from orders_lakehouse.devstack import kafka_broker

pytestmark = pytest.mark.kafka


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orders_lakehouse.devstack.kafka_broker", *args],
        capture_output=True,
        text=True,
    )


def test_up_prints_bootstrap_then_down_stops_it(tmp_path: Path) -> None:
    port = kafka_broker.free_port()
    state = str(tmp_path / "state")
    try:
        up = _cli("up", "--port", str(port), "--state-dir", state)
        assert up.returncode == 0, up.stderr
        assert up.stdout.strip() == f"Kafka broker ready: bootstrap servers 127.0.0.1:{port}"
        assert kafka_broker.is_listening(port)
    finally:
        down = _cli("down", "--state-dir", state)
    assert down.returncode == 0
    assert not kafka_broker.is_listening(port)
    assert _cli("down", "--state-dir", state).stdout.strip() == "no Kafka broker was running"


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = _cli("up", "--port", str(port), "--state-dir", str(tmp_path))
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: port {port} is already in use: choose another with KAFKA_PORT"


def test_sigkilled_broker_restarts_with_its_topic_and_messages(tmp_path: Path) -> None:
    """``start(config, fresh=False)`` after a SIGKILL: the topic and every acknowledged message come
    back (Kafka's log recovery), on the controller port the stored metadata was formatted with."""
    import os
    import signal
    import time

    from confluent_kafka import Consumer, Producer

    config = kafka_broker.BrokerConfig(port=kafka_broker.free_port(), state_dir=tmp_path / "state")
    bootstrap = kafka_broker.start(config)
    try:
        producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
        for n in range(50):
            producer.produce("survivors", key=str(n % 3), value=f"m{n}".encode())
        assert producer.flush(30) == 0
        controller_port = (config.state_dir / "controller.port").read_text().strip()
        os.kill(int(config.pid_file.read_text()), signal.SIGKILL)
        deadline = time.monotonic() + 30
        while kafka_broker.is_listening(config.port) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not kafka_broker.is_listening(config.port)

        assert kafka_broker.start(config, fresh=False) == bootstrap
        assert (config.state_dir / "controller.port").read_text().strip() == controller_port
        consumer = Consumer(
            {"bootstrap.servers": bootstrap, "group.id": "check", "auto.offset.reset": "earliest"}
        )
        consumer.subscribe(["survivors"])
        values: list[str] = []
        deadline = time.monotonic() + 60
        while len(values) < 50 and time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is not None and message.error() is None:
                values.append(message.value().decode())
        consumer.close()
    finally:
        kafka_broker.stop(config)
    assert sorted(values) == sorted(f"m{n}" for n in range(50))


def test_fresh_start_after_a_crash_forgets_the_old_messages(tmp_path: Path) -> None:
    """The default ``start`` formats new storage: a topic of the crashed broker is gone."""
    import os
    import signal
    import time

    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient

    config = kafka_broker.BrokerConfig(port=kafka_broker.free_port(), state_dir=tmp_path / "state")
    bootstrap = kafka_broker.start(config)
    try:
        producer = Producer({"bootstrap.servers": bootstrap})
        producer.produce("forgotten", value=b"x")
        assert producer.flush(30) == 0
        os.kill(int(config.pid_file.read_text()), signal.SIGKILL)
        while kafka_broker.is_listening(config.port):
            time.sleep(0.1)
        kafka_broker.start(config)
        topics = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=30).topics
    finally:
        kafka_broker.stop(config)
    assert "forgotten" not in topics
