"""``/kpis/*``: the real-time KPI tables of Gold."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from orders_lakehouse.serving import gold, kpis, models
from orders_lakehouse.serving.api.deps import Authorized, BackendDep, conditional
from orders_lakehouse.serving.api.params import BoundedDate, Minutes, Since, Until

router = APIRouter(
    prefix="/kpis",
    tags=["kpis"],
    dependencies=[Authorized],
    responses=models.error_responses(304, 400, 401, 403, 422, 502, 503),
)


@router.get(
    "/sales-per-minute",
    response_model=models.SalesPerMinute,
    operation_id="getSalesPerMinute",
    dependencies=[Depends(conditional(gold.SALES_PER_MINUTE))],
)
def sales_per_minute(
    backend: BackendDep,
    since: Since = None,
    until: Until = None,
    minutes: Minutes = 60,
    by: models.SalesDimension = models.SalesDimension.total,
    channel: models.Channel | None = None,
    state: Annotated[str | None, Query(pattern=r"^[A-Z]{2}$", description="UF, two capital letters")] = None,
    payment_method: models.PaymentMethod | None = None,
) -> models.SalesPerMinute:
    """Orders, revenue and average ticket per minute, optionally broken down and filtered."""
    filters = {
        "channel": channel.value if channel else None,
        "state": state,
        "payment_method": payment_method.value if payment_method else None,
    }
    return kpis.sales_per_minute(backend, since=since, until=until, minutes=minutes, by=by, filters=filters)


@router.get(
    "/payment-health",
    response_model=models.PaymentHealth,
    operation_id="getPaymentHealth",
    dependencies=[Depends(conditional(gold.PAYMENT_HEALTH))],
)
def payment_health(
    backend: BackendDep,
    since: Since = None,
    until: Until = None,
    minutes: Minutes = 60,
    payment_method: models.PaymentMethod | None = None,
) -> models.PaymentHealth:
    """Approved vs declined payments per 5-minute window and method."""
    return kpis.payment_health(
        backend,
        since=since,
        until=until,
        minutes=minutes,
        payment_method=payment_method.value if payment_method else None,
    )


@router.get(
    "/status-funnel",
    response_model=models.StatusFunnel,
    operation_id="getStatusFunnel",
    dependencies=[Depends(conditional(gold.STATUS_FUNNEL))],
)
def status_funnel(backend: BackendDep) -> models.StatusFunnel:
    """How many orders are in each status now."""
    return kpis.status_funnel(backend)


@router.get(
    "/fulfillment-sla",
    response_model=models.FulfillmentSla,
    operation_id="getFulfillmentSla",
    dependencies=[Depends(conditional(gold.FULFILLMENT_SLA))],
)
def fulfillment_sla(
    backend: BackendDep,
    since: Annotated[BoundedDate, Query(description="first delivery date")] = None,
    until: Annotated[BoundedDate, Query(description="last delivery date, inclusive")] = None,
    days: Annotated[
        int, Query(ge=1, le=366, description="range length when since/until are not both given")
    ] = 7,
    carrier: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
) -> models.FulfillmentSla:
    """Created -> delivered hours (p50 / p95), late deliveries and SLA breaches per day and carrier."""
    return kpis.fulfillment_sla(backend, since=since, until=until, days=days, carrier=carrier)


@router.get(
    "/top-products",
    response_model=models.TopProducts,
    operation_id="getTopProducts",
    dependencies=[Depends(conditional(gold.TOP_PRODUCTS))],
)
def top_products(
    backend: BackendDep,
    by: models.ProductRanking = models.ProductRanking.revenue,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> models.TopProducts:
    """The best-selling products."""
    return kpis.top_products(backend, by=by, limit=limit)
