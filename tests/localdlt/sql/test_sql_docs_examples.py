"""Databricks' documented pipeline SQL, run through localdlt with hand-derived results (full runs).

The statements are written as Databricks' SQL reference and guides show them (expectations,
CREATE FLOW with INSERT INTO and INSERT INTO ONCE, AUTO CDC / APPLY CHANGES SCD 1 and 2 with
the documentation's users example, read_files and cloud_files, SET and ${}); the data are our
own fixtures. One pipeline run covers most of them (one folder, SQL and Python files mixed).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from localdlt.runner import run_update

ORDERS = [
    {"order_id": 1, "ts": "2024-01-01T10:00:00", "amount": 25.0, "customer": "ana"},
    {"order_id": 2, "ts": "2011-05-05T10:00:00", "amount": 5.0, "customer": "bia"},
    {"order_id": 3, "ts": "2024-01-02T10:00:00", "amount": 8.0, "customer": None},
    {"order_id": 4, "ts": "2024-01-03T10:00:00", "amount": 40.0, "customer": "ana"},
    {"order_id": 5, "ts": None, "amount": 1.0, "customer": "caio"},
]
# The users example of Databricks' AUTO CDC documentation (userId, name, city, operation, sequenceNum).
USERS = [
    (124, "Raul", "Oaxaca", "INSERT", 1),
    (123, "Isabel", "Monterrey", "INSERT", 1),
    (125, "Mercedes", "Tijuana", "INSERT", 2),
    (126, "Lily", "Cancun", "INSERT", 2),
    (123, None, None, "DELETE", 6),
    (125, "Mercedes", "Guadalajara", "UPDATE", 6),
    (125, "Mercedes", "Mexicali", "UPDATE", 5),
    (123, "Isabel", "Chihuahua", "UPDATE", 5),
]

INGEST_SQL = """
-- Auto Loader through read_files, path from the pipeline configuration
CREATE OR REFRESH STREAMING TABLE raw_orders
AS SELECT * FROM STREAM read_files(
  '${source_path}/orders',
  format => 'json',
  schema => 'order_id INT, ts TIMESTAMP, amount DOUBLE, customer STRING'
);

-- the legacy spelling
CREATE OR REFRESH STREAMING LIVE TABLE legacy_orders
AS SELECT order_id
FROM cloud_files("${source_path}/orders", "json", map("cloudFiles.inferColumnTypes", "true"));
"""

QUALITY_SQL = """
CREATE OR REFRESH STREAMING TABLE orders_valid (
  CONSTRAINT valid_timestamp EXPECT (ts > '2012-01-01') ON VIOLATION DROP ROW,
  CONSTRAINT has_customer EXPECT (customer IS NOT NULL)
)
COMMENT 'orders with a valid timestamp'
AS SELECT order_id, ts, amount, customer FROM STREAM(raw_orders);

CREATE OR REFRESH MATERIALIZED VIEW customer_totals
AS SELECT customer, sum(amount) AS total FROM orders_valid GROUP BY customer;

CREATE TEMPORARY VIEW ana_orders AS SELECT * FROM LIVE.orders_valid WHERE customer = 'ana';

SET min_amount = 10;
CREATE OR REFRESH MATERIALIZED VIEW big_orders
AS SELECT o.order_id FROM orders_valid o WHERE o.amount >= ${min_amount};
"""

FLOWS_SQL = """
CREATE OR REFRESH STREAMING TABLE all_orders;

CREATE FLOW live_orders AS
INSERT INTO all_orders BY NAME
SELECT order_id, amount FROM STREAM(orders_valid);

CREATE FLOW backfill_orders AS
INSERT INTO ONCE all_orders BY NAME
SELECT * FROM read_files('${source_path}/backfill', format => 'csv', header => true,
                         schema => 'order_id INT, amount DOUBLE');
"""

CDC_SQL = """
CREATE OR REFRESH STREAMING TABLE target;

CREATE FLOW flow
AS AUTO CDC INTO
  target
FROM
  stream(cdc_data.users)
KEYS
  (userId)
APPLY AS DELETE WHEN
  operation = "DELETE"
SEQUENCE BY
  sequenceNum
COLUMNS * EXCEPT
  (operation, sequenceNum)
STORED AS
  SCD TYPE 1;

CREATE OR REFRESH STREAMING TABLE target_history;

APPLY CHANGES INTO target_history
FROM stream(cdc_data.users)
KEYS (userId)
APPLY AS DELETE WHEN operation = "DELETE"
SEQUENCE BY sequenceNum
COLUMNS * EXCEPT (operation, sequenceNum)
STORED AS SCD TYPE 2;
"""

# A Python file in the same folder: reads a SQL dataset, and a SQL file reads it back.
MIXED_PY = """
import dlt

@dlt.table
def ana_count():
    return dlt.read("ana_orders").groupBy().count().withColumnRenamed("count", "n")
