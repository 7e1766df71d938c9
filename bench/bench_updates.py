"""Fixed cost of a pipeline update: the orders pipeline's first update (20,000 events) and a small
update (2,000 new events on that history), each against a plain PySpark process that starts its
JVM, reads the same events and appends them to one Delta table.

    python -m bench updates                               # defaults below, one round
    python -m bench.bench_updates --history 20000 --new 2000 --rounds 2 --profile

Every run is a fresh process (``localdlt run pipelines/orders``, the command a developer types),
timed whole; the plain process runs right before each localdlt run, so a crowded machine hurts
both alike. Targets (issue 11): first update ≤ 2.5x the plain process, small update ≤ 2x.
The per-flow timeline of each update is read from its own event log (no JVM: ``deltalake``);
``--profile`` also samples the driver's Python stacks with py-spy into bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

HERE = Path(__file__).parent
ROOT = HERE.parent
RESULTS = HERE / "results"
PIPELINE = ROOT / "pipelines" / "orders"
BIN = Path(sys.executable).parent
SALT_ENV = "LOCALDLT_SECRET_ORDERS_PII_SALT"
FILE_EVENTS = 500  # events per landed file, as the simulator's file producer batches them


def simulate(total: int, seed: int = 11) -> list[bytes]:
    """``total`` messages of the orders simulator (demo defaults: bad, duplicate and late ones)."""
    from orders_lakehouse.simulator import bad
    from orders_lakehouse.simulator.engine import Simulator, SimulatorConfig

    cadence = 1000.0  # simulated messages per second, backfilled so that the history ends now
    start = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(seconds=total / cadence)
    simulator = Simulator(
        SimulatorConfig(
            seed=seed,
            start_time=start,
            rate=cadence,
            bad_rate=0.02,
            duplicate_rate=0.01,
            late_rate=0.02,
            bad_kinds=bad.select(),
        )
    )
    messages = simulator.messages()
    return [next(messages).value for _ in range(total)]


def write_files(folder: Path, lines: list[bytes], first_index: int) -> list[Path]:
    """JSON-lines files of FILE_EVENTS lines each (names sort in sending order)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for offset in range(0, len(lines), FILE_EVENTS):
        path = folder / f"orders-{first_index + offset // FILE_EVENTS:05d}.json"
        path.write_bytes(b"\n".join(lines[offset : offset + FILE_EVENTS]) + b"\n")
        paths.append(path)
    return paths


def run_plain(sources: list[Path], table: Path) -> dict[str, Any]:
    """The plain process on ``sources``: whole wall time plus its own figures."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "bench.plain_append", *map(str, sources), "--table", str(table)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"plain append failed: {result.stderr[-2000:]}")
    return {"wall_s": wall, **json.loads(result.stdout.strip().splitlines()[-1])}


def run_localdlt(
    landing: Path, storage: Path, *, profile: Path | None = None, conf: list[str] | tuple[str, ...] = ()
) -> dict[str, Any]:
    """``localdlt run pipelines/orders`` as a developer types it; whole wall time + event-log timeline."""
    command = [
        str(BIN / "localdlt"),
        "run",
        str(PIPELINE),
        "--storage",
        str(storage),
        "--conf",
        f"orders.landing_path={landing}",
        "--quiet",
        *(part for pair in conf for part in ("--conf", pair)),
    ]
    if profile is not None:
        # --idle: also the samples where the driver waits on the JVM (py4j), which is the point.
        command = [
            str(BIN / "py-spy"),
            "record",
            "--idle",
            "--rate",
            "20",
            "--format",
            "speedscope",
            "-o",
            str(profile),
            "--",
            *command,
        ]
    env = {**os.environ, SALT_ENV: os.environ.get(SALT_ENV, "bench-salt")}
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env, check=False)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(
            f"localdlt run failed ({result.returncode}): {result.stdout[-1500:]} {result.stderr[-1500:]}"
        )
    return {"wall_s": wall, **update_timeline(storage)}


def update_timeline(storage: Path) -> dict[str, Any]:
    """The latest update's phases and per-flow times from its event log (read without a JVM)."""
    from deltalake import DeltaTable

    events = DeltaTable(str(storage / "system" / "events")).to_pyarrow_table().to_pylist()
    latest = max((e for e in events if e["event_type"] == "create_update"), key=lambda e: e["timestamp"])
    update_id = latest["origin"]["update_id"]
    mine = sorted(
        (e for e in events if e["origin"]["update_id"] == update_id),
        key=lambda e: e["sequence"]["control_plane_seq_no"],
    )
    start = mine[0]["timestamp"]

    def at(event: dict[str, Any]) -> float:
        return round((event["timestamp"] - start).total_seconds(), 2)

    phases = {
        json.loads(e["details"])["update_progress"]["state"]: at(e)
        for e in mine
        if e["event_type"] == "update_progress"
    }
    flows: dict[str, dict[str, Any]] = {}
    for event in mine:
        flow = event["origin"]["flow_name"]
        if event["event_type"] != "flow_progress" or flow is None:
            continue
        details = json.loads(event["details"])["flow_progress"]
        entry = flows.setdefault(flow, {"rows": 0})
        status = details.get("status")
        if event["level"] == "METRICS":
            entry["rows"] += details.get("metrics", {}).get("num_output_rows", 0)
        elif status in ("STARTING", "RUNNING") and "start" not in entry:
            entry["start"] = at(event)
        elif status in ("COMPLETED", "FAILED", "SKIPPED", "EXCLUDED"):
            entry["end"] = at(event)
            entry["status"] = status
    for entry in flows.values():
        if "start" in entry and "end" in entry:
            entry["seconds"] = round(entry["end"] - entry["start"], 2)
    end = phases.get("COMPLETED", phases.get("FAILED"))
    return {"update_s": end, "phases": phases, "flows": flows}


