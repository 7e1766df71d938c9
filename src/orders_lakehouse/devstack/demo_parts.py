"""The demo's parts, each a context manager that starts one thing and stops it on exit.

``run_demo`` (``demo.py``) enters them in a ``contextlib.ExitStack``, so they stop in reverse
order whatever happens: the pipeline, the simulator thread, the view, the dashboard, the
producer, the broker. They talk through :class:`Flags` (threading events) and the view's
:class:`~orders_lakehouse.devstack.live.DemoState`.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from localdlt.runner import run_update
from localdlt.session import SessionSettings, build_session
from rich.live import Live

from orders_lakehouse.devstack import kafka_broker
from orders_lakehouse.devstack.live import DemoState, delta_count, render
from orders_lakehouse.producers.base import Producer
from orders_lakehouse.producers.files import AtomicFileProducer
from orders_lakehouse.producers.kafka import KafkaProducer, create_topic, local_target
from orders_lakehouse.simulator.engine import GroundTruth, Simulator
from orders_lakehouse.simulator.runner import run as run_simulator

log = logging.getLogger(__name__)

DRAIN_TIMEOUT = 180.0  # seconds the pipeline gets to catch up once the simulator is done
START_TIMEOUT = 300.0  # seconds to wait for the pipeline's streams before sending anyway
VIEW_LOG_SECONDS = 10.0  # without the live view: one progress log line this often
LOGGED_TABLES = (
    "bronze_order_events",
    "silver_order_events",
    "silver_order_events_quarantine",
    "silver_orders",
    "fact_orders",
)


@dataclass
class Flags:
    """How the parts tell each other to stop."""

    sim_stop: threading.Event = field(
        default_factory=threading.Event
    )  # stop sending (Ctrl-C, pipeline ended)
    sim_done: threading.Event = field(default_factory=threading.Event)  # the simulator has sent all it will
    pipeline_stop: threading.Event = field(
        default_factory=threading.Event
    )  # stop the pipeline: the demo ends
    pipeline_ready: threading.Event = field(
        default_factory=threading.Event
    )  # a flow is RUNNING: start sending


@contextlib.contextmanager
def kafka_running(state_dir: Path, port: int | None, topic: str, partitions: int = 2) -> Iterator[str]:
    """A fresh local KRaft broker with ``topic`` created; yields the bootstrap address."""
    broker = kafka_broker.BrokerConfig(port=port or kafka_broker.free_port(), state_dir=state_dir)
    bootstrap = kafka_broker.start(broker)
    try:
        create_topic(bootstrap, topic, partitions)
        yield bootstrap
    finally:
        kafka_broker.stop(broker)


@contextlib.contextmanager
def producer_for(
    source: str, *, landing: Path, staging: Path, bootstrap: str | None, topic: str
) -> Iterator[Producer]:
    """The producer of ``source``: atomic files into ``landing``, or the local broker's ``topic``."""
    if source == "kafka":
        assert bootstrap is not None, "the kafka source needs the broker's bootstrap address"
        producer: Producer = KafkaProducer(local_target(bootstrap, topic))
    else:
        producer = AtomicFileProducer(landing, staging=staging, batch_size=1000, max_batch_seconds=1.0)
    with producer:
        yield producer


@contextlib.contextmanager
def dashboard_running(storage: Path, port: int, log_path: Path) -> Iterator[str]:
    """``orders-lakehouse serve --dev`` over the demo's storage; yields its URL.

    Its own session: Ctrl-C reaches the demo only, and the demo stops it in order (like the broker).
    """
    if kafka_broker.is_listening(port):
        port = kafka_broker.free_port()
    command = [
        sys.executable,
        "-m",
        "orders_lakehouse.cli",
        "serve",
        "--storage",
        str(storage),
        "--dev",
        "--port",
        str(port),
    ]
    with log_path.open("w") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    log.info("dashboard on %s (log: %s)", url, log_path)
    try:
        yield url
    finally:
        _stop_process(process)


def _stop_process(process: subprocess.Popen, timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if it does not exit in time."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def stop_on_signals(*events: threading.Event, enabled: bool = True) -> Iterator[None]:
    """Ctrl-C / SIGTERM set ``events`` (a clean stop) instead of raising in the middle of a write."""
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: Any) -> None:
        log.warning("%s: stopping the simulator and the pipeline cleanly…", signal.Signals(signum).name)
        for event in events:
            event.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextlib.contextmanager
def simulator_sending(
    simulator: Simulator,
    producer: Producer,
    state: DemoState,
    flags: Flags,
    *,
    limit: int | None,
    rate: float,
    wait_for_pipeline: bool,
) -> Iterator[None]:
    """Send in a thread from the moment the pipeline listens (so freshness and latency mean
    something); on exit stop it, wait for its last batch, and raise what it raised."""
    errors: list[BaseException] = []

    def count(message: Any) -> None:
        state.sent += 1
        state.by_category[message.category] = state.by_category.get(message.category, 0) + 1

    def send() -> None:
        try:
            if wait_for_pipeline and not flags.pipeline_ready.wait(START_TIMEOUT):
                log.warning("the pipeline has no running stream after %.0fs; sending anyway", START_TIMEOUT)
            if flags.sim_stop.is_set() or flags.pipeline_stop.is_set():
                return
            state.phase = "running"
            state.started = time.monotonic()
            simulator.start_at(datetime.now(timezone.utc))
            run_simulator(simulator, producer, limit=limit, rate=rate, stop=flags.sim_stop, on_message=count)
        except BaseException as error:  # noqa: BLE001 - raised again by the demo's thread on exit
            errors.append(error)
            flags.pipeline_stop.set()
        finally:
            flags.sim_done.set()

    thread = threading.Thread(target=send, name="simulator", daemon=True)
    thread.start()
    try:
        yield
    finally:
        flags.sim_stop.set()
        thread.join()
    if errors:
        raise errors[0]


