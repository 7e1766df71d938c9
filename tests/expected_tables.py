"""Comparing Delta tables with the hand-derived ``fixtures/expected`` files (shared by the
transform unit tests and the pipeline tests; importable because ``tests/`` is on ``sys.path``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import DateType, DecimalType, TimestampType

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
# The orders pipeline's tables after Bronze (whose ingestion columns differ between runs): equal,
# row for row, between a run that met faults (kills, a cluster losing a worker) and an
# uninterrupted run on the same input.
DERIVED_TABLES = (
    "silver_order_events",
    "silver_order_events_quarantine",
    "silver_orders",
    "silver_order_status_history",
    "silver_order_status_transitions",
    "fact_orders",
    "dim_customer",
    "dim_product",
    "dim_date",
    "gold_status_funnel",
    "gold_payment_health",
    "gold_sales_per_minute",
    "gold_top_products",
    "gold_fulfillment_sla",
    "gold_order_alerts",
)


def sorted_rows(rows: list[list[Any]], index: list[int]) -> list[list[Any]]:
    """``rows`` sorted on the columns at ``index``, NULLs first."""
    return sorted(
        rows, key=lambda r: tuple((r[i] is not None, r[i] if r[i] is not None else "") for i in index)
    )


def table_rows(df: DataFrame, columns: list[str], key: list[str]) -> list[list[Any]]:
    """Rows of ``df`` as JSON-like lists in ``columns`` order, sorted by ``key`` (NULLs first):
    timestamps as ``yyyy-MM-dd HH:mm:ss.SSS`` (UTC), dates and decimals as strings."""
    types = {f.name: f.dataType for f in df.schema.fields}
    selected = []
    for name in columns:
        col, kind = F.col(f"`{name}`"), types[name]
        if isinstance(kind, TimestampType):
            col = F.date_format(col, "yyyy-MM-dd HH:mm:ss.SSS")
        elif isinstance(kind, (DateType, DecimalType)):
            col = col.cast("string")
        selected.append(col.alias(name))
    return sorted_rows([list(r) for r in df.select(*selected).collect()], [columns.index(k) for k in key])


def expected(update: int, table: str) -> dict[str, Any]:
    """``fixtures/expected/update_<n>/<table>.json``: columns, key and rows."""
    return json.loads(
        (FIXTURES / "expected" / f"update_{update}" / f"{table}.json").read_text(encoding="utf-8")
    )
