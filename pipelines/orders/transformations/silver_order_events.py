"""silver_order_events: typed, validated, deduplicated, PII-minimised events (streaming table).

Rows failing any Silver rule are dropped here by the expectations (and counted in the event
log); the same rules route them into silver_order_events_quarantine.
"""

import dlt

from orders_lakehouse.transforms import silver
from orders_lakehouse.transforms.rules import silver_event_rules
from orders_lakehouse.transforms.settings import PII_SALT_KEY, PipelineSettings

SETTINGS = PipelineSettings.from_conf(spark.conf)  # noqa: F821 - `spark` is a pipeline global
RULES = silver_event_rules(SETTINGS.future_tolerance_seconds)


@dlt.table(
    name="silver_order_events",
    comment="Valid order events: typed (UTC, decimal(18,2)), lower-case enums, deduplicated on event_id, "
            "PII minimised.",
    table_properties={"quality": "silver"},
    spark_conf=silver.SPARK_CONF,
)
@dlt.expect_all_or_drop(RULES)
def silver_order_events():
    salt = dbutils.secrets.get(SETTINGS.secret_scope, PII_SALT_KEY)  # noqa: F821 - `dbutils` is a pipeline global
    staged = silver.stage_events(spark.readStream.table("bronze_order_events"), salt)  # noqa: F821
    return silver.valid_events(staged, RULES, SETTINGS.watermark_delay)
