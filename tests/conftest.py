"""Shared fixtures: one SparkSession with Delta for the whole test session, a Kafka broker on demand.

Under pytest-xdist (``make test`` runs ``-n 2 --dist loadfile``) each worker is its own process
with its own session-scoped fixtures: its own SparkSession (JVM) and, when asked for, its own
broker on a free port. The hooks below keep the slow files first and the files that cannot run
side by side on one worker.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from localdlt.session import TESTING_JVM_OPTIONS, SessionSettings, build_session
from orders_lakehouse.devstack import kafka_broker
from pipeline_support import full_refresh, pipeline_run, update_1, update_2  # noqa: F401 - fixtures

REPO_ROOT = Path(__file__).resolve().parents[1]

# Every JVM the tests start (the runtime's `localdlt` processes, the Kafka broker, `spark-pipelines`'
# Connect server, the standalone cluster) JIT-compiles with C1 only, as the test sessions' own JVMs
# do (docs/testing.md: ~30% less CPU for the same updates, which C2 never pays back in runs this
# short). The JIT tier changes no result; the Spark configuration stays production's.
_tool_options = os.environ.get("JAVA_TOOL_OPTIONS", "")
if TESTING_JVM_OPTIONS.strip() not in _tool_options:
    os.environ["JAVA_TOOL_OPTIONS"] = f"{_tool_options}{TESTING_JVM_OPTIONS}".strip()

# Files that run in one xdist work unit (one worker, one after the other): the two that start
# Apache Spark's own `spark-pipelines` (a Spark Connect server each), and files that share
# expensive session fixtures (the orders pipeline's three updates of pipeline_support.py; the
# cached update-1 DataFrames of the transform tests), which would otherwise be built once per worker.
SHARED_UNITS = {
    "tests/localdlt/test_differential_spark_pipelines.py": "spark-pipelines",
    "tests/localdlt/sql/test_sql_differential.py": "spark-pipelines",
    "tests/pipeline/": "orders-pipeline",
    "tests/bundle/test_bundle_run.py": "orders-pipeline",
    "tests/unit/transforms/": "tests/unit/transforms",
}


def work_unit(file: str) -> str:
    """The xdist work unit of a test file (its path relative to the repository)."""
    for prefix, unit in SHARED_UNITS.items():
        if file == prefix or (prefix.endswith("/") and file.startswith(prefix)):
            return unit
    return file


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under xdist, the files holding ``slow`` tests first (stable otherwise): with one file per
    work unit, a long file started last would leave the other worker idle at the end."""
    if not hasattr(config, "workerinput"):
        return
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    """``--dist loadfile`` with the :data:`SHARED_UNITS`, in collection order."""
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class Scheduler(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(super()._split_scope(nodeid))

    config.option.loadscopereorder = False  # keep the slow-first order of the collection
    return Scheduler(config, log)


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


# The codegen settings of a production session (SessionSettings(testing=False)).
PRODUCTION_CODEGEN = {"spark.sql.codegen.wholeStage": "true", "spark.sql.codegen.factoryMode": "FALLBACK"}


@pytest.fixture(scope="module")
def production_codegen(spark: SparkSession) -> Iterator[None]:
    """Code generation on (whole-stage, and for every expression), as in ``localdlt run`` and the
    demo, for the module's tests (test sessions turn it off: see ``SessionSettings.testing``);
    then restored."""
    saved = {key: spark.conf.get(key) for key in PRODUCTION_CODEGEN}
    for key, value in PRODUCTION_CODEGEN.items():
        spark.conf.set(key, value)
    yield
    for key, value in saved.items():
        spark.conf.set(key, value)
