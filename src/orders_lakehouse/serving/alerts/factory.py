"""Build the configured sink from the settings."""

from __future__ import annotations

import httpx

from orders_lakehouse.serving.alerts.azure_token import ClientCredentialsToken, StaticToken
from orders_lakehouse.serving.alerts.sinks import AzureMonitorSink, Sink, WebhookSink
from orders_lakehouse.serving.settings import Settings


def build_sink(settings: Settings, client: httpx.Client) -> Sink:
    """A :class:`WebhookSink` or :class:`AzureMonitorSink` per ``settings.alerts_sink`` (checked first)."""
    settings.check_alerts()
    retry = {
        "max_attempts": settings.alerts_max_attempts,
        "backoff": settings.alerts_backoff_seconds,
        "backoff_max": settings.alerts_backoff_max_seconds,
    }
    if settings.alerts_sink == "webhook":
        assert settings.alerts_webhook_secret is not None  # checked by check_alerts
        return WebhookSink(
            client,
            str(settings.alerts_webhook_url),
            secret=settings.alerts_webhook_secret.get_secret_value(),
            **retry,
        )
    if settings.azure_monitor_token is not None:
        tokens: StaticToken | ClientCredentialsToken = StaticToken(
            settings.azure_monitor_token.get_secret_value()
        )
    else:
        assert settings.azure_tenant_id and settings.azure_client_id and settings.azure_client_secret
        tokens = ClientCredentialsToken(
            client,
            authority=str(settings.azure_authority_host),
            tenant_id=settings.azure_tenant_id,
            client_id=settings.azure_client_id,
            client_secret=settings.azure_client_secret.get_secret_value(),
        )
    assert settings.azure_monitor_endpoint and settings.azure_monitor_dcr_immutable_id
    assert settings.azure_monitor_stream_name
    return AzureMonitorSink(
        client,
        tokens,
        endpoint=str(settings.azure_monitor_endpoint),
        dcr_immutable_id=settings.azure_monitor_dcr_immutable_id,
        stream_name=settings.azure_monitor_stream_name,
        api_version=settings.azure_monitor_api_version,
        max_batch=settings.alerts_batch_size,
        **retry,
    )
