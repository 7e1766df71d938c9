"""Fixtures of the orders pipeline tests: one storage folder driven through three updates
(update 1, update 2 with a new file, full refresh), run in-process with localdlt."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from expected_tables import sorted_rows, table_rows
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import DateType, DecimalType, TimestampType

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures"
PIPELINE = REPO / "pipelines" / "orders"
SALT_ENV = "LOCALDLT_SECRET_ORDERS_PII_SALT"
SALT = "test-salt"


@dataclass
class PipelineRun:
    """A storage folder and a landing folder the tests feed update by update."""

    spark: SparkSession
    root: Path

    @property
    def storage(self) -> Path:
        return self.root / "storage"

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    def land(self, update: int) -> None:
        """Copy fixtures/landing/update_<n> files in, with increasing modification times."""
        self.landing.mkdir(parents=True, exist_ok=True)
        for source in sorted((FIXTURES / "landing" / f"update_{update}").iterdir()):
            target = self.landing / source.name
            shutil.copyfile(source, target)
            stamp = 1_700_000_000 + int(source.name[:4])  # file order = name order
            os.utime(target, (stamp, stamp))

    def update(self, **kwargs: Any):
        """One pipeline update (in-process, same SparkSession)."""
        from localdlt.runner import run_update

        return run_update(
            [PIPELINE], self.storage, spark=self.spark,
            configuration={"orders.source": "files", "orders.landing_path": str(self.landing)}, **kwargs,
        )

    def table(self, name: str) -> DataFrame:
        return self.spark.read.format("delta").load(str(self.storage / "tables" / name))

    def expectations(self, update_id: str) -> dict[tuple[str, str], tuple[int, int]]:
        """``{(dataset, expectation): (passed, failed)}`` summed over the update's flow_progress events."""
        events = self.spark.read.format("delta").load(str(self.storage / "system" / "events"))
        exploded = events.filter((F.col("event_type") == "flow_progress") & (F.col("origin.update_id") == update_id)).select(
            F.explode(F.from_json(
                F.get_json_object("details", "$.flow_progress.data_quality.expectations"),
                "array<struct<name:string,dataset:string,passed_records:bigint,failed_records:bigint>>",
            )).alias("e")
        )
        rows = exploded.groupBy("e.dataset", "e.name").agg(F.sum("e.passed_records"), F.sum("e.failed_records")).collect()
        return {(r[0], r[1]): (int(r[2]), int(r[3])) for r in rows}

    def dropped(self, update_id: str) -> dict[str, int]:
        """``{flow: dropped_records}`` summed over the update's flow_progress events."""
        events = self.spark.read.format("delta").load(str(self.storage / "system" / "events"))
        rows = (
            events.filter((F.col("event_type") == "flow_progress") & (F.col("origin.update_id") == update_id))
            .select("origin.flow_name", F.get_json_object("details", "$.flow_progress.data_quality.dropped_records").cast("bigint").alias("d"))
            .groupBy("flow_name").agg(F.sum("d")).collect()
        )
        return {r[0]: int(r[1]) for r in rows if r[1] is not None}


@pytest.fixture(scope="module")
def pipeline_run(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PipelineRun]:
    """A fresh storage folder; the PII salt secret set for the module."""
    previous = os.environ.get(SALT_ENV)
    os.environ[SALT_ENV] = SALT
    yield PipelineRun(spark, tmp_path_factory.mktemp("orders-pipeline"))
    if previous is None:
        os.environ.pop(SALT_ENV, None)
    else:
        os.environ[SALT_ENV] = previous


def expected_tables(update: int) -> dict[str, dict[str, Any]]:
    """Every ``fixtures/expected/update_<n>/<table>.json`` by table name."""
    folder = FIXTURES / "expected" / f"update_{update}"
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))}


def assert_tables(run: PipelineRun, update: int) -> None:
    """Every expected table of ``update`` holds exactly its expected rows."""
    mismatches = {}
    for name, spec in expected_tables(update).items():
        index = [spec["columns"].index(k) for k in spec["key"]]
        got = table_rows(run.table(name), spec["columns"], spec["key"])
        want = sorted_rows(spec["rows"], index)
        if got != want:
            mismatches[name] = {"got": got, "want": want}
    assert not mismatches, json.dumps(mismatches, indent=1, default=str)[:20000]
