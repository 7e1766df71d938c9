"""gold_payment_health (materialized view): a real-time KPI table."""

import dlt

from orders_lakehouse.transforms import kpis


@dlt.table(
    name="gold_payment_health",
    comment="Payment approvals, failures and approval rate per method per 5-minute window.",
    table_properties={"quality": "gold"},
)
def gold_payment_health():
    return kpis.payment_health(spark.read.table("silver_order_events"))  # noqa: F821
