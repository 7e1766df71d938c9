"""``/orders/{order_id}``: the current status of one order (from ``fact_orders``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from orders_lakehouse.serving import gold, models, records
from orders_lakehouse.serving.api.deps import Authorized, BackendDep, conditional

router = APIRouter(
    prefix="/orders",
    tags=["orders"],
    dependencies=[Authorized],
    responses=models.error_responses(304, 401, 403, 404, 422, 502, 503),
)


@router.get(
    "/{order_id}",
    response_model=models.OrderStatus,
    operation_id="getOrder",
    dependencies=[Depends(conditional(gold.FACT_ORDERS))],
)
def get_order(
    backend: BackendDep,
    order_id: Annotated[
        str, Path(pattern=r"^[A-Za-z0-9_.:-]{1,64}$", description="order id of the event contract")
    ],
) -> models.OrderStatus:
    """Status, amounts and milestone timestamps of one order."""
    return records.order_status(backend, order_id)
