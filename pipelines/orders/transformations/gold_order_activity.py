"""gold_order_activity (private materialized view): Silver's events per silence-sized time bucket.

``alerts.activity_buckets`` over ``silver_order_events`` (buckets of
``orders.alerts.silence_minutes``): counts, the latest event and the first and last created times
per bucket, all merged from the new events alone (GROUP_AGGREGATE). ``gold_order_alerts`` finds
the silences between buckets and Silver's row count (the drop rate) here instead of in every event.
"""

import dlt

from orders_lakehouse.transforms import alerts
from orders_lakehouse.transforms.settings import PipelineSettings


@dlt.table(
    name="gold_order_activity",
    comment="Events, latest event, first/last created time per bucket (private: part of gold_order_alerts).",
    table_properties={"quality": "gold"},
    private=True,
)
def gold_order_activity():
    settings = PipelineSettings.from_conf(spark.conf)  # noqa: F821 - `spark` is a pipeline global
    silence_minutes = alerts.AlertThresholds.from_settings(settings).silence_minutes
    return alerts.activity_buckets(spark.read.table("silver_order_events"), silence_minutes)  # noqa: F821
