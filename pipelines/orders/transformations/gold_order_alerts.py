"""gold_order_alerts (materialized view): alerts from rules with thresholds in configuration."""

import dlt

from orders_lakehouse.transforms import alerts
from orders_lakehouse.transforms.settings import PipelineSettings


@dlt.table(
    name="gold_order_alerts",
    comment="Payment failure, silence, SLA and data-quality alerts with stable ids.",
    table_properties={"quality": "gold"},
)
def gold_order_alerts():
    settings = PipelineSettings.from_conf(spark.conf)  # noqa: F821 - `spark` is a pipeline global
    return alerts.order_alerts(
        events=spark.read.table("silver_order_events"),  # noqa: F821
        quarantine=spark.read.table("silver_order_events_quarantine"),  # noqa: F821
        payment_health=spark.read.table("gold_payment_health"),  # noqa: F821
        fact_orders=spark.read.table("fact_orders"),  # noqa: F821
        thresholds=alerts.AlertThresholds.from_settings(settings),
    )
