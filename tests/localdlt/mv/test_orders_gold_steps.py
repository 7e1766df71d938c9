"""The step-wise definitions the orders pipeline's Gold views are built from equal their reference
definitions on edge cases, as plain DataFrame functions (no pipeline run; the pipeline's
incremental refreshes of the same steps are tested in test_orders_gold_incremental.py):

* the silence rule from ``activity_buckets`` at bucket widths of 0, 1 and 10 minutes, with gaps
  exactly at the threshold, sub-second times, created times on and around bucket boundaries,
  NULL event times and repeated times; a negative ``silence_minutes`` is refused by name;
* the drop rate when Silver is empty and only the quarantine has rows;
* ``top_products`` in steps with a cancelled order, an order created twice, a NULL order id
  (created and cancelled) and a created event without items.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from pyspark.sql import DataFrame, SparkSession

from orders_lakehouse.transforms import alerts, kpis
from orders_lakehouse.transforms.settings import ConfigurationError

EVENTS = "event_id string, order_id string, status string, event_time timestamp"
START = datetime(2026, 3, 2, 10, 0, 0)


def _sorted(df: DataFrame) -> list[tuple[object, ...]]:
    return sorted((tuple(r) for r in df.collect()), key=lambda r: tuple(str(v) for v in r))


def _events(spark: SparkSession, times: list[tuple[str, float | None]]) -> DataFrame:
    rows = [
        (f"e{i}", f"o{i}", status, None if offset is None else START + timedelta(seconds=offset))
        for i, (status, offset) in enumerate(times)
    ]
    return spark.createDataFrame(rows, EVENTS)


SILENCES = [
    ("created", 0.0),
    ("created", 0.4),  # sub-second, same bucket
    ("created", 600.0),  # exactly 10 minutes later: not above 10 (the rule's whole seconds)
    ("created", 1200.9),  # 10 min 0.9 s later: 600 whole seconds again
    ("created", 1801.0),  # 601 s: above 10 minutes
    ("created", 1801.0),  # a repeated time
    ("paid", 1830.0),
    ("created", None),  # no event time
    ("created", 3599.5),  # just before a 1-hour boundary
    ("created", 3600.0),  # on it
    ("shipped", 9000.0),  # now: an open silence after the last creation
]


@pytest.mark.parametrize("minutes", [0, 1, 10])
def test_silence_from_buckets_equals_the_rule_over_every_event(spark: SparkSession, minutes: int) -> None:
    events = _events(spark, SILENCES)
    expected = alerts.silence_alerts(events, minutes)
    got = alerts.silence_alerts_from_buckets(alerts.activity_buckets(events, minutes), minutes)
    assert _sorted(got) == _sorted(expected)
    assert expected.count() == {0: 6, 1: 5, 10: 3}[minutes]  # the cases are not vacuous


def test_a_negative_silence_is_refused_by_its_key(spark: SparkSession) -> None:
    with pytest.raises(ConfigurationError, match=r"orders\.alerts\.silence_minutes must be >= 0, got -1"):
        alerts.activity_buckets(_events(spark, SILENCES), -1)


def test_the_drop_rate_of_an_empty_silver_counts_the_quarantine(spark: SparkSession) -> None:
    silver = _events(spark, [])
    quarantine = spark.createDataFrame([("q1",), ("q2",)], "event_id string")
    thresholds = alerts.AlertThresholds()
    no_alerts = alerts.dq_alerts(silver, silver.select("event_id"), 0.0)  # both empty: no rate
    parts = alerts.order_alerts_from_parts(
        no_alerts,
        alerts.activity_buckets(silver, thresholds.silence_minutes),
        no_alerts,
        alerts.quarantined_rows(quarantine),
        thresholds,
    )
    rows = [(r.rule, r.observed_value, r.message) for r in parts.collect()]
    assert rows == [("dq_drop_rate", 1.0, "2 of 2 rows quarantined (rate 1.0000 above 0.0500)")]
    reference = alerts.dq_alerts(silver, quarantine, thresholds.dq_drop_rate)
    assert [(r.rule, r.observed_value, r.message) for r in reference.collect()] == rows


def test_top_products_in_steps_equals_the_reference(spark: SparkSession) -> None:
    item = "struct<sku: string, name: string, quantity: int, unit_price: decimal(18,2)>"
    schema = f"{EVENTS}, items array<{item}>"
    mug, book = ("SKU-MUG", "Mug", 2, Decimal("10.00")), ("SKU-BOOK", "Book", 1, Decimal("50.00"))
    renamed_mug = ("SKU-MUG", "Mug v2", 1, Decimal("10.00"))
    rows = [
        ("e1", "o1", "created", START, [mug, book]),
        ("e2", "o1", "created", START + timedelta(minutes=5), [renamed_mug]),  # created twice: both count
        ("e3", "o2", "created", START, [book]),
        ("e4", "o2", "cancelled", START + timedelta(hours=1), None),
        ("e5", None, "created", START, [mug]),  # no order id: kept, no distinct order
        ("e6", None, "cancelled", START, None),  # cancels nothing (NULL never matches)
        ("e7", "o3", "created", START, None),  # no items
        ("e8", "o4", "paid", START, None),  # never created
    ]
    events = spark.createDataFrame(rows, schema)
    expected = kpis.top_products(events)
    assert _sorted(kpis.top_products_in_steps(events)) == _sorted(expected)
    assert [(r.sku, r.name, r.units_sold, r.orders, r.rank) for r in expected.orderBy("rank").collect()] == [
        ("SKU-BOOK", "Book", 1, 1, 1),
        ("SKU-MUG", "Mug v2", 5, 1, 2),
    ]
