"""gold_fulfillment_sla (materialized view): created→delivered p50 / p95 per day and carrier."""

import dlt

from orders_lakehouse.transforms import kpis
from orders_lakehouse.transforms.settings import PipelineSettings


@dlt.table(
    name="gold_fulfillment_sla",
    comment="Delivery time percentiles, late deliveries and SLA breaches per day and carrier.",
    table_properties={"quality": "gold"},
)
def gold_fulfillment_sla():
    settings = PipelineSettings.from_conf(spark.conf)  # noqa: F821 - `spark` is a pipeline global
    return kpis.fulfillment_sla(spark.read.table("fact_orders"), settings.sla_hours)  # noqa: F821
