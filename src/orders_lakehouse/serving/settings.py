"""The one validated settings object of the serving package (API, dashboard, alert delivery).

Values come from environment variables prefixed ``ORDERS_API_`` (``ORDERS_API_ENV=dev``,
``ORDERS_API_TOKEN=...``, ``ORDERS_API_STORAGE=/data/run``) or from keyword arguments. Nothing is
read at import time: :func:`get_settings` builds it once, and tests override that dependency.
"""

from __future__ import annotations

import ipaddress
import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, HttpUrl, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIN_TOKEN_LENGTH = 16
DEFAULT_EVENT_LOG_NAME = "orders_event_log"  # event_log.name of resources/orders.pipeline.yml
# Set by the Databricks Apps runtime in every app's environment (app-runtime docs).
DATABRICKS_APPS_ENV = ("DATABRICKS_APP_NAME", "DATABRICKS_APP_PORT")


class SettingsError(ValueError):
    """Settings that are valid one by one but not enough for the command asked for."""


class Settings(BaseSettings):
    """Everything serving needs, validated once at start-up.

    Example::

        Settings(env="dev", storage=Path("/tmp/run"))            # local backend, no auth
        Settings(env="prod", token="s3cret-0123456789abcdef",
                 backend="databricks", databricks_warehouse_id="abc123")
    """

    model_config = SettingsConfigDict(env_prefix="ORDERS_API_", extra="forbid")

    # --- API ---
    env: Literal["dev", "staging", "prod"] = Field("prod", description="dev disables token auth")
    token: SecretStr | None = Field(None, description="Bearer token required outside dev")
    token_previous: SecretStr | None = Field(
        None, description="the token being rotated out: also accepted until it is removed"
    )
    auth: Literal["token", "databricks_app"] = Field(
        "token",
        description="databricks_app: the Databricks Apps proxy authenticates users (X-Forwarded-* headers)",
    )
    backend: Literal["local", "databricks"] = "local"
    storage: Path | None = Field(None, description="localdlt storage root (local backend)")
    dashboard_refresh_seconds: int = Field(5, ge=1, le=300)
    docs_enabled: bool | None = Field(None, description="/docs and /openapi.json; default: on in dev only")
    cors_origins: list[str] = Field(
        default_factory=list, description="origins allowed to call the API from a browser (none by default)"
    )
    ready_max_staleness_seconds: float | None = Field(
        None, gt=0, description="/health/ready answers 503 when a Gold table's last commit is older"
    )
    cache_check_seconds: float = Field(
        1.0, ge=0, le=60, description="how often a Delta table's version is checked (local backend)"
    )

    # --- Databricks backend (auth: the SDK's own env/profile resolution) ---
    databricks_warehouse_id: str | None = None
    databricks_catalog: str | None = None
    databricks_schema: str | None = None
    databricks_event_log_table: str | None = Field(
        None,
        description="event log table of the pipeline (event_log: in the pipeline spec); "
        "default <catalog>.<schema>.orders_event_log, as the bundle's pipeline resource publishes it",
    )
    databricks_wait_timeout: str = Field("30s", pattern=r"^(0|[5-9]|[1-4][0-9]|50)s$")

    # --- alert delivery ---
    alerts_sink: Literal["webhook", "azure_monitor"] | None = None
    alerts_state_path: Path | None = Field(None, description="SQLite database of delivery state")
    alerts_webhook_url: HttpUrl | None = None
    alerts_webhook_secret: SecretStr | None = Field(
        None, description="HMAC-SHA256 key: webhook bodies carry X-Orders-Signature (required for webhook)"
    )
    alerts_max_attempts: int = Field(5, ge=1, le=20)
    alerts_backoff_seconds: float = Field(1.0, gt=0, le=60, description="first retry delay, doubles")
    alerts_backoff_max_seconds: float = Field(30.0, gt=0, le=600)
    alerts_timeout_seconds: float = Field(10.0, gt=0, le=120)
    alerts_batch_size: int = Field(100, ge=1, le=1000, description="alerts per Azure Monitor upload")
    azure_monitor_endpoint: HttpUrl | None = Field(None, description="DCE or DCR logs ingestion endpoint")
    azure_monitor_dcr_immutable_id: str | None = None
    azure_monitor_stream_name: str | None = Field(None, pattern=r"^Custom-[A-Za-z0-9_]+$")
    azure_monitor_api_version: str = "2023-01-01"
    azure_monitor_token: SecretStr | None = Field(
        None, description="ready bearer token (else client credentials)"
    )
    azure_tenant_id: str | None = None
    azure_client_id: str | None = None
    azure_client_secret: SecretStr | None = None
    azure_authority_host: HttpUrl = HttpUrl("https://login.microsoftonline.com")

    @model_validator(mode="after")
    def _check_backend(self) -> Settings:
        if self.backend == "local" and self.storage is None:
            raise ValueError("storage is required for the local backend (set ORDERS_API_STORAGE)")
        if self.backend == "databricks" and not self.databricks_warehouse_id:
            raise ValueError("databricks_warehouse_id is required for the databricks backend")
        return self

    def check_api(self) -> None:
        """Refuse to serve the API without a proper token outside dev (raises :class:`SettingsError`).

        ``auth="databricks_app"`` trusts the Databricks Apps proxy's identity headers, so it is
        refused unless the process runs inside Databricks Apps (its runtime's environment is set):
        anywhere else anybody could send those headers.
        """
        if self.auth == "databricks_app":
            missing = [name for name in DATABRICKS_APPS_ENV if not os.environ.get(name)]
            if missing:
                raise SettingsError(
                    "auth='databricks_app' is only allowed inside Databricks Apps "
                    f"({', '.join(missing)} not set); use auth='token' elsewhere"
                )
            return
        if self.env == "dev":
            return
        for name in ("token", "token_previous"):
            value: SecretStr | None = getattr(self, name)
            if value is not None and len(value.get_secret_value()) < MIN_TOKEN_LENGTH:
                raise SettingsError(f"{name} must be at least {MIN_TOKEN_LENGTH} characters")
        if self.token is None:
            raise SettingsError(f"token is required when env is {self.env!r} (set ORDERS_API_TOKEN)")

    def check_bind(self, host: str) -> None:
        """Refuse to listen beyond loopback without auth (dev mode): raises :class:`SettingsError`."""
        if self.auth_required or self.auth == "databricks_app":
            return
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise SettingsError(
                f"dev mode has no auth: it listens on loopback only, not {host!r} "
                "(use 127.0.0.1, or set ORDERS_API_TOKEN and leave dev mode)"
            )

    def accepted_tokens(self) -> list[bytes]:
        """The bearer tokens accepted now: the current one and, during a rotation, the previous one."""
        return [t.get_secret_value().encode() for t in (self.token, self.token_previous) if t is not None]

    @property
    def docs_on(self) -> bool:
        """Whether /docs and /openapi.json are served (explicit setting, else only in dev)."""
        return self.docs_enabled if self.docs_enabled is not None else self.env == "dev"

    def check_alerts(self) -> None:
        """Refuse to deliver alerts without a complete sink configuration (raises :class:`SettingsError`)."""
        if self.alerts_sink is None:
            raise SettingsError("alerts_sink is not set (webhook or azure_monitor; ORDERS_API_ALERTS_SINK)")
        if self.alerts_state_path is None and self.storage is None:
            raise SettingsError("alerts_state_path is required when there is no local storage")
        if self.alerts_sink == "webhook" and self.alerts_webhook_url is None:
            raise SettingsError("alerts_webhook_url is required for alerts_sink='webhook'")
        if self.alerts_sink == "webhook" and self.alerts_webhook_secret is None:
            raise SettingsError(
                "alerts_webhook_secret is required for alerts_sink='webhook' (payloads are HMAC-signed; "
                "ORDERS_API_ALERTS_WEBHOOK_SECRET)"
            )
        if self.alerts_sink == "azure_monitor":
            missing = [
                name
                for name in (
                    "azure_monitor_endpoint",
                    "azure_monitor_dcr_immutable_id",
                    "azure_monitor_stream_name",
                )
                if getattr(self, name) is None
            ]
            if missing:
                raise SettingsError(f"alerts_sink='azure_monitor' needs {', '.join(missing)}")
            has_credentials = self.azure_tenant_id and self.azure_client_id and self.azure_client_secret
            if self.azure_monitor_token is None and not has_credentials:
                raise SettingsError(
                    "alerts_sink='azure_monitor' needs azure_monitor_token or "
                    "azure_tenant_id + azure_client_id + azure_client_secret"
                )

    @property
    def event_log_table(self) -> str | None:
        """The event log table: explicit, or ``<catalog>.<schema>.orders_event_log`` (the bundle's name)."""
        if self.databricks_event_log_table:
            return self.databricks_event_log_table
        if self.databricks_catalog and self.databricks_schema:
            return f"{self.databricks_catalog}.{self.databricks_schema}.{DEFAULT_EVENT_LOG_NAME}"
        return None

    @property
    def delivery_state_path(self) -> Path:
        """Where delivery state is kept (default: ``<storage>/consumers/alert-delivery.sqlite``)."""
        if self.alerts_state_path is not None:
            return self.alerts_state_path
        assert self.storage is not None
        return self.storage / "consumers" / "alert-delivery.sqlite"

    @property
    def auth_required(self) -> bool:
        """Whether requests must carry the bearer token."""
        return self.env != "dev" and self.auth == "token"


@lru_cache
def get_settings() -> Settings:
    """The settings from the environment, built once (a FastAPI dependency; override it in tests)."""
    return Settings()
