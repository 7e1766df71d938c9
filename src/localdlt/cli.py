"""``localdlt``: run, validate and draw pipelines; read the event log.

Exit codes: 0 success, 1 the update failed (a flow failed), 2 bad arguments, 3 the pipeline
cannot be loaded or planned (definition error), 4 another update holds the storage.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from localdlt import storage
from localdlt.errors import ConcurrentUpdateError, LocalDltError, PipelineDefinitionError
from localdlt.results import FlowResult, UpdateResult

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_UPDATE_FAILED = 1
EXIT_USAGE = 2
EXIT_DEFINITION = 3
EXIT_CONCURRENT = 4


def _conf_pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"--conf expects KEY=VALUE, got {text!r}")
    return key, value


def _names(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"expects a comma-separated list of dataset names, got {text!r}")
    return names


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--duration expects seconds, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"--duration must be positive, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (sub-commands run, validate, explain, graph, events)."""
    parser = argparse.ArgumentParser(prog="localdlt",
                                     description="Run Databricks DLT pipeline files locally.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = parser.add_subparsers(dest="command", required=True)

    def pipeline_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="pipeline file or folder")
        p.add_argument("--conf", action="append", type=_conf_pair, default=[], metavar="KEY=VALUE",
                       help="pipeline configuration (read with spark.conf.get)")
        p.add_argument("--bundle-pipeline", type=Path, metavar="FILE",
                       help="take libraries, configuration and root_path from a bundle pipeline resource")
        p.add_argument("--target", help="bundle target for --bundle-pipeline")
        p.add_argument("--master", help="Spark master URL (default local[*])")

    run = sub.add_parser("run", help="run one update")
    pipeline_args(run)
    run.add_argument("--storage", type=Path, required=True, metavar="DIR",
                     help="tables, checkpoints, event log")
    mode = run.add_mutually_exclusive_group()
    mode.add_argument("--full-refresh", nargs="?", const=True, type=_names, metavar="T,...",
                      help="reset all tables (or the listed ones) and their checkpoints first")
    mode.add_argument("--refresh", type=_names, metavar="T,...", help="update only the listed datasets")
    run.add_argument("--continuous", action="store_true", help="run all flows until stopped or --duration")
    run.add_argument("--duration", type=_positive, metavar="S", help="stop a continuous run after S seconds")
    run.add_argument("--quiet", action="store_true", help="no live status (CI)")

    validate = sub.add_parser("validate", help="resolve and analyse the pipeline; write nothing")
    pipeline_args(validate)

    explain = sub.add_parser("explain",
                             help="the refresh technique of each materialized view, without running")
    pipeline_args(explain)
    explain.add_argument("--format", choices=("text", "json"), default="text")
    explain.add_argument("--dataset", action="append", default=None, metavar="NAME",
                         help="only this materialized view (repeatable)")

    graph = sub.add_parser("graph", help="print the dataflow graph")
    pipeline_args(graph)
    graph.add_argument("--format", choices=("mermaid", "dot"), default="mermaid")

    events = sub.add_parser("events", help="print the event log of a storage folder")
    events.add_argument("--storage", type=Path, required=True, metavar="DIR")
    events.add_argument("--limit", type=int, default=50, help="newest N events (default 50)")
    events.add_argument("--update", help="only this update id")
    events.add_argument("--master", help="Spark master URL (default local[*])")

    maintain = sub.add_parser("maintain", help="OPTIMIZE + VACUUM due tables (as Databricks' maintenance)")
    maintain.add_argument("--storage", type=Path, required=True, metavar="DIR")
    maintain.add_argument("--force", action="store_true", help="every changed table now, not after 24 h")
    maintain.add_argument("--master", help="Spark master URL (default local[*])")
    return parser


def _resolve_pipeline(
    args: argparse.Namespace, parser: argparse.ArgumentParser
) -> tuple[list[Path], dict[str, str], Path | None]:
    conf = dict(args.conf)
    if args.bundle_pipeline is not None:
        from localdlt.bundle import load_pipeline_resource

        resource = load_pipeline_resource(args.bundle_pipeline, target=args.target, overrides=conf)
        paths = list(resource.libraries) + list(args.paths)
        return paths, {**resource.configuration, **conf}, resource.root_path
    if args.target is not None:
        parser.error("argument --target: only valid with --bundle-pipeline")
    if not args.paths:
        parser.error("argument PATH: give at least one pipeline file or folder (or --bundle-pipeline)")
    return list(args.paths), conf, None


