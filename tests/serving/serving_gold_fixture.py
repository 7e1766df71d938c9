"""Tiny Gold tables and event log written with delta-rs, shaped like the pipeline's output.

Types follow src/orders_lakehouse/transforms/{star,kpis,alerts}.py (decimal(18,2) money, UTC
timestamps, bigint counts) and localdlt's event log (details as a JSON string). The numbers are
chosen so every expected answer in the tests can be worked out by hand (see the comments).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
from deltalake import write_deltalake

API_TOKEN = "test-token-0123456789abcdef"  # the bearer token of the secured app
TS = pa.timestamp("us", tz="UTC")
MONEY = pa.decimal128(18, 2)


def t(hour: int, minute: int, day: int = 29) -> datetime:
    """A moment on 2026-11-<day> in UTC."""
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def alert_id(rule: str, start: datetime | None, dimension: str) -> str:
    """The pipeline's stable id: sha256 of ``rule|yyyy-MM-dd HH:mm:ss|dimension``."""
    text = f"{rule}|{start.strftime('%Y-%m-%d %H:%M:%S') if start else ''}|{dimension}"
    return hashlib.sha256(text.encode()).hexdigest()


def _write(path: Path, rows: list[dict], schema: pa.Schema) -> None:
    write_deltalake(str(path), pa.Table.from_pylist(rows, schema=schema), mode="overwrite")


FACT_SCHEMA = pa.schema(
    [
        ("order_id", pa.string()),
        ("order_date_key", pa.int32()),
        ("customer_id", pa.string()),
        ("channel", pa.string()),
        ("customer_state", pa.string()),
        ("payment_method", pa.string()),
        ("installments", pa.int32()),
        ("items_count", pa.int32()),
        ("units", pa.int64()),
        ("subtotal", MONEY),
        ("discount", MONEY),
        ("shipping_amount", MONEY),
        ("total", MONEY),
        ("current_status", pa.string()),
        ("created_at", TS),
        ("paid_at", TS),
        ("payment_failed_at", TS),
        ("shipped_at", TS),
        ("delivered_at", TS),
        ("cancelled_at", TS),
        ("payment_failures", pa.int64()),
        ("carrier", pa.string()),
        ("promised_date", pa.date32()),
        ("delivery_hours", pa.decimal128(10, 2)),
        ("is_delivered_late", pa.bool_()),
    ]
)
FACT_ROWS = [
    {
        "order_id": "o-1",
        "order_date_key": 20261125,
        "customer_id": "c-1",
        "channel": "app",
        "customer_state": "SP",
        "payment_method": "pix",
        "installments": 1,
        "items_count": 2,
        "units": 3,
        "subtotal": Decimal("140.00"),
        "discount": Decimal("0.00"),
        "shipping_amount": Decimal("10.00"),
        "total": Decimal("150.00"),
        "current_status": "delivered",
        "created_at": t(9, 0, 25),
        "paid_at": t(9, 5, 25),
        "payment_failed_at": None,
        "shipped_at": t(12, 0, 25),
        "delivered_at": t(17, 0, 28),
        "cancelled_at": None,
        "payment_failures": 0,
        "carrier": "correios",
        "promised_date": date(2026, 11, 27),
        "delivery_hours": Decimal("80.00"),
        "is_delivered_late": True,
    },
    {
        "order_id": "o-2",
        "order_date_key": 20261129,
        "customer_id": "c-2",
        "channel": "web",
        "customer_state": "RJ",
        "payment_method": "credit_card",
        "installments": 3,
        "items_count": 1,
        "units": 1,
        "subtotal": Decimal("99.90"),
        "discount": Decimal("0.00"),
        "shipping_amount": Decimal("0.00"),
        "total": Decimal("99.90"),
        "current_status": "paid",
        "created_at": t(10, 0),
        "paid_at": t(10, 1),
        "payment_failed_at": None,
        "shipped_at": None,
        "delivered_at": None,
        "cancelled_at": None,
        "payment_failures": 1,
        "carrier": None,
        "promised_date": None,
        "delivery_hours": None,
        "is_delivered_late": None,
    },
]

