"""silver_order_changes (view): one change row per Silver event, the CDC source of silver_orders."""

import dlt

from orders_lakehouse.transforms import current_state


@dlt.view(name="silver_order_changes", comment="Per-event changes for the SCD1 silver_orders.")
def silver_order_changes():
    return current_state.order_changes(spark.readStream.table("silver_order_events"))  # noqa: F821
