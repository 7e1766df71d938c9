"""``/summary`` (everything the dashboard shows, one request per refresh) and ``/latency``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from orders_lakehouse.serving import gold, kpis, models, quality, records
from orders_lakehouse.serving.api.deps import Authorized, BackendDep, conditional
from orders_lakehouse.serving.backends.base import Backend, TableUnavailableError

router = APIRouter(
    tags=["dashboard"],
    dependencies=[Authorized],
    responses=models.error_responses(304, 401, 403, 422, 502, 503),
)

WindowMinutes = Annotated[int, Query(ge=1, le=1440, description="window of the latest commits measured")]
SUMMARY_TABLES = (*gold.GOLD_TABLES, gold.EVENT_LOG, gold.SILVER_EVENTS)


def latency(backend: Backend, window_minutes: int) -> models.Latency:
    """The backend's latency figure, or an empty one marked unavailable."""
    measure = getattr(backend, "latency", None)
    empty = models.LayerLatency(p50_seconds=None, p95_seconds=None, events=0)
    if measure is None:
        return models.Latency(window_minutes=window_minutes, silver=empty, gold=empty, available=False)
    try:
        return measure(window_minutes)
    except TableUnavailableError:  # no Silver / Gold yet: nothing to measure, not an error
        return models.Latency(window_minutes=window_minutes, silver=empty, gold=empty, available=False)


@router.get(
    "/latency",
    response_model=models.Latency,
    operation_id="getLatency",
    dependencies=[Depends(conditional(gold.SILVER_EVENTS, gold.FACT_ORDERS))],
)
def get_latency(backend: BackendDep, window_minutes: WindowMinutes = 15) -> models.Latency:
    """p50 / p95 seconds from event time to visible in Silver and in Gold (docs/serving.md, "Latency")."""
    return latency(backend, window_minutes)


@router.get(
    "/summary",
    response_model=models.Summary,
    operation_id="getSummary",
    dependencies=[Depends(conditional(*SUMMARY_TABLES))],
)
def summary(
    backend: BackendDep,
    minutes: Annotated[int, Query(ge=1, le=1440, description="KPI window up to the latest data")] = 60,
    alerts: Annotated[int, Query(ge=1, le=500, description="newest alerts listed")] = 20,
) -> models.Summary:
    """The dashboard's figures in one answer (and one ETag over every table it reads)."""
    return models.Summary(
        sales=kpis.sales_per_minute(
            backend, since=None, until=None, minutes=minutes, by=models.SalesDimension.total, filters={}
        ),
        payments=kpis.payment_health(backend, since=None, until=None, minutes=minutes, payment_method=None),
        funnel=kpis.status_funnel(backend),
        sla=kpis.fulfillment_sla(backend, since=None, until=None, days=7, carrier=None),
        products=kpis.top_products(backend, by=models.ProductRanking.revenue, limit=10),
        quality=quality.data_quality(backend, since=None),
        alerts=records.alerts(backend, since=None, rule=None, severity=None, limit=alerts),
        latency=latency(backend, 15),
    )
