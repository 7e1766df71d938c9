"""A lower bound on the test suite's time: the Delta commits its tests made, at the floor each costs.

    make test PYTEST_ARGS=--basetemp=/tmp/suite-tmp     # keep every test's folders
    python -m bench.bench_floors --testing               # the floors, with CPU seconds
    python -m bench.bench_suite_floor /tmp/suite-tmp     # or: python -m bench suite_floor (newest pytest run)

Every Delta table a test wrote under pytest's base folder still has its log: this counts the
commits by operation (``commitInfo.operation`` and its mode) and the streaming micro-batches (the
``commits/`` entries of each checkpoint), multiplies each by the CPU seconds one such operation
takes on 50 rows in a test session (``bench_floors``: warm JVM, nothing else running) and divides by
the cores. Operations the floors do not measure (VACUUM, OPTIMIZE, DELETE, ...) count zero, tables
written outside the base folder are not seen, and reads, queries, stream and JVM start-ups are not
counted at all: the figure is what the commits alone cost, a floor under the suite's time that no
runtime change short of fewer commits can go below. Writes ``bench/results/suite_floor-<when>.json``.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import re
import tempfile
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from rich.console import Console
from rich.table import Table

RESULTS = Path(__file__).parent / "results"
COMMIT_FILE = re.compile(r"\d{20}\.json")

# commitInfo "operation mode" -> the bench_floors operation whose cost it is charged (a lower bound:
# a first write with data is charged as an append, any overwrite as the change-data-feed one).
APPEND, OVERWRITE = "Delta append", "Delta overwrite, change data feed on"
MERGE = "Delta MERGE replacing 5 keys"
CREATE, DELTA_SINK = "Delta CREATE TABLE, metadata only", "stream availableNow → Delta sink"
FOREACH_BATCH = "stream availableNow → foreachBatch append"
CHARGED = {
    "WRITE Append": APPEND,
    "WRITE ErrorIfExists": APPEND,
    "WRITE": APPEND,
    "CREATE TABLE AS SELECT": APPEND,
    "WRITE Overwrite": OVERWRITE,
    "CREATE OR REPLACE TABLE AS SELECT": OVERWRITE,
    "MERGE": MERGE,
    "CREATE TABLE": CREATE,
    "STREAMING UPDATE": DELTA_SINK,  # its output mode is not "mode"
}
BATCH_OVERHEAD = "micro-batch into foreachBatch (beyond its writes)"


@dataclass(frozen=True)
class Census:
    """What a test run left: Delta tables, their commits by ``operation mode``, micro-batches."""

    tables: int
    commits: Counter[str]
    micro_batches: int


def census(root: Path) -> Census:
    """Count the Delta commits and streaming micro-batches under ``root``."""
    tables, batches, commits = 0, 0, Counter[str]()
    for directory, subdirectories, files in os.walk(root):
        path = Path(directory)
        if path.name == "_delta_log":
            tables += 1
            for name in files:
                if COMMIT_FILE.fullmatch(name):
                    commits[_operation(path / name)] += 1
            subdirectories[:] = []
        elif path.name == "commits" and (path.parent / "metadata").is_file():  # a streaming checkpoint
            batches += sum(1 for name in files if name.isdigit())
    return Census(tables, commits, batches)


def _operation(commit: Path) -> str:
    """``operation mode`` of a commit file (its ``commitInfo``), e.g. ``WRITE Append``."""
    try:
        for line in commit.read_text().splitlines():
            if '"commitInfo"' in line:
                info = json.loads(line)["commitInfo"]
                mode = info.get("operationParameters", {}).get("mode", "")
                return f"{info.get('operation', '?')} {mode}".strip()
    except (OSError, ValueError):
        return "(unreadable)"
    return "(no commitInfo)"


def lower_bound(found: Census, cpu_floor: dict[str, float]) -> list[dict[str, object]]:
    """One row per kind of commit (plus the micro-batches' own overhead): how many, the CPU seconds
    one costs (0 when not measured), the total."""
    rows = []
    for operation, count in found.commits.most_common():
        charged = CHARGED.get(operation)
        each = cpu_floor[charged] if charged else 0.0
        rows.append({"operation": operation, "count": count, "charged_as": charged, "cpu_s_each": each})
    # A foreachBatch micro-batch costs more than the writes it makes (counted above); a Delta sink's
    # micro-batch is its STREAMING UPDATE commit, already charged the whole stream.
    sink_batches = sum(n for op, n in found.commits.items() if CHARGED.get(op) == DELTA_SINK)
    overhead = max(cpu_floor[FOREACH_BATCH] - cpu_floor[APPEND], 0.0)
    rows.append(
        {
            "operation": BATCH_OVERHEAD,
            "count": max(found.micro_batches - sink_batches, 0),
            "charged_as": f"{FOREACH_BATCH} − {APPEND}",
            "cpu_s_each": round(overhead, 3),
        }
    )
    for row in rows:
        row["cpu_s"] = round(float(row["count"]) * float(row["cpu_s_each"]), 3)  # type: ignore[arg-type]
    return rows


def newest_floors(results: Path = RESULTS) -> Path:
    """The newest ``bench_floors --testing`` result that has CPU seconds."""
    for path in sorted(results.glob("floors-*.json"), reverse=True):
        data = json.loads(path.read_text())
        if data.get("settings") == "test-suite" and all("median_cpu_s" in op for op in data["operations"]):
            return path
    raise SystemExit(
        f"no test-suite floors with CPU seconds in {results}: run python -m bench.bench_floors --testing"
    )


def _default_root() -> Path:
    """pytest's newest base folder (``pytest-current``), as pytest names it for this user."""
    return Path(tempfile.gettempdir()) / f"pytest-of-{getpass.getuser()}" / "pytest-current"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench_suite_floor", description=__doc__.split("\n")[0])
    parser.add_argument("root", type=Path, nargs="?", default=_default_root(), help="pytest's --basetemp")
    parser.add_argument("--floors", type=Path, help="a bench_floors --testing result (default: the newest)")
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if not args.root.is_dir():
        raise SystemExit(f"{args.root}: no such folder; run make test PYTEST_ARGS=--basetemp={args.root}")
    floors_path = args.floors or newest_floors()
    floors = json.loads(floors_path.read_text())
    cpu_floor = {op["operation"]: float(op["median_cpu_s"]) for op in floors["operations"]}
    found = census(args.root)
    rows = lower_bound(found, cpu_floor)
    total = sum(float(row["cpu_s"]) for row in rows)  # type: ignore[arg-type]
    table = Table(title=f"{found.tables} Delta tables under {args.root}, floors of {floors_path.name}")
    for column in ("commits of", "count", "charged as", "CPU s each", "CPU s"):
        table.add_column(column, justify="left" if column in ("commits of", "charged as") else "right")
    for row in rows:
        table.add_row(
            str(row["operation"]), str(row["count"]), str(row["charged_as"] or "not measured: 0"),
            f"{row['cpu_s_each']:.3f}", f"{row['cpu_s']:.1f}",
        )
    console = Console(width=140)
    console.print(table)
    wall = total / args.cores
    console.print(
        f"commits alone: {total:.0f} CPU s; on {args.cores} cores at least {wall:.0f} s "
        f"({int(wall // 60)} min {int(wall % 60)} s) before any read, query, stream or JVM start"
    )
    args.out.mkdir(parents=True, exist_ok=True)
    when = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    summary = {
        "bench": "suite_floor",
        "root": str(args.root),
        "floors": floors_path.name,
        "tables": found.tables,
        "micro_batches": found.micro_batches,
        "rows": rows,
        "cpu_s": round(total, 1),
        "cores": args.cores,
        "lower_bound_s": round(wall, 1),
    }
    (args.out / f"suite_floor-{when}.json").write_text(json.dumps(summary, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
