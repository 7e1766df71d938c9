"""gold_quarantined_rows (private materialized view): how many rows Silver quarantined.

``alerts.quarantined_rows``: a global count over ``silver_order_events_quarantine``, merged from the
new rows alone (GROUP_AGGREGATE); ``gold_order_alerts``' drop rate reads this one row.
"""

import dlt

from orders_lakehouse.transforms import alerts


@dlt.table(
    name="gold_quarantined_rows",
    comment="Number of quarantined rows (private: part of gold_order_alerts).",
    table_properties={"quality": "gold"},
    private=True,
)
def gold_quarantined_rows():
    return alerts.quarantined_rows(spark.read.table("silver_order_events_quarantine"))  # noqa: F821
