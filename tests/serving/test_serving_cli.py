"""``orders-lakehouse alerts deliver`` and ``serve`` argument handling, through the real entry point."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from serving_gold_fixture import ALERT_DQ, ALERT_PAYMENT, ALERT_SLA
from serving_http import RecordingServer

from orders_lakehouse.cli import main


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ORDERS_API_ENV", "ORDERS_API_TOKEN", "ORDERS_API_STORAGE", "ORDERS_API_ALERTS_SINK"):
        monkeypatch.delenv(name, raising=False)


def test_alerts_deliver_once_then_nothing_new(
    gold_storage: Path, http_server: RecordingServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "delivered.json"
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
        "delivered 3, rejected 0, already done 0",
        "delivered 0, rejected 0, already done 3",
    ]
    assert sorted(json.loads(state.read_text())["delivered"]) == sorted([ALERT_DQ, ALERT_SLA, ALERT_PAYMENT])


def test_alerts_deliver_exit_1_on_rejection(
    gold_storage: Path, http_server: RecordingServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    http_server.script("/hook", (400, {"error": "bad"}))
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
        str(tmp_path / "s.json"),
    ]
    assert main(argv) == 1
    assert capsys.readouterr().out == "delivered 2, rejected 1, already done 0\n"


def test_alerts_deliver_without_sink_is_exit_2(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        assert main(["alerts", "deliver", "--storage", str(tmp_path)]) == 2
    assert (
        "invalid settings: alerts_sink is not set (webhook or azure_monitor; ORDERS_API_ALERTS_SINK)"
        in caplog.text
    )


def test_serve_without_token_outside_dev_is_exit_2(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        assert main(["serve", "--storage", str(tmp_path)]) == 2
    assert "invalid settings: token is required when env is 'prod' (set ORDERS_API_TOKEN)" in caplog.text
