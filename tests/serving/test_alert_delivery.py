"""Alert delivery against a real local HTTP server: webhook and Azure Monitor Logs Ingestion."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import uuid
from pathlib import Path

import httpx
import pytest
from serving_gold_fixture import ALERT_DQ, ALERT_PAYMENT, ALERT_SLA
from serving_http import ScriptedServer

from orders_lakehouse.serving.alerts import (
    AlertDeliverer,
    AzureMonitorSink,
    DeliveryState,
    WebhookSink,
)
from orders_lakehouse.serving.alerts.azure_token import ClientCredentialsToken, StaticToken
from orders_lakehouse.serving.alerts.factory import build_sink
from orders_lakehouse.serving.backends.local import LocalDeltaBackend
from orders_lakehouse.serving.settings import Settings, SettingsError

HOOK = "/hook"
# Oldest window first; the data-quality alert has no window and goes first.
IN_ORDER = [ALERT_DQ, ALERT_SLA, ALERT_PAYMENT]
FAST = {"max_attempts": 3, "backoff": 0.01, "backoff_max": 0.02}
SECRET = "whsec-0123456789abcdef"


@pytest.fixture()
def http_client() -> httpx.Client:
    with httpx.Client(timeout=5) as client:
        yield client


def _webhook_deliverer(
    gold: Path, server: ScriptedServer, client: httpx.Client, state: Path
) -> AlertDeliverer:
    return AlertDeliverer(
        LocalDeltaBackend(gold),
        WebhookSink(client, server.url + HOOK, secret=SECRET, **FAST),
        DeliveryState.load(state),
    )


def test_webhook_delivers_each_alert_once_with_an_idempotency_key(
    gold_storage: Path, http_server: ScriptedServer, http_client: httpx.Client, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    report = _webhook_deliverer(gold_storage, http_server, http_client, state).deliver_pending()
    assert (report.delivered, report.rejected, report.error, report.ok) == (IN_ORDER, {}, None, True)
    requests = http_server.to(HOOK)
    assert [r.headers["idempotency-key"] for r in requests] == IN_ORDER
    assert {r.headers["content-type"] for r in requests} == {"application/json"}
    assert requests[2].json() == {
        "source": "orders-lakehouse",
        "alert": {
            "alert_id": ALERT_PAYMENT,
            "rule": "payment_failure_rate",
            "severity": "high",
            "window_start": "2026-11-29T10:00:00+00:00",
            "window_end": "2026-11-29T10:05:00+00:00",
            "dimension": "all",
            "observed_value": 0.375,
            "threshold": 0.2,
            "message": "payment failure rate 0.38 above 0.20 (3 failed, 5 paid)",
        },
    }
    saved = DeliveryState(state)
    assert (sorted(saved.delivered), saved.dead_letters()) == (sorted(IN_ORDER), [])
    # Each body is signed: HMAC-SHA256 over "<timestamp>." + body with the shared secret.
    for request in requests:
        timestamp, signature = (
            part.split("=", 1)[1] for part in request.headers["x-orders-signature"].split(",")
        )
        expected = hmac.new(
            SECRET.encode(), timestamp.encode() + b"." + request.body, hashlib.sha256
        ).hexdigest()
        assert hmac.compare_digest(signature, expected)


def test_no_redelivery_after_restart(
    gold_storage: Path, http_server: ScriptedServer, http_client: httpx.Client, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    _webhook_deliverer(gold_storage, http_server, http_client, state).deliver_pending()
    # A new process: a fresh deliverer that only knows the state file.
    again = _webhook_deliverer(gold_storage, http_server, http_client, state).deliver_pending()
    assert (again.delivered, again.skipped) == ([], 3)
    assert len(http_server.to(HOOK)) == 3


def test_retry_on_500_then_delivered(
    gold_storage: Path, http_server: ScriptedServer, http_client: httpx.Client, tmp_path: Path
) -> None:
    http_server.script(HOOK, (500, {"error": "boom"}), (503, None))
    report = _webhook_deliverer(gold_storage, http_server, http_client, tmp_path / "s.json").deliver_pending()
    assert report.delivered == IN_ORDER
    # The first alert took three attempts (500, 503, 200), the others one each.
    assert [r.headers["idempotency-key"] for r in http_server.to(HOOK)] == [ALERT_DQ, ALERT_DQ, *IN_ORDER]


def test_persistent_5xx_stops_the_round_and_keeps_alerts_pending(
    gold_storage: Path, http_server: ScriptedServer, http_client: httpx.Client, tmp_path: Path
) -> None:
    state = tmp_path / "s.json"
    http_server.script(HOOK, (200, None), (500, None), (500, None), (500, None))
    report = _webhook_deliverer(gold_storage, http_server, http_client, state).deliver_pending()
    assert report.delivered == [ALERT_DQ]
    assert report.error == "gave up after 3 attempts: HTTP 500"
    assert len(http_server.to(HOOK)) == 4
    later = _webhook_deliverer(gold_storage, http_server, http_client, state).deliver_pending()
    assert later.delivered == [ALERT_SLA, ALERT_PAYMENT]


def test_unreachable_endpoint_is_retried_then_reported(
    gold_storage: Path, http_client: httpx.Client, tmp_path: Path
) -> None:
    with socket.socket() as probe:  # a port nothing listens on any more
        probe.bind(("127.0.0.1", 0))
        closed_url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    deliverer = AlertDeliverer(
        LocalDeltaBackend(gold_storage),
        WebhookSink(http_client, closed_url + HOOK, secret=SECRET, **FAST),
        DeliveryState.load(tmp_path / "s.json"),
    )
    report = deliverer.deliver_pending()
    assert report.delivered == []
    assert report.error == f"gave up after 3 attempts: ConnectError to {closed_url}/…"
    assert DeliveryState(tmp_path / "s.json").done_ids() == set()  # nothing recorded, all pending


def test_permanent_4xx_dead_letters_that_alert_only(
    gold_storage: Path, http_server: ScriptedServer, http_client: httpx.Client, tmp_path: Path
) -> None:
    state = tmp_path / "s.json"
    http_server.script(HOOK, (422, {"error": "unknown rule"}))
    report = _webhook_deliverer(gold_storage, http_server, http_client, state).deliver_pending()
    assert report.rejected == {ALERT_DQ: 422}
    assert report.delivered == [ALERT_SLA, ALERT_PAYMENT]
    assert report.ok is False
    [letter] = DeliveryState(state).dead_letters()
    assert (letter.alert_id, letter.http_status, letter.reason) == (
        ALERT_DQ,
        422,
        '{"error": "unknown rule"}',
    )
    assert len(http_server.to(HOOK)) == 3  # one attempt for the rejected alert
    later = _webhook_deliverer(gold_storage, http_server, http_client, state).deliver_pending()
    assert (later.delivered, later.rejected, later.skipped) == ([], {}, 3)
    assert len(http_server.to(HOOK)) == 3


def test_409_means_the_receiver_already_has_it(
    gold_storage: Path, http_server: ScriptedServer, http_client: httpx.Client, tmp_path: Path
) -> None:
    http_server.script(HOOK, (409, {"error": "duplicate idempotency key"}))
    report = _webhook_deliverer(gold_storage, http_server, http_client, tmp_path / "s.json").deliver_pending()
    assert report.delivered == IN_ORDER


@pytest.mark.parametrize("status", [301, 302, 401, 403, 404, 405, 415, 418])
def test_configuration_errors_stop_the_round_and_keep_every_alert_pending(
    gold_storage: Path, http_server: ScriptedServer, http_client: httpx.Client, tmp_path: Path, status: int
) -> None:
    http_server.script(HOOK, (status, None, {"Location": "https://elsewhere.example/hook"}))
    state = tmp_path / "s.sqlite"
    report = _webhook_deliverer(gold_storage, http_server, http_client, state).deliver_pending()
    assert (report.delivered, report.rejected) == ([], {})
    assert report.error == (
        f"endpoint refused the request: HTTP {status} (check the sink configuration: URL, credentials); "
        "the alerts stay pending"
    )
    assert len(http_server.to(HOOK)) == 1
    # Nothing was dead-lettered: once fixed, the next round delivers all three.
    later = _webhook_deliverer(gold_storage, http_server, http_client, state).deliver_pending()
    assert later.delivered == IN_ORDER


STREAM_PATH = "/dataCollectionRules/dcr-00000000000000000000000000000000/streams/Custom-OrderAlerts_CL"


def test_azure_monitor_upload_shape(
    gold_storage: Path, http_server: ScriptedServer, http_client: httpx.Client, tmp_path: Path
) -> None:
    http_server.default = (204, None)
    sink = AzureMonitorSink(
        http_client,
        StaticToken("aad-token"),
        endpoint=http_server.url + "/",
        dcr_immutable_id="dcr-00000000000000000000000000000000",
        stream_name="Custom-OrderAlerts_CL",
        max_batch=2,
        **FAST,
    )
    report = AlertDeliverer(
        LocalDeltaBackend(gold_storage), sink, DeliveryState.load(tmp_path / "s.json")
    ).deliver_pending()
    assert report.delivered == IN_ORDER
    first, second = http_server.to(STREAM_PATH)
    assert first.query == {"api-version": ["2023-01-01"]}
    assert first.headers["authorization"] == "Bearer aad-token"
    batch_ids = ",".join(sorted([ALERT_DQ, ALERT_SLA]))
    assert first.headers["x-ms-client-request-id"] == str(
        uuid.uuid5(uuid.NAMESPACE_URL, f"orders-lakehouse-alerts:{batch_ids}")
    )
    assert [r["AlertId"] for r in first.json()] == [ALERT_DQ, ALERT_SLA]
    assert second.json() == [
        {
            "TimeGenerated": "2026-11-29T10:05:00+00:00",
            "AlertId": ALERT_PAYMENT,
            "Rule": "payment_failure_rate",
            "Severity": "high",
            "WindowStart": "2026-11-29T10:00:00+00:00",
            "WindowEnd": "2026-11-29T10:05:00+00:00",
            "Dimension": "all",
            "ObservedValue": 0.375,
            "Threshold": 0.2,
            "Message": "payment failure rate 0.38 above 0.20 (3 failed, 5 paid)",
        }
    ]


def test_azure_client_credentials_token_is_fetched_once_and_cached(
    http_server: ScriptedServer, http_client: httpx.Client
) -> None:
    http_server.script(
        "/tenant-1/oauth2/v2.0/token",
        (200, {"access_token": "tok-1", "expires_in": 3599, "token_type": "Bearer"}),
    )
    tokens = ClientCredentialsToken(
        http_client,
        authority=http_server.url,
        tenant_id="tenant-1",
        client_id="app-1",
        client_secret="s3cret",
    )
    assert (tokens.token(), tokens.token()) == ("tok-1", "tok-1")
    [request] = http_server.to("/tenant-1/oauth2/v2.0/token")
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert dict(pair.split("=", 1) for pair in request.body.decode().split("&")) == {
        "grant_type": "client_credentials",
        "client_id": "app-1",
        "client_secret": "s3cret",
        "scope": "https%3A%2F%2Fmonitor.azure.com%2F%2F.default",
    }


def test_build_sink_from_settings(http_client: httpx.Client, tmp_path: Path) -> None:
    webhook = build_sink(
        Settings(
            storage=tmp_path,
            alerts_sink="webhook",
            alerts_webhook_url="http://127.0.0.1:9/hook",
            alerts_webhook_secret=SECRET,
        ),
        http_client,
    )
    assert isinstance(webhook, WebhookSink) and webhook.url == "http://127.0.0.1:9/hook"
    azure = build_sink(
        Settings(
            storage=tmp_path,
            alerts_sink="azure_monitor",
            azure_monitor_endpoint="https://dce-1.westeurope-1.ingest.monitor.azure.com",
            azure_monitor_dcr_immutable_id="dcr-1",
            azure_monitor_stream_name="Custom-A_CL",
            azure_tenant_id="t",
            azure_client_id="c",
            azure_client_secret="s",
        ),
        http_client,
    )
    assert isinstance(azure, AzureMonitorSink)
    assert (
        azure.url
        == "https://dce-1.westeurope-1.ingest.monitor.azure.com/dataCollectionRules/dcr-1/streams/Custom-A_CL"
    )
    with pytest.raises(SettingsError, match="alerts_sink='azure_monitor' needs azure_monitor_token or"):
        build_sink(
            Settings(
                storage=tmp_path,
                alerts_sink="azure_monitor",
                azure_monitor_endpoint="https://dce-1.example",
                azure_monitor_dcr_immutable_id="dcr-1",
                azure_monitor_stream_name="Custom-A_CL",
            ),
            http_client,
        )


def test_state_database_claims_dead_letters_and_retries(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "state.sqlite"
    state = DeliveryState(path)
    assert state.claim(["a", "b", "c"], "one") == ["a", "b", "c"]
    assert state.claim(["a", "b", "c", "d"], "two") == ["d"]  # held by "one"
    state.mark_delivered(["a"])
    state.mark_rejected(["b"], 400, "bad")
    state.release(["c"], "one")
    assert DeliveryState(path).claim(["c"], "two") == ["c"]  # released: pending again
    loaded = DeliveryState(path)
    assert (loaded.done_ids(), [(d.alert_id, d.http_status) for d in loaded.dead_letters()]) == (
        {"a", "b"},
        [("b", 400)],
    )
    assert loaded.retry(["b", "zzz"]) == ["b"]
    assert loaded.done_ids() == {"a"}
    # A claim whose owner died is taken over once its lease ran out.
    expired = DeliveryState(path, lease_seconds=0.0)
    assert expired.claim(["d"], "three") == ["d"]


def test_legacy_json_state_is_imported_once(tmp_path: Path) -> None:
    (tmp_path / "alert-delivery.json").write_text(
        json.dumps(
            {
                "version": 1,
                "delivered": {"a": "2026-11-29T10:00:00+00:00"},
                "rejected": {"b": {"status": 400, "reason": "bad", "at": "2026-11-29T10:00:00+00:00"}},
            }
        )
    )
    state = DeliveryState(tmp_path / "alert-delivery.sqlite")
    assert (sorted(state.delivered), [d.alert_id for d in state.dead_letters()]) == (["a"], ["b"])


def test_azure_token_failure_stops_the_round_without_uploading(
    gold_storage: Path, http_server: ScriptedServer, http_client: httpx.Client, tmp_path: Path
) -> None:
    http_server.script("/tenant-1/oauth2/v2.0/token", (401, {"error": "invalid_client"}))
    tokens = ClientCredentialsToken(
        http_client, authority=http_server.url, tenant_id="tenant-1", client_id="app-1", client_secret="wrong"
    )
    sink = AzureMonitorSink(
        http_client,
        tokens,
        endpoint=http_server.url,
        dcr_immutable_id="dcr-00000000000000000000000000000000",
        stream_name="Custom-OrderAlerts_CL",
        **FAST,
    )
    report = AlertDeliverer(
        LocalDeltaBackend(gold_storage), sink, DeliveryState.load(tmp_path / "s.json")
    ).deliver_pending()
    assert report.delivered == []
    assert report.error == "could not get an Azure Monitor token: HTTP 401 from the token endpoint"
    assert http_server.to(STREAM_PATH) == []
    assert DeliveryState(tmp_path / "s.json").done_ids() == set()
