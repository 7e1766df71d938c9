"""gold_top_products (materialized view): a real-time KPI table.

The same rows as ``kpis.top_products`` over ``silver_order_events``, computed in three steps so
that the work that grows with the event history is refreshed incrementally: the private
``gold_order_items`` (per order) and ``gold_product_sales`` (per SKU) are refreshed for the
orders / SKUs an update touches, and this view only ranks the per-SKU table. The ranking itself
(``row_number()`` over all SKUs) is a complete recompute of that table, one row per SKU (a window
without ``PARTITION BY`` cannot be refreshed incrementally, on Databricks neither). Equality with
``kpis.top_products`` is tested (tests/localdlt/mv/test_orders_gold_incremental.py).
"""

import dlt

from orders_lakehouse.transforms import kpis


@dlt.table(
    name="gold_top_products",
    comment="Units, revenue and orders per SKU (orders not cancelled), ranked by revenue.",
    table_properties={"quality": "gold"},
)
def gold_top_products():
    return kpis.rank_products(spark.read.table("gold_product_sales"))  # noqa: F821
