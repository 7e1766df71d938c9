"""Catch-up throughput landing → Gold: localdlt vs a hand-written Structured Streaming job vs
open-source Spark's ``spark-pipelines run``, on the same three-dataset graph and the same files.

    python -m bench catchup                      # defaults: 200,000 events in 100 files, 2 rounds
    python -m bench.bench_catchup --events 500000 --files 200 --rounds 3

Each variant runs in its own process (fresh JVM) and the variants alternate within a round, so a
noisy machine hurts them alike. Reported: the update time (after the session is up) and the whole
command's wall time, the median over rounds, and localdlt's ratio to the others. The target
(DESIGN.md) is localdlt ≥ 0.9× the hand-written job's throughput.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

HERE = Path(__file__).parent
RESULTS = HERE / "results"
CHANNELS = ["app", "web", "marketplace", "store", None]
STATES = ["SP", "RJ", "MG", "RS", "PR", "BA", "PE", "SC"]


def write_landing(landing: Path, events: int, files: int, seed: int = 7) -> None:
    """``events`` synthetic order events (about 1% breaking a Silver rule) in ``files`` JSON-lines files."""
    rng = random.Random(seed)
    landing.mkdir(parents=True)
    per_file = events // files
    for index in range(files):
        lines = []
        for n in range(per_file):
            total = round(rng.uniform(-1, 500), 2) if rng.random() < 0.01 else round(rng.uniform(5, 500), 2)
            lines.append(json.dumps({
                "event_id": f"{index:05d}-{n:07d}", "order_id": f"o-{rng.randrange(events // 4)}",
                "channel": rng.choice(CHANNELS[:4]) if rng.random() > 0.005 else None,
                "state": rng.choice(STATES), "total": total,
                "event_time": f"2026-11-{1 + index % 28:02d}T12:00:00Z",
            }))  # fmt: skip
        (landing / f"part-{index:05d}.json").write_text("\n".join(lines) + "\n")


def run_variant(variant: str, landing: Path, storage: Path) -> dict:
    """Run one variant in a fresh process; return its figures (wall time added)."""
    started = time.perf_counter()
    if variant == "spark-pipelines":
        from deltalake import DeltaTable  # read the result without a JVM

        from localdlt.session import SessionSettings
        from orders_lakehouse.devstack.spark_pipelines import run_spark_pipelines, write_project

        # The same session options as localdlt's default (production) session; the launcher puts
        # the Delta jars on the JVM's class path and the static options where the Connect server
        # reads them (see its docstring: `--conf` mostly does not reach it).
        sources = sorted((HERE / "catchup" / "transformations").glob("*.py"))
        files = {path.name: path.read_text() for path in sources}
        project = write_project(
            storage.parent / "spark-pipelines", files, {"bench.landing_path": str(landing)},
            name="bench_catchup", settings=SessionSettings(),
        )  # fmt: skip
        result = run_spark_pipelines(project, timeout=3600)
        figures = {"variant": variant, "startup_s": None, "update_s": None}
        if result.returncode != 0:
            figures["error"] = [
                line for line in result.stderr.splitlines() if "Error" in line or "Exception" in line
            ][-1:] or result.stderr.strip().splitlines()[-3:]
        else:
            silver = DeltaTable(str(project.warehouse / "bench_silver"))
            figures["silver_rows"] = silver.to_pyarrow_table().num_rows
    else:
        result = subprocess.run(
            [sys.executable, "-m", "bench.catchup.variants", variant, str(landing), str(storage)],
            capture_output=True, text=True, cwd=HERE.parent,
        )  # fmt: skip
        if result.returncode != 0:
            figures = {"variant": variant, "error": result.stderr.strip().splitlines()[-3:]}
        else:
            figures = json.loads(result.stdout.strip().splitlines()[-1])
    figures["wall_s"] = time.perf_counter() - started
    return figures


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_catchup", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--variants", default="plain,localdlt,spark-pipelines")
    args = parser.parse_args(argv)
    variants = args.variants.split(",")
    console = Console()
    work = Path(tempfile.mkdtemp(prefix="bench-catchup-"))
    try:
        landing = work / "landing"
        write_landing(landing, args.events, args.files)
        runs: dict[str, list[dict]] = {v: [] for v in variants}
        for round_number in range(args.rounds):
            order = variants if round_number % 2 == 0 else list(reversed(variants))
            for variant in order:
                storage = work / f"{variant}-{round_number}" / "storage"
                storage.parent.mkdir()
                with console.status(f"round {round_number + 1}/{args.rounds}: {variant}"):
                    runs[variant].append(run_variant(variant, landing, storage))
        table = Table(
            title=f"catch-up landing → Gold, {args.events:,} events in {args.files} files, median of "
            f"{args.rounds}"
        )
        for column in (
            "variant",
            "update s",
            "events/s (update)",
            "wall s",
            "events/s (wall)",
            "silver rows",
            "note",
        ):
            table.add_column(column)
        medians = {}
        for variant, results in runs.items():
            errors = [r["error"] for r in results if "error" in r]
            updates = [r["update_s"] for r in results if r.get("update_s")]
            walls = [r["wall_s"] for r in results if "error" not in r]
            update = statistics.median(updates) if updates else None
            wall = statistics.median(walls) if walls else None
            medians[variant] = (update, wall)
            table.add_row(
                variant,
                f"{update:.1f}" if update else "-",
                f"{args.events / update:,.0f}" if update else "-",
                f"{wall:.1f}" if wall else "-", f"{args.events / wall:,.0f}" if wall else "-",
                str(results[-1].get("silver_rows", "-")), "; ".join(map(str, errors))[:80],
            )  # fmt: skip
        console.print(table)
        ours_update, ours_wall = medians.get("localdlt", (None, None))
        ratios: dict[str, float] = {}
        for other in ("plain", "spark-pipelines"):
            other_update, other_wall = medians.get(other, (None, None))
            if ours_update and other_update:
                ratios[f"{other}_update"] = round(other_update / ours_update, 2)
                console.print(
                    f"localdlt throughput / {other} (update time): {ratios[f'{other}_update']:.2f}x"
                )
            if ours_wall and other_wall:
                ratios[f"{other}_wall"] = round(other_wall / ours_wall, 2)
                console.print(
                    f"localdlt throughput / {other} (whole command): {ratios[f'{other}_wall']:.2f}x"
                )
        RESULTS.mkdir(exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        out = RESULTS / f"catchup-{stamp}.json"
        out.write_text(
            json.dumps(
                {
                    "bench": "catchup",
                    "at": stamp,
                    "events": args.events,
                    "files": args.files,
                    "rounds": args.rounds,
                    "medians": medians,
                    "ratios": ratios,
                    "runs": runs,
                },
                indent=2,
                default=str,
            )
        )
        console.print(
            f"SUMMARY catchup: localdlt throughput {ratios.get('plain_wall', '-')}x plain, "
            f"{ratios.get('spark-pipelines_wall', '-')}x spark-pipelines (whole command; targets "
            f"≥ 1.0x, ≥ 1.3x); {out}"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