SALES_SCHEMA = pa.schema(
    [
        ("minute", TS),
        ("channel", pa.string()),
        ("state", pa.string()),
        ("payment_method", pa.string()),
        ("orders", pa.int64()),
        ("revenue", MONEY),
        ("avg_ticket", MONEY),
    ]
)
# Latest minute 10:02 -> default window [09:03, 10:03): the 08:00 row is outside it.
# Per minute: 10:00 = 3 orders / 399.90, 10:01 = 3 / 450.30, 10:02 = 1 / 50.00; total 7 / 900.20.
SALES_ROWS = [
    {
        "minute": t(8, 0),
        "channel": "app",
        "state": "SP",
        "payment_method": "pix",
        "orders": 5,
        "revenue": Decimal("1000.00"),
        "avg_ticket": Decimal("200.00"),
    },
    {
        "minute": t(10, 0),
        "channel": "app",
        "state": "SP",
        "payment_method": "pix",
        "orders": 2,
        "revenue": Decimal("300.00"),
        "avg_ticket": Decimal("150.00"),
    },
    {
        "minute": t(10, 0),
        "channel": "web",
        "state": "RJ",
        "payment_method": "credit_card",
        "orders": 1,
        "revenue": Decimal("99.90"),
        "avg_ticket": Decimal("99.90"),
    },
    {
        "minute": t(10, 1),
        "channel": "app",
        "state": "SP",
        "payment_method": "credit_card",
        "orders": 3,
        "revenue": Decimal("450.30"),
        "avg_ticket": Decimal("150.10"),
    },
    {
        "minute": t(10, 2),
        "channel": "marketplace",
        "state": "MG",
        "payment_method": "boleto",
        "orders": 1,
        "revenue": Decimal("50.00"),
        "avg_ticket": Decimal("50.00"),
    },
]

PAYMENT_SCHEMA = pa.schema(
    [
        ("window_start", TS),
        ("window_end", TS),
        ("payment_method", pa.string()),
        ("approved", pa.int64()),
        ("failed", pa.int64()),
        ("approval_rate", pa.float64()),
    ]
)
# Latest window 10:00 -> default [09:01, 10:01): all three; totals 9 approved / 3 failed = 0.75.
PAYMENT_ROWS = [
    {
        "window_start": t(9, 55),
        "window_end": t(10, 0),
        "payment_method": "pix",
        "approved": 4,
        "failed": 0,
        "approval_rate": 1.0,
    },
    {
        "window_start": t(10, 0),
        "window_end": t(10, 5),
        "payment_method": "credit_card",
        "approved": 2,
        "failed": 2,
        "approval_rate": 0.5,
    },
    {
        "window_start": t(10, 0),
        "window_end": t(10, 5),
        "payment_method": "pix",
        "approved": 3,
        "failed": 1,
        "approval_rate": 0.75,
    },
]

FUNNEL_SCHEMA = pa.schema(
    [
        ("stage", pa.string()),
        ("stage_order", pa.int32()),
        ("orders", pa.int64()),
        ("share_of_created", pa.float64()),
    ]
)
FUNNEL_ROWS = [  # written out of order on purpose: the API orders by stage_order
    {"stage": "shipped", "stage_order": 4, "orders": 6, "share_of_created": 0.6},
    {"stage": "created", "stage_order": 1, "orders": 10, "share_of_created": 1.0},
    {"stage": "paid", "stage_order": 2, "orders": 8, "share_of_created": 0.8},
    {"stage": "payment_failed", "stage_order": 3, "orders": 2, "share_of_created": 0.2},
    {"stage": "delivered", "stage_order": 5, "orders": 4, "share_of_created": 0.4},
    {"stage": "cancelled", "stage_order": 6, "orders": 1, "share_of_created": 0.1},
]

