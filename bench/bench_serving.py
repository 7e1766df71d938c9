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
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake
from rich.console import Console
from rich.table import Table

warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")

from fastapi.testclient import TestClient  # noqa: E402

from orders_lakehouse.serving.api.deps import get_backend  # noqa: E402
from orders_lakehouse.serving.app import create_app  # noqa: E402
from orders_lakehouse.serving.backends.local import LocalDeltaBackend  # noqa: E402
from orders_lakehouse.serving.settings import Settings  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "serving.json"
TS = pa.timestamp("us", tz="UTC")
MONEY = pa.decimal128(18, 2)
START = datetime(2026, 11, 29, 0, 0, tzinfo=UTC)

SCHEMAS = {
    "fact_orders": pa.schema(
        [
            ("order_id", pa.string()),
            ("customer_id", pa.string()),
            ("current_status", pa.string()),
            ("channel", pa.string()),
            ("customer_state", pa.string()),
            ("payment_method", pa.string()),
            ("installments", pa.int32()),
            ("items_count", pa.int32()),
            ("units", pa.int64()),
            ("subtotal", MONEY),
            ("discount", MONEY),
            ("shipping_amount", MONEY),
            ("total", MONEY),
            ("created_at", TS),
            ("paid_at", TS),
            ("payment_failed_at", TS),
            ("shipped_at", TS),
            ("delivered_at", TS),
            ("cancelled_at", TS),
            ("payment_failures", pa.int64()),
            ("carrier", pa.string()),
            ("promised_date", pa.date32()),
            ("delivery_hours", pa.float64()),
            ("is_delivered_late", pa.bool_()),
        ]
    ),
    "gold_sales_per_minute": pa.schema(
        [
            ("minute", TS),
            ("channel", pa.string()),
            ("state", pa.string()),
            ("payment_method", pa.string()),
            ("orders", pa.int64()),
            ("revenue", MONEY),
            ("avg_ticket", MONEY),
        ]
    ),
    "gold_payment_health": pa.schema(
        [
            ("window_start", TS),
            ("window_end", TS),
            ("payment_method", pa.string()),
            ("approved", pa.int64()),
            ("failed", pa.int64()),
            ("approval_rate", pa.float64()),
        ]
    ),
    "gold_status_funnel": pa.schema(
        [
            ("stage", pa.string()),
            ("stage_order", pa.int32()),
            ("orders", pa.int64()),
            ("share_of_created", pa.float64()),
        ]
    ),
    "gold_fulfillment_sla": pa.schema(
        [
            ("delivery_date", pa.date32()),
            ("carrier", pa.string()),
            ("delivered_orders", pa.int64()),
            ("p50_hours", pa.float64()),
            ("p95_hours", pa.float64()),
            ("late_deliveries", pa.int64()),
            ("sla_breaches", pa.int64()),
        ]
    ),
    "gold_top_products": pa.schema(
        [
            ("sku", pa.string()),
            ("name", pa.string()),
            ("units_sold", pa.int64()),
            ("revenue", MONEY),
            ("orders", pa.int64()),
            ("rank", pa.int32()),
        ]
    ),
    "gold_order_alerts": pa.schema(
        [
            ("alert_id", pa.string()),
            ("rule", pa.string()),
            ("severity", pa.string()),
            ("window_start", TS),
            ("window_end", TS),
            ("dimension", pa.string()),
            ("observed_value", pa.float64()),
            ("threshold", pa.float64()),
            ("message", pa.string()),
        ]
    ),
    "event_log": pa.schema(
        [
            ("timestamp", TS),
            ("event_type", pa.string()),
            ("details", pa.string()),
        ]
    ),
}


