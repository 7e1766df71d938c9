"""Differential test against Apache Spark: a pipeline of SQL files (the statements Spark 4.1's
``spark-pipelines`` accepts) plus one Python source file, run by ``spark-pipelines run`` and by
localdlt, both on Delta, gives the same tables. Constructs Spark rejects are listed in
docs/localdlt-sql.md, with the error Spark gives (checked by the second test)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from localdlt.runner import run_update
from orders_lakehouse.devstack.spark_pipelines import failure_text, run_spark_pipelines, write_project
from spark_pipelines_cli import probe_sql

SOURCE_PY = """
from pyspark import pipelines as dp
from pyspark.sql import SparkSession

spark = SparkSession.active()


@dp.table
def raw():
    return spark.readStream.schema("id INT, amount INT").json(spark.conf.get("test.landing"))
"""

# `from_cleaned` reads, as a stream, a table written earlier in the same update: both runners order
# it after `cleaned` and read the three rows `cleaned` got (Spark on Parquet read none: see
# docs/localdlt-sql.md, "Compared with Apache Spark's spark-pipelines").
PIPELINE_SQL = """
SET spark.sql.shuffle.partitions = 2;

CREATE STREAMING TABLE cleaned
AS SELECT id, amount FROM STREAM(raw) WHERE amount IS NOT NULL;

CREATE STREAMING TABLE all_ids;

CREATE FLOW from_cleaned AS INSERT INTO all_ids BY NAME
SELECT id, 'cleaned' AS origin FROM STREAM(cleaned);

CREATE FLOW from_nulls AS INSERT INTO all_ids BY NAME
SELECT id, 'null' AS origin FROM STREAM raw WHERE amount IS NULL;

CREATE TEMPORARY VIEW positive AS SELECT * FROM cleaned WHERE amount > 0;

CREATE MATERIALIZED VIEW totals
COMMENT 'positive amounts'
AS WITH p AS (SELECT * FROM positive)
SELECT count(*) AS n, sum(amount) AS total,
       (SELECT count(*) FROM cleaned WHERE amount < 0) AS negatives,
       '${diff.label}' AS label
