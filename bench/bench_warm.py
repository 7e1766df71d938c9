"""Small updates in a warm JVM: where the Bronze → Silver path spends its time once the process
start is paid, and what Spark's no-data micro-batches cost it.

One SparkSession (localdlt's production settings) runs a first update of the selected flows on
``--history`` events, then ``--updates`` small updates of ``--new`` events each with Spark's
default (no-data micro-batches after every batch that moved the watermark), then as many as
localdlt runs them (no-data batches off for flows whose only stateful operators are
deduplications, :mod:`localdlt.stream_conf`), side by side in one run. Every
micro-batch is listed with Spark's own ``durationMs`` (``triggerExecution``, ``addBatch``,
``queryPlanning``); ``--profile`` samples this process with py-spy during the first phase and
splits the update's time into planning and flows, and the write path into the Delta save and the
expectations' plan building.

    .venv/bin/python -m bench.bench_warm            # ~3 min on 2 cores
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.bench_updates import BIN, PIPELINE, RESULTS, SALT_ENV, simulate, write_files

# Main-thread and write-path frames the --profile summary splits the samples by.
PROFILE_SPLITS = {
    "planning every dataset (load_and_plan)": "load_and_plan",
    "flows (Scheduler.run_triggered)": "Scheduler.run_triggered",
}
WRITE_SPLITS = {
    "Delta save of the batch (plan execution + commit)":
        "append_batch_function.<locals>.process.<locals>.<lambda>",
    "expectations' observe/filter (plan analysis)": "observe (localdlt/expectations.py",
}


def source_label(progress: dict[str, Any]) -> str:
    """``reads <table>`` for a Delta source under the storage, else ``reads landing``."""
    description = progress["sources"][0]["description"] if progress.get("sources") else ""
    marker = "/tables/"
    if marker in description:
        return "reads " + description.split(marker, 1)[1].split("/")[0].rstrip("]")
    return "reads landing"


def collect_progress(spark: Any) -> list[dict[str, Any]]:
    """A list that every streaming query's progress is appended to (a Python listener)."""
    from pyspark.sql.streaming import StreamingQueryListener

    seen: list[dict[str, Any]] = []

    class Listener(StreamingQueryListener):
        def onQueryStarted(self, event: Any) -> None:
            pass

        def onQueryProgress(self, event: Any) -> None:
            seen.append(json.loads(event.progress.json))

        def onQueryIdle(self, event: Any) -> None:
            pass

        def onQueryTerminated(self, event: Any) -> None:
            pass

    spark.streams.addListener(Listener())
    return seen


