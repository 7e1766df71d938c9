"""silver_orders: current state per order (SCD1 via apply_changes, sequenced by event time).

ignore_null_updates=True: each change carries only what its event knows, so milestones and the
created-time amounts accumulate on the current row.
"""

import dlt
from pyspark.sql import functions as F

dlt.create_streaming_table(
    name="silver_orders",
    comment="Current state of each order (SCD1): status, totals, payment, shipping, milestone timestamps.",
    table_properties={"quality": "silver"},
)

dlt.apply_changes(
    target="silver_orders",
    source="silver_order_changes",
    keys=["order_id"],
    sequence_by=F.col("event_time"),
    ignore_null_updates=True,
    stored_as_scd_type=1,
)
