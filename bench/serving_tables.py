"""The serving bench's tables: N one-row commits per Gold table and event log, written with delta-rs.

Each commit appends one row (as a streaming table or a per-batch event log gets them); rows are
one minute apart so windows select recent commits. :func:`prepare` builds a size once into a
cache folder (2,000 commits x 8 tables take minutes) and copies it for each run.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

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


def row(table: str, i: int) -> dict[str, object]:
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


def table_path(storage: Path, table: str) -> Path:
    return storage / "system" / "events" if table == "event_log" else storage / "tables" / table


def commit(storage: Path, table: str, i: int, opened: DeltaTable | None = None) -> DeltaTable:
    """Append commit ``i``; pass the table returned last time to skip re-reading its whole log."""
    rows = pa.Table.from_pylist([row(table, i)], schema=SCHEMAS[table])
    if opened is None:
        write_deltalake(str(table_path(storage, table)), rows, mode="append")
        return DeltaTable(str(table_path(storage, table)))
    write_deltalake(opened, rows, mode="append")
    opened.update_incremental()
    return opened


def _build_table(storage: Path, table: str, commits: int) -> None:
    """Append commits up to version ``commits - 1``, resuming where an interrupted build stopped."""
    path = str(table_path(storage, table))
    opened = DeltaTable(path) if DeltaTable.is_deltatable(path) else None
    for i in range(opened.version() + 1 if opened else 0, commits):
        opened = commit(storage, table, i, opened)


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