def _session(master: str | None) -> Any:
    from localdlt.session import SessionSettings, build_session

    return build_session(SessionSettings(app_name="localdlt", master=master))


class _LiveStatus:
    """Per-flow state, rows and batches, redrawn while the update runs."""

    def __init__(self, console: Console) -> None:
        self._flows: dict[str, FlowResult] = {}
        self._live = Live(self._table(), console=console, refresh_per_second=4, transient=False)

    def _table(self) -> Table:
        table = Table(title="localdlt update")
        for column in ("flow", "target", "status", "rows", "batches", "dropped"):
            table.add_column(column, justify="right" if column in ("rows", "batches", "dropped") else "left")
        for flow in list(self._flows.values()):  # flows report from several threads
            table.add_row(escape(flow.name), escape(flow.target), flow.status, str(flow.rows_written),
                          str(flow.batches), str(flow.dropped_records))
        return table

    def __call__(self, flow: FlowResult) -> None:
        self._flows[flow.name] = flow
        self._live.update(self._table())

    def __enter__(self) -> _LiveStatus:
        self._live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._live.update(self._table())
        self._live.__exit__(*exc)


def _print_failures(result: UpdateResult, err: Console) -> None:
    for flow in result.failed_flows():
        err.print(f"flow '{escape(flow.name)}' FAILED: {escape(flow.error or '')}", highlight=False,
                  soft_wrap=True)


def _cmd_run(
    args: argparse.Namespace, parser: argparse.ArgumentParser, spark: Any, out: Console, err: Console
) -> int:
    if args.duration is not None and not args.continuous:
        parser.error("argument --duration: only valid with --continuous")
    from localdlt.runner import run_update

    paths, conf, root = _resolve_pipeline(args, parser)
    storage.check_free(storage.Layout(Path(args.storage).resolve()))  # fail fast: before starting Spark
    spark = spark or _session(args.master)
    stop = threading.Event()
    # SIGTERM (and Ctrl-C in continuous mode) stop the update cleanly: streams stop, views refresh.
    signals = [signal.SIGTERM] + ([signal.SIGINT] if args.continuous else [])
    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in signals:
            previous[sig] = signal.signal(sig, lambda *_: stop.set())
    try:
        kwargs = dict(spark=spark, configuration=conf, full_refresh=args.full_refresh or False,
                      refresh=args.refresh, continuous=args.continuous, duration=args.duration,
                      root_path=root, stop_event=stop)
        if args.quiet:
            result = run_update(paths, args.storage, **kwargs)
        else:
            with _LiveStatus(out) as live:
                try:
                    result = run_update(paths, args.storage, listener=live, **kwargs)
                except KeyboardInterrupt:
                    stop.set()
                    raise
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if not result.ok:
        _print_failures(result, err)
        return EXIT_UPDATE_FAILED
    if not args.quiet:
        out.print(f"update {result.update_id} COMPLETED")
    return EXIT_OK


def _cmd_validate(args: argparse.Namespace, parser: argparse.ArgumentParser, spark: Any, out: Console) -> int:
    from localdlt.runner import validate

    paths, conf, root = _resolve_pipeline(args, parser)
    graph = validate(paths, spark=spark or _session(args.master), configuration=conf, root_path=root)
    for name in graph.dataset_order:
        ds = graph.datasets[name]
        schema = graph.schemas.get(name)
        columns = ", ".join(f"{f.name} {f.dataType.simpleString()}" for f in schema.fields) if schema else ""
        out.print(f"{escape(name)}: {ds.kind.value} ({escape(columns)})", highlight=False)
    out.print(f"pipeline is valid: {len(graph.datasets)} datasets, {len(graph.flows)} flows", highlight=False)
    return EXIT_OK


