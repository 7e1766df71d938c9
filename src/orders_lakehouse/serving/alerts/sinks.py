"""Where alerts go: a webhook (one JSON POST per alert) or Azure Monitor (a JSON array per upload).

Both classify answers the same way: 2xx (and 409, "already have it") is delivered; 408, 429, 5xx
and transport errors are retried with exponential backoff (tenacity), then reported as
:class:`DeliveryFailedError`; any other 4xx is :class:`DeliveryRejectedError`, never retried.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Protocol

import httpx
from tenacity import (
    RetryError,
    Retrying,
    before_sleep_log,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

log = logging.getLogger(__name__)
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
AUTH_STATUSES = frozenset({401, 403})
ALREADY_DELIVERED = 409


class DeliveryRejectedError(RuntimeError):
    """The endpoint refused the request for good (a 4xx): retrying would not help."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"endpoint rejected the alert: HTTP {status}: {reason}")
        self.status = status
        self.reason = reason


class DeliveryFailedError(RuntimeError):
    """The endpoint could not be reached or kept failing after every retry."""


class _Retryable(Exception):
    """A transient failure worth another attempt."""


class Sink(Protocol):
    """Sends a batch of alerts; returns normally only when the endpoint confirmed all of them."""

    max_batch: int

    def send(self, alerts: Sequence[Mapping[str, Any]]) -> None:
        """Deliver ``alerts``; raises :class:`DeliveryRejectedError` or :class:`DeliveryFailedError`."""
        ...  # pragma: no cover


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def _encode(payload: Any) -> bytes:
    return json.dumps(payload, default=_json_default, separators=(",", ":")).encode("utf-8")


class _RetryingPoster:
    """POSTs JSON with the retry policy shared by the sinks."""

    def __init__(
        self, client: httpx.Client, *, max_attempts: int, backoff: float, backoff_max: float
    ) -> None:
        self._client = client
        self._retrying = Retrying(
            stop=stop_after_attempt(max_attempts),
            wait=wait_exponential(multiplier=backoff, max=backoff_max),
            retry=retry_if_exception_type(_Retryable),
            before_sleep=before_sleep_log(log, logging.WARNING),
        )

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> httpx.Response:
        try:
            return self._retrying(self._attempt, url, body, headers)
        except RetryError as error:
            cause = error.last_attempt.exception()
            raise DeliveryFailedError(
                f"gave up after {error.last_attempt.attempt_number} attempts: {cause}"
            ) from cause

    def _attempt(self, url: str, body: bytes, headers: Mapping[str, str]) -> httpx.Response:
        try:
            response = self._client.post(
                url, content=body, headers={"Content-Type": "application/json", **headers}
            )
        except httpx.TransportError as error:
            raise _Retryable(f"{type(error).__name__}: {error}") from error
        if response.status_code in RETRYABLE_STATUSES:
            raise _Retryable(f"HTTP {response.status_code}")
        if response.is_success or response.status_code == ALREADY_DELIVERED:
            return response
        if response.status_code in AUTH_STATUSES:
            # Not the alert's fault: stop the round without recording anything.
            raise DeliveryFailedError(f"endpoint refused our credentials: HTTP {response.status_code}")
        raise DeliveryRejectedError(response.status_code, response.text[:500])


class WebhookSink:
    """One POST per alert, the alert as a JSON object, ``Idempotency-Key: <alert_id>``."""

    max_batch = 1

    def __init__(
        self,
        client: httpx.Client,
        url: str,
        *,
        max_attempts: int = 5,
        backoff: float = 1.0,
        backoff_max: float = 30.0,
    ) -> None:
        self.url = url
        self._poster = _RetryingPoster(
            client, max_attempts=max_attempts, backoff=backoff, backoff_max=backoff_max
        )

    def send(self, alerts: Sequence[Mapping[str, Any]]) -> None:
        """POST each alert (in order)."""
        for alert in alerts:
            self._poster.post(
                self.url,
                _encode({"source": "orders-lakehouse", "alert": dict(alert)}),
                {"Idempotency-Key": str(alert["alert_id"])},
            )


def to_log_record(alert: Mapping[str, Any]) -> dict[str, Any]:
    """An alert as a row of the custom Log Analytics table (``TimeGenerated`` required by the API)."""
    moment = alert.get("window_end") or alert.get("window_start") or datetime.now(UTC)
    return {
        "TimeGenerated": moment,
        "AlertId": alert["alert_id"],
        "Rule": alert.get("rule"),
        "Severity": alert.get("severity"),
        "WindowStart": alert.get("window_start"),
        "WindowEnd": alert.get("window_end"),
        "Dimension": alert.get("dimension"),
        "ObservedValue": alert.get("observed_value"),
        "Threshold": alert.get("threshold"),
        "Message": alert.get("message"),
    }


class AzureMonitorSink:
    """Logs Ingestion API: ``POST {endpoint}/dataCollectionRules/{dcr}/streams/{stream}?api-version=``.

    The body is a JSON array of records matching the DCR stream declaration; success is 204. The
    ``x-ms-client-request-id`` is derived from the batch's alert ids, so a retried batch keeps its id.
    """

    def __init__(
        self,
        client: httpx.Client,
        token_provider: Any,
        *,
        endpoint: str,
        dcr_immutable_id: str,
        stream_name: str,
        api_version: str = "2023-01-01",
        max_batch: int = 100,
        max_attempts: int = 5,
        backoff: float = 1.0,
        backoff_max: float = 30.0,
    ) -> None:
        self.url = f"{endpoint.rstrip('/')}/dataCollectionRules/{dcr_immutable_id}/streams/{stream_name}"
        self.api_version = api_version
        self.max_batch = max_batch
        self._tokens = token_provider
        self._poster = _RetryingPoster(
            client, max_attempts=max_attempts, backoff=backoff, backoff_max=backoff_max
        )

    def _token(self) -> str:
        try:
            return self._tokens.token()
        except (httpx.HTTPError, KeyError, ValueError) as error:
            # Without a token nothing can be sent: stop the round, keep the alerts pending.
            raise DeliveryFailedError(f"could not get an Azure Monitor token: {error}") from error

    def send(self, alerts: Sequence[Mapping[str, Any]]) -> None:
        """Upload ``alerts`` as one JSON array."""
        ids = ",".join(sorted(str(a["alert_id"]) for a in alerts))
        headers = {
            "Authorization": f"Bearer {self._token()}",
            "x-ms-client-request-id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"orders-lakehouse-alerts:{ids}")),
        }
        self._poster.post(
            f"{self.url}?api-version={self.api_version}", _encode([to_log_record(a) for a in alerts]), headers
        )
