"""Fixtures of the CDC engine tests: change rows of one small schema, writers on tmp_path."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import DataFrame, SparkSession

from localdlt.cdc import CdcSpec, CdcWriter
from localdlt.cdc.txn import TXN_APP_ID_CONF, TXN_VERSION_CONF

# id, name, city, ts (the sequence), op ('U' upsert, 'D' delete, 'T' truncate)
CHANGE_SCHEMA = "id INT, name STRING, city STRING, ts LONG, op STRING"

Row = tuple[Any, ...]


def changes(spark: SparkSession, rows: list[Row]) -> DataFrame:
    """A micro-batch of change rows (one partition: tiny data, fast tests)."""
    return spark.createDataFrame(rows, CHANGE_SCHEMA).coalesce(1)


def read_rows(spark: SparkSession, path: str, order: tuple[str, ...] = ("id",)) -> list[Row]:
    """The rows of the Delta table at ``path`` as sorted tuples."""
    frame = spark.read.format("delta").load(path)
    return [tuple(r) for r in frame.orderBy(*order).collect()]


@pytest.fixture
def make_writer(spark: SparkSession, tmp_path: Path) -> Callable[..., CdcWriter]:
    """Build a CdcWriter on fresh paths; keyword arguments are Databricks' ``apply_changes`` ones
    (defaults: keys id, sequence ts, deletes op = 'D', op left out of the target)."""
    counter = itertools.count()

    def make(**kwargs: Any) -> CdcWriter:
        n = next(counter)
        args: dict[str, Any] = {
            "target": "t",
            "source": "s",
            "keys": ["id"],
            "sequence_by": "ts",
            "apply_as_deletes": "op = 'D'",
            "except_column_list": ["op"],
        }
        args.update(kwargs)
        spec = CdcSpec.from_kwargs(**args)
        return CdcWriter(
            spark, spec, str(tmp_path / f"table{n}"), str(tmp_path / f"state{n}"), app_id=f"app-{n}"
        )

    return make


@pytest.fixture(autouse=True)
def no_txn_confs_left(spark: SparkSession) -> Iterator[None]:
    """Every test ends with the Delta txn session confs unset: they must never leak."""
    yield
    assert spark.conf.get(TXN_APP_ID_CONF, None) is None
    assert spark.conf.get(TXN_VERSION_CONF, None) is None
