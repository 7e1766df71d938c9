"""Raw readers for ``bronze_order_events``: the transport is chosen by ``orders.source``.

``files`` reads the landing folder with Auto Loader (``cloudFiles``) in ``text`` format, so each
line is one raw payload (JSON is parsed by :func:`~orders_lakehouse.transforms.bronze.to_bronze`,
identically for every transport). ``kafka`` and ``eventhubs`` use Spark's Kafka source; Event
Hubs through its Kafka endpoint with SASL_SSL / PLAIN and ``$ConnectionString``.
"""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import DataFrame, SparkSession

from orders_lakehouse.transforms import bronze
from orders_lakehouse.transforms.settings import EVENTHUBS_SECRET_KEY, PipelineSettings

EVENTHUBS_PORT = 9093
# The Kafka client shipped in Databricks Runtime is shaded; localdlt rewrites the class locally.
PLAIN_LOGIN_MODULE = "kafkashaded.org.apache.kafka.common.security.plain.PlainLoginModule"

SecretGetter = Callable[[str, str], str]  # (scope, key) -> value, i.e. dbutils.secrets.get


def kafka_options(settings: PipelineSettings, get_secret: SecretGetter | None = None) -> dict[str, str]:
    """Kafka source options for ``orders.source`` = ``kafka`` or ``eventhubs`` (pure; no I/O but the
    secret lookup). The Event Hubs connection string is read from the secret scope, never logged."""
    common = {"startingOffsets": "earliest", "failOnDataLoss": "false"}
    if settings.source == "kafka":
        return {
            "kafka.bootstrap.servers": settings.require(
                "kafka_bootstrap_servers", "orders.kafka.bootstrap_servers"
            ),
            "subscribe": settings.kafka_topic,
            **common,
        }
    if settings.source == "eventhubs":
        if get_secret is None:
            raise ValueError("get_secret is required for orders.source=eventhubs")
        namespace = settings.require("eventhubs_namespace", "orders.eventhubs.namespace")
        connection_string = get_secret(settings.secret_scope, EVENTHUBS_SECRET_KEY)
        return {
            "kafka.bootstrap.servers": f"{namespace}.servicebus.windows.net:{EVENTHUBS_PORT}",
            "subscribe": settings.eventhubs_name,
            "kafka.security.protocol": "SASL_SSL",
            "kafka.sasl.mechanism": "PLAIN",
            "kafka.sasl.jaas.config": (
                f'{PLAIN_LOGIN_MODULE} required username="$ConnectionString" password="{connection_string}";'
            ),
            "kafka.request.timeout.ms": "60000",
            "kafka.session.timeout.ms": "30000",
            **common,
        }
    raise ValueError(f"no Kafka options for orders.source={settings.source}")


def read_raw(
    spark: SparkSession, settings: PipelineSettings, get_secret: SecretGetter | None = None
) -> DataFrame:
    """The streaming raw-payload DataFrame for the configured transport (input of ``to_bronze``)."""
    if settings.source == "files":
        path = settings.require("landing_path", "orders.landing_path")
        files = spark.readStream.format("cloudFiles").option("cloudFiles.format", "text").load(path)
        return bronze.from_text_files(files.select("*", "_metadata"))
    stream = spark.readStream.format("kafka").options(**kafka_options(settings, get_secret)).load()
    return bronze.from_kafka(stream, settings.source)
