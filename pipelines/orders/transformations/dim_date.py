"""dim_date (materialized view): a dimension of the Gold star schema."""

import dlt

from orders_lakehouse.transforms import star


@dlt.table(
    name="dim_date",
    comment="One row per UTC calendar day from the first to the last event.",
    table_properties={"quality": "gold"},
)
def dim_date():
    return star.dim_date(spark.read.table("silver_order_events"))  # noqa: F821
