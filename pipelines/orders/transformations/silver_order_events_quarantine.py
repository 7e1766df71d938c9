"""silver_order_events_quarantine: every event failing a Silver rule, with the names of the rules
it failed and its raw payload (streaming table; the inverted Silver rule set keeps only those)."""

import dlt

from orders_lakehouse.transforms import silver
from orders_lakehouse.transforms.rules import any_fails_sql, silver_event_rules
from orders_lakehouse.transforms.settings import PII_SALT_KEY, PipelineSettings

SETTINGS = PipelineSettings.from_conf(spark.conf)  # noqa: F821 - `spark` is a pipeline global
RULES = silver_event_rules(SETTINGS.future_tolerance_seconds)


@dlt.table(
    name="silver_order_events_quarantine",
    comment="Order events that failed at least one Silver rule: failed_rules + raw_payload (restricted: raw "
            "PII).",
    table_properties={"quality": "silver"},
    spark_conf=silver.SPARK_CONF,
)
@dlt.expect_or_drop("fails_a_silver_rule", any_fails_sql(RULES))
def silver_order_events_quarantine():
    salt = dbutils.secrets.get(SETTINGS.secret_scope, PII_SALT_KEY)  # noqa: F821 - `dbutils` is a pipeline global
    staged = silver.stage_events(spark.readStream.table("bronze_order_events"), salt)  # noqa: F821
    return silver.quarantine_candidates(staged, RULES)
