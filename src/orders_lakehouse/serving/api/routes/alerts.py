"""``/alerts``: rows of ``gold_order_alerts``, newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from orders_lakehouse.serving import gold, models, records
from orders_lakehouse.serving.api.deps import Authorized, BackendDep, conditional
from orders_lakehouse.serving.api.params import BOUNDS, BoundedDatetime

router = APIRouter(
    tags=["alerts"],
    dependencies=[Authorized],
    responses=models.error_responses(304, 401, 403, 422, 502, 503),
)


@router.get(
    "/alerts",
    response_model=models.Alerts,
    operation_id="listAlerts",
    dependencies=[Depends(conditional(gold.ORDER_ALERTS))],
)
def list_alerts(
    backend: BackendDep,
    since: Annotated[
        BoundedDatetime, Query(description=f"only alerts whose window starts at or after this, {BOUNDS}")
    ] = None,
    rule: models.AlertRule | None = None,
    severity: models.Severity | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> models.Alerts:
    """Alerts raised by the pipeline's rules (payment failures, silence, SLA, data quality)."""
    return records.alerts(
        backend,
        since=since,
        rule=rule.value if rule else None,
        severity=severity.value if severity else None,
        limit=limit,
    )
