"""Pipeline configuration and the Kafka / Event Hubs source options."""

from __future__ import annotations

import pytest

from orders_lakehouse.transforms.settings import ConfigurationError, PipelineSettings
from orders_lakehouse.transforms.sources import kafka_options


class Conf(dict):
    def get(self, key, default=None):  # noqa: D102 - spark.conf.get shape
        return super().get(key, default)


def test_defaults_are_the_decided_ones() -> None:
    assert PipelineSettings.from_conf(Conf()) == PipelineSettings()


def test_bad_values_name_the_key() -> None:
    with pytest.raises(ConfigurationError, match=r"^orders.source must be one of files, kafka, eventhubs, got 'ftp'$"):
        PipelineSettings.from_conf(Conf({"orders.source": "ftp"}))
    with pytest.raises(ConfigurationError, match=r"^orders.alerts.sla_hours must be a int, got 'x'$"):
        PipelineSettings.from_conf(Conf({"orders.alerts.sla_hours": "x"}))
    with pytest.raises(ConfigurationError, match=r"^orders.kafka.bootstrap_servers is required when orders.source=kafka$"):
        kafka_options(PipelineSettings.from_conf(Conf({"orders.source": "kafka"})))


def test_kafka_options() -> None:
    settings = PipelineSettings.from_conf(Conf({"orders.source": "kafka", "orders.kafka.bootstrap_servers": "localhost:9092"}))
    assert kafka_options(settings) == {
        "kafka.bootstrap.servers": "localhost:9092", "subscribe": "orders", "startingOffsets": "earliest", "failOnDataLoss": "false",
    }


def test_eventhubs_options_read_the_secret_from_the_scope() -> None:
    settings = PipelineSettings.from_conf(Conf({"orders.source": "eventhubs", "orders.eventhubs.namespace": "ns1",
                                                "orders.eventhubs.name": "hub", "orders.secret_scope": "sc"}))
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
        'kafkashaded.org.apache.kafka.common.security.plain.PlainLoginModule required '
        'username="$ConnectionString" password="Endpoint=sb://ns1/;SharedAccessKey=k";'
    )