def _row(table: str, i: int) -> dict[str, object]:
    """The row of commit ``i`` of ``table`` (one minute apart, so windows select recent commits)."""
    moment = START + timedelta(minutes=i)
    money = Decimal(f"{10 + i % 90}.50")
    rows: dict[str, Callable[[], dict[str, object]]] = {
        "fact_orders": lambda: {
            "order_id": f"o-{i:06d}",
            "customer_id": f"c-{i % 97}",
            "current_status": "paid",
            "channel": "app",
            "customer_state": "SP",
            "payment_method": "pix",
            "installments": 1,
            "items_count": 1,
            "units": 1,
            "subtotal": money,
            "discount": Decimal("0.00"),
            "shipping_amount": Decimal("0.00"),
            "total": money,
            "created_at": moment,
            "paid_at": moment,
            "payment_failures": 0,
        },
        "gold_sales_per_minute": lambda: {
            "minute": moment,
            "channel": "app",
            "state": "SP",
            "payment_method": "pix",
            "orders": 1,
            "revenue": money,
            "avg_ticket": money,
        },
        "gold_payment_health": lambda: {
            "window_start": moment,
            "window_end": moment + timedelta(minutes=5),
            "payment_method": "pix",
            "approved": 3,
            "failed": 1,
            "approval_rate": 0.75,
        },
        "gold_status_funnel": lambda: {
            "stage": f"stage-{i % 6}",
            "stage_order": i % 6,
            "orders": i,
            "share_of_created": 1.0,
        },
        "gold_fulfillment_sla": lambda: {
            "delivery_date": date(2026, 11, 1) + timedelta(days=i // 100),
            "carrier": f"carrier-{i % 3}",
            "delivered_orders": 2,
            "p50_hours": 30.0,
            "p95_hours": 60.0,
            "late_deliveries": 0,
            "sla_breaches": 0,
        },
        "gold_top_products": lambda: {
            "sku": f"sku-{i}",
            "name": f"Product {i}",
            "units_sold": i % 50,
            "revenue": money,
            "orders": 1,
            "rank": 1,
        },
        "gold_order_alerts": lambda: {
            "alert_id": f"a-{i:06d}",
            "rule": "payment_failure_rate",
            "severity": "high",
            "window_start": moment,
            "window_end": moment + timedelta(minutes=5),
            "dimension": "all",
            "observed_value": 0.3,
            "threshold": 0.2,
            "message": "failure rate",
        },
        "event_log": lambda: {
            "timestamp": moment,
            "event_type": "flow_progress",
            "details": json.dumps(
                {
                    "flow_progress": {
                        "status": "RUNNING",
                        "data_quality": {
                            "dropped_records": 1,
                            "expectations": [
                                {
                                    "name": "valid_total",
                                    "dataset": "silver_order_events",
                                    "passed_records": 9,
                                    "failed_records": 1,
                                }
                            ],
                        },
                    }
                }
            ),
        },
    }
    return rows[table]()


def _path(storage: Path, table: str) -> Path:
    return storage / "system" / "events" if table == "event_log" else storage / "tables" / table


def _commit(storage: Path, table: str, i: int, opened: DeltaTable | None = None) -> DeltaTable:
    """Append commit ``i``; pass the table returned last time to skip re-reading its whole log."""
    rows = pa.Table.from_pylist([_row(table, i)], schema=SCHEMAS[table])
    if opened is None:
        write_deltalake(str(_path(storage, table)), rows, mode="append")
        return DeltaTable(str(_path(storage, table)))
    write_deltalake(opened, rows, mode="append")
    opened.update_incremental()
    return opened


def _build_table(storage: Path, table: str, commits: int) -> None:
    """Append commits up to version ``commits - 1``, resuming where an interrupted build stopped."""
    path = str(_path(storage, table))
    opened = DeltaTable(path) if DeltaTable.is_deltatable(path) else None
    for i in range(opened.version() + 1 if opened else 0, commits):
        opened = _commit(storage, table, i, opened)


def build(storage: Path, commits: int) -> float:
    """Write ``commits`` commits to every table (tables in parallel); returns the seconds it took."""
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(SCHEMAS)) as pool:  # delta-rs releases the GIL while it writes
        list(pool.map(lambda table: _build_table(storage, table, commits), SCHEMAS))
    return time.perf_counter() - started


def prepare(storage: Path, commits: int, cache: Path | None) -> float:
    """Fill ``storage`` with ``commits`` commits per table; returns the seconds spent building.

    With ``cache``, the tables are built once into ``cache/<commits>`` (2,000 commits per table
    take minutes: each delta-rs append replays the log since the last checkpoint) and copied from
    there on later runs; the copy is what the run measures and commits to, so the cache stays as
    built. A cache folder without its ``complete`` marker (an interrupted build) is resumed.
    """
    if cache is None:
        return build(storage, commits)
    built = cache / str(commits)
    seconds = 0.0
    if not (built / "complete").exists():
        seconds = build(built, commits)
        (built / "complete").write_text(f"{commits} commits per table, built in {seconds:.1f} s\n")
    shutil.copytree(built, storage, dirs_exist_ok=True, ignore=shutil.ignore_patterns("complete"))
    return seconds


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
            _commit(storage, table, commits + len(results))
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
