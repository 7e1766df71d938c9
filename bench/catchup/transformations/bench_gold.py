"""Catch-up benchmark, Gold: revenue per channel and state (recomputed each update)."""

from pyspark import pipelines as dp
from pyspark.sql import SparkSession, functions as F

# Open-source Spark's style: the session is taken once, while the file loads (localdlt hands
# out its pipeline-aware session there too).
spark = SparkSession.active()


@dp.materialized_view(name="bench_gold", format="delta")
def bench_gold():
    return spark.read.table("bench_silver").groupBy("channel", "state").agg(
        F.count("*").alias("orders"), F.sum("total").alias("revenue")
    )
