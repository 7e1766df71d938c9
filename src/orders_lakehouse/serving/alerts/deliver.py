"""One delivery round: read ``gold_order_alerts``, claim and send what is pending, record the outcome."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Mapping, Sequence
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
    """What a round did: ids delivered, ids dead-lettered (with the status), and what stopped it."""

    delivered: list[str] = field(default_factory=list)
    rejected: dict[str, int] = field(default_factory=dict)
    skipped: int = 0
    busy: int = 0
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when nothing was dead-lettered and nothing failed."""
        return not self.rejected and self.error is None

    def summary(self) -> str:
        """One line for the command's output."""
        text = (
            f"delivered {len(self.delivered)}, dead-lettered {len(self.rejected)}, "
            f"already done {self.skipped}"
        )
        if self.busy:
            text += f", being sent by another deliverer {self.busy}"
        return text + (f", stopped: {self.error}" if self.error else "")


def _oldest_first(row: Mapping[str, Any]) -> tuple[datetime, str]:
    start = row.get("window_start")
    if isinstance(start, datetime) and start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    return (start if isinstance(start, datetime) else _EPOCH, str(row["alert_id"]))


def default_owner() -> str:
    """A deliverer's identity in claims: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class AlertDeliverer:
    """Sends new alerts to ``sink``, claiming each in ``state`` first (so concurrent deliverers never
    both send one) and recording it as delivered or dead-lettered after the endpoint answered.

    Example::

        deliverer = AlertDeliverer(LocalDeltaBackend(storage), WebhookSink(client, url, secret=key),
                                   DeliveryState(storage / "consumers" / "alert-delivery.sqlite"))
        report = deliverer.deliver_pending()
    """

    def __init__(self, backend: Backend, sink: Sink, state: DeliveryState, owner: str | None = None) -> None:
        self.backend = backend
        self.sink = sink
        self.state = state
        self.owner = owner or default_owner()

    def deliver_pending(self) -> DeliveryReport:
        """Deliver every alert not yet delivered or dead-lettered, oldest window first.

        Stops at the first :class:`DeliveryFailedError` (the rest stays pending for the next round).
        """
        rows = sorted(alert_rows(self.backend), key=_oldest_first)
        done = self.state.done_ids()
        pending = [row for row in rows if str(row["alert_id"]) not in done]
        report = DeliveryReport(skipped=len(rows) - len(pending))
        for start in range(0, len(pending), self.sink.max_batch):
            candidates = pending[start : start + self.sink.max_batch]
            claimed = set(self.state.claim([str(row["alert_id"]) for row in candidates], self.owner))
            report.busy += len(candidates) - len(claimed)
            batch = [row for row in candidates if str(row["alert_id"]) in claimed]
            if not batch:
                continue
            try:
                self._send(batch, report)
            except DeliveryFailedError as error:
                self.state.release(claimed, self.owner)
                log.error(
                    "delivery stopped, %d alert(s) left for the next round: %s", len(pending) - start, error
                )
                report.error = str(error)
                break
            except BaseException:
                self.state.release(claimed, self.owner)  # Ctrl-C mid-send: pending again, not lost
                raise
        return report

    def _send(self, batch: Sequence[Mapping[str, Any]], report: DeliveryReport) -> None:
        ids = [str(row["alert_id"]) for row in batch]
        try:
            self.sink.send(batch)
        except DeliveryRejectedError as error:
            if len(batch) > 1:
                # A batch refused as a whole (one bad record fails an Azure upload): find which
                # alert is refused by sending them one by one; only that one is dead-lettered.
                log.warning(
                    "a batch of %d alerts was refused (HTTP %d); sending them one by one",
                    len(batch),
                    error.status,
                )
                for row in batch:
                    self._send([row], report)
                return
            log.error("alert %s dead-lettered (HTTP %d): %s", ids[0], error.status, error.reason)
            self.state.mark_rejected(ids, error.status, error.reason)
            report.rejected[ids[0]] = error.status
            return
        self.state.mark_delivered(ids)  # only after the endpoint confirmed
        report.delivered.extend(ids)
        log.info("delivered %d alert(s)", len(ids))
