"""gold_status_funnel (materialized view): a real-time KPI table."""

import dlt

from orders_lakehouse.transforms import kpis


@dlt.table(
    name="gold_status_funnel",
    comment="Orders that reached each status and their share of created orders.",
    table_properties={"quality": "gold"},
)
def gold_status_funnel():
    return kpis.status_funnel(spark.read.table("silver_order_events"))  # noqa: F821
