"""The Databricks backend at the HTTP boundary: a local server implements /api/2.0/sql/statements."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.config import Config
from fastapi.testclient import TestClient
from serving_http import ScriptedServer

from orders_lakehouse.serving.app import create_app
from orders_lakehouse.serving.backends.base import BackendError, Filter, Query
from orders_lakehouse.serving.backends.databricks import DatabricksSqlBackend
from orders_lakehouse.serving.gold import FACT_ORDERS
from orders_lakehouse.serving.settings import Settings

STATEMENTS = "/api/2.0/sql/statements"
WAREHOUSE = "wh-0123"
PAT = "dapi-serving-test"


def _column(name: str, type_name: str, position: int) -> dict[str, Any]:
    return {"name": name, "type_name": type_name, "type_text": type_name, "position": position}


def _succeeded(
    columns: list[tuple[str, str]], rows: list[list[str | None]], next_chunk: int | None = None
) -> dict:
    result: dict[str, Any] = {"chunk_index": 0, "row_offset": 0, "row_count": len(rows), "data_array": rows}
    if next_chunk is not None:
        result["next_chunk_index"] = next_chunk
    return {
        "statement_id": "st-1",
        "status": {"state": "SUCCEEDED"},
        "manifest": {
            "format": "JSON_ARRAY",
            "schema": {
                "column_count": len(columns),
                "columns": [_column(name, type_name, i) for i, (name, type_name) in enumerate(columns)],
            },
        },
        "result": result,
    }


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


def _backend(server: ScriptedServer, **kwargs: Any) -> DatabricksSqlBackend:
    client = WorkspaceClient(host=server.url, token=PAT, auth_type="pat")
    return DatabricksSqlBackend(client, warehouse_id=WAREHOUSE, catalog="main", schema="orders", **kwargs)


def test_funnel_through_the_api_sends_named_parameters_only(warehouse: ScriptedServer) -> None:
    warehouse.script(
        STATEMENTS,
        (
            200,
            _succeeded(
                [
                    ("stage", "STRING"),
                    ("stage_order", "INT"),
                    ("orders", "LONG"),
                    ("share_of_created", "DOUBLE"),
                ],
                [["created", "1", "10", "1.0"], ["paid", "2", "8", "0.8"], ["cancelled", "6", "1", None]],
            ),
        ),
    )
    app = create_app(
        Settings(env="dev", backend="databricks", databricks_warehouse_id=WAREHOUSE),
        backend=_backend(warehouse),
    )
    with TestClient(app) as client:
        response = client.get("/kpis/status-funnel")
    assert response.status_code == 200
    assert response.json() == {
        "stages": [
            {"stage": "created", "stage_order": 1, "orders": 10, "share_of_created": 1.0},
            {"stage": "paid", "stage_order": 2, "orders": 8, "share_of_created": 0.8},
            {"stage": "cancelled", "stage_order": 6, "orders": 1, "share_of_created": None},
        ]
    }
    [request] = warehouse.to(STATEMENTS)
    assert request.method == "POST"
    assert request.headers["authorization"] == f"Bearer {PAT}"
    assert request.json() == {
        "warehouse_id": WAREHOUSE,
        "catalog": "main",
        "schema": "orders",
        "statement": "SELECT `stage`, `stage_order`, `orders`, `share_of_created` FROM IDENTIFIER(:table) "
        "ORDER BY `stage_order` ASC",
        "parameters": [{"name": "table", "value": "gold_status_funnel", "type": "STRING"}],
        "wait_timeout": "30s",
        "on_wait_timeout": "CANCEL",
        "disposition": "INLINE",
        "format": "JSON_ARRAY",
    }


def test_order_lookup_parameters_and_row_limit(warehouse: ScriptedServer) -> None:
    warehouse.script(
        STATEMENTS,
        (
            200,
            _succeeded(
                [
                    ("order_id", "STRING"),
                    ("current_status", "STRING"),
                    ("total", "DECIMAL"),
                    ("created_at", "TIMESTAMP"),
                    ("promised_date", "DATE"),
                    ("is_delivered_late", "BOOLEAN"),
                ],
                [
                    [
                        "o-1'; DROP TABLE x; --",
                        "paid",
                        "99.90",
                        "2026-11-29T10:00:00.000Z",
                        "2026-12-01",
                        "false",
                    ]
                ],
            ),
        ),
    )
    backend = _backend(warehouse)
    query = Query(
        FACT_ORDERS,
        ("order_id", "current_status", "total", "created_at", "promised_date", "is_delivered_late"),
        (Filter("order_id", "=", "o-1'; DROP TABLE x; --"),),
        limit=1,
    )
    [row] = backend.fetch(query)
    assert row["current_status"] == "paid"
    assert str(row["total"]) == "99.90"
    assert row["created_at"].isoformat() == "2026-11-29T10:00:00+00:00"
    assert row["promised_date"].isoformat() == "2026-12-01"
    assert row["is_delivered_late"] is False
    body = warehouse.to(STATEMENTS)[0].json()
    # The hostile value travels as a parameter; the statement text never contains it.
    assert "DROP" not in body["statement"]
    assert body["statement"].endswith("WHERE `order_id` = :p0")
    assert body["parameters"] == [
        {"name": "table", "value": "fact_orders", "type": "STRING"},
        {"name": "p0", "value": "o-1'; DROP TABLE x; --", "type": "STRING"},
    ]
    assert body["row_limit"] == 1


def test_time_filters_are_typed_timestamp_parameters(warehouse: ScriptedServer) -> None:
    warehouse.script(
        STATEMENTS,
        (200, _succeeded([("minute", "TIMESTAMP")], [["2026-11-29T10:02:00.000Z"]])),
        (
            200,
            _succeeded(
                [
                    ("minute", "TIMESTAMP"),
                    ("channel", "STRING"),
                    ("state", "STRING"),
                    ("payment_method", "STRING"),
                    ("orders", "LONG"),
                    ("revenue", "DECIMAL"),
                    ("avg_ticket", "DECIMAL"),
                ],
                [["2026-11-29T10:02:00.000Z", "app", "SP", "pix", "2", "100.00", "50.00"]],
            ),
        ),
    )
    app = create_app(
        Settings(env="dev", backend="databricks", databricks_warehouse_id=WAREHOUSE),
        backend=_backend(warehouse),
    )
    with TestClient(app) as client:
        body = client.get("/kpis/sales-per-minute", params={"minutes": 5, "channel": "app"}).json()
    assert body["totals"] == {"orders": 2, "revenue": 100.0, "average_ticket": 50.0}
    latest, window = (r.json() for r in warehouse.to(STATEMENTS))
    assert latest["statement"] == "SELECT `minute` FROM IDENTIFIER(:table) ORDER BY `minute` DESC"
    assert latest["row_limit"] == 1
    assert window["statement"] == (
        "SELECT `minute`, `channel`, `state`, `payment_method`, `orders`, `revenue`, `avg_ticket` "
        "FROM IDENTIFIER(:table) WHERE `minute` >= :p0 AND `minute` < :p1 AND `channel` = :p2 "
        "ORDER BY `minute` ASC"
    )
    assert window["parameters"] == [
        {"name": "table", "value": "gold_sales_per_minute", "type": "STRING"},
        {"name": "p0", "value": "2026-11-29T09:58:00+00:00", "type": "TIMESTAMP"},
        {"name": "p1", "value": "2026-11-29T10:03:00+00:00", "type": "TIMESTAMP"},
        {"name": "p2", "value": "app", "type": "STRING"},
    ]


def test_result_chunks_are_followed(warehouse: ScriptedServer) -> None:
    warehouse.script(STATEMENTS, (200, _succeeded([("order_id", "STRING")], [["o-1"]], next_chunk=1)))
    warehouse.script(STATEMENTS + "/st-1/result/chunks/1", (200, {"chunk_index": 1, "data_array": [["o-2"]]}))
    rows = _backend(warehouse).fetch(Query(FACT_ORDERS, ("order_id",)))
    assert rows == [{"order_id": "o-1"}, {"order_id": "o-2"}]


def test_event_log_table_comes_from_settings(warehouse: ScriptedServer) -> None:
    details = (
        '{"flow_progress": {"data_quality": {"dropped_records": 3, "expectations": ['
        '{"name": "valid_uf", "dataset": "silver_order_events", "passed_records": 7, "failed_records": 3}]}}}'
    )
    warehouse.script(STATEMENTS, (200, _succeeded([("details", "STRING")], [[details]])))
    app = create_app(
        Settings(env="dev", backend="databricks", databricks_warehouse_id=WAREHOUSE),
        backend=_backend(warehouse, event_log_table="main.orders.event_log"),
    )
    with TestClient(app) as client:
        body = client.get("/data-quality").json()
    assert body["expectations"] == [
        {
            "dataset": "silver_order_events",
            "name": "valid_uf",
            "passed_records": 7,
            "failed_records": 3,
            "failure_rate": 0.3,
        }
    ]
    request = warehouse.to(STATEMENTS)[0].json()
    assert request["statement"] == "SELECT `details` FROM IDENTIFIER(:table) WHERE `event_type` = :p0"
    assert request["parameters"] == [
        {"name": "table", "value": "main.orders.event_log", "type": "STRING"},
        {"name": "p0", "value": "flow_progress", "type": "STRING"},
    ]


def test_failed_statements_become_backend_errors(warehouse: ScriptedServer) -> None:
    warehouse.script(
        STATEMENTS,
        (
            200,
            {
                "statement_id": "st-2",
                "status": {
                    "state": "FAILED",
                    "error": {
                        "error_code": "BAD_REQUEST",
                        "message": "[TABLE_OR_VIEW_NOT_FOUND] The table `gold_top_products` cannot be found.",
                    },
                },
            },
        ),
        (200, {"statement_id": "st-3", "status": {"state": "CANCELED"}}),
    )
    app = create_app(
        Settings(env="dev", backend="databricks", databricks_warehouse_id=WAREHOUSE),
        backend=_backend(warehouse),
    )
    with TestClient(app) as client:
        missing = client.get("/kpis/top-products")
        canceled = client.get("/kpis/top-products")
    assert (missing.status_code, missing.json()) == (
        503,
        {
            "code": "unavailable",
            "detail": "table 'gold_top_products' is not available: has the pipeline run yet?",
        },
    )
    assert (canceled.status_code, canceled.json()) == (
        502,
        {
            "code": "backend_failed",
            "detail": "SQL warehouse query on gold_top_products failed: "
            "statement ended in state StatementState.CANCELED",
        },
    )


def test_query_refuses_undeclared_columns() -> None:
    with pytest.raises(ValueError, match="column 'order_id; --' is not a declared column of fact_orders"):
        Query(FACT_ORDERS, ("order_id; --",))
    with pytest.raises(ValueError, match="limit must be >= 1, got 0"):
        Query(FACT_ORDERS, ("order_id",), limit=0)
    with pytest.raises(BackendError):
        raise BackendError("x")


def test_health_lists_tables_with_one_information_schema_query(warehouse: ScriptedServer) -> None:
    warehouse.script(
        STATEMENTS,
        (200, _succeeded([("table_name", "STRING")], [["fact_orders"], ["gold_top_products"]])),
        (200, _succeeded([("timestamp", "TIMESTAMP")], [["2026-11-29T10:00:00.000Z"]])),
    )
    app = create_app(
        Settings(env="dev", backend="databricks", databricks_warehouse_id=WAREHOUSE),
        backend=_backend(warehouse, event_log_table="main.orders.event_log"),
    )
    with TestClient(app) as client:
        assert client.get("/health/live").json() == {"status": "ok"}
        assert warehouse.to(STATEMENTS) == []  # liveness runs no warehouse statement
        ready = client.get("/health/ready")
        body = ready.json()
    assert ready.status_code == 503
    assert body == {
        "status": "degraded",
        "backend": "databricks",
        "tables": {
            "fact_orders": True,
            "gold_sales_per_minute": False,
            "gold_payment_health": False,
            "gold_status_funnel": False,
            "gold_fulfillment_sla": False,
            "gold_top_products": True,
            "gold_order_alerts": False,
            "event_log": True,
        },
        "stale": [],
    }
    listing, probe = (r.json() for r in warehouse.to(STATEMENTS))
    assert (
        listing["statement"] == "SELECT `table_name` FROM IDENTIFIER(:tables) WHERE `table_schema` = :schema"
    )
    assert listing["parameters"] == [
        {"name": "tables", "value": "main.information_schema.tables", "type": "STRING"},
        {"name": "schema", "value": "orders", "type": "STRING"},
    ]
    assert (probe["statement"], probe["row_limit"]) == ("SELECT `timestamp` FROM IDENTIFIER(:table)", 1)


def test_warehouse_http_errors_and_unreachable_warehouse_are_json_502_503(
    warehouse: ScriptedServer, tmp_path: Path
) -> None:
    warehouse.script(
        STATEMENTS,
        (403, {"error_code": "PERMISSION_DENIED", "message": "no CAN_USE on warehouse wh-0123"}),
    )
    app = create_app(
        Settings(env="dev", backend="databricks", databricks_warehouse_id=WAREHOUSE),
        backend=_backend(warehouse),
    )
    with TestClient(app) as client:
        denied = client.get("/kpis/status-funnel")
    assert (denied.status_code, denied.json()) == (
        502,
        {
            "code": "backend_failed",
            "detail": "SQL warehouse query on gold_status_funnel failed: PermissionDenied",
        },
    )
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    client_sdk = WorkspaceClient(
        config=Config(host=closed, token=PAT, auth_type="pat", retry_timeout_seconds=1)
    )
    unreachable_app = create_app(
        Settings(env="dev", backend="databricks", databricks_warehouse_id=WAREHOUSE),
        backend=DatabricksSqlBackend(client_sdk, warehouse_id=WAREHOUSE, catalog="main", schema="orders"),
    )
    with TestClient(unreachable_app) as client:
        down = client.get("/kpis/status-funnel")
    assert down.status_code == 503
    assert down.json()["code"] == "unavailable"
    assert down.json()["detail"].startswith("SQL warehouse is not reachable (")
