"""Gold KPI answers: each function builds backend queries and shapes the rows into a model."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from orders_lakehouse.serving import gold, models
from orders_lakehouse.serving.backends.base import Backend, Filter, Query
from orders_lakehouse.serving.timerange import InvalidRequestError, as_utc, resolve_window

_CENT = Decimal("0.01")


def _money(value: Any) -> float:
    # Decimal half-up to the cent (as money is shown), then float for JSON.
    return float(Decimal(str(value or 0)).quantize(_CENT, rounding=ROUND_HALF_UP))


def _ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def latest_time(backend: Backend, table: gold.GoldTable) -> datetime | None:
    """The newest value of ``table``'s time column, or None when the table is empty."""
    assert table.time_field is not None
    column = table.column(table.time_field)
    rows = backend.fetch(Query(table, (column,), order_by=((column, True),), limit=1))
    return rows[0][column] if rows else None


def _rows_in_window(
    backend: Backend, table: gold.GoldTable, window: tuple[datetime, datetime], filters: dict[str, Any]
) -> list[dict[str, Any]]:
    assert table.time_field is not None
    time_column = table.column(table.time_field)
    conditions = [Filter(time_column, ">=", window[0]), Filter(time_column, "<", window[1])]
    conditions += [
        Filter(table.column(name), "=", value) for name, value in filters.items() if value is not None
    ]
    query = Query(table, table.columns(), tuple(conditions), order_by=((time_column, False),))
    return [table.to_fields(row) for row in backend.fetch(query)]


def sales_per_minute(
    backend: Backend,
    *,
    since: datetime | None,
    until: datetime | None,
    minutes: int,
    by: models.SalesDimension,
    filters: dict[str, Any],
) -> models.SalesPerMinute:
    """Orders and revenue per minute in the window, summed per ``by`` group."""
    table = gold.SALES_PER_MINUTE
    window = resolve_window(since, until, minutes, None if since or until else latest_time(backend, table))
    sums: dict[tuple[datetime, str | None], list[Decimal | int]] = defaultdict(lambda: [0, Decimal(0)])
    for row in _rows_in_window(backend, table, window, filters):
        group = None if by is models.SalesDimension.total else row[by.value]
        entry = sums[(as_utc(row["minute"]), group)]
        entry[0] += int(row["orders"] or 0)
        entry[1] += Decimal(str(row["revenue"] or 0))
    points = [
        models.SalesPoint(
            minute=minute,
            group=group,
            orders=int(o),
            revenue=_money(r),
            average_ticket=_money(r / o) if o else 0.0,
        )
        for (minute, group), (o, r) in sorted(sums.items(), key=lambda kv: (kv[0][0], kv[0][1] or ""))
    ]
    orders = sum(int(o) for o, _ in sums.values())
    revenue = sum((Decimal(r) for _, r in sums.values()), Decimal(0))
    return models.SalesPerMinute(
        window=models.TimeWindow(since=window[0], until=window[1]),
        by=by,
        points=points,
        totals=models.SalesTotals(
            orders=orders, revenue=_money(revenue), average_ticket=_money(revenue / orders) if orders else 0.0
        ),
    )


def payment_health(
    backend: Backend,
    *,
    since: datetime | None,
    until: datetime | None,
    minutes: int,
    payment_method: str | None,
) -> models.PaymentHealth:
    """Approved and declined payments per 5-minute window and method, and the overall rate."""
    table = gold.PAYMENT_HEALTH
    window = resolve_window(since, until, minutes, None if since or until else latest_time(backend, table))
    rows = _rows_in_window(backend, table, window, {"payment_method": payment_method})
    points = [
        models.PaymentPoint(
            window_start=as_utc(r["window_start"]),
            window_end=r["window_end"],
            payment_method=r["payment_method"],
            approved=int(r["approved"] or 0),
            failed=int(r["failed"] or 0),
            approval_rate=_ratio(int(r["approved"] or 0), int(r["approved"] or 0) + int(r["failed"] or 0)),
        )
        for r in rows
    ]
    approved = sum(p.approved for p in points)
    failed = sum(p.failed for p in points)
    return models.PaymentHealth(
        window=models.TimeWindow(since=window[0], until=window[1]),
        points=points,
        totals=models.PaymentTotals(
            approved=approved, failed=failed, approval_rate=_ratio(approved, approved + failed)
        ),
    )


def status_funnel(backend: Backend) -> models.StatusFunnel:
    """Orders that reached each status, in lifecycle order."""
    table = gold.STATUS_FUNNEL
    query = Query(table, table.columns(), order_by=((table.column("stage_order"), False),))
    stages = [
        models.FunnelStage(
            stage=r["stage"],
            stage_order=int(r["stage_order"]),
            orders=int(r["orders"] or 0),
            share_of_created=None if r["share_of_created"] is None else float(r["share_of_created"]),
        )
        for r in (table.to_fields(row) for row in backend.fetch(query))
    ]
    return models.StatusFunnel(stages=stages)


def fulfillment_sla(
    backend: Backend, *, since: date | None, until: date | None, days: int, carrier: str | None
) -> models.FulfillmentSla:
    """Delivery-time percentiles and late deliveries per day and carrier, ``[since, until]`` inclusive."""
    table = gold.FULFILLMENT_SLA
    column = table.column("delivery_date")
    if since is None or until is None:
        if until is None:
            until = (
                (since + timedelta(days=days - 1)) if since else (latest_time(backend, table) or date.today())
            )
        since = since or until - timedelta(days=days - 1)
    if isinstance(until, datetime):
        until = until.date()
    if since > until:
        raise InvalidRequestError(f"since ({since}) must not be after until ({until})")
    if (until - since).days >= 366:
        raise InvalidRequestError(f"the date range may span at most 366 days, got {(until - since).days + 1}")
    conditions = [Filter(column, ">=", since), Filter(column, "<=", until)]
    if carrier is not None:
        conditions.append(Filter(table.column("carrier"), "=", carrier))
    query = Query(
        table,
        table.columns(),
        tuple(conditions),
        order_by=((column, False), (table.column("carrier"), False)),
    )
    rows = [
        models.SlaRow(
            delivery_date=r["delivery_date"],
            carrier=r["carrier"],
            delivered_orders=int(r["delivered_orders"] or 0),
            p50_hours=None if r["p50_hours"] is None else round(float(r["p50_hours"]), 2),
            p95_hours=None if r["p95_hours"] is None else round(float(r["p95_hours"]), 2),
            late_deliveries=int(r["late_deliveries"] or 0),
            sla_breaches=int(r["sla_breaches"] or 0),
        )
        for r in (table.to_fields(row) for row in backend.fetch(query))
    ]
    return models.FulfillmentSla(since=since, until=until, rows=rows)


def top_products(backend: Backend, *, by: models.ProductRanking, limit: int) -> models.TopProducts:
    """The ``limit`` best products by revenue or units sold (ties broken by SKU); rank is 1-based."""
    table = gold.TOP_PRODUCTS
    metric = table.column(by.value)
    other = table.column("units_sold" if by is models.ProductRanking.revenue else "revenue")
    query = Query(
        table,
        table.columns(),
        order_by=((metric, True), (other, True), (table.column("sku"), False)),
        limit=limit,
    )
    products = [
        models.TopProduct(
            rank=index,
            sku=r["sku"],
            name=r["name"],
            units_sold=int(r["units_sold"] or 0),
            revenue=_money(r["revenue"]),
            orders=int(r["orders"] or 0),
        )
        for index, r in enumerate((table.to_fields(row) for row in backend.fetch(query)), start=1)
    ]
    return models.TopProducts(by=by, products=products)
