"""Alert delivery guarantees: exactly once under concurrent deliverers, Retry-After, per-alert dead
letters inside a refused batch, no secret in any log line, ``--follow`` outliving errors."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from email.utils import format_datetime
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from pytest_httpserver import HTTPServer
from serving_gold_fixture import ALERT_DQ, ALERT_PAYMENT, ALERT_SLA
from serving_http import ScriptedServer
from werkzeug import Request, Response

from orders_lakehouse.cli import main
from orders_lakehouse.serving import cli as serving_cli
from orders_lakehouse.serving.alerts import AlertDeliverer, AzureMonitorSink, DeliveryState, WebhookSink
from orders_lakehouse.serving.alerts.azure_token import StaticToken
from orders_lakehouse.serving.alerts.sinks import DeliveryFailedError, retry_after_seconds
from orders_lakehouse.serving.backends.base import BackendError
from orders_lakehouse.serving.backends.local import LocalDeltaBackend

IN_ORDER = [ALERT_DQ, ALERT_SLA, ALERT_PAYMENT]
HOOK_SECRET_PATH = "/services/T0001/B0002/xoxb-path-secret-4242"
SIGNING_SECRET = "whsec-signing-secret-777"


def test_two_concurrent_deliverer_processes_send_each_alert_exactly_once(
    gold_storage: Path, httpserver: HTTPServer, tmp_path: Path
) -> None:
    received: list[str] = []

    def slow_receiver(request: Request) -> Response:
        received.append(request.headers["Idempotency-Key"])
        time.sleep(0.3)  # both deliverers are mid-round at the same time
        return Response("", status=200)

    httpserver.expect_request("/hook", method="POST").respond_with_handler(slow_receiver)
    state = tmp_path / "shared.sqlite"
    env = {**os.environ, "ORDERS_API_ALERTS_WEBHOOK_SECRET": SIGNING_SECRET}
    command = [
        sys.executable,
        "-m",
        "orders_lakehouse.cli",
        "alerts",
        "deliver",
        "--storage",
        str(gold_storage),
        "--sink",
        "webhook",
        "--webhook-url",
        httpserver.url_for("/hook"),
        "--state",
        str(state),
    ]
    processes = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]
    assert [process.returncode for process in processes] == [0, 0], outputs
    assert sorted(received) == sorted(IN_ORDER)  # 3 POSTs in all: none lost, none doubled
    delivered = [int(out.split()[1].rstrip(",")) for out, _ in outputs]
    assert sum(delivered) == 3
    assert sorted(DeliveryState(state).delivered) == sorted(IN_ORDER)


def test_retry_after_is_honoured_in_seconds_and_as_a_date(
    gold_storage: Path, http_server: ScriptedServer, tmp_path: Path
) -> None:
    now = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)  # the sink's clock, fixed: no timing involved
    later = format_datetime(now + timedelta(seconds=30), usegmt=True)
    http_server.script("/hook", (429, None, {"Retry-After": "7"}), (503, None, {"Retry-After": later}))
    sleeps: list[float] = []
    with httpx.Client(timeout=5) as client:
        sink = WebhookSink(
            client,
            http_server.url + "/hook",
            secret=SIGNING_SECRET,
            max_attempts=3,
            backoff=0.5,
            backoff_max=2.0,
            sleep=sleeps.append,
            clock=now.timestamp,
        )
        report = AlertDeliverer(
            LocalDeltaBackend(gold_storage), sink, DeliveryState(tmp_path / "s.sqlite")
        ).deliver_pending()
    assert report.delivered == IN_ORDER
    assert sleeps == [7.0, 30.0]  # the server's seconds, then its HTTP date: not our backoff
    assert len(http_server.to("/hook")) == 5


def test_a_too_long_retry_after_keeps_alerts_pending(
    gold_storage: Path, http_server: ScriptedServer, tmp_path: Path
) -> None:
    http_server.script("/hook", (503, None, {"Retry-After": "3600"}))
    with httpx.Client(timeout=5) as client:
        sink = WebhookSink(client, http_server.url + "/hook", secret=SIGNING_SECRET, sleep=lambda _: None)
        report = AlertDeliverer(
            LocalDeltaBackend(gold_storage), sink, DeliveryState(tmp_path / "s.sqlite")
        ).deliver_pending()
    assert report.error == (
        "HTTP 503: the endpoint asks to wait 3600 s; the alerts stay pending for a later round"
    )
    assert (report.delivered, DeliveryState(tmp_path / "s.sqlite").done_ids()) == ([], set())


def test_backoff_without_retry_after_is_jittered_and_bounded(
    gold_storage: Path, http_server: ScriptedServer, tmp_path: Path
) -> None:
    http_server.script("/hook", *[(500, None)] * 4)
    sleeps: list[float] = []
    with httpx.Client(timeout=5) as client:
        sink = WebhookSink(
            client,
            http_server.url + "/hook",
            secret=SIGNING_SECRET,
            max_attempts=5,
            backoff=1.0,
            backoff_max=4.0,
            sleep=sleeps.append,
        )
        report = AlertDeliverer(
            LocalDeltaBackend(gold_storage), sink, DeliveryState(tmp_path / "s.sqlite")
        ).deliver_pending()
    assert report.delivered == IN_ORDER
    assert len(sleeps) == 4
    # Full jitter: each wait is uniform in [0, min(1 * 2^n, 4)].
    assert all(0 <= wait <= bound for wait, bound in zip(sleeps, [1, 2, 4, 4], strict=True)), sleeps
    assert len(set(sleeps)) > 1


def test_retry_after_parsing() -> None:
    assert retry_after_seconds("120") == 120.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=lambda: 1445412480.0 - 10) == 10.0
    assert (retry_after_seconds(None), retry_after_seconds("soon")) == (None, None)


STREAM = "/dataCollectionRules/dcr-1/streams/Custom-OrderAlerts_CL"


def test_a_refused_azure_batch_dead_letters_only_the_refused_alert(
    gold_storage: Path, http_server: ScriptedServer, tmp_path: Path
) -> None:
    def ingest(request: object) -> tuple[int, object]:
        records = request.json()  # type: ignore[attr-defined]
        # The endpoint refuses any upload containing the SLA alert (as one bad record fails a batch).
        if any(r["AlertId"] == ALERT_SLA for r in records):
            return 400, {"error": {"code": "InvalidContent", "message": "record 'Dimension' too long"}}
        return 204, None

    http_server.handlers[STREAM] = ingest
    with httpx.Client(timeout=5) as client:
        sink = AzureMonitorSink(
            client,
            StaticToken("t"),
            endpoint=http_server.url,
            dcr_immutable_id="dcr-1",
            stream_name="Custom-OrderAlerts_CL",
            max_batch=2,
            sleep=lambda _: None,
        )
        report = AlertDeliverer(
            LocalDeltaBackend(gold_storage), sink, DeliveryState(tmp_path / "s.sqlite")
        ).deliver_pending()
    assert (report.delivered, report.rejected) == ([ALERT_DQ, ALERT_PAYMENT], {ALERT_SLA: 400})
    uploads = [[r["AlertId"] for r in request.json()] for request in http_server.to(STREAM)]
    assert uploads == [[ALERT_DQ, ALERT_SLA], [ALERT_DQ], [ALERT_SLA], [ALERT_PAYMENT]]
    [letter] = DeliveryState(tmp_path / "s.sqlite").dead_letters()
    assert (letter.alert_id, letter.http_status) == (ALERT_SLA, 400)


def test_no_secret_in_any_log_line_of_a_delivery_run(
    gold_storage: Path,
    http_server: ScriptedServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ORDERS_API_ALERTS_WEBHOOK_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("ORDERS_API_ALERTS_BACKOFF_SECONDS", "0.01")
    monkeypatch.setenv("ORDERS_API_ALERTS_MAX_ATTEMPTS", "2")
    # A retry, a permanent refusal and a configuration error: every log path of a round.
    http_server.script(HOOK_SECRET_PATH, (500, None), (200, None), (422, {"error": "bad"}), (404, None))
    url = http_server.url + HOOK_SECRET_PATH
    argv = [
        "-v",
        "alerts",
        "deliver",
        "--storage",
        str(gold_storage),
        "--sink",
        "webhook",
        "--webhook-url",
        url,
        "--state",
        str(tmp_path / "s.sqlite"),
    ]
    with caplog.at_level(logging.DEBUG):
        assert main(argv) == 1
        # An unreachable endpoint and a malformed URL, too.
        with socket_closed_url() as closed:
            assert main([*argv[:-4], "--webhook-url", closed + HOOK_SECRET_PATH, *argv[-2:]]) == 1
        assert main([*argv[:-4], "--webhook-url", "ftp:/" + HOOK_SECRET_PATH, *argv[-2:]]) == 2
    out, err = capsys.readouterr()
    # Every record of this process except the receiving test server's own access log (werkzeug).
    ours = [r for r in caplog.records if not r.name.startswith("werkzeug")]
    everything = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in ours) + out + err
    assert "HTTP 500" in everything and "dead-lettered" in everything  # the run did log
    for secret in ("xoxb-path-secret-4242", "B0002", SIGNING_SECRET):
        assert secret not in everything
    assert not [r for r in ours if r.name.startswith(("httpx", "httpcore"))]  # URL-bearing lines are off


class socket_closed_url:  # noqa: N801 - used as a context manager name
    """A URL of a loopback port nothing listens on."""

    def __enter__(self) -> str:
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            return f"http://127.0.0.1:{probe.getsockname()[1]}"

    def __exit__(self, *exc: object) -> None:
        return None


def test_follow_survives_errors_with_backoff_and_logs_them(
    gold_storage: Path,
    http_server: ScriptedServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ORDERS_API_ALERTS_WEBHOOK_SECRET", SIGNING_SECRET)
    real = AlertDeliverer.deliver_pending
    failures = iter([RuntimeError("disk hiccup"), BackendError("table 'gold_order_alerts' cannot be read")])

    def flaky(self: AlertDeliverer) -> object:
        error = next(failures, None)
        if error is not None:
            raise error
        return real(self)

    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 3:
            raise KeyboardInterrupt  # Ctrl-C after the good round

    monkeypatch.setattr(AlertDeliverer, "deliver_pending", flaky)
    monkeypatch.setattr(serving_cli, "_pause", sleep)
    argv = [
        "alerts",
        "deliver",
        "--storage",
        str(gold_storage),
        "--sink",
        "webhook",
        "--webhook-url",
        http_server.url + "/hook",
        "--state",
        str(tmp_path / "s.sqlite"),
        "--follow",
        "--interval",
        "10",
    ]
    with caplog.at_level(logging.ERROR):
        assert main(argv) == 0
    assert "delivery round failed: RuntimeError: disk hiccup" in caplog.text
    assert "cannot read alerts: BackendError: table 'gold_order_alerts' cannot be read" in caplog.text
    assert capsys.readouterr().out == "delivered 3, dead-lettered 0, already done 0\n"
    # Jittered doubling after each failure in a row, then the normal interval.
    assert 5 <= sleeps[0] <= 10 and 10 <= sleeps[1] <= 20 and sleeps[2] == 10
    assert len(http_server.to("/hook")) == 3


def test_delivery_failed_error_is_not_retryable_by_the_poster() -> None:
    assert not issubclass(DeliveryFailedError, httpx.HTTPError)