def caught_up(tables: Path, truth: GroundTruth) -> bool:
    """Bronze has every message, Silver every valid event, quarantine every bad one, silver_orders
    every order."""
    wanted = {
        "bronze_order_events": truth.messages,
        "silver_order_events": truth.valid_events,
        "silver_order_events_quarantine": len(truth.bad_events),
        "silver_orders": len(truth.orders),
    }
    return all(delta_count(tables / name) == count for name, count in wanted.items())


@contextlib.contextmanager
def watching(
    state: DemoState, flags: Flags, truth: GroundTruth, live: Live | None, *, drain: bool
) -> Iterator[None]:
    """Refresh the view (or log a line every few seconds) in a thread and decide when the demo ends:
    once the simulator is done, wait for the pipeline to catch up (``drain``), then set
    ``pipeline_stop``."""

    def watch() -> None:
        drain_deadline: float | None = None
        last_line = 0.0
        while not flags.pipeline_stop.is_set():
            state.refresh_tables()
            if live is not None:
                live.update(render(state))
            elif time.monotonic() - last_line > VIEW_LOG_SECONDS:
                last_line = time.monotonic()
                counts = ", ".join(f"{name} {state.counts.get(name, '-')}" for name in LOGGED_TABLES)
                p95 = {layer: state.latency.get(layer, {}).get("p95") for layer in ("silver", "gold")}
                shown = " ".join(f"{layer} {value:.1f}s" for layer, value in p95.items() if value is not None)
                log.info(
                    "%s: sent %d | %s | alerts %d%s",
                    state.phase, state.sent, counts, len(state.alerts), f" | p95 {shown}" if shown else "",
                )  # fmt: skip
            if flags.sim_done.is_set():
                if not drain or flags.sim_stop.is_set():
                    break
                if drain_deadline is None:
                    state.phase = "draining: waiting for the pipeline to catch up"
                    drain_deadline = time.monotonic() + DRAIN_TIMEOUT
                if caught_up(state.tables_dir, truth):
                    break
                if time.monotonic() > drain_deadline:
                    log.warning(
                        "the pipeline did not catch up within %.0fs; stopping it anyway", DRAIN_TIMEOUT
                    )
                    break
            flags.pipeline_stop.wait(1.0)
        flags.pipeline_stop.set()
        state.refresh_tables()
        if live is not None:
            live.update(render(state))

    thread = threading.Thread(target=watch, name="demo-view", daemon=True)
    thread.start()
    try:
        yield
    finally:
        flags.pipeline_stop.set()
        thread.join()


@dataclass
class PipelineRun:
    """The pipeline part's handle: the localdlt ``UpdateResult`` once the run has stopped."""

    result: Any = None


@contextlib.contextmanager
def pipeline_running(
    spark: Any,
    pipeline_dir: Path,
    storage: Path,
    configuration: dict[str, str],
    flags: Flags,
    on_flow: Callable[[Any], None],
    *,
    root_path: Path,
) -> Iterator[PipelineRun]:
    """localdlt, continuous, in a thread until ``flags.pipeline_stop`` is set; on exit stop it,
    wait for it, and raise what ``run_update`` raised. When it ends by itself (a failure), the
    simulator and the demo stop too."""
    run = PipelineRun()
    errors: list[BaseException] = []

    def listener(result: Any) -> None:
        on_flow(result)
        if result.status == "RUNNING":
            flags.pipeline_ready.set()

    def serve() -> None:
        try:
            run.result = run_update(
                [pipeline_dir],
                storage,
                spark=spark,
                configuration=configuration,
                continuous=True,
                listener=listener,
                stop_event=flags.pipeline_stop,
                root_path=root_path,
            )
            for flow in run.result.failed_flows():
                log.error("flow %s failed: %s", flow.name, flow.error)
        except BaseException as error:  # noqa: BLE001 - raised again by the demo's thread on exit
            errors.append(error)
        finally:
            flags.sim_stop.set()  # the pipeline ended (stopped or failed): the simulator ends too
            flags.pipeline_stop.set()

    thread = threading.Thread(target=serve, name="pipeline", daemon=True)
    thread.start()
    try:
        yield run
    finally:
        flags.pipeline_stop.set()
        thread.join()
    if errors:
        raise errors[0]


_SESSION: Any = None


def demo_session(spark: Any = None) -> Any:
    """The given session, or the demo's own (built once: one JVM per demo process)."""
    global _SESSION  # noqa: PLW0603 - one JVM per demo process
    if spark is not None:
        return spark
    if _SESSION is None:
        _SESSION = build_session(SessionSettings(app_name="orders-lakehouse-demo", shuffle_partitions=2))
    return _SESSION
