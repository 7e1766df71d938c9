"""Differential test against Apache Spark: the same ``dp`` pipeline (features both support), run by
open-source Spark's own ``spark-pipelines run`` and by localdlt, both on Delta, gives the same
tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from orders_lakehouse.devstack.spark_pipelines import failure_text, run_spark_pipelines, write_project

from localdlt.runner import run_update

PIPELINE = """
from pyspark import pipelines as dp
from pyspark.sql import SparkSession, functions as F

spark = SparkSession.active()


@dp.table
def raw():
    return spark.readStream.schema("id INT, amount INT").json(spark.conf.get("test.landing"))


@dp.materialized_view
def total():
    return (
        spark.read.table("raw").where("amount > 0")
        .agg(F.sum("amount").alias("total"), F.count("*").alias("n"))
    )
"""


@pytest.mark.slow  # starts a second JVM (Spark Connect server) for spark-pipelines
def test_spark_pipelines_and_localdlt_give_the_same_tables(
    spark: Any, tmp_path: Path, landing: Any, rows: Any
) -> None:
    folder = landing(
        "land",
        "a.json",
        [{"id": 1, "amount": 5}, {"id": 2, "amount": -5}, {"id": 3, "amount": None}, {"id": 4, "amount": 7}],
    )
    configuration = {"test.landing": str(folder)}
    project = write_project(tmp_path / "oss", {"p.py": PIPELINE}, configuration)
    oss = run_spark_pipelines(project)
    assert oss.returncode == 0 and "Run is COMPLETED." in oss.stdout, failure_text(oss)

    result = run_update(
        [project.transformations], tmp_path / "local", spark=spark, configuration=configuration
    )
    assert result.ok, result.failed_flows()

    local = tmp_path / "local" / "tables"
    for table, columns, expected in [
        ("raw", ("id", "amount"), [(1, 5), (2, -5), (3, None), (4, 7)]),
        ("total", ("total", "n"), [(12, 2)]),
    ]:
        # Both are Delta tables: Spark's managed tables under its warehouse, localdlt's under storage.
        assert rows(project.warehouse / table, *columns) == expected, f"spark-pipelines: {table}"
        assert rows(local / table, *columns) == expected, f"localdlt: {table}"
