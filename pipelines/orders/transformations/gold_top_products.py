"""gold_top_products (materialized view): a real-time KPI table."""

import dlt

from orders_lakehouse.transforms import kpis


@dlt.table(
    name="gold_top_products",
    comment="Units, revenue and orders per SKU (orders not cancelled), ranked by revenue.",
    table_properties={"quality": "gold"},
)
def gold_top_products():
    return kpis.top_products(spark.read.table("silver_order_events"))  # noqa: F821
