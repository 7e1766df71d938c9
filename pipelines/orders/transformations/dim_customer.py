"""dim_customer (materialized view): a dimension of the Gold star schema."""

import dlt

from orders_lakehouse.transforms import star


@dlt.table(
    name="dim_customer",
    comment="One row per customer: latest PII-minimised attributes, first order, order count.",
    table_properties={"quality": "gold"},
)
def dim_customer():
    return star.dim_customer(spark.read.table("silver_order_events"))  # noqa: F821
