"""`make demo`: the orders application simulator, localdlt running the orders pipeline continuously,
a live terminal view, and — when bounded with ``--duration`` — a closing reconciliation.

    python -m orders_lakehouse.devstack.demo [--duration S] --source files|kafka

* ``--source files``: the simulator lands JSON-lines files atomically in ``demo-output/landing``.
* ``--source kafka``: the demo starts the local KRaft broker (``kafka_broker``), creates the topic,
  and the simulator produces to it with the same producer used for Event Hubs.
* localdlt runs ``pipelines/orders`` in continuous mode in this process (``run_update(...,
  continuous=True)``), storage in ``demo-output/storage``.
* With ``--duration S`` the simulator sends exactly ``rate × S`` messages; the demo then waits for
  the pipeline to catch up, stops it, and reconciles the simulator's ground truth with Bronze,
  Silver, quarantine and ``silver_orders`` (exit code 1 when anything does not match).
* The API and dashboard (``orders-lakehouse serve --dev`` over the demo's storage) run in a
  subprocess while the demo runs; the live view shows the URL.
* Ctrl-C (or SIGTERM) stops the simulator (last file landed / deliveries confirmed), the
  pipeline's streams, the dashboard and the broker, in that order.

Until the orders pipeline exists in ``pipelines/orders``, the demo runs the simulator alone and
says so.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import logging
import math
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.logging import RichHandler
from rich.table import Table

from orders_lakehouse.devstack import kafka_broker
from orders_lakehouse.devstack.live import DemoState, delta_count, render
from orders_lakehouse.simulator import bad
from orders_lakehouse.simulator.engine import GroundTruth, Simulator, SimulatorConfig
from orders_lakehouse.simulator.runner import run as run_simulator

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[3]
PIPELINE_DIR = REPO_ROOT / "pipelines" / "orders"
TOPIC = "orders"
DEMO_SALT_ENV = "LOCALDLT_SECRET_ORDERS_PII_SALT"
DRAIN_TIMEOUT = 180.0  # seconds the pipeline gets to catch up once the simulator is done
START_TIMEOUT = 300.0  # seconds to wait for the pipeline's streams before sending anyway


@dataclass(frozen=True)
class DemoOptions:
    """What to run; the command-line flags map one to one."""

    source: str = "files"
    duration: float | None = None
    rate: float = 50.0
    output: Path = Path("demo-output")
    seed: int | None = None
    bad_rate: float = 0.02
    duplicate_rate: float = 0.01
    late_rate: float = 0.02
    time_scale: float = 3600.0
    kafka_port: int | None = None
    live: bool = True
    serve: bool = True  # start the API + dashboard when the serving package is there
    serve_port: int = 8000


@dataclass
class DemoOutcome:
    """What a demo run produced: the ground truth, the pipeline's result, the reconciliation."""

    truth: dict[str, Any]
    update: Any | None = None  # localdlt UpdateResult, None when the pipeline did not run
    checks: list[Any] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        pipeline_ok = self.update is None or self.update.ok
        return pipeline_ok and all(check.ok for check in self.checks)


def pipeline_available() -> bool:
    """True when the orders pipeline and the localdlt runner are both there."""
    if not any((PIPELINE_DIR / "transformations").glob("*.py")):
        return False
    try:
        import localdlt.runner  # noqa: F401
    except ImportError:
        return False
    return True


def _fresh(output: Path) -> dict[str, Path]:
    """The run's folders, emptied: every demo starts from nothing, so its summary is exact."""
    paths = {
        "landing": output / "landing",
        "staging": output / ".landing.staging",
        "storage": output / "storage",
        "truth": output / "ground-truth.json",
        "kafka": output / "kafka",
        "log": output / "demo.log",
    }
    for key in ("landing", "staging", "storage"):
        shutil.rmtree(paths[key], ignore_errors=True)
    paths["truth"].unlink(missing_ok=True)
    output.mkdir(parents=True, exist_ok=True)
    return paths


def serving_available() -> bool:
    """True when ``orders-lakehouse serve`` exists (the serving package has landed)."""
    return importlib.util.find_spec("orders_lakehouse.serving.cli") is not None


def _start_dashboard(storage: Path, port: int, log_path: Path) -> tuple[subprocess.Popen, str]:
    """``orders-lakehouse serve --dev`` over the demo's storage, in its own process group.

    Its own session: Ctrl-C reaches the demo only, and the demo stops it in order (like the broker).
    """
    if kafka_broker.is_listening(port):
        port = kafka_broker.free_port()
    with log_path.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "orders_lakehouse.cli", "serve", "--storage", str(storage), "--dev", "--port", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return process, f"http://127.0.0.1:{port}/"


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


