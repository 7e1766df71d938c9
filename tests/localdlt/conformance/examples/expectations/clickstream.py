# Databricks "Manage data quality with pipeline expectations" (ldp/expectations): one rule per
# decorator (warn / drop), a dict of rules with expect_all, and the keyword spelling of the
# databricks-dlt package (name=, inv=). Only the source path differs from the page.
import dlt

valid_pages = {
    "valid_count": "count > 0",
    "valid_current_page": "current_page_id IS NOT NULL AND current_page_title IS NOT NULL",
}


@dlt.table
def clickstream_raw():
    return spark.readStream.schema(
        "timestamp TIMESTAMP, current_page_id INT, current_page_title STRING, count INT"
    ).json(spark.conf.get("conformance.clickstream_path"))


@dlt.table
@dlt.expect("valid timestamp", "timestamp > '2012-01-01'")
@dlt.expect_or_drop("valid_current_page", "current_page_id IS NOT NULL AND current_page_title IS NOT NULL")
def clickstream_clean():
    return dlt.read_stream("clickstream_raw")


@dlt.table
@dlt.expect_all(valid_pages)
def clickstream_all_rules():
    return dlt.read_stream("clickstream_raw")


@dlt.table
@dlt.expect_or_drop(name="valid_count", inv="count > 0")
def clickstream_counted():
    return dlt.read_stream("clickstream_raw")
