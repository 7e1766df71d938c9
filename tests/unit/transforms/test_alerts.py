"""gold_order_alerts: the four rules, thresholds from configuration, stable ids."""

from __future__ import annotations

import hashlib

from pyspark.sql import DataFrame

from orders_lakehouse.transforms import alerts, kpis, silver, star
from orders_lakehouse.transforms.rules import silver_event_rules

from transforms_support import assert_table, expected


def _alerts(silver_u1: DataFrame, staged_u1: DataFrame, thresholds: alerts.AlertThresholds) -> DataFrame:
    quarantine = silver.quarantine_events(staged_u1, silver_event_rules())
    return alerts.order_alerts(
        silver_u1, quarantine, kpis.payment_health(silver_u1), star.fact_orders(silver_u1), thresholds
    )


def test_alerts_with_default_thresholds(silver_u1: DataFrame, staged_u1: DataFrame) -> None:
    result = _alerts(silver_u1, staged_u1, alerts.AlertThresholds()).cache()
    assert_table(result, 1, "gold_order_alerts")
    rows = result.collect()
    assert len(rows) == len(expected(1, "gold_order_alerts")["rows"])
    for row in rows:
        start = row["window_start"].strftime("%Y-%m-%d %H:%M:%S") if row["window_start"] else ""
        assert (
            row["alert_id"]
            == hashlib.sha256(f"{row['rule']}|{start}|{row['dimension']}".encode()).hexdigest()
        )
    messages = {r["rule"]: r["message"] for r in rows if r["rule"] != "payment_failure_rate"}
    assert messages == {
        "sla_breach": "order o-2 delivered in 97.98 h (SLA 72 h)",
        "order_silence": "no order created for 5870.0 minutes (limit 10)",
        "dq_drop_rate": "32 of 52 rows quarantined (rate 0.6154 above 0.0500)",
    }


def test_thresholds_come_from_configuration(silver_u1: DataFrame, staged_u1: DataFrame) -> None:
    lenient = alerts.AlertThresholds(
        payment_failure_rate=0.5, silence_minutes=10_000, sla_hours=100, dq_drop_rate=0.7
    )
    assert _alerts(silver_u1, staged_u1, lenient).count() == 0


def test_empty_silver_and_quarantine_raise_no_alert_and_no_error(
    silver_u1: DataFrame, staged_u1: DataFrame
) -> None:
    """At the very start of a run both tables are empty: 0 / 0 is no rate (ANSI would raise
    DIVIDE_BY_ZERO on a plain division), so no data-quality alert."""
    quarantine = silver.quarantine_events(staged_u1, silver_event_rules())
    assert alerts.dq_alerts(silver_u1.limit(0), quarantine.limit(0), 0.05).collect() == []
