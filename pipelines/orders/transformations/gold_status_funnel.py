"""gold_status_funnel (materialized view): a real-time KPI table.

The same rows as ``kpis.status_funnel`` over ``silver_order_events`` (orders that reached each
status, in lifecycle order, and their share of created orders), written so that Databricks and
localdlt can refresh it incrementally: the distinct orders per status come from the private
``gold_order_status_reached`` (distinct (status, order_id) pairs, only ever appended to), so the
counts are one global aggregate of six filtered counts, merged from the new pairs alone
(GROUP_AGGREGATE), and ``stack`` turns its one row into the six stage rows. Its cost does not
grow with the event history. Equality with ``kpis.status_funnel`` is tested
(tests/localdlt/mv/test_orders_gold_incremental.py).
"""

import dlt
from pyspark.sql import functions as F

from orders_lakehouse.transforms.current_state import STATUSES


@dlt.table(
    name="gold_status_funnel",
    comment="Orders that reached each status and their share of created orders.",
    table_properties={"quality": "gold"},
)
def gold_status_funnel():
    reached = spark.read.table("gold_order_status_reached")  # noqa: F821 - a pipeline global
    counts = reached.agg(
        *[F.count(F.when(F.col("status") == status, F.col("order_id"))).alias(status) for status in STATUSES]
    )
    stages = ", ".join(f"'{status}', {order}, `{status}`" for order, status in enumerate(STATUSES, 1))
    per_stage = counts.select(
        F.expr(f"stack({len(STATUSES)}, {stages}) AS (stage, stage_order, orders)"),
        F.col("created").alias("created_orders"),
    )
    return per_stage.select(
        "stage",
        "stage_order",
        "orders",
        F.when(
            F.col("created_orders") > 0, F.round(F.col("orders") / F.col("created_orders"), 4)
        ).alias("share_of_created"),
    )
