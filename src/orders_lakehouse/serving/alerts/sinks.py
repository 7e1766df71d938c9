"""Where alerts go: a webhook (one signed JSON POST per alert) or Azure Monitor (a JSON array per upload).

Both classify answers the same way (:func:`classify`): 2xx and 409 ("already have it") are
delivered; 408, 425, 429 and 5xx and transport errors are retried with jittered exponential
backoff (tenacity), honouring ``Retry-After``; 400, 413 and 422 refuse *that payload* for good
(:class:`DeliveryRejectedError`, dead-lettered); anything else (3xx, 401/403, 404, 405, 415, …)
is a configuration problem, not the alert's: the round stops with the alerts kept pending.
No URL path, query or token ever reaches a log line or an error message.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import httpx
from tenacity import RetryCallState, RetryError, Retrying, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_random_exponential

from orders_lakehouse.serving.alerts.redact import redact_url

log = logging.getLogger(__name__)
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
PERMANENT_STATUSES = frozenset({400, 413, 422})  # the payload itself is refused
ALREADY_DELIVERED = 409
SIGNATURE_HEADER = "X-Orders-Signature"


class DeliveryRejectedError(RuntimeError):
    """The endpoint refused this payload for good: retrying it would not help (dead letter)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"endpoint rejected the alert: HTTP {status}: {reason}")
        self.status = status
        self.reason = reason


class DeliveryFailedError(RuntimeError):
    """The endpoint could not be reached, kept failing, or refused our configuration: try later."""


class _Retryable(Exception):
    """A transient failure worth another attempt, maybe after the server's ``Retry-After``."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


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


def retry_after_seconds(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date (RFC 9110); None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(moment.timestamp() - now(), 0.0)


def classify(response: httpx.Response) -> str:
    """``delivered``, ``retry``, ``rejected`` (this payload, for good) or ``stop`` (fix the setup)."""
    code = response.status_code
    if response.is_success or code == ALREADY_DELIVERED:
        return "delivered"
    if code in RETRYABLE_STATUSES or code >= 500:
        return "retry"
    if code in PERMANENT_STATUSES:
        return "rejected"
    return "stop"


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """``t=<unix>,v1=<hex HMAC-SHA256 of "<t>." + body>``: the receiver recomputes and compares."""
    digest = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


class _RetryingPoster:
    """POSTs JSON with the retry policy shared by the sinks."""

    def __init__(
        self,
        client: httpx.Client,
        *,
        max_attempts: int,
        backoff: float,
        backoff_max: float,
        retry_after_max: float = 300.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._clock = clock
        self._jitter = wait_random_exponential(multiplier=backoff, max=backoff_max)  # "full jitter"
        self._retry_after_max = retry_after_max
        self._retrying = Retrying(
            stop=stop_after_attempt(max_attempts),
            wait=self._wait,
            retry=retry_if_exception_type(_Retryable),
            before_sleep=self._log_retry,
            sleep=sleep,
        )

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _Retryable) and error.retry_after is not None:
            return error.retry_after  # the server said when; no jitter on top
        return self._jitter(state)

    @staticmethod
    def _log_retry(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning("attempt %d failed (%s); retrying in %.2f s", state.attempt_number, error, wait)

    def post(self, url: str, body: bytes, headers: Callable[[], Mapping[str, str]]) -> httpx.Response:
        """POST ``body`` until delivered, rejected, or out of attempts (``headers`` built per attempt)."""
        try:
            return self._retrying(self._attempt, url, body, headers)
        except RetryError as error:
            cause = error.last_attempt.exception()
            raise DeliveryFailedError(
                f"gave up after {error.last_attempt.attempt_number} attempts: {cause}"
            ) from None

    def _attempt(self, url: str, body: bytes, headers: Callable[[], Mapping[str, str]]) -> httpx.Response:
        try:
            response = self._client.post(
                url, content=body, headers={"Content-Type": "application/json", **headers()}
            )
        except httpx.TransportError as error:
            # The message of a transport error can hold the URL: keep only the kind.
            raise _Retryable(f"{type(error).__name__} to {redact_url(url)}") from None
        verdict = classify(response)
        if verdict == "delivered":
            return response
        if verdict == "retry":
            retry_after = retry_after_seconds(response.headers.get("Retry-After"), self._clock)
            if retry_after is not None and retry_after > self._retry_after_max:
                raise DeliveryFailedError(
                    f"HTTP {response.status_code}: the endpoint asks to wait {retry_after:.0f} s; "
                    "the alerts stay pending for a later round"
                )
            raise _Retryable(f"HTTP {response.status_code}", retry_after)
        if verdict == "rejected":
            raise DeliveryRejectedError(response.status_code, response.text[:500])
        raise DeliveryFailedError(
            f"endpoint refused the request: HTTP {response.status_code} (check the sink configuration: "
            "URL, credentials); the alerts stay pending"
        )


class WebhookSink:
    """One POST per alert: the alert as JSON, ``Idempotency-Key: <alert_id>`` and an HMAC signature."""

    max_batch = 1

    def __init__(
        self,
        client: httpx.Client,
        url: str,
        *,
        secret: str,
        max_attempts: int = 5,
        backoff: float = 1.0,
        backoff_max: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url
        self._secret = secret.encode()
        self._clock = clock
        self._poster = _RetryingPoster(
            client,
            max_attempts=max_attempts,
            backoff=backoff,
            backoff_max=backoff_max,
            sleep=sleep,
            clock=clock,
        )

    def __repr__(self) -> str:  # never the URL: it may hold the hook's secret
        return f"WebhookSink({redact_url(self.url)})"

    def send(self, alerts: Sequence[Mapping[str, Any]]) -> None:
        """POST each alert (in order), signed afresh on every attempt (the timestamp moves)."""
        for alert in alerts:
            body = _encode({"source": "orders-lakehouse", "alert": dict(alert)})

            def headers(body: bytes = body, alert_id: str = str(alert["alert_id"])) -> dict[str, str]:
                return {
                    "Idempotency-Key": alert_id,
                    SIGNATURE_HEADER: sign(self._secret, int(self._clock()), body),
                }

            self._poster.post(self.url, body, headers)


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
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = f"{endpoint.rstrip('/')}/dataCollectionRules/{dcr_immutable_id}/streams/{stream_name}"
        self.api_version = api_version
        self.max_batch = max_batch
        self._tokens = token_provider
        self._poster = _RetryingPoster(
            client, max_attempts=max_attempts, backoff=backoff, backoff_max=backoff_max, sleep=sleep
        )

    def _token(self) -> str:
        try:
            return self._tokens.token()
        except httpx.HTTPStatusError as error:
            # Without a token nothing can be sent: stop the round, keep the alerts pending.
            raise DeliveryFailedError(
                "could not get an Azure Monitor token: "
                f"HTTP {error.response.status_code} from the token endpoint"
            ) from None
        except (httpx.HTTPError, KeyError, ValueError) as error:
            raise DeliveryFailedError(
                f"could not get an Azure Monitor token: {type(error).__name__}"
            ) from None

    def send(self, alerts: Sequence[Mapping[str, Any]]) -> None:
        """Upload ``alerts`` as one JSON array."""
        ids = ",".join(sorted(str(a["alert_id"]) for a in alerts))
        request_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"orders-lakehouse-alerts:{ids}"))

        def headers() -> dict[str, str]:
            return {"Authorization": f"Bearer {self._token()}", "x-ms-client-request-id": request_id}

        self._poster.post(
            f"{self.url}?api-version={self.api_version}", _encode([to_log_record(a) for a in alerts]), headers
        )
