"""CDC feeds and status transitions."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from orders_lakehouse.transforms import current_state

from transforms_support import assert_table


def test_order_changes_carry_only_what_each_event_knows(silver_u1: DataFrame) -> None:
    rows = (
        current_state.order_changes(silver_u1.filter(F.col("order_id") == "o-4"))
        .select(
            "status",
            "total",
            "payment_method",
            "created_at",
            "payment_failed_at",
            "cancelled_at",
            "cancel_reason",
        )
        .orderBy("event_time")
        .collect()
    )
    assert [tuple(r) for r in rows] == [
        (
            "created",
            __import__("decimal").Decimal("64.80"),
            "debit_card",
            dt.datetime(2025, 3, 10, 10, 6, 0, 500000),
            None,
            None,
            None,
        ),
        ("payment_failed", None, "debit_card", None, dt.datetime(2025, 3, 10, 10, 7), None, None),
        ("cancelled", None, None, None, None, dt.datetime(2025, 3, 10, 10, 20), "payment_failed"),
    ]


def test_status_changes_columns(silver_u1: DataFrame) -> None:
    assert current_state.status_changes(silver_u1).columns == ["order_id", "status", "event_id", "event_time"]


def test_status_transitions_flag_illegal_steps_by_event_time(silver_u1: DataFrame) -> None:
    assert_table(current_state.status_transitions(silver_u1), 1, "silver_order_status_transitions")
