"""bronze_order_events: every message as received (streaming table, append-only, never drops)."""

import dlt

from orders_lakehouse.transforms import bronze, sources
from orders_lakehouse.transforms.settings import PipelineSettings


@dlt.table(
    name="bronze_order_events",
    comment="Every order event as received: raw payload, best-effort parsed columns, _rescued_data, ingest "
            "metadata.",
    table_properties={"quality": "bronze"},
)
def bronze_order_events():
    settings = PipelineSettings.from_conf(spark.conf)  # noqa: F821 - `spark` is a pipeline global
    return bronze.to_bronze(sources.read_raw(spark, settings, dbutils.secrets.get))  # noqa: F821
