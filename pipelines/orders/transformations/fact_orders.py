"""fact_orders (materialized view): one row per order, the star schema's fact."""

import dlt

from orders_lakehouse.transforms import star
from orders_lakehouse.transforms.rules import fact_order_rules


@dlt.table(
    name="fact_orders",
    comment="One row per order: amounts, status, milestones, delivery time.",
    table_properties={"quality": "gold"},
)
@dlt.expect_all(fact_order_rules())
def fact_orders():
    return star.fact_orders(spark.read.table("silver_order_events"))  # noqa: F821
