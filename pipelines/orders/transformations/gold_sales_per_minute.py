"""gold_sales_per_minute (materialized view): a real-time KPI table."""

import dlt

from orders_lakehouse.transforms import kpis


@dlt.table(
    name="gold_sales_per_minute",
    comment="Orders, revenue and average ticket per minute by channel, state and payment method.",
    table_properties={"quality": "gold"},
)
def gold_sales_per_minute():
    return kpis.sales_per_minute(spark.read.table("silver_order_events"))  # noqa: F821
