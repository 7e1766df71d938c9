"""Catch-up benchmark, Silver: typed and filtered by two rules."""

from pyspark import pipelines as dp
from pyspark.sql import SparkSession, functions as F

# Open-source Spark's style: the session is taken once, while the file loads (localdlt hands
# out its pipeline-aware session there too).
spark = SparkSession.active()


@dp.table(name="bench_silver", format="delta")
def bench_silver():
    events = spark.readStream.table("bench_bronze")
    return events.where("total >= 0 AND channel IS NOT NULL").select(
        "event_id", "order_id", "channel", "state",
        F.col("total").cast("decimal(18,2)").alias("total"),
        F.to_timestamp("event_time").alias("event_time"),
    )