def _create_topic(bootstrap: str, topic: str, partitions: int = 2) -> None:
    """Create the topic up front, so the pipeline's Kafka source has partitions to read from."""
    from confluent_kafka.admin import AdminClient, NewTopic

    from confluent_kafka import KafkaError, KafkaException

    admin = AdminClient({"bootstrap.servers": bootstrap})  # referenced until the futures resolve
    for future in admin.create_topics([NewTopic(topic, partitions, 1)]).values():
        try:
            future.result(timeout=30)
        except KafkaException as error:
            if error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise


@contextlib.contextmanager
def _stop_on_signals(*events: threading.Event, enabled: bool = True) -> Iterator[None]:
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


def _caught_up(state: DemoState, truth: GroundTruth) -> bool:
    """Bronze has every message, Silver every valid event, quarantine every bad one, silver_orders every order."""
    tables = state.tables_dir
    wanted = {
        "bronze_order_events": truth.messages,
        "silver_order_events": truth.valid_events,
        "silver_order_events_quarantine": len(truth.bad_events),
        "silver_orders": len(truth.orders),
    }
    return all(delta_count(tables / name) == count for name, count in wanted.items())


def run_demo(
    options: DemoOptions,
    *,
    spark: Any = None,
    console: Console | None = None,
    handle_signals: bool = True,
) -> DemoOutcome:
    """Run the demo; returns the outcome (the caller prints the summary). ``spark``: reuse a session."""
    console = console or Console()
    paths = _fresh(options.output)
    with_pipeline = pipeline_available()
    state = DemoState(source=options.source, tables_dir=paths["storage"] / "tables")
    sim_stop, sim_done, pipeline_stop = threading.Event(), threading.Event(), threading.Event()
    pipeline_ready = threading.Event()  # set when the first flow is RUNNING: then the simulator starts
    limit = math.ceil(options.rate * options.duration) if options.duration is not None else None
    broker: kafka_broker.BrokerConfig | None = None
    dashboard: subprocess.Popen | None = None
    configuration = {"orders.source": options.source, "pipelines.trigger.interval": "1 second"}
    errors: list[BaseException] = []
    simulator: Simulator | None = None
    outcome = DemoOutcome(truth={})
    try:
        if options.source == "kafka":
            state.phase = "starting Kafka"
            broker = kafka_broker.BrokerConfig(port=options.kafka_port or kafka_broker.free_port(), state_dir=paths["kafka"])
            bootstrap = kafka_broker.start(broker)
            _create_topic(bootstrap, TOPIC)
            configuration.update({"orders.kafka.bootstrap_servers": bootstrap, "orders.kafka.topic": TOPIC})
            from orders_lakehouse.producers.kafka import KafkaProducer, local_target

            producer: Any = KafkaProducer(local_target(bootstrap, TOPIC))
        else:
            configuration["orders.landing_path"] = str(paths["landing"].resolve())
            from orders_lakehouse.producers.files import AtomicFileProducer

            producer = AtomicFileProducer(paths["landing"], staging=paths["staging"], batch_size=1000, max_batch_seconds=1.0)

        # Built now, so its simulated clock (starting now) tracks the wall clock from the first message.
        simulator = Simulator(
            SimulatorConfig(
                seed=options.seed,
                rate=options.rate,
                time_scale=options.time_scale,
                bad_rate=options.bad_rate,
                duplicate_rate=options.duplicate_rate,
                late_rate=options.late_rate,
                bad_kinds=bad.select() if options.bad_rate else (),
            )
        )

        def count(message: Any) -> None:
            state.sent += 1
            state.by_category[message.category] = state.by_category.get(message.category, 0) + 1

        def on_flow(result: Any) -> None:
            state.on_flow(result)
            if result.status == "RUNNING":
                pipeline_ready.set()

        def simulate() -> None:
            try:
                # Send from the moment the pipeline listens, so freshness and latency mean something.
                if with_pipeline and not pipeline_ready.wait(START_TIMEOUT):
                    log.warning("the pipeline has no running stream after %.0fs; sending anyway", START_TIMEOUT)
                if sim_stop.is_set() or pipeline_stop.is_set():
                    return
                state.phase = "running"
                state.started = time.monotonic()
                simulator.start_at(datetime.now(timezone.utc))
                run_simulator(simulator, producer, limit=limit, rate=options.rate, stop=sim_stop, on_message=count)
            except BaseException as error:  # noqa: BLE001 - reported by the main thread
                errors.append(error)
                pipeline_stop.set()
            finally:
                sim_done.set()

        def supervise(live: Live | None) -> None:
            # Refresh the view; once the simulator is done, wait for the pipeline to catch up, then stop it.
            drain_deadline: float | None = None
            last_line = 0.0
            while not pipeline_stop.is_set():
                state.refresh_tables()
                if live is not None:
                    live.update(render(state))
                elif time.monotonic() - last_line > 10:
                    last_line = time.monotonic()
                    shown = ("bronze_order_events", "silver_order_events", "silver_order_events_quarantine", "silver_orders", "fact_orders")
                    log.info(
                        "%s: sent %d | %s | alerts %d", state.phase, state.sent,
                        ", ".join(f"{name} {state.counts.get(name, '-')}" for name in shown), len(state.alerts),
                    )
                if sim_done.is_set():
                    if not with_pipeline or sim_stop.is_set():
                        pipeline_stop.set()
                        break
                    if drain_deadline is None:
                        state.phase = "draining: waiting for the pipeline to catch up"
                        drain_deadline = time.monotonic() + DRAIN_TIMEOUT
                    if _caught_up(state, simulator.truth) or time.monotonic() > drain_deadline:
                        if time.monotonic() > drain_deadline:
                            log.warning("the pipeline did not catch up within %.0fs; stopping it anyway", DRAIN_TIMEOUT)
                        pipeline_stop.set()
                        break
                pipeline_stop.wait(1.0)
            state.refresh_tables()
            if live is not None:
                live.update(render(state))

        if with_pipeline and options.serve and serving_available():
            dashboard, state.dashboard = _start_dashboard(paths["storage"], options.serve_port, options.output / "serve.log")
            log.info("dashboard on %s (log: %s)", state.dashboard, options.output / "serve.log")
        os.environ.setdefault(DEMO_SALT_ENV, "demo-only-salt")  # the pipeline hashes e-mails with it
        live_view = Live(render(state), console=console, refresh_per_second=2, transient=False) if options.live and console.is_terminal else None
        if with_pipeline:
            # Before our signal handlers: creating a SparkContext installs PySpark's own SIGINT
            # handler (cancelAllJobs + KeyboardInterrupt, re-entering py4j mid-call); ours must win.
            state.phase = "starting Spark"
            session = _session(spark)
        with _stop_on_signals(sim_stop, pipeline_stop, enabled=handle_signals), (live_view or contextlib.nullcontext()):
            state.phase = "starting the pipeline" if with_pipeline else "running"
            sim_thread = threading.Thread(target=simulate, name="simulator", daemon=True)
            view_thread = threading.Thread(target=supervise, args=(live_view,), name="demo-view", daemon=True)
            sim_thread.start()
            view_thread.start()
            if with_pipeline:
                outcome.update = _run_pipeline(session, paths, configuration, on_flow, pipeline_stop)
                sim_stop.set()  # the pipeline ended (stopped or failed): the simulator ends too
            sim_thread.join()
            pipeline_stop.set()
            view_thread.join()
        state.phase = "done"
    finally:
        if dashboard is not None:
            _stop_process(dashboard)
        if broker is not None:
            kafka_broker.stop(broker)
        if simulator is not None:
            outcome.truth = simulator.truth.as_json()
            simulator.truth.write(paths["truth"])
    if errors:
        raise errors[0]
    if with_pipeline and options.duration is not None:
        from orders_lakehouse.devstack.reconcile import Check, reconcile

        try:
            outcome.checks = reconcile(_session(spark), state.tables_dir, outcome.truth)
        except Exception as error:  # noqa: BLE001 - the summary says what went wrong instead of a traceback
            log.error("reconciliation failed: %s", error)
            outcome.checks = [Check("reconciliation could run", "yes", f"no: {type(error).__name__}: {error}"[:300])]
    return outcome


