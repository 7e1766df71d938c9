"""gold_sla_breach_alerts (private materialized view): the SLA rule's alerts.

``alerts.sla_alerts_by_order`` over ``fact_orders``: keyed by ``order_id``, so an update recomputes
only the orders ``fact_orders`` changed (its change data feed). One of the parts
``gold_order_alerts`` unites.
"""

import dlt

from orders_lakehouse.transforms import alerts
from orders_lakehouse.transforms.settings import PipelineSettings


@dlt.table(
    name="gold_sla_breach_alerts",
    comment="Orders delivered after the SLA (private: part of gold_order_alerts).",
    table_properties={"quality": "gold"},
    private=True,
)
def gold_sla_breach_alerts():
    settings = PipelineSettings.from_conf(spark.conf)  # noqa: F821 - `spark` is a pipeline global
    sla_hours = alerts.AlertThresholds.from_settings(settings).sla_hours
    return alerts.sla_alerts_by_order(spark.read.table("fact_orders"), sla_hours)  # noqa: F821
