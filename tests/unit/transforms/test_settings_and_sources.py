"""Pipeline configuration and the Kafka / Event Hubs source options."""

from __future__ import annotations

import pytest

from orders_lakehouse.transforms.settings import ConfigurationError, PipelineSettings
from orders_lakehouse.transforms.sources import kafka_options


class Conf(dict):
    def get(self, key, default=None):  # noqa: D102 - spark.conf.get shape
        return super().get(key, default)


def test_defaults_are_the_documented_ones() -> None:
    """The defaults of docs/orders-pipeline.md's configuration table, written out (not the
    dataclass's own defaults, which could drift together with the code)."""
    assert PipelineSettings.from_conf(Conf()) == PipelineSettings(
        source="files",
        landing_path=None,
        kafka_bootstrap_servers=None,
        kafka_topic="orders",
        eventhubs_namespace=None,
        eventhubs_name="orders",
        secret_scope="orders",
        watermark_delay="10 minutes",
        future_tolerance_seconds=300,
        payment_failure_rate=0.2,
        silence_minutes=10,
        sla_hours=72,
        dq_drop_rate=0.05,
    )


def test_every_key_is_read_into_its_field() -> None:
    conf = Conf(
        {
            "orders.source": " KAFKA ",
            "orders.landing_path": "/land",
            "orders.kafka.bootstrap_servers": "b:9092",
            "orders.kafka.topic": "t",
            "orders.eventhubs.namespace": "ns",
            "orders.eventhubs.name": "hub",
            "orders.secret_scope": "sc",
            "orders.watermark_delay": "1 hour",
            "orders.future_tolerance_seconds": "60",
            "orders.alerts.payment_failure_rate": "0.5",
            "orders.alerts.silence_minutes": "3",
            "orders.alerts.sla_hours": "24",
            "orders.alerts.dq_drop_rate": "0.25",
        }
    )
    assert PipelineSettings.from_conf(conf) == PipelineSettings(
        source="kafka",
        landing_path="/land",
        kafka_bootstrap_servers="b:9092",
        kafka_topic="t",
        eventhubs_namespace="ns",
        eventhubs_name="hub",
        secret_scope="sc",
        watermark_delay="1 hour",
        future_tolerance_seconds=60,
        payment_failure_rate=0.5,
        silence_minutes=3,
        sla_hours=24,
        dq_drop_rate=0.25,
    )


def test_bad_values_name_the_key() -> None:
    with pytest.raises(
        ConfigurationError, match=r"^orders.source must be one of files, kafka, eventhubs, got 'ftp'$"
    ):
        PipelineSettings.from_conf(Conf({"orders.source": "ftp"}))
    with pytest.raises(ConfigurationError, match=r"^orders.alerts.sla_hours must be a int, got 'x'$"):
        PipelineSettings.from_conf(Conf({"orders.alerts.sla_hours": "x"}))
    with pytest.raises(
        ConfigurationError, match=r"^orders.kafka.bootstrap_servers is required when orders.source=kafka$"
    ):
        kafka_options(PipelineSettings.from_conf(Conf({"orders.source": "kafka"})))


def test_kafka_options() -> None:
    settings = PipelineSettings.from_conf(
        Conf({"orders.source": "kafka", "orders.kafka.bootstrap_servers": "localhost:9092"})
    )
    assert kafka_options(settings) == {
        "kafka.bootstrap.servers": "localhost:9092",
        "subscribe": "orders",
        "startingOffsets": "earliest",
        "failOnDataLoss": "false",
    }


def test_eventhubs_options_read_the_secret_from_the_scope() -> None:
    settings = PipelineSettings.from_conf(
        Conf(
            {
                "orders.source": "eventhubs",
                "orders.eventhubs.namespace": "ns1",
                "orders.eventhubs.name": "hub",
                "orders.secret_scope": "sc",
            }
        )
    )
    calls = []

    def get_secret(scope: str, key: str) -> str:
        calls.append((scope, key))
        return "Endpoint=sb://ns1/;SharedAccessKey=k"

    options = kafka_options(settings, get_secret)
    assert calls == [("sc", "eventhubs-connection-string")]
    assert options["kafka.bootstrap.servers"] == "ns1.servicebus.windows.net:9093"
    assert options["subscribe"] == "hub"
    assert options["kafka.security.protocol"] == "SASL_SSL" and options["kafka.sasl.mechanism"] == "PLAIN"
    assert options["kafka.sasl.jaas.config"] == (
        "kafkashaded.org.apache.kafka.common.security.plain.PlainLoginModule required "
        'username="$ConnectionString" password="Endpoint=sb://ns1/;SharedAccessKey=k";'
    )