_SESSION: Any = None


def _session(spark: Any) -> Any:
    """The given session, or the demo's own (built once)."""
    global _SESSION  # noqa: PLW0603 - one JVM per demo process
    if spark is not None:
        return spark
    if _SESSION is None:
        from localdlt.session import SessionSettings, build_session

        _SESSION = build_session(
            SessionSettings(
                app_name="orders-lakehouse-demo",
                shuffle_partitions=2,
            )
        )
    return _SESSION


def _run_pipeline(spark: Any, paths: dict[str, Path], configuration: dict[str, str], listener: Any, stop: threading.Event) -> Any:
    """localdlt, continuous, until ``stop`` is set."""
    from localdlt.runner import run_update

    result = run_update(
        [PIPELINE_DIR],
        paths["storage"],
        spark=_session(spark),
        configuration=configuration,
        continuous=True,
        listener=listener,
        stop_event=stop,
        root_path=REPO_ROOT,
    )
    for flow in result.failed_flows():
        log.error("flow %s failed: %s", flow.name, flow.error)
    return result


def _shown(value: Any) -> str:
    """A cell of the summary: long lists and mappings as their size (the check still compares them whole)."""
    if isinstance(value, dict):
        return f"{len(value)} entries, {sum(v for v in value.values() if isinstance(v, int))} rows" if all(
            isinstance(v, int) for v in value.values()) else f"{len(value)} entries"
    if isinstance(value, list):
        return f"{len(value)} items" if len(value) > 3 else json.dumps(value)
    return "missing" if value is None else str(value)