def ratio(ours: float, plain: float) -> float:
    """How many times the plain process's time ours takes."""
    return round(ours / plain, 2)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_updates", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--history", type=int, default=20_000, help="events of the first update")
    parser.add_argument("--new", type=int, default=2_000, help="new events of the small update")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--profile", action="store_true", help="py-spy the localdlt runs (bench/results/*.speedscope)"
    )
    parser.add_argument(
        "--conf",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra pipeline configuration, e.g. localdlt.max_concurrent_flows=1",
    )
    args = parser.parse_args(argv)
    console = Console()
    work = Path(tempfile.mkdtemp(prefix="bench-updates-"))
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    try:
        lines = simulate(args.history + args.new)
        staged_history = write_files(work / "history", lines[: args.history], 0)
        staged_new = write_files(work / "new", lines[args.history :], len(staged_history))
        runs: list[dict[str, Any]] = []
        for number in range(args.rounds):
            landing, storage = work / f"landing-{number}", work / f"storage-{number}"
            landing.mkdir()
            for path in staged_history:
                shutil.copy(path, landing / path.name)
            figures: dict[str, Any] = {}
            with console.status(f"round {number + 1}: plain process, {args.history:,} events"):
                figures["plain_first"] = run_plain(staged_history, work / f"plain-{number}")
            with console.status(f"round {number + 1}: localdlt first update, {args.history:,} events"):
                figures["localdlt_first"] = run_localdlt(
                    landing,
                    storage,
                    profile=RESULTS / f"updates-first-{stamp}.speedscope.json" if args.profile else None,
                    conf=args.conf,
                )
            for path in staged_new:
                shutil.copy(path, landing / path.name)
            with console.status(f"round {number + 1}: plain process, {args.new:,} events"):
                figures["plain_small"] = run_plain(staged_new, work / f"plain-small-{number}")
            with console.status(f"round {number + 1}: localdlt small update, {args.new:,} new events"):
                figures["localdlt_small"] = run_localdlt(
                    landing,
                    storage,
                    profile=RESULTS / f"updates-small-{stamp}.speedscope.json" if args.profile else None,
                    conf=args.conf,
                )
            runs.append(figures)
        summary = summarize(runs)
        report(console, runs, summary, args)
        out = RESULTS / f"updates-{stamp}.json"
        out.write_text(
            json.dumps(
                {
                    "bench": "updates",
                    "conf": args.conf,
                    "at": stamp,
                    "history": args.history,
                    "new": args.new,
                    "summary": summary,
                    "runs": runs,
                },
                indent=2,
                default=str,
            )
        )
        console.print(
            f"SUMMARY updates: first update {summary['first_ratio']}x plain (target ≤ 2.5x), "
            f"small update {summary['small_ratio']}x plain (target ≤ 2x); figures in {out}"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over rounds of the whole-process times and their ratios."""

    def median(key: str, field: str = "wall_s") -> float:
        return round(statistics.median(r[key][field] for r in runs), 1)

    return {
        "plain_first_s": median("plain_first"),
        "localdlt_first_s": median("localdlt_first"),
        "localdlt_first_update_s": median("localdlt_first", "update_s"),
        "plain_small_s": median("plain_small"),
        "localdlt_small_s": median("localdlt_small"),
        "localdlt_small_update_s": median("localdlt_small", "update_s"),
        "first_ratio": ratio(median("localdlt_first"), median("plain_first")),
        "small_ratio": ratio(median("localdlt_small"), median("plain_small")),
    }


def report(
    console: Console, runs: list[dict[str, Any]], summary: dict[str, Any], args: argparse.Namespace
) -> None:
    """The comparison table and, for the last round, each flow's time inside the update."""
    table = Table(title=f"orders pipeline updates vs a plain append process (median of {args.rounds})")
    for column in ("run", "plain process s", "localdlt whole s", "localdlt update s", "ratio"):
        table.add_column(column)
    table.add_row(
        f"first update, {args.history:,} events",
        str(summary["plain_first_s"]),
        str(summary["localdlt_first_s"]),
        str(summary["localdlt_first_update_s"]),
        f"{summary['first_ratio']}x",
    )
    table.add_row(
        f"small update, +{args.new:,} events",
        str(summary["plain_small_s"]),
        str(summary["localdlt_small_s"]),
        str(summary["localdlt_small_update_s"]),
        f"{summary['small_ratio']}x",
    )
    console.print(table)
    for key in ("localdlt_first", "localdlt_small"):
        timeline = runs[-1][key]
        flows = Table(title=f"{key}: phases {timeline['phases']}")
        for column in ("flow", "start s", "end s", "seconds", "rows", "status"):
            flows.add_column(column)
        for name, entry in sorted(timeline["flows"].items(), key=lambda item: item[1].get("start", 1e9)):
            flows.add_row(
                name,
                str(entry.get("start", "-")),
                str(entry.get("end", "-")),
                str(entry.get("seconds", "-")),
                str(entry["rows"]),
                entry.get("status", "-"),
            )
        console.print(flows)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
