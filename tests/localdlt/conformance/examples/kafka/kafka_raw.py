# Databricks "Load data in pipelines" (Kafka): a streaming table over a topic, the value parsed
# from JSON in a second table.
import dlt
from pyspark.sql.functions import col, from_json


@dlt.table
def kafka_raw():
    return (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", spark.conf.get("conformance.kafka_servers"))
        .option("subscribe", spark.conf.get("conformance.kafka_topic"))
        .option("startingOffsets", "earliest")
        .load()
    )


@dlt.table
def kafka_parsed():
    return dlt.read_stream("kafka_raw").select(
        col("key").cast("string").alias("key"),
        from_json(col("value").cast("string"), "id INT, amount DOUBLE").alias("v"),
    ).select("key", "v.id", "v.amount")
