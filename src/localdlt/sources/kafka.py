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
    option is returned untouched. Values are never logged: this one holds the Event Hubs key.

    >>> rewrite_kafka_options({"kafka.sasl.jaas.config":
    ...     'kafkashaded.org.apache.kafka.common.security.plain.PlainLoginModule required;'})
    {'kafka.sasl.jaas.config': 'org.apache.kafka.common.security.plain.PlainLoginModule required;'}
    """
    rewritten = dict(options)
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
