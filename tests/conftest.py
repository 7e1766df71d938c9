"""Shared fixtures: one SparkSession with Delta for the whole test session, a Kafka broker on demand."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from localdlt.session import SessionSettings, build_session
from orders_lakehouse.devstack import kafka_broker

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    """The one SparkSession of the test run: Delta, cached jars, UI off, few shuffle partitions."""
    warehouse = tmp_path_factory.mktemp("warehouse")
    session = build_session(
        SessionSettings(
            app_name="orders-lakehouse-tests", testing=True, shuffle_partitions=2, warehouse_dir=warehouse
        )
    )
    yield session
    for query in session.streams.active:
        query.stop()
    session.stop()


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real single-node KRaft broker on a free loopback port; yields its bootstrap address."""
    config = kafka_broker.BrokerConfig(
        port=kafka_broker.free_port(), state_dir=tmp_path_factory.mktemp("kafka-broker")
    )
    bootstrap = kafka_broker.start(config)
    logging.getLogger(__name__).info("test broker on %s", bootstrap)
    yield bootstrap
    kafka_broker.stop(config)
