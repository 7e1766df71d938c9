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
* ``--no-pipeline`` runs the simulator and the producer alone (no Spark).

The parts (broker, producer, dashboard, simulator, view, pipeline) are context managers in
``demo_parts``; :func:`run_demo` composes them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.logging import RichHandler
from rich.table import Table

from localdlt.session import SPARK_LOG_ENV
from orders_lakehouse.devstack import demo_parts as parts
from orders_lakehouse.devstack import kafka_broker, latency
from orders_lakehouse.devstack.latency import LatencyWatch
from orders_lakehouse.devstack.live import DemoState, render
from orders_lakehouse.devstack.reconcile import Check, reconcile
from orders_lakehouse.simulator import bad
from orders_lakehouse.simulator.engine import Simulator, SimulatorConfig

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[3]
PIPELINE_DIR = REPO_ROOT / "pipelines" / "orders"
TOPIC = "orders"
DEMO_SALT_ENV = "LOCALDLT_SECRET_ORDERS_PII_SALT"


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
    pipeline: bool = True  # False: the simulator and the producer alone (no Spark, no dashboard)
    serve: bool = True  # start the API + dashboard (with the pipeline)
    serve_port: int = 8000


@dataclass
class DemoOutcome:
    """What a demo run produced: the ground truth, the pipeline's result, the reconciliation."""

    truth: dict[str, Any]
    update: Any | None = None  # localdlt UpdateResult, None when the pipeline did not run
    checks: list[Any] = field(default_factory=list)
    latency: dict[str, Any] = field(default_factory=dict)  # p50/p95/p99 to Silver and Gold, seconds

    @property
    def ok(self) -> bool:
        pipeline_ok = self.update is None or self.update.ok
        return pipeline_ok and all(check.ok for check in self.checks)


@dataclass(frozen=True)
class DemoPaths:
    """The run's files and folders under ``--output``."""

    landing: Path
    staging: Path
    storage: Path
    truth: Path
    kafka: Path

    @classmethod
    def fresh(cls, output: Path) -> DemoPaths:
        """The run's folders, emptied: every demo starts from nothing, so its summary is exact."""
        paths = cls(
            output / "landing",
            output / ".landing.staging",
            output / "storage",
            output / "ground-truth.json",
            output / "kafka",
        )
        for folder in (paths.landing, paths.staging, paths.storage):
            shutil.rmtree(folder, ignore_errors=True)
        paths.truth.unlink(missing_ok=True)
        output.mkdir(parents=True, exist_ok=True)
        return paths


