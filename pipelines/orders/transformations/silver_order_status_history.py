"""silver_order_status_history: every status an order went through (SCD2 on status,
__START_AT / __END_AT = event times)."""

import dlt
from pyspark.sql import functions as F

dlt.create_streaming_table(
    name="silver_order_status_history",
    comment="Status history per order (SCD2): one row per status period, __END_AT NULL for the current one.",
    table_properties={"quality": "silver"},
)

dlt.apply_changes(
    target="silver_order_status_history",
    source="silver_order_events",
    keys=["order_id"],
    sequence_by=F.col("event_time"),
    column_list=["order_id", "status", "event_id", "event_time"],
    stored_as_scd_type=2,
    track_history_column_list=["status"],
)
