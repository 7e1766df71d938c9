"""Differential test against Apache Spark: the same ``dp`` pipeline (features both support), run by
open-source Spark's own ``spark-pipelines run`` and by localdlt, gives the same tables."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

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
def test_spark_pipelines_and_localdlt_give_the_same_tables(spark, tmp_path: Path, landing, rows) -> None:
    folder = landing(
        "land",
        "a.json",
        [{"id": 1, "amount": 5}, {"id": 2, "amount": -5}, {"id": 3, "amount": None}, {"id": 4, "amount": 7}],
    )
    project = tmp_path / "oss"
    (project / "transformations").mkdir(parents=True)
    (project / "transformations" / "p.py").write_text(PIPELINE)
    (project / "spark-pipeline.yml").write_text(
        f"name: diff\nstorage: file://{tmp_path / 'oss-storage'}\nlibraries:\n  - glob:\n"
        f"      include: transformations/**\nconfiguration:\n  test.landing: {folder}\n"
    )
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}"}
    oss = subprocess.run(
        [str(bin_dir / "spark-pipelines"), "run", "--spec", "spark-pipeline.yml"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert oss.returncode == 0, oss.stdout[-2000:] + oss.stderr[-2000:]
    assert "Run is COMPLETED." in oss.stdout

    result = run_update(
        [project / "transformations"],
        tmp_path / "local",
        spark=spark,
        configuration={"test.landing": str(folder)},
    )
    assert result.ok, result.failed_flows()

    # OSS writes the session's default format (parquet) under its warehouse; localdlt writes Delta.
    warehouse = project / "spark-warehouse"

    def oss_rows(table: str, *columns: str) -> list[tuple]:
        data = spark.read.parquet(str(warehouse / table)).select(*columns).collect()
        return sorted((tuple(r) for r in data), key=lambda t: tuple((v is None, v) for v in t))

    assert oss_rows("raw", "id", "amount") == rows(tmp_path / "local" / "tables" / "raw", "id", "amount")
    assert (
        oss_rows("total", "total", "n")
        == rows(tmp_path / "local" / "tables" / "total", "total", "n")
        == [(12, 2)]
    )
