"""Kafka options written for Databricks, made to work on open-source Spark.

Databricks shades the Kafka client inside its runtime, so pipeline code there must name the JAAS
login module ``kafkashaded.org.apache.kafka.common.security.plain.PlainLoginModule`` (Event Hubs'
Kafka endpoint with SASL PLAIN). The open-source ``spark-sql-kafka`` connector uses the unshaded
client: the same class without the ``kafkashaded.`` prefix.
"""

from __future__ import annotations

import logging
import re

log = logging.getLogger(__name__)

JAAS_OPTION = "kafka.sasl.jaas.config"
# A JAAS configuration is "<LoginModule class> <flag> <key=value>...;" once per module: only the
# class position (start of the value, or after a ";") is rewritten, never text inside an option.
_SHADED_PREFIX = re.compile(r"(^|;)(\s*)kafkashaded\.(?=[A-Za-z_])")


def rewrite_kafka_options(options: dict[str, str]) -> dict[str, str]:
    """A copy of ``options`` whose ``kafka.sasl.jaas.config`` names unshaded classes.

    Only that option changes (its key is matched case-insensitively, as Spark does); every other
    option is returned untouched. Values are never logged: this one holds the Event Hubs key. The
    bootstrap servers and topic are remembered for :func:`explain_kafka_failure`.

    >>> rewrite_kafka_options({"kafka.sasl.jaas.config":
    ...     'kafkashaded.org.apache.kafka.common.security.plain.PlainLoginModule required;'})
    {'kafka.sasl.jaas.config': 'org.apache.kafka.common.security.plain.PlainLoginModule required;'}
    """
    rewritten = dict(options)
    remember_endpoint(options)  # every Kafka read and write of a pipeline passes here
    for key, value in options.items():
        if key.lower() != JAAS_OPTION or not isinstance(value, str):
            continue
        new_value, count = _SHADED_PREFIX.subn(r"\1\2", value)
        if count:
            rewritten[key] = new_value
            log.info(
                "option '%s': replaced %d shaded Kafka class name(s) with the unshaded one(s)", key, count
            )
    return rewritten


# The Kafka endpoints this process's pipeline reads or writes (bootstrap servers, topic), as the
# options named them: a Kafka client that gives up says neither (e.g. "Timed out waiting for a
# node assignment"), so a failure is told them (explain_kafka_failure).
_ENDPOINTS: dict[tuple[str, str], None] = {}
_TOPIC_OPTIONS = ("subscribe", "subscribepattern", "assign", "topic")
_KAFKA_GAVE_UP = (
    "org.apache.kafka.common.errors.TimeoutException",
    "Timed out waiting for a node assignment",
)


def remember_endpoint(options: dict[str, str]) -> None:
    """Note the bootstrap servers and topic of a Kafka read or write (never credentials)."""
    lowered = {key.lower(): value for key, value in options.items() if isinstance(value, str)}
    servers = lowered.get("kafka.bootstrap.servers")
    if not servers:
        return
    topic = next((f"{key} {lowered[key]}" for key in _TOPIC_OPTIONS if key in lowered), "no topic option")
    _ENDPOINTS[(servers, topic)] = None


def explain_kafka_failure(error: str) -> str:
    """``error`` with the Kafka endpoints the pipeline uses appended when it is a Kafka client
    giving up on its brokers; otherwise ``error`` unchanged.

    >>> remember_endpoint({"kafka.bootstrap.servers": "b:9092", "subscribe": "orders"})
    >>> explain_kafka_failure("TimeoutException: Timed out waiting for a node assignment.")[-80:]
    'answered at bootstrap servers b:9092 (subscribe orders): is it up and reachable?'
    """
    if not any(marker in error for marker in _KAFKA_GAVE_UP) or not _ENDPOINTS:
        return error
    where = "; ".join(f"bootstrap servers {servers} ({topic})" for servers, topic in _ENDPOINTS)
    return f"{error} — no Kafka broker answered at {where}: is it up and reachable?"
