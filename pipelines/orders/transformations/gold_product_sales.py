"""gold_product_sales (private materialized view): units, revenue, orders and name per SKU.

The second incremental step of ``gold_top_products`` (``kpis.product_sales`` over
``gold_order_items``): an update recomputes only the SKUs of the orders that changed, read from the
change data feed of ``gold_order_items`` (pre-images included, so a cancellation touches the SKUs
of the order it cancels).
"""

import dlt

from orders_lakehouse.transforms import kpis


@dlt.table(
    name="gold_product_sales",
    comment="Units, revenue and orders per SKU of orders not cancelled (private: gold_top_products' input).",
    table_properties={"quality": "gold"},
    private=True,
)
def gold_product_sales():
    return kpis.product_sales(spark.read.table("gold_order_items"))  # noqa: F821 - a pipeline global
