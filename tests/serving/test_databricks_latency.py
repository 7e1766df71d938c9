"""``/latency`` on the Databricks backend: the statement at the HTTP boundary, and its SQL run on
Spark over Delta tables giving the local backend's exact answer (no workspace here, so the SQL's
semantics are checked on open-source Spark + delta-spark, which share the warehouse's dialect for
everything the statement uses)."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from databricks.sdk import WorkspaceClient
from deltalake import DeltaTable, write_deltalake
from fastapi.testclient import TestClient
from pyspark.sql import SparkSession
from serving_gold_fixture import write_gold
from serving_http import ScriptedServer

from orders_lakehouse.serving.app import create_app
from orders_lakehouse.serving.backends import databricks_latency
from orders_lakehouse.serving.backends.databricks import DatabricksSqlBackend
from orders_lakehouse.serving.settings import Settings

STATEMENTS = "/api/2.0/sql/statements"
WAREHOUSE = "wh-0123"
TS = pa.timestamp("us", tz="UTC")


@pytest.fixture()
def warehouse(
    http_server: ScriptedServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[ScriptedServer]:
    """The recording server, with no ambient Databricks configuration leaking into the SDK."""
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(tmp_path / "none.cfg"))
    for name in ("DATABRICKS_HOST", "DATABRICKS_TOKEN", "DATABRICKS_CLIENT_ID", "DATABRICKS_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    http_server.default = (404, {"error_code": "NOT_FOUND", "message": "no such endpoint"})
    yield http_server


def _app(server: ScriptedServer, event_log_table: str | None) -> TestClient:
    client = WorkspaceClient(host=server.url, token="dapi-latency-test", auth_type="pat")
    backend = DatabricksSqlBackend(
        client, warehouse_id=WAREHOUSE, catalog="main", schema="orders", event_log_table=event_log_table
    )
    settings = Settings(env="dev", backend="databricks", databricks_warehouse_id=WAREHOUSE)
    return TestClient(create_app(settings, backend=backend))


def _one_row(columns: list[tuple[str, str]], row: list[str | None]) -> dict[str, Any]:
    return {
        "statement_id": "st-latency",
        "status": {"state": "SUCCEEDED"},
        "manifest": {
            "format": "JSON_ARRAY",
            "schema": {
                "column_count": len(columns),
                "columns": [
                    {"name": n, "type_name": t, "type_text": t, "position": i}
                    for i, (n, t) in enumerate(columns)
                ],
            },
        },
        "result": {"chunk_index": 0, "row_offset": 0, "row_count": 1, "data_array": [row]},
    }


RESULT_COLUMNS = [
    ("silver_p50", "DECIMAL"),
    ("silver_p95", "DECIMAL"),
    ("silver_events", "LONG"),
    ("gold_p50", "DECIMAL"),
    ("gold_p95", "DECIMAL"),
    ("gold_events", "LONG"),
]


def test_latency_is_one_statement_with_named_parameters(warehouse: ScriptedServer) -> None:
    warehouse.script(
        STATEMENTS,
        (200, _one_row(RESULT_COLUMNS, ["2.5000000", "9.1234567", "120", "31.0004", "64.5", "100"])),
    )
    with _app(warehouse, "main.orders.orders_event_log") as client:
        response = client.get("/latency", params={"window_minutes": 30})
    assert (response.status_code, response.json()) == (
        200,
        {
            "window_minutes": 30,
            "silver": {"p50_seconds": 2.5, "p95_seconds": 9.123, "events": 120},
            "gold": {"p50_seconds": 31.0, "p95_seconds": 64.5, "events": 100},
            "available": True,
        },
    )
    [request] = warehouse.to(STATEMENTS)
    body = request.json()
    assert body["statement"] == databricks_latency.LATENCY_SQL
    assert body["parameters"] == [
        {"name": "silver_table", "value": "silver_order_events", "type": "STRING"},
        {"name": "event_log_table", "value": "main.orders.orders_event_log", "type": "STRING"},
        {"name": "gold_flow", "value": "fact_orders", "type": "STRING"},
        {"name": "window_minutes", "value": "30", "type": "BIGINT"},
    ]
    assert (body["catalog"], body["schema"], body["warehouse_id"]) == ("main", "orders", WAREHOUSE)


def test_latency_without_silver_yet_is_unavailable_not_an_error(warehouse: ScriptedServer) -> None:
    missing = {
        "statement_id": "st-missing",
        "status": {
            "state": "FAILED",
            "error": {
                "message": "[TABLE_OR_VIEW_NOT_FOUND] The table `silver_order_events` cannot be found."
            },
        },
    }
    warehouse.script(STATEMENTS, (200, missing))
    with _app(warehouse, "main.orders.orders_event_log") as client:
        response = client.get("/latency")
    empty = {"p50_seconds": None, "p95_seconds": None, "events": 0}
    assert (response.status_code, response.json()) == (
        200,
        {"window_minutes": 15, "silver": empty, "gold": empty, "available": False},
    )


def test_no_event_log_table_sends_no_statement(warehouse: ScriptedServer) -> None:
    with _app(warehouse, None) as client:
        response = client.get("/latency")
    assert response.json()["available"] is False
    assert warehouse.to(STATEMENTS) == []


def _whole_ms(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def test_statement_on_spark_equals_the_local_backend(spark: SparkSession, tmp_path: Path) -> None:
    """The same data through the local backend (delta-rs) and through the statement on Spark."""
    storage = write_gold(tmp_path / "run")
    silver = storage / "tables" / "silver_order_events"
    fact = storage / "tables" / "fact_orders"
    now = _whole_ms(datetime.now(UTC))  # whole milliseconds: both sides' differences are exact
    schema = pa.schema([("event_id", pa.string()), ("event_time", TS)])
    batches = [
        [now - timedelta(seconds=s) for s in (3600, 40.5, 30, 20.25, 12)],  # one of them late
        [now - timedelta(seconds=s) for s in (6, 3.125)],
        [now - timedelta(seconds=1)],
    ]
    gold_commits = []
    for number, batch in enumerate(batches):
        rows = pa.table({"event_id": [f"e-{number}-{i}" for i in range(len(batch))], "event_time": batch})
        write_deltalake(str(silver), rows.cast(schema), mode="append")
        if number < 2:  # a Gold update after the first two Silver writes, none after the last
            write_deltalake(str(fact), DeltaTable(str(fact)).to_pyarrow_table(), mode="overwrite")
            commit = fact / "_delta_log" / f"{DeltaTable(str(fact)).version():020d}.json"
            moment = _whole_ms(datetime.now(UTC) + timedelta(milliseconds=5))
            os.utime(commit, (moment.timestamp(), moment.timestamp()))  # a whole-millisecond commit time
            gold_commits.append(moment)
            time.sleep(0.02)  # the next Silver file is written after this Gold commit (order, not timing)
    # The event log as Databricks publishes it: Gold completions of fact_orders, plus noise the
    # statement must ignore (another flow, a RUNNING progress event, another event type).
    log_rows = [("flow_progress", "fact_orders", "COMPLETED", at) for at in gold_commits] + [
        ("flow_progress", "gold_sales_per_minute", "COMPLETED", now),
        ("flow_progress", "fact_orders", "RUNNING", gold_commits[0] - timedelta(seconds=1)),
        ("update_progress", "fact_orders", "COMPLETED", gold_commits[0] - timedelta(seconds=2)),
    ]
    event_log = tmp_path / "event_log"
    write_deltalake(
        str(event_log),
        pa.table(
            {
                "timestamp": pa.array([r[3] for r in log_rows], TS),
                "event_type": [r[0] for r in log_rows],
                "origin": pa.array(
                    [{"flow_name": r[1]} for r in log_rows], pa.struct([("flow_name", pa.string())])
                ),
                "details": [f'{{"flow_progress": {{"status": "{r[2]}"}}}}' for r in log_rows],
            }
        ),
    )

    with TestClient(create_app(Settings(env="dev", storage=storage))) as client:
        local = client.get("/latency", params={"window_minutes": 15}).json()

    database = f"serving_latency_{uuid.uuid4().hex[:8]}"
    spark.sql(f"CREATE DATABASE {database}")
    # delta-spark 4.3.1's parser drops Spark 4.1's parameter context (delta-io/delta#7640: every
    # marker UNBOUND_SQL_PARAMETER); Spark's legacy analysis-time binding works around it here.
    # A SQL warehouse binds the parameters itself.
    legacy = "spark.sql.legacy.parameterSubstitution.constantsOnly"
    previous = spark.conf.get(legacy, None)
    spark.conf.set(legacy, "true")
    try:
        spark.sql(f"CREATE TABLE {database}.silver_order_events USING delta LOCATION '{silver}'")
        spark.sql(f"CREATE TABLE {database}.orders_event_log USING delta LOCATION '{event_log}'")
        values = databricks_latency.parameters(
            f"{database}.silver_order_events", f"{database}.orders_event_log", 15
        )
        rows = [row.asDict() for row in spark.sql(databricks_latency.LATENCY_SQL, args=values).collect()]
    finally:
        if previous is None:
            spark.conf.unset(legacy)
        else:
            spark.conf.set(legacy, previous)
        spark.sql(f"DROP DATABASE {database} CASCADE")
    on_spark = databricks_latency.to_model(rows, 15).model_dump()

    assert on_spark == local
    # Known counts: the late event (an hour old) is still in the window (its file is recent); the
    # last Silver write has no Gold update after it, so it counts for Silver only.
    assert (local["silver"]["events"], local["gold"]["events"]) == (8, 7)
    assert local["silver"]["p95_seconds"] >= 3600