SLA_SCHEMA = pa.schema(
    [
        ("delivery_date", pa.date32()),
        ("carrier", pa.string()),
        ("delivered_orders", pa.int64()),
        ("p50_hours", pa.float64()),
        ("p95_hours", pa.float64()),
        ("late_deliveries", pa.int64()),
        ("sla_breaches", pa.int64()),
    ]
)
SLA_ROWS = [
    {
        "delivery_date": date(2026, 11, 28),
        "carrier": "jadlog",
        "delivered_orders": 1,
        "p50_hours": 20.0,
        "p95_hours": 20.0,
        "late_deliveries": 0,
        "sla_breaches": 0,
    },
    {
        "delivery_date": date(2026, 11, 27),
        "carrier": "correios",
        "delivered_orders": 2,
        "p50_hours": 30.5,
        "p95_hours": 70.0,
        "late_deliveries": 0,
        "sla_breaches": 0,
    },
    {
        "delivery_date": date(2026, 11, 28),
        "carrier": "correios",
        "delivered_orders": 1,
        "p50_hours": 80.0,
        "p95_hours": 80.0,
        "late_deliveries": 1,
        "sla_breaches": 1,
    },
    {
        "delivery_date": date(2026, 11, 10),
        "carrier": "correios",
        "delivered_orders": 9,
        "p50_hours": 10.0,
        "p95_hours": 12.0,
        "late_deliveries": 0,
        "sla_breaches": 0,
    },  # outside the default 7 days
]

PRODUCTS_SCHEMA = pa.schema(
    [
        ("sku", pa.string()),
        ("name", pa.string()),
        ("units_sold", pa.int64()),
        ("revenue", MONEY),
        ("orders", pa.int64()),
        ("rank", pa.int32()),
    ]
)
PRODUCTS_ROWS = [
    {
        "sku": "SKU-1",
        "name": "Café 500g",
        "units_sold": 10,
        "revenue": Decimal("250.00"),
        "orders": 5,
        "rank": 2,
    },
    {
        "sku": "SKU-2",
        "name": "Cafeteira",
        "units_sold": 2,
        "revenue": Decimal("600.00"),
        "orders": 2,
        "rank": 1,
    },
    {"sku": "SKU-3", "name": "Filtro", "units_sold": 10, "revenue": Decimal("40.00"), "orders": 4, "rank": 3},
]

ALERTS_SCHEMA = pa.schema(
    [
        ("alert_id", pa.string()),
        ("rule", pa.string()),
        ("severity", pa.string()),
        ("window_start", TS),
        ("window_end", TS),
        ("dimension", pa.string()),
        ("observed_value", pa.float64()),
        ("threshold", pa.float64()),
        ("message", pa.string()),
    ]
)
ALERT_PAYMENT = alert_id("payment_failure_rate", t(10, 0), "all")
ALERT_SLA = alert_id("sla_breach", t(9, 0, 25), "o-1")
ALERT_DQ = alert_id("dq_drop_rate", None, "all")
ALERTS_ROWS = [
    {
        "alert_id": ALERT_SLA,
        "rule": "sla_breach",
        "severity": "medium",
        "window_start": t(9, 0, 25),
        "window_end": t(17, 0, 28),
        "dimension": "o-1",
        "observed_value": 80.0,
        "threshold": 72.0,
        "message": "order o-1 delivered in 80.00 h (SLA 72 h)",
    },
    {
        "alert_id": ALERT_DQ,
        "rule": "dq_drop_rate",
        "severity": "high",
        "window_start": None,
        "window_end": None,
        "dimension": "all",
        "observed_value": 0.0833,
        "threshold": 0.05,
        "message": "2 of 24 rows quarantined (rate 0.0833 above 0.0500)",
    },
    {
        "alert_id": ALERT_PAYMENT,
        "rule": "payment_failure_rate",
        "severity": "high",
        "window_start": t(10, 0),
        "window_end": t(10, 5),
        "dimension": "all",
        "observed_value": 0.375,
        "threshold": 0.2,
        "message": "payment failure rate 0.38 above 0.20 (3 failed, 5 paid)",
    },
]