def run_demo(
    options: DemoOptions,
    *,
    spark: Any = None,
    console: Console | None = None,
    handle_signals: bool = True,
) -> DemoOutcome:
    """Run the demo; returns the outcome (the caller prints the summary). ``spark``: reuse a session.

    Each part is a context manager entered on one ``ExitStack``: whatever happens, they stop in
    reverse order — pipeline, simulator, view, signal handlers, dashboard, producer, broker.
    """
    console = console or Console()
    paths = DemoPaths.fresh(options.output)
    landing = paths.landing if options.source == "files" else None  # None: Kafka record timestamps
    state = DemoState(
        source=options.source,
        tables_dir=paths.storage / "tables",
        latency_watch=LatencyWatch(paths.storage, landing) if options.pipeline else None,
    )
    flags = parts.Flags()
    limit = math.ceil(options.rate * options.duration) if options.duration is not None else None
    configuration = {"orders.source": options.source, "pipelines.trigger.interval": "1 second"}
    outcome = DemoOutcome(truth={})
    pipeline: parts.PipelineRun | None = None
    with contextlib.ExitStack() as stack:
        bootstrap = None
        if options.source == "kafka":
            state.phase = "starting Kafka"
            bootstrap = stack.enter_context(parts.kafka_running(paths.kafka, options.kafka_port, TOPIC))
            configuration.update({"orders.kafka.bootstrap_servers": bootstrap, "orders.kafka.topic": TOPIC})
        else:
            configuration["orders.landing_path"] = str(paths.landing.resolve())
        producer = stack.enter_context(
            parts.producer_for(
                options.source, landing=paths.landing, staging=paths.staging, bootstrap=bootstrap, topic=TOPIC
            )
        )
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
        stack.callback(_keep_truth, simulator, outcome, paths.truth)
        if options.pipeline and options.serve:
            serve_log = options.output / "serve.log"
            state.dashboard = stack.enter_context(
                parts.dashboard_running(paths.storage, options.serve_port, serve_log)
            )
        os.environ.setdefault(DEMO_SALT_ENV, "demo-only-salt")  # the pipeline hashes e-mails with it
        if options.pipeline:
            # Before our signal handlers: creating a SparkContext installs PySpark's own SIGINT
            # handler (cancelAllJobs + KeyboardInterrupt, re-entering py4j mid-call); ours must win.
            state.phase = "starting Spark"
            session = parts.demo_session(spark)
        stack.enter_context(
            parts.stop_on_signals(flags.sim_stop, flags.pipeline_stop, enabled=handle_signals)
        )
        live = None
        if options.live and console.is_terminal:
            live = stack.enter_context(
                Live(render(state), console=console, refresh_per_second=2, transient=False)
            )
        state.phase = "starting the pipeline" if options.pipeline else "running"
        stack.enter_context(parts.watching(state, flags, simulator.truth, live, drain=options.pipeline))
        stack.enter_context(
            parts.simulator_sending(
                simulator,
                producer,
                state,
                flags,
                limit=limit,
                rate=options.rate,
                wait_for_pipeline=options.pipeline,
            )
        )
        if options.pipeline:
            pipeline = stack.enter_context(
                parts.pipeline_running(
                    session,
                    PIPELINE_DIR,
                    paths.storage,
                    configuration,
                    flags,
                    state.on_flow,
                    root_path=REPO_ROOT,
                )
            )
        flags.pipeline_stop.wait()  # set by the view once everything is in, by Ctrl-C, or by a failure
    state.phase = "done"
    if pipeline is not None:
        outcome.update = pipeline.result
        outcome.latency = _latency(paths.storage, landing)
        if options.duration is not None:
            outcome.checks = _reconcile(parts.demo_session(spark), state.tables_dir, outcome.truth)
    return outcome


def _keep_truth(simulator: Simulator, outcome: DemoOutcome, path: Path) -> None:
    """The simulator's ground truth into the outcome and ``ground-truth.json``."""
    outcome.truth = simulator.truth.as_json()
    simulator.truth.write(path)


def _latency(storage: Path, landing: Path | None) -> dict[str, Any]:
    """Per-event latency of the whole run, produced → visible in Silver and in Gold (percentiles)."""
    try:
        figures = latency.latencies(storage, landing)
    except Exception as error:  # noqa: BLE001 - the summary says it could not be measured
        log.warning("latency could not be read: %s", error)
        return {}
    gold = [value for value in figures["gold"] if value is not None]
    return {"silver": latency.percentiles(figures["silver"]), "gold": latency.percentiles(gold)}


def _reconcile(spark: Any, tables: Path, truth: dict[str, Any]) -> list[Check]:
    """The reconciliation checks; a reconciliation that cannot run is one failed check saying why."""
    try:
        return reconcile(spark, tables, truth)
    except Exception as error:  # noqa: BLE001 - the summary says what went wrong instead of a traceback
        log.error("reconciliation failed: %s", error)
        return [Check("reconciliation could run", "yes", f"no: {type(error).__name__}: {error}"[:300])]


