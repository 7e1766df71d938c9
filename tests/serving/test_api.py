"""The API over fixture Gold tables (delta-rs, no Spark): exact bodies, validation, errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from serving_gold_fixture import ALERT_DQ, ALERT_PAYMENT, ALERT_SLA

from orders_lakehouse.serving.api.deps import get_backend
from orders_lakehouse.serving.app import create_app
from orders_lakehouse.serving.backends.base import Query
from orders_lakehouse.serving.backends.local import LocalDeltaBackend
from orders_lakehouse.serving.settings import Settings


def test_order_status_reads_fact_orders(client: TestClient) -> None:
    response = client.get("/orders/o-1")
    assert response.status_code == 200
    assert response.json() == {
        "order_id": "o-1",
        "status": "delivered",
        "customer_id": "c-1",
        "channel": "app",
        "state": "SP",
        "payment_method": "pix",
        "installments": 1,
        "items_count": 2,
        "units": 3,
        "subtotal": 140.0,
        "discount": 0.0,
        "shipping_amount": 10.0,
        "total_amount": 150.0,
        "created_at": "2026-11-25T09:00:00Z",
        "paid_at": "2026-11-25T09:05:00Z",
        "payment_failed_at": None,
        "shipped_at": "2026-11-25T12:00:00Z",
        "delivered_at": "2026-11-28T17:00:00Z",
        "cancelled_at": None,
        "payment_failures": 0,
        "carrier": "correios",
        "promised_date": "2026-11-27",
        "delivery_hours": 80.0,
        "is_delivered_late": True,
    }


def test_unknown_order_is_404(client: TestClient) -> None:
    response = client.get("/orders/o-404")
    assert (response.status_code, response.json()) == (
        404,
        {"code": "not_found", "detail": "order 'o-404' not found"},
    )


def test_malformed_order_id_is_422(client: TestClient) -> None:
    response = client.get("/orders/bad%20id")
    assert response.status_code == 422
    body = response.json()
    assert (body["code"], body["errors"][0]["loc"], body["errors"][0]["type"]) == (
        "invalid_parameter",
        ["path", "order_id"],
        "string_pattern_mismatch",
    )
    assert body["detail"] == "path order_id: String should match pattern '^[A-Za-z0-9_.:-]{1,64}$'"


def test_sales_per_minute_default_window_ends_at_latest_data(client: TestClient) -> None:
    response = client.get("/kpis/sales-per-minute")
    assert response.status_code == 200
    assert response.json() == {
        "window": {"since": "2026-11-29T09:03:00Z", "until": "2026-11-29T10:03:00Z"},
        "by": "total",
        "points": [
            {
                "minute": "2026-11-29T10:00:00Z",
                "group": None,
                "orders": 3,
                "revenue": 399.9,
                "average_ticket": 133.3,
            },
            {
                "minute": "2026-11-29T10:01:00Z",
                "group": None,
                "orders": 3,
                "revenue": 450.3,
                "average_ticket": 150.1,
            },
            {
                "minute": "2026-11-29T10:02:00Z",
                "group": None,
                "orders": 1,
                "revenue": 50.0,
                "average_ticket": 50.0,
            },
        ],
        "totals": {"orders": 7, "revenue": 900.2, "average_ticket": 128.6},
    }


def test_sales_per_minute_by_channel_with_explicit_range_and_filter(client: TestClient) -> None:
    response = client.get(
        "/kpis/sales-per-minute",
        params={
            "since": "2026-11-29T07:00:00Z",
            "until": "2026-11-29T10:02:00Z",
            "by": "channel",
            "state": "SP",
        },
    )
    assert response.status_code == 200
    assert response.json() == {
        "window": {"since": "2026-11-29T07:00:00Z", "until": "2026-11-29T10:02:00Z"},
        "by": "channel",
        "points": [
            {
                "minute": "2026-11-29T08:00:00Z",
                "group": "app",
                "orders": 5,
                "revenue": 1000.0,
                "average_ticket": 200.0,
            },
            {
                "minute": "2026-11-29T10:00:00Z",
                "group": "app",
                "orders": 2,
                "revenue": 300.0,
                "average_ticket": 150.0,
            },
            {
                "minute": "2026-11-29T10:01:00Z",
                "group": "app",
                "orders": 3,
                "revenue": 450.3,
                "average_ticket": 150.1,
            },
        ],
        "totals": {"orders": 10, "revenue": 1750.3, "average_ticket": 175.03},
    }


def test_sales_window_from_one_end_and_minutes(client: TestClient) -> None:
    response = client.get(
        "/kpis/sales-per-minute", params={"until": "2026-11-29T10:01:00+00:00", "minutes": 1}
    )
    assert response.json()["window"] == {"since": "2026-11-29T10:00:00Z", "until": "2026-11-29T10:01:00Z"}
    assert response.json()["totals"] == {"orders": 3, "revenue": 399.9, "average_ticket": 133.3}


@pytest.mark.parametrize(
    ("params", "status", "detail"),
    [
        (
            {"since": "2026-11-29T10:00:00Z", "until": "2026-11-29T09:00:00Z"},
            400,
            "since (2026-11-29T10:00:00+00:00) must be before until (2026-11-29T09:00:00+00:00)",
        ),
        (
            {"since": "2026-11-01T00:00:00Z", "until": "2026-11-29T00:00:00Z"},
            400,
            "the time range may span at most 7 days, got 28.00 days",
        ),
    ],
)
def test_inconsistent_time_ranges_are_400(
    client: TestClient, params: dict[str, str], status: int, detail: str
) -> None:
    response = client.get("/kpis/sales-per-minute", params=params)
    assert (response.status_code, response.json()) == (status, {"code": "invalid_request", "detail": detail})


@pytest.mark.parametrize(
    ("path", "params", "loc", "error_type"),
    [
        ("/kpis/sales-per-minute", {"minutes": "0"}, ["query", "minutes"], "greater_than_equal"),
        ("/kpis/sales-per-minute", {"minutes": "1441"}, ["query", "minutes"], "less_than_equal"),
        ("/kpis/sales-per-minute", {"by": "city"}, ["query", "by"], "enum"),
        ("/kpis/sales-per-minute", {"channel": "fax"}, ["query", "channel"], "enum"),
        ("/kpis/sales-per-minute", {"state": "sp"}, ["query", "state"], "string_pattern_mismatch"),
        ("/kpis/sales-per-minute", {"since": "yesterday"}, ["query", "since"], "datetime_from_date_parsing"),
        ("/kpis/payment-health", {"payment_method": "cash"}, ["query", "payment_method"], "enum"),
        ("/kpis/top-products", {"limit": "101"}, ["query", "limit"], "less_than_equal"),
        ("/kpis/top-products", {"by": "margin"}, ["query", "by"], "enum"),
        ("/kpis/fulfillment-sla", {"days": "0"}, ["query", "days"], "greater_than_equal"),
        ("/alerts", {"limit": "0"}, ["query", "limit"], "greater_than_equal"),
        ("/alerts", {"rule": "unknown_rule"}, ["query", "rule"], "enum"),
        ("/data-quality", {"since": "not-a-time"}, ["query", "since"], "datetime_from_date_parsing"),
    ],
)
def test_invalid_parameters_are_422_with_the_reason(
    client: TestClient, path: str, params: dict[str, str], loc: list[str], error_type: str
) -> None:
    response = client.get(path, params=params)
    assert response.status_code == 422
    body = response.json()
    [error] = body["errors"]
    assert (body["code"], error["loc"], error["type"]) == ("invalid_parameter", loc, error_type)
    assert body["detail"].startswith(f"{loc[0]} {loc[1]}: ")
    assert "input" not in error  # request values are not echoed back


def test_payment_health(client: TestClient) -> None:
    response = client.get("/kpis/payment-health", params={"payment_method": "pix"})
    assert response.json() == {
        "window": {"since": "2026-11-29T09:01:00Z", "until": "2026-11-29T10:01:00Z"},
        "points": [
            {
                "window_start": "2026-11-29T09:55:00Z",
                "window_end": "2026-11-29T10:00:00Z",
                "payment_method": "pix",
                "approved": 4,
                "failed": 0,
                "approval_rate": 1.0,
            },
            {
                "window_start": "2026-11-29T10:00:00Z",
                "window_end": "2026-11-29T10:05:00Z",
                "payment_method": "pix",
                "approved": 3,
                "failed": 1,
                "approval_rate": 0.75,
            },
        ],
        "totals": {"approved": 7, "failed": 1, "approval_rate": 0.875},
    }


def test_status_funnel_in_lifecycle_order(client: TestClient) -> None:
    assert client.get("/kpis/status-funnel").json() == {
        "stages": [
            {"stage": "created", "stage_order": 1, "orders": 10, "share_of_created": 1.0},
            {"stage": "paid", "stage_order": 2, "orders": 8, "share_of_created": 0.8},
            {"stage": "payment_failed", "stage_order": 3, "orders": 2, "share_of_created": 0.2},
            {"stage": "shipped", "stage_order": 4, "orders": 6, "share_of_created": 0.6},
            {"stage": "delivered", "stage_order": 5, "orders": 4, "share_of_created": 0.4},
            {"stage": "cancelled", "stage_order": 6, "orders": 1, "share_of_created": 0.1},
        ]
    }


def test_fulfillment_sla_default_is_the_last_7_days_of_data(client: TestClient) -> None:
    assert client.get("/kpis/fulfillment-sla").json() == {
        "since": "2026-11-22",
        "until": "2026-11-28",
        "rows": [
            {
                "delivery_date": "2026-11-27",
                "carrier": "correios",
                "delivered_orders": 2,
                "p50_hours": 30.5,
                "p95_hours": 70.0,
                "late_deliveries": 0,
                "sla_breaches": 0,
            },
            {
                "delivery_date": "2026-11-28",
                "carrier": "correios",
                "delivered_orders": 1,
                "p50_hours": 80.0,
                "p95_hours": 80.0,
                "late_deliveries": 1,
                "sla_breaches": 1,
            },
            {
                "delivery_date": "2026-11-28",
                "carrier": "jadlog",
                "delivered_orders": 1,
                "p50_hours": 20.0,
                "p95_hours": 20.0,
                "late_deliveries": 0,
                "sla_breaches": 0,
            },
        ],
    }


def test_fulfillment_sla_range_and_carrier(client: TestClient) -> None:
    response = client.get(
        "/kpis/fulfillment-sla", params={"since": "2026-11-01", "until": "2026-11-27", "carrier": "correios"}
    )
    assert [(r["delivery_date"], r["delivered_orders"]) for r in response.json()["rows"]] == [
        ("2026-11-10", 9),
        ("2026-11-27", 2),
    ]
    reversed_range = client.get(
        "/kpis/fulfillment-sla", params={"since": "2026-11-28", "until": "2026-11-27"}
    )
    assert (reversed_range.status_code, reversed_range.json()) == (
        400,
        {"code": "invalid_request", "detail": "since (2026-11-28) must not be after until (2026-11-27)"},
    )


def test_top_products_by_revenue_and_by_units(client: TestClient) -> None:
    assert client.get("/kpis/top-products", params={"limit": 2}).json() == {
        "by": "revenue",
        "products": [
            {"rank": 1, "sku": "SKU-2", "name": "Cafeteira", "units_sold": 2, "revenue": 600.0, "orders": 2},
            {"rank": 2, "sku": "SKU-1", "name": "Café 500g", "units_sold": 10, "revenue": 250.0, "orders": 5},
        ],
    }
    by_units = client.get("/kpis/top-products", params={"by": "units_sold"}).json()
    assert [(p["rank"], p["sku"]) for p in by_units["products"]] == [(1, "SKU-1"), (2, "SKU-3"), (3, "SKU-2")]


def test_alerts_newest_window_first_and_filters(client: TestClient) -> None:
    body = client.get("/alerts").json()
    assert body["count"] == 3
    assert [a["alert_id"] for a in body["alerts"]] == [ALERT_PAYMENT, ALERT_SLA, ALERT_DQ]
    assert body["alerts"][0] == {
        "alert_id": ALERT_PAYMENT,
        "rule": "payment_failure_rate",
        "severity": "high",
        "window_start": "2026-11-29T10:00:00Z",
        "window_end": "2026-11-29T10:05:00Z",
        "dimension": "all",
        "observed_value": 0.375,
        "threshold": 0.2,
        "message": "payment failure rate 0.38 above 0.20 (3 failed, 5 paid)",
    }
    assert [a["rule"] for a in client.get("/alerts", params={"severity": "high"}).json()["alerts"]] == [
        "payment_failure_rate",
        "dq_drop_rate",
    ]
    assert client.get("/alerts", params={"since": "2026-11-29T00:00:00Z"}).json()["count"] == 1
    assert client.get("/alerts", params={"rule": "order_silence"}).json() == {"alerts": [], "count": 0}
    assert client.get("/alerts", params={"limit": 1}).json()["count"] == 1


def test_data_quality_sums_flow_progress_expectations(client: TestClient) -> None:
    assert client.get("/data-quality").json() == {
        "since": None,
        "flow_progress_events": 4,
        "expectations": [
            {
                "dataset": "silver_order_events",
                "name": "valid_event_id",
                "passed_records": 14,
                "failed_records": 1,
                "failure_rate": 0.0667,
            },
            {
                "dataset": "silver_order_events",
                "name": "valid_total",
                "passed_records": 14,
                "failed_records": 1,
                "failure_rate": 0.0667,
            },
        ],
        "datasets": [{"dataset": "silver_order_events", "dropped_records": 2}],
    }
    later = client.get("/data-quality", params={"since": "2026-11-29T10:00:00Z"}).json()
    assert later["flow_progress_events"] == 3
    assert [(e["name"], e["passed_records"], e["failed_records"]) for e in later["expectations"]] == [
        ("valid_event_id", 5, 0),
        ("valid_total", 4, 1),
    ]


def test_health_lists_every_table(client: TestClient) -> None:
    assert client.get("/health/live").json() == {"status": "ok"}
    assert client.get("/health/ready").json() == {
        "status": "ok",
        "backend": "local",
        "tables": {
            "fact_orders": True,
            "gold_sales_per_minute": True,
            "gold_payment_health": True,
            "gold_status_funnel": True,
            "gold_fulfillment_sla": True,
            "gold_top_products": True,
            "gold_order_alerts": True,
            "event_log": True,
        },
        "stale": [],
    }


def test_missing_tables_are_503_and_health_degraded(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(env="dev", storage=tmp_path))) as empty:
        response = empty.get("/kpis/status-funnel")
        assert (response.status_code, response.json()) == (
            503,
            {
                "code": "unavailable",
                "detail": "table 'gold_status_funnel' is not available: has the pipeline run yet?",
            },
        )
        assert response.headers["retry-after"] == "5"
        health = empty.get("/health/ready")
        assert (health.status_code, health.json()["status"]) == (503, "degraded")
        assert set(health.json()["tables"].values()) == {False}
        assert empty.get("/health/live").status_code == 200


def test_openapi_documents_every_endpoint(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert sorted(spec["paths"]) == [
        "/alerts",
        "/data-quality",
        "/health/live",
        "/health/ready",
        "/kpis/fulfillment-sla",
        "/kpis/payment-health",
        "/kpis/sales-per-minute",
        "/kpis/status-funnel",
        "/kpis/top-products",
        "/latency",
        "/orders/{order_id}",
        "/summary",
    ]
    assert all(set(item) == {"get"} for item in spec["paths"].values())  # read-only
    assert sorted(item["get"]["operationId"] for item in spec["paths"].values()) == [
        "getDataQuality",
        "getFulfillmentSla",
        "getLatency",
        "getLiveness",
        "getOrder",
        "getPaymentHealth",
        "getReadiness",
        "getSalesPerMinute",
        "getStatusFunnel",
        "getSummary",
        "getTopProducts",
        "listAlerts",
    ]
    docs = client.get("/docs")
    assert docs.status_code == 200
    # Vendored Swagger UI: nothing from a CDN on the origin that keeps the dashboard's token.
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs.text and "https://" not in docs.text
    assert client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200


class _RecordingBackend:
    """A backend stand-in that records the queries and answers from a fixed table."""

    name = "recording"

    def __init__(self, delegate: LocalDeltaBackend) -> None:
        self.delegate = delegate
        self.queries: list[Query] = []

    def fetch(self, query: Query) -> list[dict[str, Any]]:
        self.queries.append(query)
        return self.delegate.fetch(query)

    def available_tables(self) -> dict[str, bool]:
        return {}

    def versions(self, tables: tuple) -> None:
        return None


def test_backend_dependency_override_sees_structured_queries(gold_storage: Path) -> None:
    app = create_app(Settings(env="dev", storage=Path("/nonexistent")))
    recording = _RecordingBackend(LocalDeltaBackend(gold_storage))
    app.dependency_overrides[get_backend] = lambda: recording
    with TestClient(app) as overridden:
        assert overridden.get("/orders/o-2").json()["status"] == "paid"
    [query] = recording.queries
    assert (query.table.name, query.limit) == ("fact_orders", 1)
    assert [(f.column, f.op, f.value) for f in query.filters] == [("order_id", "=", "o-2")]


def test_openapi_documents_error_answers(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    responses = spec["paths"]["/orders/{order_id}"]["get"]["responses"]
    assert sorted(responses) == ["200", "304", "401", "403", "404", "422", "502", "503"]
    assert sorted(spec["paths"]["/kpis/sales-per-minute"]["get"]["responses"]) == [
        "200",
        "304",
        "400",
        "401",
        "403",
        "422",
        "502",
        "503",
    ]
    error = spec["components"]["schemas"]["ErrorDetail"]
    assert (error["required"], sorted(error["properties"])) == (
        ["code", "detail"],
        ["code", "detail", "errors"],
    )
    # Every error answer of every route uses the one shape, with an example of it.
    for path, item in spec["paths"].items():
        for code, answer in item["get"]["responses"].items():
            if code.startswith(("4", "5")) and not path.startswith("/health"):
                assert answer["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/ErrorDetail"
                }
                assert set(answer["content"]["application/json"]["example"]) == {"code", "detail"}, (
                    path,
                    code,
                )
