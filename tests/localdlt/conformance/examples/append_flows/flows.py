# Databricks "Load and process data incrementally with flows" (ldp/flows): several append flows
# writing into one streaming table created with create_streaming_table, and a one-time backfill
# (once=True, a batch query) into a table defined by its own streaming query.
import dlt

dlt.create_streaming_table("customers_us")


@dlt.append_flow(target="customers_us")
def append_west():
    return spark.readStream.table("conformance_customers_us_west")


@dlt.append_flow(target="customers_us")
def append_east():
    return spark.readStream.table("conformance_customers_us_east")


@dlt.table()
def csv_target():
    return (
        spark.readStream.format("cloudFiles")
        .option("cloudFiles.format", "csv")
        .option("header", "true")
        .schema("id INT, name STRING")
        .load(spark.conf.get("conformance.csv_source"))
    )


@dlt.append_flow(target="csv_target", once=True)
def backfill():
    return spark.read.format("csv").option("header", "true").schema("id INT, name STRING").load(
        spark.conf.get("conformance.csv_backfill")
    )
