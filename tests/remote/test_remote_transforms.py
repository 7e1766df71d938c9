"""The transforms on Databricks compute: the fixtures' update 1 through Bronze, Silver and the
Gold functions, compared with the same hand-derived fixtures/expected/update_1 files as the local
unit tests (tests/unit/transforms). Runs through `make test-remote`; skipped elsewhere."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from remote_session import REPO, landing_frame, transform_test_helpers

SALT = "test-salt"  # the salt the expected files were derived with (tests/unit/transforms)


@pytest.fixture(scope="module")
def silver_u1(spark: Any) -> Any:
    """silver_order_events after update 1 (no .cache(): serverless compute does not support it)."""
    from orders_lakehouse.transforms import bronze, silver
    from orders_lakehouse.transforms.rules import all_pass, silver_event_rules

    raw = bronze.from_text_files(landing_frame(spark, REPO / "fixtures" / "landing" / "update_1"))
    rules = silver_event_rules()
    return silver.valid_events(silver.stage_events(bronze.to_bronze(raw), SALT), rules).filter(
        all_pass(rules)
    )


def _gold() -> dict[str, Callable[[Any], Any]]:
    from orders_lakehouse.transforms import kpis, star

    return {
        "silver_order_events": lambda s: s,
        "fact_orders": star.fact_orders,
        "dim_customer": star.dim_customer,
        "dim_product": star.dim_product,
        "dim_date": star.dim_date,
        "gold_sales_per_minute": kpis.sales_per_minute,
        "gold_payment_health": kpis.payment_health,
        "gold_status_funnel": kpis.status_funnel,
        "gold_fulfillment_sla": lambda s: kpis.fulfillment_sla(star.fact_orders(s), 72),
        "gold_top_products": kpis.top_products,
    }


TABLES = [
    "silver_order_events",
    "fact_orders",
    "dim_customer",
    "dim_product",
    "dim_date",
    "gold_sales_per_minute",
    "gold_payment_health",
    "gold_status_funnel",
    "gold_fulfillment_sla",
    "gold_top_products",
]


@pytest.mark.parametrize("table", TABLES)
def test_table_matches_the_expected_rows(silver_u1: Any, table: str) -> None:
    helpers = transform_test_helpers()
    spec = helpers.expected(1, table)
    key = [spec["columns"].index(k) for k in spec["key"]]
    want = sorted(
        spec["rows"], key=lambda r: tuple((r[i] is not None, r[i] if r[i] is not None else "") for i in key)
    )

    got = helpers.table_rows(_gold()[table](silver_u1), spec["columns"], spec["key"])

    assert got == want


def test_the_session_is_remote(spark: Any) -> None:
    # Databricks Connect sessions are Spark Connect clients: nothing runs in a local JVM.
    assert type(spark).__module__.startswith("pyspark.sql.connect")
    assert spark.range(3).selectExpr("sum(id) AS s").collect()[0]["s"] == 3
