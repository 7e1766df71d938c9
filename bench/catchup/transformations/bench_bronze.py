"""Catch-up benchmark, Bronze: JSON lines from the landing folder, as received."""

from pyspark import pipelines as dp
from pyspark.sql import SparkSession

# Open-source Spark's style: the session is taken once, while the file loads (localdlt hands
# out its pipeline-aware session there too).
spark = SparkSession.active()

SCHEMA = "event_id string, order_id string, channel string, state string, total double, event_time string"


@dp.table(name="bench_bronze", format="delta")
def bench_bronze():
    return spark.readStream.schema(SCHEMA).json(spark.conf.get("bench.landing_path"))