def batches_of(progress: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The micro-batches of one update, as ``query / batch / rows / durations``."""
    return [
        {
            "query": source_label(p),
            "batch": p["batchId"],
            "input_rows": p["numInputRows"],
            "trigger_ms": p["durationMs"].get("triggerExecution", 0),
            "add_batch_ms": p["durationMs"].get("addBatch", 0),
            "planning_ms": p["durationMs"].get("queryPlanning", 0),
        }
        for p in progress
    ]


def profile_split(raw: Path) -> dict[str, float]:
    """Seconds of py-spy samples (``--format raw``, 50 Hz) under each frame of the splits."""
    seconds: dict[str, float] = collections.Counter()
    for line in raw.read_text().splitlines():
        stack, count = line.rsplit(" ", 1)
        for label, frame in {**PROFILE_SPLITS, **WRITE_SPLITS}.items():
            if frame in stack:
                seconds[label] += int(count) / 50
    return {label: round(seconds.get(label, 0.0), 2) for label in {**PROFILE_SPLITS, **WRITE_SPLITS}}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_warm", description=__doc__.split("\n\n")[0])
    parser.add_argument("--history", type=int, default=20_000, help="events of the first update")
    parser.add_argument("--new", type=int, default=1_000, help="new events of each small update")
    parser.add_argument("--updates", type=int, default=4, help="small updates per phase")
    parser.add_argument("--flows", default="bronze_order_events,silver_order_events",
                        help="datasets to update (comma-separated; the others are EXCLUDED), or 'all'")
    parser.add_argument("--profile", action="store_true", help="py-spy the first phase's last updates")
    args = parser.parse_args(argv)

    from localdlt import graph
    from localdlt.runner import run_update
    from localdlt.session import SessionSettings, build_session

    os.environ.setdefault(SALT_ENV, "bench-salt")
    console = Console()
    work = Path(tempfile.mkdtemp(prefix="bench-warm-"))
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    RESULTS.mkdir(exist_ok=True)
    flows = None if args.flows == "all" else args.flows.split(",")
    try:
        landing, storage = work / "landing", work / "storage"
        lines = simulate(args.history + 2 * args.updates * args.new)
        write_files(landing, lines[: args.history], 0)
        spark = build_session(SessionSettings(app_name="bench-warm"))
        progress = collect_progress(spark)
        configuration = {"orders.landing_path": str(landing)}

        def update() -> float:
            started = time.perf_counter()
            result = run_update([PIPELINE], storage, spark=spark, configuration=configuration, refresh=flows)
            if result.status != "COMPLETED":
                raise RuntimeError(f"update {result.status}")
            return round(time.perf_counter() - started, 2)

        planned_stream_conf = graph.stream_conf
        with console.status(f"first update, {args.history:,} events"):
            first_s = update()
        time.sleep(1)  # its last progress events arrive before the small updates' are collected
        updates: list[dict[str, Any]] = []
        spy: subprocess.Popen | None = None
        raw = RESULTS / f"warm-{stamp}.pyspy.txt"
        next_file = args.history // 500 + 1
        for number in range(2 * args.updates):
            no_data = number < args.updates
            # The first phase plans every flow as Spark's default would run it (no stream conf).
            graph.stream_conf = (lambda df: {}) if no_data else planned_stream_conf
            if args.profile and number == 1:
                spy = subprocess.Popen([str(BIN / "py-spy"), "record", "--idle", "--rate", "50",
                                        "--format", "raw", "-o", str(raw), "--pid", str(os.getpid())])
                time.sleep(2)  # py-spy attaches
            if spy is not None and number == args.updates:
                spy.send_signal(2)
                spy.wait()
                spy = None
            start = args.history + number * args.new
            next_file += len(write_files(landing, lines[start : start + args.new], next_file))
            progress.clear()
            variant = "Spark's default" if no_data else "localdlt"
            with console.status(f"small update {number + 1} ({variant})"):
                seconds = update()
            time.sleep(1)  # the listener bus delivers the last progress events
            updates.append({"no_data_batches": no_data, "seconds": seconds, "batches": batches_of(progress)})
        spark.stop()
        figures = {
            "bench": "warm",
            "at": stamp,
            "history": args.history,
            "new": args.new,
            "flows": flows or "all",
            "first_update_s": first_s,
            "updates": updates,
            "profile": profile_split(raw) if args.profile else None,
        }
        report(console, figures)
        out = RESULTS / f"warm-{stamp}.json"
        out.write_text(json.dumps(figures, indent=2))
        on = [u["seconds"] for u in updates if u["no_data_batches"]]
        off = [u["seconds"] for u in updates if not u["no_data_batches"]]
        console.print(f"SUMMARY warm: first update {first_s} s; small updates {min(on)}-{max(on)} s with "
                      f"Spark's no-data batches, {min(off)}-{max(off)} s as localdlt runs them; "
                      f"figures in {out}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def report(console: Console, figures: dict[str, Any]) -> None:
    """One table row per micro-batch of every small update."""
    flows = figures["flows"]
    table = Table(title=f"warm small updates of {flows if flows == 'all' else ', '.join(flows)}")
    for column in ("update", "no-data batches", "update s", "query", "batch", "input rows",
                   "trigger ms", "addBatch ms", "planning ms"):
        table.add_column(column)
    for number, entry in enumerate(figures["updates"], start=1):
        for index, batch in enumerate(entry["batches"]):
            table.add_row(
                str(number) if index == 0 else "",
                ("on" if entry["no_data_batches"] else "off") if index == 0 else "",
                str(entry["seconds"]) if index == 0 else "",
                batch["query"], str(batch["batch"]), str(batch["input_rows"]),
                str(batch["trigger_ms"]), str(batch["add_batch_ms"]), str(batch["planning_ms"]),
            )
    console.print(table)
    if figures["profile"]:
        console.print("py-spy (seconds of samples, first phase):", figures["profile"])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
