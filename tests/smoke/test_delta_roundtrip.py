"""The stack for real: Delta tables written and read back through the session factory's session."""

from pathlib import Path

from delta.tables import DeltaTable
from pyspark.sql import SparkSession


def test_delta_table_write_read_and_history(spark: SparkSession, tmp_path: Path) -> None:
    path = str(tmp_path / "orders")
    spark.createDataFrame([("o-1", 10.5), ("o-2", 20.0)], "order_id string, total double").write.format(
        "delta"
    ).save(path)
    spark.createDataFrame([("o-3", 7.25)], "order_id string, total double").write.format("delta").mode(
        "append"
    ).save(path)

    rows = sorted(spark.read.format("delta").load(path).collect())

    assert [tuple(row) for row in rows] == [("o-1", 10.5), ("o-2", 20.0), ("o-3", 7.25)]
    history = DeltaTable.forPath(spark, path).history().select("version", "operation").orderBy("version")
    assert [tuple(row) for row in history.collect()] == [(0, "WRITE"), (1, "WRITE")]


def test_session_has_delta_catalog_and_cached_jars(spark: SparkSession) -> None:
    conf = spark.sparkContext.getConf()
    assert conf.get("spark.sql.catalog.spark_catalog") == "org.apache.spark.sql.delta.catalog.DeltaCatalog"
    jars = conf.get("spark.jars").split(",")
    assert any("delta-spark_4.1_2.13-4.3.1.jar" in jar for jar in jars)
    assert any("spark-sql-kafka-0-10_2.13-4.1.1.jar" in jar for jar in jars)
    assert conf.get("spark.jars.packages", None) is None
    assert spark.conf.get("spark.sql.shuffle.partitions") == "2"
