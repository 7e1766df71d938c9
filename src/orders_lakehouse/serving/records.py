"""Single records of Gold: one order's status, the alerts list."""

from __future__ import annotations

from datetime import datetime

from orders_lakehouse.serving import gold, models
from orders_lakehouse.serving.backends.base import Backend, Filter, Query
from orders_lakehouse.serving.timerange import as_utc


class OrderNotFoundError(LookupError):
    """No row of ``fact_orders`` has this ``order_id`` (answered with HTTP 404)."""

    def __init__(self, order_id: str) -> None:
        super().__init__(f"order {order_id!r} not found")
        self.order_id = order_id


def order_status(backend: Backend, order_id: str) -> models.OrderStatus:
    """The current row of ``order_id`` in ``fact_orders``; raises :class:`OrderNotFoundError`."""
    table = gold.FACT_ORDERS
    query = Query(table, table.columns(), (Filter(table.column("order_id"), "=", order_id),), limit=1)
    rows = backend.fetch(query)
    if not rows:
        raise OrderNotFoundError(order_id)
    return models.OrderStatus.model_validate(table.to_fields(rows[0]))


def alert_rows(
    backend: Backend,
    *,
    since: datetime | None = None,
    rule: str | None = None,
    severity: str | None = None,
    limit: int | None = None,
) -> list[dict[str, object]]:
    """Rows of ``gold_order_alerts`` (API field names), newest window first, then by id."""
    table = gold.ORDER_ALERTS
    filters = []
    if since is not None:
        filters.append(Filter(table.column("window_start"), ">=", as_utc(since)))
    if rule is not None:
        filters.append(Filter(table.column("rule"), "=", rule))
    if severity is not None:
        filters.append(Filter(table.column("severity"), "=", severity))
    order = ((table.column("window_start"), True), (table.column("alert_id"), False))
    rows = backend.fetch(Query(table, table.columns(), tuple(filters), order_by=order, limit=limit))
    return [table.to_fields(row) for row in rows]


def alerts(
    backend: Backend, *, since: datetime | None, rule: str | None, severity: str | None, limit: int
) -> models.Alerts:
    """The newest ``limit`` alerts matching the filters (``since`` applies to ``window_start``)."""
    items = [
        models.Alert.model_validate(row)
        for row in alert_rows(backend, since=since, rule=rule, severity=severity, limit=limit)
    ]
    return models.Alerts(alerts=items, count=len(items))
