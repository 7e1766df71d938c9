"""Serving route latency at 1, 200 and 2,000 Delta commits per table (target: p99 <= 50 ms).

    python -m bench serving                            # sizes 1, 200, 2000; 200 requests per route
    python -m bench.bench_serving --sizes 1 200 --requests 100
    python -m bench.bench_serving --cache /tmp/bench-serving   # build 2,000 commits once, reuse

Every Gold table and the event log get N commits (one small append each, as a streaming table
or a per-batch event log gets them), written with delta-rs. Then, per route, in one process
against the ASGI app (no network): the first request (``cold``: opens the table and reads its
files), ``requests`` more (p50 / p99; point lookups ask for a different order each time), and one
request right after one more commit (``after commit``: the version check sees it and only the new
file is read). Beside it, in the same run, the same routes ``no answer cache`` (snapshots,
files and results cached, but every answer built and JSON-encoded again: a quarter of the
requests) and ``uncached``: a fresh backend per request and no answer cache, i.e. the table opened
and scanned on every request as before any cache (fewer requests: it is slow). Wall-clock
figures on a shared machine are noisy, so each request's process CPU time is reported too.
Results: ``bench/results/serving.json``; a table is printed.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")

from fastapi.testclient import TestClient  # noqa: E402

from orders_lakehouse.serving.api.deps import get_backend  # noqa: E402
from orders_lakehouse.serving.app import create_app  # noqa: E402
from orders_lakehouse.serving.backends.local import LocalDeltaBackend  # noqa: E402
from orders_lakehouse.serving.settings import Settings  # noqa: E402

from bench.serving_tables import commit, prepare  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "serving.json"
ROUTES: list[tuple[str, str, Callable[[int, random.Random], str]]] = [
    ("/orders/{id}", "fact_orders", lambda n, rng: f"/orders/o-{rng.randrange(n):06d}"),
    ("/kpis/sales-per-minute", "gold_sales_per_minute", lambda n, rng: "/kpis/sales-per-minute?minutes=60"),
    ("/kpis/payment-health", "gold_payment_health", lambda n, rng: "/kpis/payment-health?minutes=60"),
    ("/kpis/status-funnel", "gold_status_funnel", lambda n, rng: "/kpis/status-funnel"),
    ("/kpis/fulfillment-sla", "gold_fulfillment_sla", lambda n, rng: "/kpis/fulfillment-sla?days=7"),
    ("/kpis/top-products", "gold_top_products", lambda n, rng: "/kpis/top-products?limit=10"),
    ("/alerts", "gold_order_alerts", lambda n, rng: "/alerts?limit=20"),
    ("/data-quality", "event_log", lambda n, rng: "/data-quality"),
    ("/summary", "gold_sales_per_minute", lambda n, rng: "/summary"),
]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def _timed(client: TestClient, url: str) -> tuple[float, float]:
    """(wall seconds, process CPU seconds) of one request."""
    started, cpu = time.perf_counter(), time.process_time()
    response = client.get(url)
    elapsed, cpu_used = time.perf_counter() - started, time.process_time() - cpu
    if response.status_code != 200:
        raise RuntimeError(f"{url}: HTTP {response.status_code} {response.text[:200]}")
    return elapsed, cpu_used


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def measure(storage: Path, commits: int, requests: int, uncached_requests: int) -> list[dict[str, object]]:
    """Per route: cold, p50, p99 (wall and CPU) and after-one-more-commit latency in milliseconds."""
    rng = random.Random(7)
    results = []
    settings = Settings(env="dev", storage=storage, cache_check_seconds=1.0)
    uncached_app = create_app(settings)
    # Before any cache: every request opened the table anew and scanned it, and built its answer.
    uncached_app.dependency_overrides[get_backend] = lambda: LocalDeltaBackend(storage, check_seconds=0)
    uncached_app.state.answers = None
    # Snapshot, file and result caches but no answer cache: every request builds and encodes its
    # answer (what the answer cache saves).
    unanswered_app = create_app(settings)
    unanswered_app.state.answers = None
    with (
        TestClient(create_app(settings)) as client,
        TestClient(uncached_app) as uncached,
        TestClient(unanswered_app) as unanswered,
    ):
        for route, table, url in ROUTES:
            cold = _timed(client, url(commits, rng))[0]
            warm = [_timed(client, url(commits, rng)) for _ in range(requests)]
            _timed(unanswered, url(commits, rng))  # its own snapshots: opened before timing
            built = [_timed(unanswered, url(commits, rng)) for _ in range(max(requests // 4, 1))]
            before = [_timed(uncached, url(commits, rng)) for _ in range(uncached_requests)]
            commit(storage, table, commits + len(results))
            time.sleep(1.05)  # past the version-check interval: the next request sees the commit
            after = _timed(client, url(commits, rng))[0]
            wall, cpu = [w for w, _ in warm], [c for _, c in warm]
            results.append(
                {
                    "route": route,
                    "commits": commits,
                    "cold_ms": _ms(cold),
                    "p50_ms": _ms(statistics.median(wall)),
                    "p99_ms": _ms(_p(wall, 99)),
                    "cpu_p50_ms": _ms(statistics.median(cpu)),
                    "cpu_p99_ms": _ms(_p(cpu, 99)),
                    "after_commit_ms": _ms(after),
                    "no_answer_cache_p50_ms": _ms(statistics.median([w for w, _ in built])),
                    "no_answer_cache_p99_ms": _ms(_p([w for w, _ in built], 99)),
                    "no_answer_cache_cpu_p50_ms": _ms(statistics.median([c for _, c in built])),
                    "uncached_p50_ms": _ms(statistics.median([w for w, _ in before])),
                    "uncached_cpu_p50_ms": _ms(statistics.median([c for _, c in before])),
                }
            )
    return results


def _save(rows: list[dict[str, object]], builds: dict[int, float], requests: int) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "requests_per_route": requests,
        "build_seconds": builds,
        "results": rows,
        "target_p99_ms": 50,
    }
    RESULTS.write_text(json.dumps(document, indent=1))


def main(argv: list[str]) -> int:
    """Run the bench; exit 1 when a p99 is above 50 ms."""
    parser = argparse.ArgumentParser(prog="bench_serving", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 200, 2000])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--uncached-requests", type=int, default=10)
    parser.add_argument(
        "--cache",
        type=Path,
        help="build each size's tables once into CACHE/<commits> and copy them from there on later runs",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    rows: list[dict[str, object]] = []
    builds = {}
    for commits in args.sizes:
        with tempfile.TemporaryDirectory(prefix=f"bench-serving-{commits}-") as folder:
            builds[commits] = round(prepare(Path(folder), commits, args.cache), 1)
            rows.extend(measure(Path(folder), commits, args.requests, args.uncached_requests))
        _save(rows, builds, args.requests)  # after each size: a long run keeps what it measured
    table = Table(title=f"serving route latency (ms), {args.requests} requests per route, in-process ASGI")
    columns = (
        "route",
        "commits",
        "cold",
        "p50",
        "p99",
        "cpu p50",
        "cpu p99",
        "after commit",
        "no answer cache p50",
        "no answer cache cpu p50",
        "uncached p50",
        "uncached cpu p50",
    )
    for column in columns:
        table.add_column(column, justify="left" if column == "route" else "right")
    keys = (
        "route",
        "commits",
        "cold_ms",
        "p50_ms",
        "p99_ms",
        "cpu_p50_ms",
        "cpu_p99_ms",
        "after_commit_ms",
        "no_answer_cache_p50_ms",
        "no_answer_cache_cpu_p50_ms",
        "uncached_p50_ms",
        "uncached_cpu_p50_ms",
    )
    for row in rows:
        table.add_row(*(str(row[key]) for key in keys))
    Console(width=220).print(table)
    worst = max(float(row["p99_ms"]) for row in rows)  # type: ignore[arg-type]
    print(f"worst p99 {worst} ms (target 50 ms); results in {RESULTS}")
    return 0 if worst <= 50 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
