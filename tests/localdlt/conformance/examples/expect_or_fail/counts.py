# Databricks "Manage data quality with pipeline expectations": expect_or_fail stops the update
# when a record violates the rule, and the error names the flow, the rule and the input record.
import dlt


@dlt.table
@dlt.expect_or_fail("valid_count", "count > 0")
def counts():
    return spark.readStream.schema("page STRING, count INT").json(spark.conf.get("conformance.counts_path"))
