"""silver_order_status_transitions (materialized view): each event's status against the previous
one by event time; illegal transitions are flagged by a warn expectation (counted, kept)."""

import dlt

from orders_lakehouse.transforms import current_state
from orders_lakehouse.transforms.rules import transition_rules


@dlt.table(
    name="silver_order_status_transitions",
    comment="Status transitions per order in event-time order, with is_legal_transition.",
    table_properties={"quality": "silver"},
)
@dlt.expect_all(transition_rules())
def silver_order_status_transitions():
    return current_state.status_transitions(spark.read.table("silver_order_events"))  # noqa: F821
