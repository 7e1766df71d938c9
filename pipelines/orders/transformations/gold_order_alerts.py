"""gold_order_alerts (materialized view): alerts from rules with thresholds in configuration.

The same rows as ``alerts.order_alerts`` over Silver, the quarantine, ``gold_payment_health`` and
``fact_orders``, built from parts refreshed incrementally: the private
``gold_payment_failure_alerts`` (per window), ``gold_sla_breach_alerts`` (per order),
``gold_order_activity`` (per silence bucket) and ``gold_quarantined_rows`` (one count). This view
is a complete recompute (a union of four inputs, and the silence rule's window over all buckets)
but reads only those small tables, not the event history. Equality with ``alerts.order_alerts``
is tested (tests/localdlt/mv/test_orders_gold_incremental.py).
"""

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
    return alerts.order_alerts_from_parts(
        payment_alerts=spark.read.table("gold_payment_failure_alerts"),  # noqa: F821
        buckets=spark.read.table("gold_order_activity"),  # noqa: F821
        sla_alerts=spark.read.table("gold_sla_breach_alerts"),  # noqa: F821
        quarantine_rows=spark.read.table("gold_quarantined_rows"),  # noqa: F821
        thresholds=alerts.AlertThresholds.from_settings(settings),
    )