def _shown(value: Any) -> str:
    """A cell of the summary: long lists and mappings as their size (the check still compares them whole)."""
    if isinstance(value, dict):
        return (
            f"{len(value)} entries, {sum(v for v in value.values() if isinstance(v, int))} rows"
            if all(isinstance(v, int) for v in value.values())
            else f"{len(value)} entries"
        )
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
    sent = (
        f"{truth['valid_events']} valid + {truth['duplicate_messages']} duplicates + "
        f"{truth['bad_messages']} bad"
    )
    table.add_row(
        "sent",
        sent,
        f"{truth['late_events']} late, {len(truth['orders'])} orders",
        "",
    )
    for check in outcome.checks:
        table.add_row(
            check.name,
            _shown(check.expected),
            _shown(check.actual),
            "[green]✓[/]" if check.ok else "[red]✗[/]",
        )
    if outcome.update is not None:
        failed = outcome.update.failed_flows()
        table.add_row(
            "pipeline update",
            "COMPLETED",
            outcome.update.status,
            "[green]✓[/]" if outcome.update.ok else "[red]✗[/]",
        )
        for flow in failed:
            table.add_row(f"  flow {flow.name}", "", (flow.error or "")[:200], "[red]✗[/]")
    for layer in ("silver", "gold"):
        figures = outcome.latency.get(layer) or {}
        if figures.get("n"):
            shown = " / ".join(f"{figures[q]:.1f}" for q in ("p50", "p95", "p99"))
            table.add_row(f"latency → {layer.capitalize()} p50 / p95 / p99", "", f"{shown} s", "")
    return table


def configure_logging(console: Console, output: Path, *, live: bool) -> Path:
    """The demo's logging, all in one place: warnings (or everything without the live view) on the
    console, everything in ``output/demo.log``. Returns the log file's path."""
    log_path = output / "demo.log"
    console_level = logging.WARNING if live else logging.INFO
    logging.basicConfig(
        level=logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=console, show_path=False, level=console_level)],
    )
    file_log = logging.FileHandler(log_path)
    file_log.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(file_log)
    logging.getLogger("py4j").setLevel(logging.WARNING)  # one INFO line per callback connection otherwise
    return log_path


def parse_options(argv: list[str] | None) -> DemoOptions:
    """The command line as :class:`DemoOptions`."""
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--source", choices=["files", "kafka"], default="files", help="transport (default files)")
    add("--duration", type=float, help="seconds of simulated traffic, then catch up, reconcile and exit")
    add("--rate", type=float, default=50.0, help="events per second (default 50)")
    add("--seed", type=int, help="simulator seed")
    add("--bad-rate", type=float, default=0.02, help="share of bad messages (default 0.02)")
    add("--output", type=Path, default=Path("demo-output"), help="working folder (emptied first)")
    add("--kafka-port", type=int, help="broker port for --source kafka (default: a free one)")
    add("--no-live", action="store_true", help="log lines instead of the live view")
    add("--no-serve", action="store_true", help="do not start the API / dashboard")
    add("--no-pipeline", action="store_true", help="run the simulator and the producer alone (no Spark)")
    add("--port", type=int, default=8000, help="dashboard port (default 8000, a free one if taken)")
    args = parser.parse_args(argv)
    return DemoOptions(
        source=args.source,
        duration=args.duration,
        rate=args.rate,
        output=args.output,
        seed=args.seed,
        bad_rate=args.bad_rate,
        kafka_port=args.kafka_port,
        live=not args.no_live,
        pipeline=not args.no_pipeline,
        serve=not args.no_serve,
        serve_port=args.port,
    )


def main(argv: list[str] | None = None) -> int:
    """Parse the flags, run, print the summary; exit 1 if the reconciliation fails."""
    options = parse_options(argv)
    console = Console()
    options.output.mkdir(parents=True, exist_ok=True)
    log_path = configure_logging(console, options.output, live=options.live and console.is_terminal)
    # Spark's and Delta's routine warnings go to a file, not between the live view's frames.
    spark_log = Path(os.environ.setdefault(SPARK_LOG_ENV, str((options.output / "spark.log").resolve())))
    try:
        outcome = run_demo(options, console=console)
    except (kafka_broker.BrokerError, OSError, RuntimeError) as error:
        console.print(f"[red]error:[/] {error}")
        return 1
    console.print(summary(outcome, options))
    console.print(
        f"ground truth: {options.output / 'ground-truth.json'}   log: {log_path}   Spark log: {spark_log}"
    )
    if outcome.update is not None:
        storage = options.output / "storage"
        console.print(f"dashboard over these tables: orders-lakehouse serve --storage {storage} --dev")
    return 0 if outcome.ok else 1


if __name__ == "__main__":
    sys.exit(main())
