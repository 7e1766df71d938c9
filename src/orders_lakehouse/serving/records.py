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


def alert_rows(backend: Backend, *, since: datetime | None = None, alert_type: str | None = None,
               severity: str | None = None, limit: int | None = None) -> list[dict[str, object]]:
    """Rows of ``gold_order_alerts`` (API field names), newest first."""
    table = gold.ORDER_ALERTS
    filters = []
    if since is not None:
        filters.append(Filter(table.column("detected_at"), ">=", as_utc(since)))
    if alert_type is not None:
        filters.append(Filter(table.column("alert_type"), "=", alert_type))
    if severity is not None:
        filters.append(Filter(table.column("severity"), "=", severity))
    order = ((table.column("detected_at"), True), (table.column("alert_id"), False))
    rows = backend.fetch(Query(table, table.columns(), tuple(filters), order_by=order, limit=limit))
    return [table.to_fields(row) for row in rows]


def alerts(backend: Backend, *, since: datetime | None, alert_type: str | None, severity: str | None,
           limit: int) -> models.Alerts:
    """The newest ``limit`` alerts matching the filters."""
    items = [models.Alert.model_validate(row) for row in alert_rows(
        backend, since=since, alert_type=alert_type, severity=severity, limit=limit)]
    return models.Alerts(alerts=items, count=len(items))
