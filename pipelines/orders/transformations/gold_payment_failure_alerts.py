"""gold_payment_failure_alerts (private materialized view): the payment failure rule's alerts.

``alerts.payment_failure_alerts`` over ``gold_payment_health``: an aggregate per 5-minute window,
so an update recomputes only the windows whose rows ``gold_payment_health`` changed (its change
data feed). One of the parts ``gold_order_alerts`` unites.
"""

import dlt

from orders_lakehouse.transforms import alerts
from orders_lakehouse.transforms.settings import PipelineSettings


@dlt.table(
    name="gold_payment_failure_alerts",
    comment="Payment failure rate alerts per window (private: part of gold_order_alerts).",
    table_properties={"quality": "gold"},
    private=True,
)
def gold_payment_failure_alerts():
    settings = PipelineSettings.from_conf(spark.conf)  # noqa: F821 - `spark` is a pipeline global
    threshold = alerts.AlertThresholds.from_settings(settings).payment_failure_rate
    return alerts.payment_failure_alerts(spark.read.table("gold_payment_health"), threshold)  # noqa: F821