def summary(outcome: DemoOutcome, options: DemoOptions) -> Table:
    """The closing table: what was sent, and each reconciliation check with ✓ or ✗."""
    truth = outcome.truth
    table = Table(title=f"demo summary ({options.source}, {truth['messages']} messages)")
    table.add_column("check")
    table.add_column("expected", justify="right")
    table.add_column("actual", justify="right")
    table.add_column("")
    table.add_row(
        "sent",
        f"{truth['valid_events']} valid + {truth['duplicate_messages']} duplicates + {truth['bad_messages']} bad",
        f"{truth['late_events']} late, {len(truth['orders'])} orders",
        "",
    )
    for check in outcome.checks:
        table.add_row(check.name, _shown(check.expected), _shown(check.actual), "[green]✓[/]" if check.ok else "[red]✗[/]")
    if outcome.update is not None:
        failed = outcome.update.failed_flows()
        table.add_row("pipeline update", "COMPLETED", outcome.update.status, "[green]✓[/]" if outcome.update.ok else "[red]✗[/]")
        for flow in failed:
            table.add_row(f"  flow {flow.name}", "", (flow.error or "")[:200], "[red]✗[/]")
    return table


def main(argv: list[str] | None = None) -> int:
    """Parse the flags, run, print the summary; exit 1 if the reconciliation fails."""
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", choices=["files", "kafka"], default="files", help="transport (default files)")
    parser.add_argument("--duration", type=float, help="seconds of simulated traffic, then catch up, reconcile and exit")
    parser.add_argument("--rate", type=float, default=50.0, help="events per second (default 50)")
    parser.add_argument("--seed", type=int, help="simulator seed")
    parser.add_argument("--bad-rate", type=float, default=0.02, help="share of bad messages (default 0.02)")
    parser.add_argument("--output", type=Path, default=Path("demo-output"), help="working folder (emptied first)")
    parser.add_argument("--kafka-port", type=int, help="broker port for --source kafka (default: a free one)")
    parser.add_argument("--no-live", action="store_true", help="log lines instead of the live view")
    parser.add_argument("--no-serve", action="store_true", help="do not start the API / dashboard")
    parser.add_argument("--port", type=int, default=8000, help="dashboard port (default 8000, a free one if taken)")
    args = parser.parse_args(argv)
    options = DemoOptions(
        source=args.source, duration=args.duration, rate=args.rate, output=args.output, seed=args.seed,
        bad_rate=args.bad_rate, kafka_port=args.kafka_port, live=not args.no_live, serve=not args.no_serve, serve_port=args.port,
    )
    console = Console()
    options.output.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        level=logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=console, show_path=False, level=logging.WARNING if options.live and console.is_terminal else logging.INFO)],
    )
    file_log = logging.FileHandler(options.output / "demo.log")
    file_log.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(file_log)
    logging.getLogger("py4j").setLevel(logging.WARNING)  # one INFO line per callback connection otherwise
    if not pipeline_available():
        console.print("[yellow]orders pipeline not found in pipelines/orders: running the simulator alone[/]")
    try:
        outcome = run_demo(options, console=console)
    except (kafka_broker.BrokerError, OSError, RuntimeError) as error:
        console.print(f"[red]error:[/] {error}")
        return 1
    console.print(summary(outcome, options))
    console.print(f"ground truth: {options.output / 'ground-truth.json'}   log: {options.output / 'demo.log'}")
    if outcome.update is not None and serving_available():
        console.print(f"dashboard over these tables: orders-lakehouse serve --storage {options.output / 'storage'} --dev")
    return 0 if outcome.ok else 1


if __name__ == "__main__":
    sys.exit(main())
