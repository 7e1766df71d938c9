"""Token auth outside dev, and the one settings object's validation."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from serving_gold_fixture import API_TOKEN as TOKEN

from orders_lakehouse.serving.app import create_app
from orders_lakehouse.serving.settings import Settings, SettingsError


def test_missing_token_is_401_with_challenge(secured_client: TestClient) -> None:
    response = secured_client.get("/kpis/status-funnel")
    assert (response.status_code, response.json()) == (
        401,
        {"code": "unauthorized", "detail": "missing bearer token"},
    )
    assert response.headers["www-authenticate"] == "Bearer"


def test_wrong_token_is_403(secured_client: TestClient) -> None:
    response = secured_client.get("/alerts", headers={"Authorization": "Bearer not-the-token"})
    assert (response.status_code, response.json()) == (
        403,
        {"code": "forbidden", "detail": "invalid bearer token"},
    )


def test_other_scheme_is_401(secured_client: TestClient) -> None:
    response = secured_client.get("/orders/o-1", headers={"Authorization": f"Basic {TOKEN}"})
    assert response.status_code == 401


@pytest.mark.parametrize(
    "path",
    [
        "/orders/o-1",
        "/kpis/sales-per-minute",
        "/kpis/payment-health",
        "/kpis/status-funnel",
        "/kpis/fulfillment-sla",
        "/kpis/top-products",
        "/alerts",
        "/data-quality",
    ],
)
def test_every_data_endpoint_needs_the_token(secured_client: TestClient, path: str) -> None:
    assert secured_client.get(path).status_code == 401
    assert secured_client.get(path, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_a_kept_answer_is_never_served_without_the_token(secured_client: TestClient) -> None:
    authorized = {"Authorization": f"Bearer {TOKEN}"}
    first = secured_client.get("/kpis/top-products", headers=authorized)
    again = secured_client.get("/kpis/top-products", headers=authorized)
    assert (first.status_code, again.content) == (200, first.content)
    assert secured_client.app.state.answers.stats.hits >= 1  # type: ignore[attr-defined]
    # Auth runs before the ETag check that serves kept answers.
    assert secured_client.get("/kpis/top-products").status_code == 401
    wrong = secured_client.get("/kpis/top-products", headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 403


def test_health_and_page_are_open_docs_off_outside_dev(
    secured_client: TestClient, gold_storage: Path
) -> None:
    assert secured_client.get("/health/live").json() == {"status": "ok"}
    assert secured_client.get("/health/ready").json()["status"] == "ok"
    assert secured_client.get("/dashboard-config").json() == {"refresh_seconds": 5, "auth_required": True}
    assert secured_client.get("/").status_code == 200
    # Outside dev the docs are off unless asked for.
    assert (secured_client.get("/docs").status_code, secured_client.get("/openapi.json").status_code) == (
        404,
        404,
    )
    settings = Settings(env="prod", token=TOKEN, storage=gold_storage, docs_enabled=True)
    with TestClient(create_app(settings)) as with_docs:
        assert with_docs.get("/docs").status_code == 200
        spec = with_docs.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"] == {
        "HTTPBearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "ORDERS_API_TOKEN (not needed when ORDERS_API_ENV=dev)",
        }
    }


def test_dashboard_links_the_docs_only_when_they_are_served(
    client: TestClient, secured_client: TestClient
) -> None:
    links = '<a href="/docs">/docs</a> · <a href="/openapi.json">/openapi.json</a>'
    dev_page, prod_page = client.get("/"), secured_client.get("/")
    assert (dev_page.status_code, prod_page.status_code) == (200, 200)
    assert f'<footer data-testid="footer">Read-only API: {links}</footer>' in dev_page.text
    # Docs are off outside dev (404): the page must not point at them.
    assert '<footer data-testid="footer">Read-only API</footer>' in prod_page.text
    assert "/docs" not in prod_page.text and "/openapi.json" not in prod_page.text
    assert prod_page.headers["content-type"] == "text/html; charset=utf-8"


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ORDERS_API_ENV", "dev")
    monkeypatch.setenv("ORDERS_API_STORAGE", str(tmp_path))
    monkeypatch.setenv("ORDERS_API_DASHBOARD_REFRESH_SECONDS", "3")
    settings = Settings()
    assert (settings.env, settings.storage, settings.dashboard_refresh_seconds, settings.auth_required) == (
        "dev",
        tmp_path,
        3,
        False,
    )
    assert settings.delivery_state_path == tmp_path / "consumers" / "alert-delivery.sqlite"


def test_app_refuses_to_start_without_a_token_outside_dev(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"token is required when env is 'prod' \(set ORDERS_API_TOKEN\)"):
        create_app(Settings(storage=tmp_path))
    with pytest.raises(SettingsError, match="token must be at least 16 characters"):
        create_app(Settings(env="staging", token="short", storage=tmp_path))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"env": "dev"}, "storage is required for the local backend"),
        (
            {"env": "dev", "backend": "databricks"},
            "databricks_warehouse_id is required for the databricks backend",
        ),
        ({"env": "qa", "storage": "/x"}, "Input should be 'dev', 'staging' or 'prod'"),
        (
            {"env": "dev", "storage": "/x", "dashboard_refresh_seconds": 0},
            "Input should be greater than or equal to 1",
        ),
        ({"env": "dev", "storage": "/x", "databricks_wait_timeout": "60s"}, "String should match pattern"),
        (
            {"env": "dev", "storage": "/x", "azure_monitor_stream_name": "OrderAlerts"},
            "String should match pattern",
        ),
        ({"env": "dev", "storage": "/x", "bogus": 1}, "Extra inputs are not permitted"),
    ],
)
def test_settings_validation_names_the_problem(kwargs: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(**kwargs)


def test_alert_settings_checks(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="alerts_sink is not set"):
        Settings(storage=tmp_path).check_alerts()
    with pytest.raises(SettingsError, match="alerts_webhook_url is required for alerts_sink='webhook'"):
        Settings(storage=tmp_path, alerts_sink="webhook").check_alerts()
    with pytest.raises(
        SettingsError,
        match="needs azure_monitor_endpoint, azure_monitor_dcr_immutable_id, azure_monitor_stream_name",
    ):
        Settings(storage=tmp_path, alerts_sink="azure_monitor").check_alerts()


def test_databricks_app_auth_is_refused_outside_databricks_apps(
    gold_storage: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABRICKS_APP_NAME", raising=False)
    monkeypatch.delenv("DATABRICKS_APP_PORT", raising=False)
    with pytest.raises(
        SettingsError,
        match=r"auth='databricks_app' is only allowed inside Databricks Apps "
        r"\(DATABRICKS_APP_NAME, DATABRICKS_APP_PORT not set\); use auth='token' elsewhere",
    ):
        create_app(Settings(env="prod", auth="databricks_app", storage=gold_storage))
    # dev mode does not lift it: the identity headers would be trusted from anyone.
    with pytest.raises(SettingsError, match="only allowed inside Databricks Apps"):
        create_app(Settings(env="dev", auth="databricks_app", storage=gold_storage))


def test_databricks_app_mode_trusts_only_the_proxy_identity(
    gold_storage: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABRICKS_APP_NAME", "orders-serving-dev")
    monkeypatch.setenv("DATABRICKS_APP_PORT", "8000")
    settings = Settings(env="prod", auth="databricks_app", storage=gold_storage)  # no token needed
    with TestClient(create_app(settings)) as app_client:
        direct = app_client.get("/kpis/status-funnel")
        assert (direct.status_code, direct.json()) == (
            401,
            {"code": "unauthorized", "detail": "no user identity from the Databricks Apps proxy"},
        )
        proxied = app_client.get(
            "/kpis/status-funnel", headers={"X-Forwarded-Email": "ana.souza@example.com"}
        )
        assert proxied.status_code == 200
        assert app_client.get("/dashboard-config").json() == {"refresh_seconds": 5, "auth_required": False}


OLD_TOKEN = "old-token-0123456789abcdef"


def test_two_tokens_are_accepted_during_a_rotation(gold_storage: Path) -> None:
    settings = Settings(env="prod", token=TOKEN, token_previous=OLD_TOKEN, storage=gold_storage)
    with TestClient(create_app(settings)) as rotating:
        for token, status in ((TOKEN, 200), (OLD_TOKEN, 200), ("third-token-0123456789", 403)):
            answer = rotating.get("/kpis/status-funnel", headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == status, token
    # After the rollover only the new token is configured: the old one is refused.
    with TestClient(create_app(Settings(env="prod", token=TOKEN, storage=gold_storage))) as rotated:
        old = rotated.get("/kpis/status-funnel", headers={"Authorization": f"Bearer {OLD_TOKEN}"})
        assert old.status_code == 403
    with pytest.raises(SettingsError, match="token_previous must be at least 16 characters"):
        create_app(Settings(env="prod", token=TOKEN, token_previous="short", storage=gold_storage))


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::", "example.org"])
def test_dev_mode_refuses_to_listen_beyond_loopback(tmp_path: Path, host: str) -> None:
    with pytest.raises(
        SettingsError, match=f"dev mode has no auth: it listens on loopback only, not {host!r}"
    ):
        Settings(env="dev", storage=tmp_path).check_bind(host)
    for loopback in ("127.0.0.1", "::1", "localhost"):
        Settings(env="dev", storage=tmp_path).check_bind(loopback)
    Settings(env="prod", token=TOKEN, storage=tmp_path).check_bind(host)  # auth on: any address


def test_security_headers_on_every_answer(secured_client: TestClient) -> None:
    for path in ("/", "/static/dashboard.js", "/health/live", "/kpis/status-funnel", "/no-such-page"):
        headers = secured_client.get(path).headers
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["x-frame-options"] == "DENY", path
        csp = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self';" in csp, path
        assert "access-control-allow-origin" not in headers  # CORS is off unless configured


def test_cors_only_for_configured_origins(gold_storage: Path) -> None:
    settings = Settings(
        env="prod", token=TOKEN, storage=gold_storage, cors_origins=["https://bi.example.com"]
    )
    with TestClient(create_app(settings)) as app_client:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        allowed = app_client.get("/kpis/status-funnel", headers={**auth, "Origin": "https://bi.example.com"})
        assert allowed.headers["access-control-allow-origin"] == "https://bi.example.com"
        other = app_client.get("/kpis/status-funnel", headers={**auth, "Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
