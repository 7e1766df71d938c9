"""Delivery of ``gold_order_alerts`` to a webhook or the Azure Monitor Logs Ingestion API.

Each alert is claimed in a small SQLite database before it is sent, so concurrent deliverers never
both send it, and recorded as delivered (or dead-lettered) once the endpoint answered. Every
request carries the alert id as an idempotency key so a receiver can drop the one rare repeat (a
crash between the endpoint's answer and the state write; see :mod:`.state`).
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
