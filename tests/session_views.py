"""The temporary views of a test session, through SQL: test sessions interpret expressions
(``SessionSettings(testing=True)``), under which Spark 4.1's ``spark.catalog.listTables()`` fails."""

from __future__ import annotations

from pyspark.sql import SparkSession


def temporary_views(spark: SparkSession) -> set[str]:
    """Names of the session's temporary views (``SHOW TABLES``' rows marked temporary)."""
    return {row["tableName"] for row in spark.sql("SHOW TABLES").collect() if row["isTemporary"]}
