# Databricks "Load data in pipelines" (ldp/load): Auto Loader over JSON with the schema inferred
# (every column a string, _rescued_data added) and a schema hint for one column, then a
# materialized view reading the streaming table.
import dlt
from pyspark.sql.functions import sum


@dlt.table
def sales_orders_raw():
    return (
        spark.readStream.format("cloudFiles")
        .option("cloudFiles.format", "json")
        .option("cloudFiles.schemaHints", "amount DOUBLE")
        .load(spark.conf.get("conformance.orders_path"))
    )


@dlt.table
def sales_by_customer():
    return spark.read.table("sales_orders_raw").groupBy("customer").agg(sum("amount").alias("total"))
