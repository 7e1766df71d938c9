"""``/data-quality``: expectation metrics from the pipeline event log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from orders_lakehouse.serving import gold, models, quality
from orders_lakehouse.serving.api.deps import Authorized, BackendDep, conditional
from orders_lakehouse.serving.api.params import BOUNDS, BoundedDatetime

router = APIRouter(
    tags=["data quality"],
    dependencies=[Authorized],
    responses=models.error_responses(304, 401, 403, 422, 502, 503),
)


@router.get(
    "/data-quality",
    response_model=models.DataQuality,
    operation_id="getDataQuality",
    dependencies=[Depends(conditional(gold.EVENT_LOG))],
)
def data_quality(
    backend: BackendDep,
    since: Annotated[
        BoundedDatetime, Query(description=f"only events at or after this time, {BOUNDS}")
    ] = None,
) -> models.DataQuality:
    """Passed / failed records per expectation and dropped records per dataset."""
    return quality.data_quality(backend, since=since)