EVENTS_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("sequence", pa.struct([("control_plane_seq_no", pa.int64())])),
        (
            "origin",
            pa.struct(
                [
                    ("pipeline_id", pa.string()),
                    ("pipeline_name", pa.string()),
                    ("update_id", pa.string()),
                    ("flow_name", pa.string()),
                    ("dataset_name", pa.string()),
                    ("batch_id", pa.int64()),
                ]
            ),
        ),
        ("timestamp", TS),
        ("message", pa.string()),
        ("level", pa.string()),
        ("maturity_level", pa.string()),
        ("error", pa.string()),
        ("details", pa.string()),
        ("event_type", pa.string()),
    ]
)


def _event(seq: int, moment: datetime, event_type: str, details: dict, flow: str | None = None) -> dict:
    return {
        "id": f"ev-{seq}",
        "sequence": {"control_plane_seq_no": seq},
        "origin": {
            "pipeline_id": "p",
            "pipeline_name": "orders",
            "update_id": "u1",
            "flow_name": flow,
            "dataset_name": flow,
            "batch_id": None,
        },
        "timestamp": moment,
        "message": event_type,
        "level": "INFO",
        "maturity_level": "STABLE",
        "error": None,
        "details": json.dumps(details),
        "event_type": event_type,
    }


def _quality(
    expectations: list[tuple[str, int, int]], dropped: int, dataset: str = "silver_order_events"
) -> dict:
    return {
        "flow_progress": {
            "status": "RUNNING",
            "metrics": {"num_output_rows": 10},
            "data_quality": {
                "dropped_records": dropped,
                "expectations": [
                    {"name": n, "dataset": dataset, "passed_records": p, "failed_records": f}
                    for n, p, f in expectations
                ],
            },
        }
    }


# silver_order_events: valid_event_id 9+5 passed / 1+0 failed; valid_total 10+4 / 0+1; dropped 1+1.
EVENT_ROWS = [
    _event(1, t(9, 0), "create_update", {"create_update": {"cause": "USER_ACTION"}}),
    _event(
        2,
        t(9, 1),
        "flow_progress",
        _quality([("valid_event_id", 9, 1), ("valid_total", 10, 0)], 1),
        "silver_order_events",
    ),
    _event(
        3,
        t(10, 1),
        "flow_progress",
        _quality([("valid_event_id", 5, 0), ("valid_total", 4, 1)], 1),
        "silver_order_events",
    ),
    _event(4, t(10, 1), "flow_progress", {"flow_progress": {"status": "COMPLETED"}}, "silver_order_events"),
    _event(
        5,
        t(10, 2),
        "flow_progress",
        {"flow_progress": {"status": "RUNNING", "metrics": {"num_output_rows": 5}}},
        "fact_orders",
    ),
]


def write_gold(storage: Path) -> Path:
    """Write every Gold table and the event log under ``storage`` (localdlt layout); returns it."""
    tables = storage / "tables"
    _write(tables / "fact_orders", FACT_ROWS, FACT_SCHEMA)
    _write(tables / "gold_sales_per_minute", SALES_ROWS, SALES_SCHEMA)
    _write(tables / "gold_payment_health", PAYMENT_ROWS, PAYMENT_SCHEMA)
    _write(tables / "gold_status_funnel", FUNNEL_ROWS, FUNNEL_SCHEMA)
    _write(tables / "gold_fulfillment_sla", SLA_ROWS, SLA_SCHEMA)
    _write(tables / "gold_top_products", PRODUCTS_ROWS, PRODUCTS_SCHEMA)
    _write(tables / "gold_order_alerts", ALERTS_ROWS, ALERTS_SCHEMA)
    _write(storage / "system" / "events", EVENT_ROWS, EVENTS_SCHEMA)
    return storage
