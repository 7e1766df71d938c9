"""Gold star schema against the hand-derived fixtures/expected/update_1."""

from __future__ import annotations

from pyspark.sql import DataFrame

from orders_lakehouse.transforms import star

from transforms_support import assert_table


def test_fact_orders(silver_u1: DataFrame) -> None:
    assert_table(star.fact_orders(silver_u1), 1, "fact_orders")


def test_dim_customer(silver_u1: DataFrame) -> None:
    assert_table(star.dim_customer(silver_u1), 1, "dim_customer")


def test_dim_product(silver_u1: DataFrame) -> None:
    assert_table(star.dim_product(silver_u1), 1, "dim_product")


def test_dim_date(silver_u1: DataFrame) -> None:
    assert_table(star.dim_date(silver_u1), 1, "dim_date")


def test_dim_date_of_no_events_is_empty(silver_u1: DataFrame) -> None:
    assert star.dim_date(silver_u1.limit(0)).count() == 0
