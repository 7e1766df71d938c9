"""One delivery round: read ``gold_order_alerts``, send what is not delivered yet, record it."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from orders_lakehouse.serving.alerts.sinks import DeliveryFailedError, DeliveryRejectedError, Sink
from orders_lakehouse.serving.alerts.state import DeliveryState
from orders_lakehouse.serving.backends.base import Backend
from orders_lakehouse.serving.records import alert_rows

log = logging.getLogger(__name__)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class DeliveryReport:
    """What a round did: ids delivered, ids rejected (with the status), and the error that stopped it."""

    delivered: list[str] = field(default_factory=list)
    rejected: dict[str, int] = field(default_factory=dict)
    skipped: int = 0
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when nothing was rejected and nothing failed."""
        return not self.rejected and self.error is None


def _oldest_first(row: dict[str, Any]) -> tuple[datetime, str]:
    start = row.get("window_start")
    if isinstance(start, datetime) and start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    return (start if isinstance(start, datetime) else _EPOCH, str(row["alert_id"]))


class AlertDeliverer:
    """Sends new alerts to ``sink``, remembering delivered ids in ``state``.

    Example::

        deliverer = AlertDeliverer(LocalDeltaBackend(storage), WebhookSink(httpx.Client(), url),
                                   DeliveryState.load(storage / "consumers" / "alert-delivery.json"))
        report = deliverer.deliver_pending()
    """

    def __init__(self, backend: Backend, sink: Sink, state: DeliveryState) -> None:
        self.backend = backend
        self.sink = sink
        self.state = state

    def deliver_pending(self) -> DeliveryReport:
        """Deliver every alert not yet delivered or rejected, oldest window first.

        Stops at the first :class:`DeliveryFailedError` (the rest stays pending for the next round).
        """
        rows = sorted(alert_rows(self.backend), key=_oldest_first)
        pending = [row for row in rows if not self.state.is_done(str(row["alert_id"]))]
        report = DeliveryReport(skipped=len(rows) - len(pending))
        for start in range(0, len(pending), self.sink.max_batch):
            batch = pending[start : start + self.sink.max_batch]
            ids = [str(row["alert_id"]) for row in batch]
            try:
                self.sink.send(batch)
            except DeliveryRejectedError as error:
                log.error("alerts %s rejected (HTTP %d), not retried: %s", ids, error.status, error.reason)
                self.state.mark_rejected(ids, error.status, error.reason)
                report.rejected.update({alert_id: error.status for alert_id in ids})
                continue
            except DeliveryFailedError as error:
                log.error(
                    "delivery stopped, %d alerts left for the next round: %s", len(pending) - start, error
                )
                report.error = str(error)
                break
            self.state.mark_delivered(ids)  # only after the endpoint confirmed
            report.delivered.extend(ids)
            log.info("delivered %d alert(s)", len(ids))
        return report
