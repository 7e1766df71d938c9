"""Alert delivery against a real local HTTP server: webhook and Azure Monitor Logs Ingestion."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx
import pytest
from serving_gold_fixture import ALERT_DQ, ALERT_PAYMENT, ALERT_SLA
from serving_http import RecordingServer

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


@pytest.fixture()
def http_client() -> httpx.Client:
    with httpx.Client(timeout=5) as client:
        yield client


def _webhook_deliverer(
    gold: Path, server: RecordingServer, client: httpx.Client, state: Path
) -> AlertDeliverer:
    return AlertDeliverer(
        LocalDeltaBackend(gold), WebhookSink(client, server.url + HOOK, **FAST), DeliveryState.load(state)
    )


def test_webhook_delivers_each_alert_once_with_an_idempotency_key(
    gold_storage: Path, http_server: RecordingServer, http_client: httpx.Client, tmp_path: Path
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
    saved = json.loads(state.read_text())
    assert (saved["version"], sorted(saved["delivered"]), saved["rejected"]) == (1, sorted(IN_ORDER), {})


def test_no_redelivery_after_restart(
    gold_storage: Path, http_server: RecordingServer, http_client: httpx.Client, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    _webhook_deliverer(gold_storage, http_server, http_client, state).deliver_pending()
    # A new process: a fresh deliverer that only knows the state file.
    again = _webhook_deliverer(gold_storage, http_server, http_client, state).deliver_pending()
    assert (again.delivered, again.skipped) == ([], 3)
    assert len(http_server.to(HOOK)) == 3


def test_retry_on_500_then_delivered(
    gold_storage: Path, http_server: RecordingServer, http_client: httpx.Client, tmp_path: Path
) -> None:
    http_server.script(HOOK, (500, {"error": "boom"}), (503, None))
    report = _webhook_deliverer(gold_storage, http_server, http_client, tmp_path / "s.json").deliver_pending()
    assert report.delivered == IN_ORDER
    # The first alert took three attempts (500, 503, 200), the others one each.
    assert [r.headers["idempotency-key"] for r in http_server.to(HOOK)] == [ALERT_DQ, ALERT_DQ, *IN_ORDER]


def test_persistent_5xx_stops_the_round_and_keeps_alerts_pending(
    gold_storage: Path, http_server: RecordingServer, http_client: httpx.Client, tmp_path: Path
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
    closed = RecordingServer()
    closed.start()
    closed.stop()  # nothing listens on that port any more
    deliverer = AlertDeliverer(
        LocalDeltaBackend(gold_storage),
        WebhookSink(http_client, closed.url + HOOK, **FAST),
        DeliveryState.load(tmp_path / "s.json"),
    )
    report = deliverer.deliver_pending()
    assert report.delivered == []
    assert report.error is not None and report.error.startswith("gave up after 3 attempts: ConnectError")
    assert not (tmp_path / "s.json").exists()


def test_4xx_is_reported_and_never_retried(
    gold_storage: Path, http_server: RecordingServer, http_client: httpx.Client, tmp_path: Path
) -> None:
    state = tmp_path / "s.json"
    http_server.script(HOOK, (422, {"error": "unknown rule"}))
    report = _webhook_deliverer(gold_storage, http_server, http_client, state).deliver_pending()
    assert report.rejected == {ALERT_DQ: 422}
    assert report.delivered == [ALERT_SLA, ALERT_PAYMENT]
    assert report.ok is False
    rejected = json.loads(state.read_text())["rejected"][ALERT_DQ]
    assert (rejected["status"], rejected["reason"]) == (422, '{"error": "unknown rule"}')
    assert len(http_server.to(HOOK)) == 3  # one attempt for the rejected alert
    later = _webhook_deliverer(gold_storage, http_server, http_client, state).deliver_pending()
    assert (later.delivered, later.rejected, later.skipped) == ([], {}, 3)
    assert len(http_server.to(HOOK)) == 3


def test_409_means_the_receiver_already_has_it(
    gold_storage: Path, http_server: RecordingServer, http_client: httpx.Client, tmp_path: Path
) -> None:
    http_server.script(HOOK, (409, {"error": "duplicate idempotency key"}))
    report = _webhook_deliverer(gold_storage, http_server, http_client, tmp_path / "s.json").deliver_pending()
    assert report.delivered == IN_ORDER


def test_401_stops_without_recording(
    gold_storage: Path, http_server: RecordingServer, http_client: httpx.Client, tmp_path: Path
) -> None:
    http_server.script(HOOK, (401, None))
    report = _webhook_deliverer(gold_storage, http_server, http_client, tmp_path / "s.json").deliver_pending()
    assert (report.delivered, report.rejected) == ([], {})
    assert report.error == "endpoint refused our credentials: HTTP 401"
    assert len(http_server.to(HOOK)) == 1


STREAM_PATH = "/dataCollectionRules/dcr-00000000000000000000000000000000/streams/Custom-OrderAlerts_CL"


def test_azure_monitor_upload_shape(
    gold_storage: Path, http_server: RecordingServer, http_client: httpx.Client, tmp_path: Path
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
    http_server: RecordingServer, http_client: httpx.Client
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
        Settings(storage=tmp_path, alerts_sink="webhook", alerts_webhook_url="http://127.0.0.1:9/hook"),
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


def test_state_file_is_replaced_atomically_and_versioned(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "state.json"
    state = DeliveryState.load(path)
    state.mark_delivered(["a"])
    state.mark_rejected(["b"], 400, "bad")
    assert sorted(p.name for p in path.parent.iterdir()) == ["state.json"]  # no temp file left behind
    loaded = DeliveryState.load(path)
    assert (
        list(loaded.delivered),
        loaded.rejected["b"]["status"],
        loaded.is_done("a"),
        loaded.is_done("c"),
    ) == (["a"], 400, True, False)
    path.write_text('{"version": 99}')
    with pytest.raises(ValueError, match="unsupported delivery state version 99"):
        DeliveryState.load(path)


def test_azure_token_failure_stops_the_round_without_uploading(
    gold_storage: Path, http_server: RecordingServer, http_client: httpx.Client, tmp_path: Path
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
    assert report.error is not None
    assert report.error.startswith("could not get an Azure Monitor token: Client error '401 Unauthorized'")
    assert http_server.to(STREAM_PATH) == []
    assert not (tmp_path / "s.json").exists()