FROM p;
"""

ROWS = [{"id": 1, "amount": 5}, {"id": 2, "amount": -5}, {"id": 3, "amount": None}, {"id": 4, "amount": 7}]


@pytest.mark.slow  # starts a second JVM (Spark Connect server) for spark-pipelines
def test_spark_pipelines_and_localdlt_give_the_same_tables_from_sql(
    spark: Any, tmp_path: Path, landing: Any, rows: Any
) -> None:
    folder = landing("land", "a.json", ROWS)
    configuration = {"test.landing": str(folder), "diff.label": "from-config"}
    project = write_project(
        tmp_path / "oss", {"source.py": SOURCE_PY, "pipeline.sql": PIPELINE_SQL}, configuration, "diff_sql"
    )
    oss = run_spark_pipelines(project)
    assert oss.returncode == 0 and "Run is COMPLETED." in oss.stdout, failure_text(oss)

    result = run_update(
        [project.transformations], tmp_path / "local", spark=spark, configuration=configuration
    )
    assert result.ok, result.failed_flows()

    local = tmp_path / "local" / "tables"
    for table, columns, expected in [
        ("raw", ("id", "amount"), [(1, 5), (2, -5), (3, None), (4, 7)]),
        ("cleaned", ("id", "amount"), [(1, 5), (2, -5), (4, 7)]),
        ("all_ids", ("id", "origin"), [(1, "cleaned"), (2, "cleaned"), (3, "null"), (4, "cleaned")]),
        ("totals", ("n", "total", "negatives", "label"), [(2, 12, 1, "from-config")]),
    ]:
        # Both are Delta tables: Spark's managed tables under its warehouse, localdlt's under storage.
        assert rows(project.warehouse / table, *columns) == expected, f"spark-pipelines: {table}"
        assert rows(local / table, *columns) == expected, f"localdlt: {table}"


SOURCE = "CREATE MATERIALIZED VIEW src AS SELECT 1 AS id, 'a' AS name, 1 AS seq;\n"
TARGET = "CREATE STREAMING TABLE t;\n"
PARSE = "PARSE_SYNTAX_ERROR"  # while the file is registered
TVF = "UNRESOLVABLE_TABLE_VALUED_FUNCTION"  # when the graph is resolved (dry run)

# Each localdlt-only construct alone in a file (beside what it needs), with the error class Spark
# 4.1.1 gives for it. docs/localdlt-sql.md lists the same.
REJECTED = {
    "expectation": (
        SOURCE + "CREATE MATERIALIZED VIEW e (CONSTRAINT c EXPECT (id > 0) ON VIOLATION DROP ROW) "
        "AS SELECT * FROM src;",
        PARSE,
    ),
    "auto_cdc": (SOURCE + TARGET + "AUTO CDC INTO t FROM STREAM(src) KEYS (id) SEQUENCE BY seq;", PARSE),
    "apply_changes": (
        SOURCE + TARGET + "APPLY CHANGES INTO t FROM STREAM(src) KEYS (id) SEQUENCE BY seq;",
        PARSE,
    ),
    "flow_auto_cdc": (
        SOURCE + TARGET + "CREATE FLOW f AS AUTO CDC INTO t FROM STREAM(src) KEYS (id) SEQUENCE BY seq;",
        PARSE,
    ),
    "insert_once": (
        SOURCE + TARGET + "CREATE FLOW f AS INSERT INTO ONCE t BY NAME SELECT * FROM src;",
        PARSE,
    ),
    "stream_read_files": (
        "CREATE STREAMING TABLE r AS SELECT * FROM STREAM read_files('{landing}', format => 'json');",
        PARSE,
    ),
    "read_files": (
        "CREATE MATERIALIZED VIEW r AS SELECT * FROM read_files('{landing}', format => 'json');",
        TVF,
    ),
    "cloud_files": ("CREATE STREAMING TABLE c AS SELECT * FROM cloud_files('{landing}', 'json');", TVF),
    "read_kafka": (
        "CREATE MATERIALIZED VIEW k AS SELECT * FROM read_kafka(bootstrapServers => 'localhost:9', "
        "subscribe => 't');",
        TVF,
    ),
    "private": ("CREATE PRIVATE MATERIALIZED VIEW p AS SELECT 1 AS x;", PARSE),
    "or_refresh": ("CREATE OR REFRESH MATERIALIZED VIEW o AS SELECT 1 AS x;", PARSE),
    "live_table": ("CREATE LIVE TABLE l AS SELECT 1 AS x;", PARSE),
    "live_schema": (
        SOURCE + "CREATE MATERIALIZED VIEW l AS SELECT * FROM LIVE.src;",
        "TABLE_OR_VIEW_NOT_FOUND",
    ),
    "cluster_by_auto": ("CREATE MATERIALIZED VIEW ca CLUSTER BY AUTO AS SELECT 1 AS x;", PARSE),
    "cluster_by": (
        "CREATE MATERIALIZED VIEW cb CLUSTER BY (x) AS SELECT 1 AS x;",
        "PIPELINE_SQL_GRAPH_ELEMENT_REGISTRATION_ERROR",
    ),
}
# A dry run that fails to resolve a flow does not say why: the query of that flow is analysed on
# the same server to get the error class.
QUERIES = {
    "read_files": "SELECT * FROM read_files('{landing}', format => 'json')",
    "cloud_files": "SELECT * FROM cloud_files('{landing}', 'json')",
    "read_kafka": "SELECT * FROM read_kafka(bootstrapServers => 'localhost:9', subscribe => 't')",
    "live_schema": "SELECT * FROM LIVE.src",
}
ACCEPTED = {
    "flow_insert": SOURCE + TARGET + "CREATE FLOW f AS INSERT INTO t BY NAME SELECT * FROM STREAM(src);",
    "clauses": "CREATE MATERIALIZED VIEW m (x INT, y STRING) PARTITIONED BY (y) COMMENT 'c' "
    "TBLPROPERTIES ('a' = 'b') AS SELECT 1 AS x, 'u' AS y;",
    "views": SOURCE + "CREATE VIEW v AS SELECT * FROM src;\nCREATE TEMPORARY VIEW w AS SELECT * FROM src;\n"
    "CREATE MATERIALIZED VIEW m AS SELECT * FROM v JOIN w USING (id);",
    "set": "SET a.b = 1;\nCREATE MATERIALIZED VIEW s AS SELECT 1 AS x;",
}


@pytest.mark.slow  # one Spark Connect server (second JVM) for all the files
def test_spark_pipelines_rejects_the_localdlt_only_constructs(tmp_path: Path, landing: Any) -> None:
    folder = landing("land", "a.json", [{"id": 1}])
    files = {name: sql.replace("{landing}", str(folder)) for name, (sql, _) in REJECTED.items()}
    queries = {name: query.replace("{landing}", str(folder)) for name, query in QUERIES.items()}
    results = probe_sql(tmp_path / "probe", {**files, **ACCEPTED}, queries)

    assert {name: results.pop(name) for name in ACCEPTED} == dict.fromkeys(ACCEPTED, "COMPLETED")
    first_class = {name: re.search(r"\[([A-Z_]+)[].]", text) for name, text in results.items()}
    assert {name: match.group(1) if match else results[name] for name, match in first_class.items()} == {
        name: error for name, (_, error) in REJECTED.items()
    }
