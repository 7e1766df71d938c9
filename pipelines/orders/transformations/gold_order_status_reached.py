"""gold_order_status_reached (private materialized view): each (status, order_id) that occurred.

The incremental core of ``gold_status_funnel``: a ``DISTINCT`` over Silver, so an update only adds
the pairs it has not seen (plain appends), and the funnel above merges counts of those new pairs
instead of counting distinct orders over the whole event history.
"""

import dlt


@dlt.table(
    name="gold_order_status_reached",
    comment="Each status each order reached (private: the incremental core of gold_status_funnel).",
    table_properties={"quality": "gold"},
    private=True,
)
def gold_order_status_reached():
    return spark.read.table("silver_order_events").select("status", "order_id").distinct()  # noqa: F821
