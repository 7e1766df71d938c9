"""Names of the Gold tables and of their columns: the ONE place serving knows them.

Every table maps the field names the API uses (left) to the column names the pipeline writes
(right), so following a rename in the pipeline is one edit here. The event log is described the
same way (Databricks' event log columns).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True)
class GoldTable:
    """A table serving reads: its name, API field -> column, and the column that orders it in time."""

    name: str
    fields: Mapping[str, str]
    time_field: str | None = None
    _reverse: Mapping[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", MappingProxyType(dict(self.fields)))
        object.__setattr__(self, "_reverse", MappingProxyType({c: f for f, c in self.fields.items()}))

    def column(self, api_field: str) -> str:
        """The table column behind an API field (KeyError names the field when unknown)."""
        try:
            return self.fields[api_field]
        except KeyError:
            raise KeyError(f"{self.name} has no field {api_field!r}; known: {sorted(self.fields)}") from None

    def columns(self) -> tuple[str, ...]:
        """All the table columns serving reads, in field order."""
        return tuple(self.fields.values())

    def to_fields(self, row: Mapping[str, object]) -> dict[str, object]:
        """A backend row (column -> value) renamed to API field names."""
        return {self._reverse[column]: value for column, value in row.items() if column in self._reverse}


def _same(*names: str) -> dict[str, str]:
    return {name: name for name in names}


# Columns as written by src/orders_lakehouse/transforms/{star,kpis,alerts}.py.
FACT_ORDERS = GoldTable(
    "fact_orders",
    {
        **_same("order_id", "customer_id"),
        "status": "current_status",
        **_same("channel"),
        "state": "customer_state",
        **_same(
            "payment_method",
            "installments",
            "items_count",
            "units",
            "subtotal",
            "discount",
            "shipping_amount",
        ),
        "total_amount": "total",
        **_same(
            "created_at",
            "paid_at",
            "payment_failed_at",
            "shipped_at",
            "delivered_at",
            "cancelled_at",
            "payment_failures",
            "carrier",
            "promised_date",
            "delivery_hours",
            "is_delivered_late",
        ),
    },
    time_field="created_at",
)
SALES_PER_MINUTE = GoldTable(
    "gold_sales_per_minute",
    _same("minute", "channel", "state", "payment_method", "orders", "revenue", "avg_ticket"),
    time_field="minute",
)
PAYMENT_HEALTH = GoldTable(
    "gold_payment_health",
    _same("window_start", "window_end", "payment_method", "approved", "failed", "approval_rate"),
    time_field="window_start",
)
STATUS_FUNNEL = GoldTable("gold_status_funnel", _same("stage", "stage_order", "orders", "share_of_created"))
FULFILLMENT_SLA = GoldTable(
    "gold_fulfillment_sla",
    _same(
        "delivery_date",
        "carrier",
        "delivered_orders",
        "p50_hours",
        "p95_hours",
        "late_deliveries",
        "sla_breaches",
    ),
    time_field="delivery_date",
)
TOP_PRODUCTS = GoldTable("gold_top_products", _same("sku", "name", "units_sold", "revenue", "orders", "rank"))
ORDER_ALERTS = GoldTable(
    "gold_order_alerts",
    _same(
        "alert_id",
        "rule",
        "severity",
        "window_start",
        "window_end",
        "dimension",
        "observed_value",
        "threshold",
        "message",
    ),
    time_field="window_start",
)
# The pipeline event log (localdlt: <storage>/system/events; Databricks: the event_log table).
EVENT_LOG = GoldTable("event_log", _same("timestamp", "event_type", "details"), time_field="timestamp")

# Read only for the latency figure (event time vs when its data file was committed): the event
# time of Silver's rows and nothing else (docs/serving.md, "Latency").
SILVER_EVENTS = GoldTable("silver_order_events", _same("event_time"), time_field="event_time")

GOLD_TABLES: tuple[GoldTable, ...] = (
    FACT_ORDERS,
    SALES_PER_MINUTE,
    PAYMENT_HEALTH,
    STATUS_FUNNEL,
    FULFILLMENT_SLA,
    TOP_PRODUCTS,
    ORDER_ALERTS,
)
