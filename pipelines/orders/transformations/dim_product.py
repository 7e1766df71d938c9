"""dim_product (materialized view): a dimension of the Gold star schema."""

import dlt

from orders_lakehouse.transforms import star


@dlt.table(
    name="dim_product",
    comment="One row per SKU seen on created orders: latest name and unit price.",
    table_properties={"quality": "gold"},
)
def dim_product():
    return star.dim_product(spark.read.table("silver_order_events"))  # noqa: F821
