"""Fixtures of the transform unit tests: the update-1 fixture files pushed through the plain
transforms in batch (session-scoped: computed once), and helpers to compare with fixtures/expected."""

from __future__ import annotations

from pathlib import Path
from collections.abc import Iterator

import pytest
from pyspark.sql import DataFrame, SparkSession

from expected_tables import FIXTURES, expected, sorted_rows, table_rows  # noqa: F401 - re-exported
from orders_lakehouse.transforms import bronze, silver
from orders_lakehouse.transforms.rules import all_pass, silver_event_rules

REPO = Path(__file__).resolve().parents[3]
SALT = "test-salt"


def assert_table(df: DataFrame, update: int, table: str) -> None:
    """``df`` holds exactly the expected rows (on the expected columns)."""
    spec = expected(update, table)
    want = sorted_rows(spec["rows"], [spec["columns"].index(k) for k in spec["key"]])
    got = table_rows(df, spec["columns"], spec["key"])
    assert got == want, f"{table}: rows differ\n got: {got}\n want: {want}"


def read_landing(spark: SparkSession, folder: Path) -> DataFrame:
    """Batch read of a landing folder in the shape of the pipeline's file source."""
    return bronze.from_text_files(spark.read.format("text").load(str(folder)).select("*", "_metadata"))


@pytest.fixture(scope="session", autouse=True)
def silver_spark_conf(spark: SparkSession) -> Iterator[None]:
    """The Silver flows' spark_conf (see ``silver.SPARK_CONF``) while these tests run, then restored."""
    saved = {key: spark.conf.get(key, None) for key in silver.SPARK_CONF}
    for key, value in silver.SPARK_CONF.items():
        spark.conf.set(key, value)
    yield
    for key, value in saved.items():
        if value is None:
            spark.conf.unset(key)
        else:
            spark.conf.set(key, value)


@pytest.fixture(scope="session")
def bronze_u1(spark: SparkSession) -> DataFrame:
    """Bronze rows of fixtures/landing/update_1 (cached)."""
    return bronze.to_bronze(read_landing(spark, FIXTURES / "landing" / "update_1")).cache()


@pytest.fixture(scope="session")
def staged_u1(bronze_u1: DataFrame) -> DataFrame:
    """Staged (typed, normalised) rows of update 1."""
    return silver.stage_events(bronze_u1, SALT).cache()


@pytest.fixture(scope="session")
def silver_u1(staged_u1: DataFrame) -> DataFrame:
    """What silver_order_events holds after update 1: valid_events + the drop expectations."""
    rules = silver_event_rules()
    return silver.valid_events(staged_u1, rules).filter(all_pass(rules)).cache()