def _cmd_explain(args: argparse.Namespace, parser: argparse.ArgumentParser, spark: Any, out: Console) -> int:
    from localdlt.mv.explain import explain
    from localdlt.runner import validate

    paths, conf, root = _resolve_pipeline(args, parser)
    spark = spark or _session(args.master)
    graph = validate(paths, spark=spark, configuration=conf, root_path=root)
    unknown = sorted(set(args.dataset or ()) - set(graph.datasets))
    if unknown:
        parser.error(f"argument --dataset: unknown dataset(s) {', '.join(unknown)}")
    explanations = explain(spark, graph, args.dataset)
    if args.format == "json":
        sys.stdout.write(json.dumps([e.to_json() for e in explanations], indent=1) + "\n")
        return EXIT_OK
    for explanation in explanations:
        for line in explanation.lines():
            out.print(escape(line), highlight=False, soft_wrap=True)
    out.print(f"{len(explanations)} materialized view(s) explained", highlight=False)
    return EXIT_OK


def _cmd_graph(args: argparse.Namespace, parser: argparse.ArgumentParser, spark: Any) -> int:
    from localdlt.render import to_dot, to_mermaid
    from localdlt.runner import validate

    paths, conf, root = _resolve_pipeline(args, parser)
    graph = validate(paths, spark=spark or _session(args.master), configuration=conf, root_path=root)
    sys.stdout.write(to_mermaid(graph) if args.format == "mermaid" else to_dot(graph))
    return EXIT_OK


def _cmd_maintain(args: argparse.Namespace, spark: Any, out: Console) -> int:
    from localdlt.maintenance import maintain

    result = maintain(spark or _session(args.master), args.storage, force=args.force)
    for table in result.tables:
        done = "optimized and vacuumed" if table.optimized else "vacuumed (OPTIMIZE off for this table)"
        out.print(f"{escape(table.table)}: {escape(table.skipped or done)}", highlight=False)
    return EXIT_OK


def _cmd_events(args: argparse.Namespace, parser: argparse.ArgumentParser, spark: Any, out: Console) -> int:
    from pyspark.sql import functions as F

    if not (args.storage / "system" / "events" / "_delta_log").is_dir():
        parser.error(f"argument --storage: no event log under {args.storage}")
    spark = spark or _session(args.master)
    df = spark.read.format("delta").load(str(args.storage / "system" / "events"))
    if args.update:
        df = df.filter(F.col("origin.update_id") == args.update)
    rows = df.orderBy(F.col("sequence.control_plane_seq_no").desc()).limit(args.limit).collect()
    table = Table(title=f"event log of {args.storage}")
    for column in ("timestamp", "update", "event_type", "flow", "level", "message"):
        table.add_column(column)
    for row in reversed(rows):
        table.add_row(str(row["timestamp"]), (row["origin"]["update_id"] or "")[:8], row["event_type"],
                      escape(row["origin"]["flow_name"] or ""), row["level"], escape(row["message"] or ""))
    out.print(table)
    return EXIT_OK


def main(argv: Sequence[str] | None = None, *, spark: Any = None) -> int:
    """Entry point; ``spark`` lets tests reuse their session."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    out, err = Console(), Console(stderr=True)
    try:
        if args.command == "run":
            return _cmd_run(args, parser, spark, out, err)
        if args.command == "validate":
            return _cmd_validate(args, parser, spark, out)
        if args.command == "explain":
            return _cmd_explain(args, parser, spark, out)
        if args.command == "graph":
            return _cmd_graph(args, parser, spark)
        if args.command == "maintain":
            return _cmd_maintain(args, spark, out)
        return _cmd_events(args, parser, spark, out)
    except SystemExit as exc:  # parser.error inside a command
        return int(exc.code or 0)
    except ConcurrentUpdateError as exc:
        err.print(escape(str(exc)), highlight=False, soft_wrap=True)
        return EXIT_CONCURRENT
    except PipelineDefinitionError as exc:
        err.print(escape(str(exc)), highlight=False, soft_wrap=True)
        return EXIT_DEFINITION
    except LocalDltError as exc:
        err.print(escape(str(exc)), highlight=False, soft_wrap=True)
        return EXIT_DEFINITION


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
