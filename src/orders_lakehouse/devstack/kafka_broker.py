"""A real single-node Apache Kafka broker (KRaft: broker and controller in one JVM) on loopback.

It runs from the jars resolved at set-up (``jars/kafka-broker.txt`` → ``.cache/jars/kafka-broker``)
and keeps its data, logs and pid in one state folder. It speaks the same protocol as the Event
Hubs Kafka endpoint, so the pipeline and the producers run unchanged against either.

Command line (used by ``make kafka-up`` / ``make kafka-down``)::

    python -m orders_lakehouse.devstack.kafka_broker up --port 9092
    python -m orders_lakehouse.devstack.kafka_broker down
"""

from __future__ import annotations

import argparse
import base64
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_JARS_DIR = REPO_ROOT / ".cache" / "jars" / "kafka-broker"
DEFAULT_STATE_DIR = REPO_ROOT / ".cache" / "kafka"


class BrokerError(RuntimeError):
    """The broker could not be started or stopped; the message says why."""


@dataclass(frozen=True)
class BrokerConfig:
    """Where the broker listens and keeps its files."""

    port: int = 9092
    controller_port: int | None = None
    state_dir: Path = DEFAULT_STATE_DIR
    jars_dir: Path = DEFAULT_JARS_DIR
    heap: str = "512m"
    partitions: int = 2

    @property
    def bootstrap_servers(self) -> str:
        """The address clients connect to."""
        return f"127.0.0.1:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.state_dir / "broker.pid"

    @property
    def log_file(self) -> Path:
        return self.state_dir / "broker.log"


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def is_listening(port: int, host: str = "127.0.0.1") -> bool:
    """True when something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _server_properties(config: BrokerConfig, controller_port: int) -> str:
    data_dir = config.state_dir / "data"
    return "\n".join(
        [
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@127.0.0.1:{controller_port}",
            f"listeners=PLAINTEXT://127.0.0.1:{config.port},CONTROLLER://127.0.0.1:{controller_port}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{config.port}",
            "controller.listener.names=CONTROLLER",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            f"log.dirs={data_dir}",
            f"num.partitions={config.partitions}",
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=2",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            "auto.create.topics.enable=true",
            "",
        ]
    )


def _java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    if not java:
        raise BrokerError("java not found: install Java 17+")
    return java


def _read_pid(config: BrokerConfig) -> int | None:
    try:
        pid = int(config.pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    return pid


def new_cluster_id() -> str:
    """A random KRaft cluster id: a UUID in URL-safe base64, never starting with ``-``.

    Kafka's own ``Uuid.randomUuid`` draws again when the text starts with ``-`` (1 draw in 64):
    ``kafka-storage format -t -…`` reads such an id as an option and fails with "argument
    --cluster-id/-t: expected one argument".
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def _format_storage(java: str, classpath: str, properties: Path) -> None:
    """Format empty KRaft storage with a new cluster id."""
    cluster_id = new_cluster_id()
    formatted = subprocess.run(
        [
            java,
            "-cp",
            classpath,
            "kafka.tools.StorageTool",
            "format",
            "-t",
            cluster_id,
            "-c",
            str(properties),
        ],
        capture_output=True,
        text=True,
    )
    if formatted.returncode != 0:
        raise BrokerError(f"formatting broker storage failed: {formatted.stderr.strip().splitlines()[-1:]}")


def _controller_port(config: BrokerConfig, restart: bool) -> int:
    """The KRaft controller port: the configured one, else on a restart the one the stored data was
    formatted with (kept in ``controller.port``: the voter set of the metadata log names it), else a
    free one, remembered for the next restart."""
    stored = config.state_dir / "controller.port"
    if config.controller_port:
        port = config.controller_port
    elif restart and stored.exists():
        port = int(stored.read_text().strip())
    else:
        port = free_port()
    config.state_dir.mkdir(parents=True, exist_ok=True)
    stored.write_text(f"{port}\n")
    return port


def start(config: BrokerConfig, *, timeout: float = 60.0, fresh: bool = True) -> str:
    """Start the broker and wait until it accepts connections.

    ``fresh=True`` formats new, empty storage. ``fresh=False`` reuses the data of a broker that was
    stopped or crashed in ``config.state_dir`` (its topics and messages come back; the log recovery
    of a SIGKILLed broker is Kafka's own); without stored data it formats fresh storage too.

    Returns the bootstrap address. Raises BrokerError when the jars are missing, the port is
    taken, or the broker does not come up within ``timeout`` seconds (with its last log line).
    """
    if not any(config.jars_dir.glob("*.jar")):
        raise BrokerError(f"no broker jars in {config.jars_dir}: run `make setup`")
    if _read_pid(config) is not None and is_listening(config.port):
        log.info("broker already running on %s", config.bootstrap_servers)
        return config.bootstrap_servers
    if is_listening(config.port):
        raise BrokerError(f"port {config.port} is already in use: choose another with KAFKA_PORT")
    restart = not fresh and (config.state_dir / "data" / "meta.properties").exists()
    if not restart:
        shutil.rmtree(config.state_dir / "data", ignore_errors=True)
    controller_port = _controller_port(config, restart)
    properties = config.state_dir / "server.properties"
    properties.write_text(_server_properties(config, controller_port))
    classpath = f"{config.jars_dir}/*"
    java = _java()
    if not restart:
        _format_storage(java, classpath, properties)
    with config.log_file.open("a" if restart else "w") as log_stream:
        process = subprocess.Popen(
            [
                java,
                f"-Xmx{config.heap}",
                "-XX:+UseSerialGC",
                "-cp",
                classpath,
                "kafka.Kafka",
                str(properties),
            ],
            stdout=log_stream,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C in a terminal goes to us, and we stop it cleanly
        )
    config.pid_file.write_text(f"{process.pid}\n")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BrokerError(f"broker exited with {process.returncode}: see {config.log_file}")
        if is_listening(config.port):
            log.info("Kafka broker up on %s (pid %d)", config.bootstrap_servers, process.pid)
            return config.bootstrap_servers
        time.sleep(0.2)
    stop(config)
    raise BrokerError(f"broker did not accept connections within {timeout:.0f}s: see {config.log_file}")


def stop(config: BrokerConfig, *, timeout: float = 8.0) -> bool:
    """Stop the broker started from ``config.state_dir``; True when one was running.

    SIGTERM first (a clean shutdown flushes the log); a single-node KRaft broker sometimes waits
    for a controller that is itself shutting down, so after ``timeout`` seconds it is killed —
    a local dev/test broker's data is disposable (``start`` formats fresh storage unless ``fresh=False``)."""
    pid = _read_pid(config)
    if pid is None:
        config.pid_file.unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        os.kill(pid, signal.SIGKILL)
    config.pid_file.unlink(missing_ok=True)
    log.info("Kafka broker (pid %d) stopped", pid)
    return True


def main(argv: list[str] | None = None) -> int:
    """``up`` / ``down`` from the command line; prints the bootstrap address."""
    parser = argparse.ArgumentParser(prog="python -m orders_lakehouse.devstack.kafka_broker")
    parser.add_argument("command", choices=["up", "down"])
    parser.add_argument("--port", type=int, default=int(os.environ.get("KAFKA_PORT", "9092")))
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    config = BrokerConfig(port=args.port, state_dir=args.state_dir)
    try:
        if args.command == "up":
            print(f"Kafka broker ready: bootstrap servers {start(config)}")
        elif not stop(config):
            print("no Kafka broker was running")
    except BrokerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
