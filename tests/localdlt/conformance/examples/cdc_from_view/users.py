# Databricks "The AUTO CDC APIs: simplify change data capture with pipelines" (ldp/cdc): the
# change feed read by Auto Loader in a view, applied as SCD type 1 with apply_changes and as SCD
# type 2 with create_auto_cdc_flow, deletes and truncates by the operation column.
import dlt
from pyspark.sql.functions import col, expr


@dlt.view
def users():
    return (
        spark.readStream.format("cloudFiles")
        .option("cloudFiles.format", "json")
        .option("cloudFiles.inferColumnTypes", "true")
        .load(spark.conf.get("conformance.cdc_path"))
    )


dlt.create_streaming_table("target")

dlt.apply_changes(
    target="target",
    source="users",
    keys=["userId"],
    sequence_by=col("sequenceNum"),
    apply_as_deletes=expr("operation = 'DELETE'"),
    apply_as_truncates=expr("operation = 'TRUNCATE'"),
    except_column_list=["operation", "sequenceNum"],
    stored_as_scd_type=1,
)

dlt.create_streaming_table("target_history")

dlt.create_auto_cdc_flow(
    target="target_history",
    source="users",
    keys=["userId"],
    sequence_by=col("sequenceNum"),
    apply_as_deletes=expr("operation = 'DELETE'"),
    except_column_list=["operation", "sequenceNum"],
    stored_as_scd_type="2",
)
