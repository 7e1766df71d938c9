"""The pipeline configuration, read once from ``spark.conf`` with the decided keys and defaults."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class ConfLike(Protocol):
    """What we need of ``spark.conf``: ``get(key, default)``."""

    def get(self, key: str, default: str | None = None) -> str | None: ...  # pragma: no cover


# key -> local default (None = required for the source that uses it); names decided in BRIEF.md.
DEFAULTS: dict[str, str | None] = {
    "orders.source": "files",
    "orders.landing_path": None,
    "orders.kafka.bootstrap_servers": None,
    "orders.kafka.topic": "orders",
    "orders.eventhubs.namespace": None,
    "orders.eventhubs.name": "orders",
    "orders.secret_scope": "orders",
    "orders.watermark_delay": "10 minutes",
    "orders.future_tolerance_seconds": "300",
    "orders.alerts.payment_failure_rate": "0.2",
    "orders.alerts.silence_minutes": "10",
    "orders.alerts.sla_hours": "72",
    "orders.alerts.dq_drop_rate": "0.05",
}
SOURCES = ("files", "kafka", "eventhubs")
PII_SALT_KEY = "pii-salt"
EVENTHUBS_SECRET_KEY = "eventhubs-connection-string"


class ConfigurationError(ValueError):
    """A configuration value is missing or invalid; the message names the key."""


@dataclass(frozen=True)
class PipelineSettings:
    """Typed view of the pipeline configuration."""

    source: str = "files"
    landing_path: str | None = None
    kafka_bootstrap_servers: str | None = None
    kafka_topic: str = "orders"
    eventhubs_namespace: str | None = None
    eventhubs_name: str = "orders"
    secret_scope: str = "orders"
    watermark_delay: str = "10 minutes"
    future_tolerance_seconds: int = 300
    payment_failure_rate: float = 0.2
    silence_minutes: int = 10
    sla_hours: int = 72
    dq_drop_rate: float = 0.05

    @classmethod
    def from_conf(cls, conf: ConfLike) -> "PipelineSettings":
        """Read every key with its default; raise ``ConfigurationError`` naming a bad key.

        Example: ``PipelineSettings.from_conf(spark.conf)`` in a pipeline file.
        """
        raw = {key: conf.get(key, default) for key, default in DEFAULTS.items()}
        source = (raw["orders.source"] or "").strip().lower()
        if source not in SOURCES:
            raise ConfigurationError(
                f"orders.source must be one of {', '.join(SOURCES)}, got {raw['orders.source']!r}"
            )
        return cls(
            source=source,
            landing_path=raw["orders.landing_path"],
            kafka_bootstrap_servers=raw["orders.kafka.bootstrap_servers"],
            kafka_topic=raw["orders.kafka.topic"] or "orders",
            eventhubs_namespace=raw["orders.eventhubs.namespace"],
            eventhubs_name=raw["orders.eventhubs.name"] or "orders",
            secret_scope=raw["orders.secret_scope"] or "orders",
            watermark_delay=raw["orders.watermark_delay"] or "10 minutes",
            future_tolerance_seconds=_number(raw, "orders.future_tolerance_seconds", int),
            payment_failure_rate=_number(raw, "orders.alerts.payment_failure_rate", float),
            silence_minutes=_number(raw, "orders.alerts.silence_minutes", int),
            sla_hours=_number(raw, "orders.alerts.sla_hours", int),
            dq_drop_rate=_number(raw, "orders.alerts.dq_drop_rate", float),
        )

    def require(self, attribute: str, key: str) -> str:
        """The value of ``attribute`` or a ``ConfigurationError`` naming the configuration ``key``."""
        value = getattr(self, attribute)
        if not value:
            raise ConfigurationError(f"{key} is required when orders.source={self.source}")
        return value


def _number(raw: dict[str, str | None], key: str, kind: type) -> int | float:
    try:
        return kind(raw[key])
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"{key} must be a {kind.__name__}, got {raw[key]!r}") from exc
