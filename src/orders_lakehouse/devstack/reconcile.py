"""Reconcile what the simulator sent (its ground truth) with what the pipeline wrote.

Used by the demo's closing summary and by the end-to-end test: one definition of "the platform
lost nothing and invented nothing". Each check compares one number (or one set) from the ground
truth with the same thing read from the Delta tables of a localdlt run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession

BRONZE, SILVER, QUARANTINE = "bronze_order_events", "silver_order_events", "silver_order_events_quarantine"
ORDERS, FACT = "silver_orders", "fact_orders"


@dataclass(frozen=True)
class Check:
    """One reconciliation line: what is compared, the expected and the actual value."""

    name: str
    expected: Any
    actual: Any

    @property
    def ok(self) -> bool:
        return self.expected == self.actual


def _counts(counter: Counter[tuple[str, ...]]) -> dict[str, int]:
    return {",".join(rules): n for rules, n in sorted(counter.items())}


def _table(spark: SparkSession, tables_dir: Path, name: str):  # noqa: ANN202 - DataFrame or None
    path = tables_dir / name
    if not (path / "_delta_log").is_dir():
        return None
    return spark.read.format("delta").load(str(path))


def reconcile(spark: SparkSession, tables_dir: Path, truth: Mapping[str, Any]) -> list[Check]:
    """The checks between ``truth`` (``GroundTruth.as_json()``) and the tables under ``tables_dir``.

    Every message is one Bronze row; every valid event exactly once in Silver (duplicates
    removed); every injected bad message in quarantine; each order's current status in
    ``silver_orders`` equal to the simulator's. A table that does not exist is reported as
    missing (actual ``None``) rather than raising, so a partial pipeline still gets a summary.
    """
    checks: list[Check] = []
    bronze = _table(spark, tables_dir, BRONZE)
    checks.append(
        Check(
            "Bronze rows = messages sent", truth["messages"], bronze.count() if bronze is not None else None
        )
    )
    silver = _table(spark, tables_dir, SILVER)
    if silver is not None:
        ids = {row.event_id for row in silver.select("event_id").collect()}
        checks.append(
            Check("Silver rows = valid events (duplicates removed)", truth["valid_events"], silver.count())
        )
        checks.append(
            Check("Silver event ids = the valid events' ids", sorted(truth["valid_event_ids"]), sorted(ids))
        )
    else:
        checks.append(Check("Silver rows = valid events (duplicates removed)", truth["valid_events"], None))
    quarantine = _table(spark, tables_dir, QUARANTINE)
    checks.append(
        Check(
            "quarantine rows = bad messages injected",
            truth["bad_messages"],
            quarantine.count() if quarantine is not None else None,
        )
    )
    expected_rules = Counter(tuple(b["failed_rules"]) for b in truth["bad_events"] if b.get("failed_rules"))
    if quarantine is not None and expected_rules and "failed_rules" in quarantine.columns:
        # The catalog says which rules each kind fails: the quarantine must hold exactly those sets.
        actual_rules = Counter(
            tuple(row.failed_rules or ()) for row in quarantine.select("failed_rules").collect()
        )
        checks.append(
            Check(
                "quarantine failed_rules = the catalog's, kind by kind",
                _counts(expected_rules),
                _counts(actual_rules),
            )
        )
    orders = _table(spark, tables_dir, ORDERS)
    expected_status = {order_id: state["status"] for order_id, state in truth["orders"].items()}
    if orders is not None:
        actual_status = {row.order_id: row.status for row in orders.select("order_id", "status").collect()}
        mismatched = sorted(
            o
            for o in expected_status.keys() | actual_status.keys()
            if expected_status.get(o) != actual_status.get(o)
        )
        checks.append(Check("orders whose current status differs from the simulator's", [], mismatched[:20]))
        checks.append(Check("orders in silver_orders", len(expected_status), len(actual_status)))
    else:
        checks.append(Check("orders in silver_orders", len(expected_status), None))
    fact = _table(spark, tables_dir, FACT)
    if fact is not None:
        rows = fact.select("order_id", "current_status", "total").collect()
        gold_status = {row.order_id: row.current_status for row in rows}
        checks.append(
            Check("Gold fact_orders: current status per order = simulator's", expected_status, gold_status)
        )
        # Revenue of the orders whose order_created reached Silver (a late-arriving created is never
        # held back, so that is every order), in centavos: exact decimals, no float noise.
        expected_total = sum(Decimal(s["total"]) for s in truth["orders"].values() if "total" in s)
        checks.append(
            Check(
                "Gold fact_orders: sum of order totals (BRL)",
                expected_total,
                sum((row.total for row in rows if row.total is not None), Decimal("0")),
            )
        )
    else:
        checks.append(
            Check("Gold fact_orders: current status per order = simulator's", len(expected_status), None)
        )
    return checks
