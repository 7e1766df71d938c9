"""Response bodies and request enums of the API (pydantic models, shown in the OpenAPI schema)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, Field


class Channel(StrEnum):
    """Sales channel (event contract v1)."""

    app = "app"
    web = "web"
    marketplace = "marketplace"
    store = "store"


class PaymentMethod(StrEnum):
    """Payment method (event contract v1)."""

    pix = "pix"
    credit_card = "credit_card"
    debit_card = "debit_card"
    boleto = "boleto"


class SalesDimension(StrEnum):
    """How sales per minute are broken down."""

    total = "total"
    channel = "channel"
    state = "state"
    payment_method = "payment_method"


class ProductRanking(StrEnum):
    """What top products are ranked by."""

    revenue = "revenue"
    units_sold = "units_sold"


class AlertRule(StrEnum):
    """Alert rules of ``gold_order_alerts``."""

    payment_failure_rate = "payment_failure_rate"
    order_silence = "order_silence"
    sla_breach = "sla_breach"
    dq_drop_rate = "dq_drop_rate"


class Severity(StrEnum):
    """Alert severity."""

    high = "high"
    medium = "medium"
    low = "low"


class OrderStatus(BaseModel):
    """Current state of one order (a row of ``fact_orders``)."""

    order_id: str
    status: str | None = Field(
        description="latest status: created, paid, payment_failed, shipped, delivered, cancelled"
    )
    customer_id: str | None
    channel: str | None
    state: str | None = Field(description="customer UF")
    payment_method: str | None
    installments: int | None
    items_count: int | None
    units: int | None
    subtotal: float | None
    discount: float | None
    shipping_amount: float | None
    total_amount: float | None
    created_at: datetime | None
    paid_at: datetime | None
    payment_failed_at: datetime | None
    shipped_at: datetime | None
    delivered_at: datetime | None
    cancelled_at: datetime | None
    payment_failures: int | None
    carrier: str | None
    promised_date: date | None
    delivery_hours: float | None
    is_delivered_late: bool | None


class TimeWindow(BaseModel):
    """The half-open time range ``[since, until)`` a KPI answer covers."""

    since: datetime
    until: datetime


class SalesPoint(BaseModel):
    """Sales of one minute (and one group when broken down)."""

    minute: datetime
    group: str | None
    orders: int
    revenue: float
    average_ticket: float


class SalesTotals(BaseModel):
    """Sales summed over the window."""

    orders: int
    revenue: float
    average_ticket: float


class SalesPerMinute(BaseModel):
    """``/kpis/sales-per-minute``."""

    window: TimeWindow
    by: SalesDimension
    points: list[SalesPoint]
    totals: SalesTotals


class PaymentPoint(BaseModel):
    """Payments of one 5-minute window and method."""

    window_start: datetime
    window_end: datetime | None
    payment_method: str | None
    approved: int
    failed: int
    approval_rate: float | None


class PaymentTotals(BaseModel):
    """Payments summed over the window (rate = approved / (approved + failed))."""

    approved: int
    failed: int
    approval_rate: float | None


class PaymentHealth(BaseModel):
    """``/kpis/payment-health``."""

    window: TimeWindow
    points: list[PaymentPoint]
    totals: PaymentTotals


class FunnelStage(BaseModel):
    """Orders that reached one status, and their share of created orders."""

    stage: str
    stage_order: int
    orders: int
    share_of_created: float | None


class StatusFunnel(BaseModel):
    """``/kpis/status-funnel`` (stages in lifecycle order)."""

    stages: list[FunnelStage]


class SlaRow(BaseModel):
    """Fulfilment created -> delivered of one day and carrier."""

    delivery_date: date
    carrier: str | None
    delivered_orders: int
    p50_hours: float | None
    p95_hours: float | None
    late_deliveries: int
    sla_breaches: int


class FulfillmentSla(BaseModel):
    """``/kpis/fulfillment-sla``."""

    since: date
    until: date
    rows: list[SlaRow]


class TopProduct(BaseModel):
    """One product of the ranking."""

    rank: int
    sku: str
    name: str | None
    units_sold: int
    revenue: float
    orders: int


class TopProducts(BaseModel):
    """``/kpis/top-products``."""

    by: ProductRanking
    products: list[TopProduct]


class Alert(BaseModel):
    """A row of ``gold_order_alerts``."""

    alert_id: str = Field(description="stable id: sha256 of rule | window_start | dimension")
    rule: str
    severity: str | None
    window_start: datetime | None
    window_end: datetime | None
    dimension: str | None
    observed_value: float | None
    threshold: float | None
    message: str | None


class Alerts(BaseModel):
    """``/alerts`` (newest window first; alerts without a window last)."""

    alerts: list[Alert]
    count: int


class ExpectationQuality(BaseModel):
    """Counts of one expectation of one dataset, summed over the event log."""

    dataset: str
    name: str
    passed_records: int
    failed_records: int
    failure_rate: float | None


class DatasetQuality(BaseModel):
    """Rows dropped by the drop expectations of one dataset."""

    dataset: str
    dropped_records: int


class DataQuality(BaseModel):
    """``/data-quality``: expectation metrics of ``flow_progress`` events."""

    since: datetime | None
    flow_progress_events: int
    expectations: list[ExpectationQuality]
    datasets: list[DatasetQuality]


class Liveness(BaseModel):
    """``/health/live``: the process answers (no store is touched)."""

    status: str = "ok"


class Health(BaseModel):
    """``/health/ready``."""

    status: str = Field(description="ok when every Gold table is readable and fresh enough, else degraded")
    backend: str
    tables: dict[str, bool]
    stale: list[str] = Field(default_factory=list, description="tables whose last commit is too old")


class LayerLatency(BaseModel):
    """p95 / p50 of event time -> visible in a layer, over the recent events of the latest commits."""

    p50_seconds: float | None
    p95_seconds: float | None
    events: int


class Latency(BaseModel):
    """``/latency``: how long events take to become visible in Silver and in Gold (see docs/serving.md)."""

    window_minutes: int
    silver: LayerLatency
    gold: LayerLatency
    available: bool = Field(description="false when the backend cannot measure it (databricks)")


class Summary(BaseModel):
    """``/summary``: everything the dashboard shows, in one answer (one request per refresh)."""

    sales: SalesPerMinute
    payments: PaymentHealth
    funnel: StatusFunnel
    sla: FulfillmentSla
    products: TopProducts
    quality: DataQuality
    alerts: Alerts
    latency: Latency


class DashboardConfig(BaseModel):
    """What the dashboard page needs to know about the server."""

    refresh_seconds: int
    auth_required: bool


class FieldError(BaseModel):
    """One offending request parameter of a 422."""

    loc: list[str | int] = Field(description='where, e.g. ["query", "minutes"]')
    msg: str
    type: str


class ErrorDetail(BaseModel):
    """Body of every 4xx/5xx answer of the API: one shape everywhere."""

    code: str = Field(
        description="stable word: invalid_request, unauthorized, forbidden, not_found, "
        "invalid_parameter, backend_failed, unavailable, internal_error"
    )
    detail: str = Field(description="one human-readable sentence (never a traceback)")
    errors: list[FieldError] | None = Field(None, description="the offending parameters (422 only)")


_ERRORS: dict[int, tuple[str, str, str]] = {
    304: ("", "not modified: the ETag in If-None-Match is still current (no body)", ""),
    400: (
        "invalid_request",
        "parameters that contradict each other",
        "since (2026-11-29T10:05:00+00:00) must be before until (2026-11-29T10:00:00+00:00)",
    ),
    401: ("unauthorized", "missing bearer token", "missing bearer token"),
    403: ("forbidden", "invalid bearer token", "invalid bearer token"),
    404: ("not_found", "not found", "order 'o-404' not found"),
    422: (
        "invalid_parameter",
        "a parameter out of its bounds, malformed or unknown",
        "query minutes: Input should be less than or equal to 1440",
    ),
    502: (
        "backend_failed",
        "the store answered with an error, or its data has an unexpected shape",
        "table 'fact_orders' cannot be read: Invalid JSON in log record",
    ),
    503: (
        "unavailable",
        "a table does not exist yet or the store is unreachable (Retry-After)",
        "table 'gold_status_funnel' is not available: has the pipeline run yet?",
    ),
}


def error_responses(*codes: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI ``responses`` entries (schema, description, example) for the given status codes."""
    responses: dict[int | str, dict[str, object]] = {}
    for code in codes:
        word, description, example = _ERRORS[code]
        if code == 304:
            responses[code] = {"description": description}
            continue
        responses[code] = {
            "model": ErrorDetail,
            "description": description,
            "content": {"application/json": {"example": {"code": word, "detail": example}}},
        }
    return responses
