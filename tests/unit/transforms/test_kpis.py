"""Gold KPI tables against the hand-derived fixtures/expected/update_1."""

from __future__ import annotations

from pyspark.sql import DataFrame

from orders_lakehouse.transforms import kpis, star

from transforms_support import assert_table


def test_sales_per_minute(silver_u1: DataFrame) -> None:
    assert_table(kpis.sales_per_minute(silver_u1), 1, "gold_sales_per_minute")


def test_payment_health(silver_u1: DataFrame) -> None:
    assert_table(kpis.payment_health(silver_u1), 1, "gold_payment_health")


def test_status_funnel(silver_u1: DataFrame) -> None:
    assert_table(kpis.status_funnel(silver_u1), 1, "gold_status_funnel")


def test_fulfillment_sla(silver_u1: DataFrame) -> None:
    assert_table(kpis.fulfillment_sla(star.fact_orders(silver_u1), 72), 1, "gold_fulfillment_sla")


def test_top_products(silver_u1: DataFrame) -> None:
    assert_table(kpis.top_products(silver_u1), 1, "gold_top_products")
