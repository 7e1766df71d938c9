"""Delivery of ``gold_order_alerts`` to a webhook or the Azure Monitor Logs Ingestion API.

At-least-once to the endpoint, without duplicates across restarts: delivered alert ids are kept in
a small JSON state file, rewritten atomically after each confirmed delivery, and every request
carries the alert id as an idempotency key so a receiver can drop the rare repeat (a crash between
the endpoint's answer and the state write).
"""

from orders_lakehouse.serving.alerts.deliver import AlertDeliverer, DeliveryReport
from orders_lakehouse.serving.alerts.sinks import (
    AzureMonitorSink,
    DeliveryFailedError,
    DeliveryRejectedError,
    WebhookSink,
)
from orders_lakehouse.serving.alerts.state import DeliveryState

__all__ = [
    "AlertDeliverer",
    "AzureMonitorSink",
    "DeliveryFailedError",
    "DeliveryRejectedError",
    "DeliveryReport",
    "DeliveryState",
    "WebhookSink",
]
