"""Run the pipeline benchmarks (``make bench``), or the ones named on the command line.

    python -m bench                      # catchup, updates, latency, mv_growth: ~25 min on 2 cores
    python -m bench serving cloud_files  # the others, by name (serving builds 2,000 commits first)
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
# What `make bench` runs: the runtime's speed, latency and refresh-growth figures (issues 11, 12).
# The serving bench (its tables take ~35 min to build uncached), the Auto Loader emulation bench,
# the warm-JVM profile of small updates (bench_warm), the refresh of updates touching existing
# orders (bench_mv_touched, ~5 min), the fixed cost of one Delta operation on a few rows
# (bench_floors, ~1 min), what the commits of a test run cost at that floor (bench_suite_floor) and
# what PySpark's call-site capture costs plan building (bench_call_sites, ~1 min) are run by name.
DEFAULT = ["catchup", "updates", "latency", "mv_growth"]


def available() -> list[str]:
    """Names of the benchmark modules, ``bench_<name>.py`` → ``<name>``."""
    return sorted(path.stem.removeprefix("bench_") for path in Path(__file__).parent.glob("bench_*.py"))


def main(argv: list[str]) -> int:
    names = argv or DEFAULT
    unknown = sorted(set(names) - set(available()))
    if unknown:
        print(
            f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available())}",
            file=sys.stderr,
        )
        return 2
    status = 0
    started = time.time()
    for name in names:
        print(f"== bench {name}")
        status |= importlib.import_module(f"bench.bench_{name}").main([])
    print(summary_line(started))
    return status


def summary_line(since: float) -> str:
    """One line of the headline figures written by this run (``bench/results/*.json``)."""
    latest: dict[str, dict] = {}
    for path in sorted(RESULTS.glob("*.json")):
        if path.stat().st_mtime >= since:
            data = json.loads(path.read_text())
            if isinstance(data, dict) and "bench" in data:  # not profiles or other benches' files
                latest[data["bench"]] = data
    parts = []
    if "catchup" in latest:
        ratios = latest["catchup"]["ratios"]
        parts.append(
            f"catch-up {ratios.get('plain_wall', '-')}x plain, {ratios.get('spark-pipelines_wall', '-')}x "
            "spark-pipelines"
        )
    if "updates" in latest:
        figures = latest["updates"]["summary"]
        parts.append(
            f"first update {figures['first_ratio']}x plain, small update {figures['small_ratio']}x plain"
        )
    if "latency" in latest:
        for result in latest["latency"]["results"]:
            if "error" not in result:
                silver, gold = result["silver"]["p95"], result["gold"]["p95"]
                parts.append(f"{result['rate']:g}/s p95 silver {silver} s gold {gold} s")
        parts.append(f"highest sustained {latest['latency']['highest_sustained_rate']}/s")
    if "mv_growth" in latest:
        growth = latest["mv_growth"]
        parts.append(
            f"MV refresh {growth['incremental_ratio']}x on 100x the history (full recompute "
            f"{growth['full_recompute_ratio']}x)"
        )
    if "mv_touched" in latest:
        seconds = " / ".join(f"{u['seconds']} s" for u in latest["mv_touched"]["updates"])
        parts.append(f"fact_orders refresh, new / recent / old orders touched: {seconds}")
    if "floors" in latest:
        floors = {o["operation"]: o["median_s"] for o in latest["floors"]["operations"]}
        append, overwrite = floors["Delta append"], floors["Delta overwrite, change data feed on"]
        merge = floors["Delta MERGE replacing 5 keys"]
        parts.append(f"one Delta append / overwrite / MERGE on 50 rows: {append} / {overwrite} / {merge} s")
    if "call_sites" in latest:
        figures = latest["call_sites"]["results"]
        on, off = figures["capture on"], figures["capture off"]
        parts.append(f"SCD1 plan built with / without PySpark call sites: {on['wall_s']} / {off['wall_s']} s")
    if "suite_floor" in latest:
        suite = latest["suite_floor"]
        parts.append(f"the test run's commits alone: {suite['cpu_s']} CPU s, >= {suite['lower_bound_s']} s "
                     f"on {suite['cores']} cores")
    return "SUMMARY " + ("; ".join(parts) if parts else "no results written")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
