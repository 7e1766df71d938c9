"""``/alerts``: rows of ``gold_order_alerts``, newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from orders_lakehouse.serving import models, records
from orders_lakehouse.serving.api.deps import Authorized, BackendDep

router = APIRouter(tags=["alerts"], dependencies=[Authorized])


@router.get("/alerts", response_model=models.Alerts)
def list_alerts(
    backend: BackendDep,
    since: Annotated[datetime | None, Query(description="only alerts detected at or after this time")] = None,
    alert_type: Annotated[str | None, Query(pattern=r"^[a-z][a-z0-9_]{0,63}$")] = None,
    severity: Annotated[str | None, Query(pattern=r"^[a-z]{1,16}$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> models.Alerts:
    """Alerts raised by the pipeline's rules (payment failures, silence, SLA, data quality)."""
    return records.alerts(backend, since=since, alert_type=alert_type, severity=severity, limit=limit)
