"""``orders-lakehouse alerts deliver`` and ``serve`` argument handling, through the real entry point."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from serving_gold_fixture import ALERT_DQ, ALERT_PAYMENT, ALERT_SLA
from serving_http import ScriptedServer

from orders_lakehouse.cli import main
from orders_lakehouse.serving.alerts import DeliveryState


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ORDERS_API_ENV", "ORDERS_API_TOKEN", "ORDERS_API_STORAGE", "ORDERS_API_ALERTS_SINK"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ORDERS_API_ALERTS_WEBHOOK_SECRET", "whsec-cli-0123456789")
    monkeypatch.setenv("ORDERS_API_ALERTS_BACKOFF_SECONDS", "0.01")


def test_alerts_deliver_once_then_nothing_new(
    gold_storage: Path, http_server: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "delivered.sqlite"
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
        str(state),
    ]
    assert main(argv) == 0
    assert main(argv) == 0
    assert capsys.readouterr().out.splitlines() == [
        "delivered 3, dead-lettered 0, already done 0",
        "delivered 0, dead-lettered 0, already done 3",
    ]
    assert sorted(DeliveryState(state).delivered) == sorted([ALERT_DQ, ALERT_SLA, ALERT_PAYMENT])


def test_alerts_deliver_exit_1_on_rejection_then_retry_puts_it_back(
    gold_storage: Path, http_server: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    http_server.script("/hook", (400, {"error": "bad"}))
    state = ["--storage", str(gold_storage), "--state", str(tmp_path / "s.sqlite")]
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
    ]
    assert main(argv) == 1
    assert capsys.readouterr().out == "delivered 2, dead-lettered 1, already done 0\n"
    assert main(["alerts", "dead-letters", *state]) == 0
    [line] = capsys.readouterr().out.splitlines()
    assert line.startswith(f"{ALERT_DQ}\tHTTP 400\t") and line.endswith('\t{"error": "bad"}')
    assert main(["alerts", "retry", *state]) == 0
    assert capsys.readouterr().out == "1 dead-lettered alert(s) put back to pending\n"
    assert main(argv) == 0  # the endpoint was fixed: the dead letter goes out now
    assert capsys.readouterr().out == "delivered 1, dead-lettered 0, already done 2\n"
    assert [r.headers["idempotency-key"] for r in http_server.to("/hook")] == [
        ALERT_DQ,
        ALERT_SLA,
        ALERT_PAYMENT,
        ALERT_DQ,
    ]
    assert main(["alerts", "retry", "--id", "no-such-alert", *state]) == 1


def test_alerts_deliver_without_sink_is_exit_2(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        assert main(["alerts", "deliver", "--storage", str(tmp_path)]) == 2
    assert (
        "invalid settings: alerts_sink is not set (webhook or azure_monitor; ORDERS_API_ALERTS_SINK)"
        in caplog.text
    )


def test_serve_in_dev_mode_refuses_a_public_address(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        assert main(["serve", "--storage", str(tmp_path), "--dev", "--host", "0.0.0.0"]) == 2
    assert "invalid settings: dev mode has no auth: it listens on loopback only, not '0.0.0.0'" in caplog.text


def test_serve_without_token_outside_dev_is_exit_2(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        assert main(["serve", "--storage", str(tmp_path)]) == 2
    assert "invalid settings: token is required when env is 'prod' (set ORDERS_API_TOKEN)" in caplog.text