"""
MIXED_SQL = "CREATE MATERIALIZED VIEW ana_count_doubled AS SELECT n * 2 AS n2 FROM ana_count"


@pytest.fixture
def cdc_source(spark: Any) -> Any:
    """``cdc_data.users`` in the session catalog, as the documentation creates it."""
    spark.sql("CREATE DATABASE IF NOT EXISTS cdc_data")
    spark.createDataFrame(
        USERS, "userId INT, name STRING, city STRING, operation STRING, sequenceNum INT"
    ).write.format("delta").mode("overwrite").saveAsTable("cdc_data.users")
    yield
    spark.sql("DROP DATABASE IF EXISTS cdc_data CASCADE")


def _progress(events: Any, storage: Path, flow: str) -> list[dict[str, Any]]:
    return [
        json.loads(e["details"])["flow_progress"]
        for e in events(storage, "flow_progress")
        if e["origin"]["flow_name"] == flow
    ]


def test_documented_sql_examples_and_a_python_file_run_as_one_graph(
    spark: Any, tmp_path: Path, write_pipeline: Any, landing: Any, rows: Any, events: Any
) -> None:
    (tmp_path / "source" / "backfill").mkdir(parents=True)
    landing("source/orders", "a.json", ORDERS)
    (tmp_path / "source" / "backfill" / "old.csv").write_text("order_id,amount\n100,1.5\n101,2.5\n")
    pipeline = write_pipeline(
        {
            "ingest.sql": INGEST_SQL,
            "quality.sql": QUALITY_SQL,
            "flows.sql": FLOWS_SQL,
            "mixed.py": MIXED_PY,
            "mixed.sql": MIXED_SQL,
        }
    )
    storage = tmp_path / "storage"
    tables = storage / "tables"

    result = run_update(
        [pipeline], storage, spark=spark, configuration={"source_path": str(tmp_path / "source")}
    )

    assert result.status == "COMPLETED", {n: f.error for n, f in result.flows.items() if f.error}
    # Expectations: same metrics and event-log details as Python's expect / expect_or_drop.
    valid = result.flows["orders_valid"]
    assert (valid.rows_written, valid.dropped_records) == (3, 2)
    assert {n: (m.passed_records, m.failed_records) for n, m in valid.expectations.items()} == {
        "valid_timestamp": (3, 2),
        "has_customer": (4, 1),
    }
    running = [p for p in _progress(events, storage, "orders_valid") if "metrics" in p]
    assert running == [
        {
            "status": "RUNNING",
            "metrics": {"num_output_rows": 3},
            "data_quality": {
                "dropped_records": 2,
                "expectations": [
                    {
                        "name": "valid_timestamp",
                        "dataset": "orders_valid",
                        "passed_records": 3,
                        "failed_records": 2,
                    },
                    {
                        "name": "has_customer",
                        "dataset": "orders_valid",
                        "passed_records": 4,
                        "failed_records": 1,
                    },
                ],
            },
        }
    ]
    assert rows(tables / "orders_valid", "order_id", "customer") == [(1, "ana"), (3, None), (4, "ana")]
    assert rows(tables / "legacy_orders", "order_id") == [(1,), (2,), (3,), (4,), (5,)]
    assert rows(tables / "customer_totals", "customer", "total") == [("ana", 65.0), (None, 8.0)]
    assert rows(tables / "big_orders", "order_id") == [(1,), (4,)]  # SET min_amount = 10 then ${min_amount}
    # CREATE FLOW ... INSERT INTO and INSERT INTO ONCE into one streaming table.
    assert rows(tables / "all_orders", "order_id", "amount") == [
        (1, 25.0),
        (3, 8.0),
        (4, 40.0),
        (100, 1.5),
        (101, 2.5),
    ]
    assert {result.flows["live_orders"].rows_written, result.flows["backfill_orders"].rows_written} == {3, 2}
    # Mixed: Python reads a SQL view, SQL reads the Python table.
    assert rows(tables / "ana_count", "n") == [(2,)]
    assert rows(tables / "ana_count_doubled", "n2") == [(4,)]
    # Graph edges come from the SQL text (Spark's parser), lineage in flow_definition events.
    lineage = {
        json.loads(e["details"])["flow_definition"]["output_dataset"]: sorted(
            json.loads(e["details"])["flow_definition"]["input_datasets"]
        )
        for e in events(storage, "flow_definition")
    }
    assert lineage["orders_valid"] == ["raw_orders"]
    assert lineage["ana_count_doubled"] == ["ana_count"]
    assert lineage["ana_count"] == ["ana_orders"]
    assert lineage["big_orders"] == ["orders_valid"]


def test_documented_auto_cdc_examples_scd1_scd2_and_track_history(
    spark: Any, tmp_path: Path, write_pipeline: Any, rows: Any, events: Any, cdc_source: Any
) -> None:
    storage = tmp_path / "storage"
    tables = storage / "tables"
    result = run_update([write_pipeline({"cdc.sql": CDC_SQL})], storage, spark=spark)

    assert result.status == "COMPLETED", {n: f.error for n, f in result.flows.items() if f.error}
    # AUTO CDC, SCD type 1 and 2: the documentation's results.
    assert rows(tables / "target", "userId", "name", "city") == [
        (124, "Raul", "Oaxaca"),
        (125, "Mercedes", "Guadalajara"),
        (126, "Lily", "Cancun"),
    ]
    assert rows(tables / "target_history", "userId", "name", "city", "__START_AT", "__END_AT") == [
        (123, "Isabel", "Chihuahua", 5, 6),
        (123, "Isabel", "Monterrey", 1, 5),
        (124, "Raul", "Oaxaca", 1, None),
        (125, "Mercedes", "Guadalajara", 6, None),
        (125, "Mercedes", "Mexicali", 5, 6),
        (125, "Mercedes", "Tijuana", 2, 5),
        (126, "Lily", "Cancun", 2, None),
    ]
    # The catalog table is read through a generated view; the flows are CHANGE flows.
    definitions = {
        e["origin"]["flow_name"]: json.loads(e["details"])["flow_definition"]
        for e in events(storage, "flow_definition")
    }
    assert (definitions["flow"]["input_datasets"], definitions["flow"]["flow_type"]) == (
        ["flow__cdc_source"],
        "CHANGE",
    )
