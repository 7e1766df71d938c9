"""gold_order_items (private materialized view): per order, cancelled or not and its created items.

The first incremental step of ``gold_top_products`` (``kpis.order_items``): grouped by
``order_id``, so an update recomputes only the orders its events touch (GENERIC_AGGREGATE:
``collect_list`` is not merged from partial results), instead of anti-joining every created event
with every cancellation.
"""

import dlt

from orders_lakehouse.transforms import kpis


@dlt.table(
    name="gold_order_items",
    comment="Per order: cancelled, and the created events' items (private: core of gold_top_products).",
    table_properties={"quality": "gold"},
    private=True,
)
def gold_order_items():
    return kpis.order_items(spark.read.table("silver_order_events"))  # noqa: F821 - a pipeline global
