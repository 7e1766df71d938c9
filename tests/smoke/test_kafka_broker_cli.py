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
