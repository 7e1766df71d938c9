"""Catch-up benchmark, Gold: revenue per channel and state (recomputed each update)."""

from pyspark import pipelines as dp
from pyspark.sql import SparkSession, functions as F


@dp.materialized_view(name="bench_gold", format="delta")
def bench_gold():
    spark = SparkSession.active()
    return spark.read.table("bench_silver").groupBy("channel", "state").agg(
        F.count("*").alias("orders"), F.sum("total").alias("revenue")
    )
