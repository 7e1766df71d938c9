"""``/data-quality``: expectation metrics from the pipeline event log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from orders_lakehouse.serving import models, quality
from orders_lakehouse.serving.api.deps import Authorized, BackendDep

router = APIRouter(
    tags=["data quality"], dependencies=[Authorized], responses=models.error_responses(401, 403, 502, 503)
)


@router.get("/data-quality", response_model=models.DataQuality)
def data_quality(
    backend: BackendDep,
    since: Annotated[datetime | None, Query(description="only events at or after this time")] = None,
) -> models.DataQuality:
    """Passed / failed records per expectation and dropped records per dataset."""
    return quality.data_quality(backend, since=since)
