"""The orders pipeline's three updates on the fixtures, shared by the tests that check them
(``tests/pipeline``) and the bundle-driven tests (``tests/bundle/test_bundle_run.py``): one
xdist work unit (tests/conftest.py), so each update runs once per test run.

Update 1 is ``localdlt run --bundle-pipeline resources/orders.pipeline.yml --target dev`` (the
CLI, in-process, on the test session); updates 2 and 3 (full refresh) run the same bundle
resource through :func:`localdlt.runner.run_update` on a copy of update 1's storage, so update 1's
tables stay as they were for the bundle tests whatever the order the tests run in.

Each update is a session-scoped fixture that captures, right after its update, everything the
tests assert (table rows and schemas, counts, event-log metrics) in a :class:`Stage`. A test
asks for the stage it checks, so it passes alone, in any order, and never sees a later update's
tables."""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from expected_tables import sorted_rows, table_rows
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from localdlt.bundle import load_pipeline_resource
from localdlt.cli import main as localdlt_main
from localdlt.results import UpdateResult
from localdlt.runner import run_update

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures"
BUNDLE_PIPELINE = REPO / "resources" / "orders.pipeline.yml"
BUNDLE_TARGET = "dev"
SALT_ENV = "LOCALDLT_SECRET_ORDERS_PII_SALT"
SALT = "test-salt"
COUNTED = ("bronze_order_events", "silver_order_events_quarantine")  # tables the tests count


@dataclass
class PipelineRun:
    """A storage folder and a landing folder the tests feed update by update."""

    spark: SparkSession
    root: Path
    storage_name: str = "storage-1"

    @property
    def storage(self) -> Path:
        return self.root / self.storage_name

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    def fork(self, storage_name: str) -> None:
        """Go on in a copy of the storage (tables, checkpoints, event log, pipeline id): the
        next update continues from exactly this state, and the current folder stays as it is."""
        shutil.copytree(self.storage, self.root / storage_name, symlinks=True)
        self.storage_name = storage_name

    def land(self, update: int) -> None:
        """Copy fixtures/landing/update_<n> files in, with increasing modification times."""
        self.landing.mkdir(parents=True, exist_ok=True)
        for source in sorted((FIXTURES / "landing" / f"update_{update}").iterdir()):
            target = self.landing / source.name
            shutil.copyfile(source, target)
            stamp = 1_700_000_000 + int(source.name[:4])  # file order = name order
            os.utime(target, (stamp, stamp))

    def cli_update(self) -> str:
        """``localdlt run --bundle-pipeline resources/orders.pipeline.yml --target dev`` from the
        repository root (the CLI in-process, on the test session); the update's id."""
        patch = pytest.MonkeyPatch()
        patch.chdir(REPO)
        try:
            code = localdlt_main([
                "run", "--bundle-pipeline", str(BUNDLE_PIPELINE.relative_to(REPO)), "--target", BUNDLE_TARGET,
                "--conf", f"orders.landing_path={self.landing}", "--storage", str(self.storage), "--quiet",
            ], spark=self.spark)
        finally:
            patch.undo()
        assert code == 0, "the bundle-driven update failed (see the log above)"
        return self.last_update_id()

    def update(self, **kwargs: Any) -> str:
        """One update of the same bundle resource through the in-process API; the update's id."""
        resource = load_pipeline_resource(
            BUNDLE_PIPELINE, target=BUNDLE_TARGET, overrides={"orders.landing_path": str(self.landing)}
        )
        result: UpdateResult = run_update(
            list(resource.libraries), self.storage, spark=self.spark, configuration=resource.configuration,
            root_path=resource.root_path, **kwargs,
        )
        failed = {f.name: f.error for f in result.failed_flows()}
        assert result.status == "COMPLETED" and not failed, failed
        return result.update_id

    def last_update_id(self) -> str:
        """The id of the storage's latest update (its ``create_update`` event), which completed."""
        events = self.spark.read.format("delta").load(str(self.storage / "system" / "events"))
        created = events.filter(F.col("event_type") == "create_update").orderBy(
            F.col("sequence.control_plane_seq_no").desc()).first()
        assert created is not None, "no update in the event log"
        update_id = created["origin"]["update_id"]
        states = [json.loads(r["details"])["update_progress"]["state"] for r in events.filter(
            (F.col("event_type") == "update_progress") & (F.col("origin.update_id") == update_id)
        ).orderBy("sequence.control_plane_seq_no").select("details").collect()]
        assert states[-1:] == ["COMPLETED"], states
        return update_id

    def table(self, name: str) -> DataFrame:
        return self.spark.read.format("delta").load(str(self.storage / "tables" / name))

    def expectations(self, update_id: str) -> dict[tuple[str, str], tuple[int, int]]:
        """``{(dataset, expectation): (passed, failed)}`` summed over the update's flow_progress events."""
        events = self.spark.read.format("delta").load(str(self.storage / "system" / "events"))
        exploded = events.filter(
            (F.col("event_type") == "flow_progress") & (F.col("origin.update_id") == update_id)
        ).select(
            F.explode(
                F.from_json(
                    F.get_json_object("details", "$.flow_progress.data_quality.expectations"),
                    "array<struct<name:string,dataset:string,passed_records:bigint,failed_records:bigint>>",
                )
            ).alias("e")
        )
        rows = (
            exploded.groupBy("e.dataset", "e.name")
            .agg(F.sum("e.passed_records"), F.sum("e.failed_records"))
            .collect()
        )
        return {(r[0], r[1]): (int(r[2]), int(r[3])) for r in rows}

    def dropped(self, update_id: str) -> dict[str, int]:
        """``{flow: dropped_records}`` summed over the update's flow_progress events."""
        events = self.spark.read.format("delta").load(str(self.storage / "system" / "events"))
        rows = (
            events.filter((F.col("event_type") == "flow_progress") & (F.col("origin.update_id") == update_id))
            .select(
                "origin.flow_name",
                F.get_json_object("details", "$.flow_progress.data_quality.dropped_records")
                .cast("bigint")
                .alias("d"),
            )
            .groupBy("flow_name")
            .agg(F.sum("d"))
            .collect()
        )
        return {r[0]: int(r[1]) for r in rows if r[1] is not None}

    def capture(self, update_id: str) -> Stage:
        """What the tests assert about the storage right after update ``update_id``."""
        names = sorted(p.name for p in (self.storage / "tables").iterdir())
        quarantine = self.table("silver_order_events_quarantine")
        return Stage(
            update_id=update_id,
            storage=self.storage,
            rows={
                name: table_rows(self.table(name), spec["columns"], spec["key"])
                for name, spec in expected_tables(1).items()
            },
            counts={name: self.table(name).count() for name in COUNTED},
            schemas={name: self.table(name).schema for name in names},
            event_log_schema=self.spark.read.format("delta")
            .load(str(self.storage / "system" / "events"))
            .schema,
            quarantined_rules=Counter(
                tuple(r["failed_rules"]) for r in quarantine.select("failed_rules").collect()
            ),
            quarantined_without_payload=quarantine.filter(F.col("raw_payload").isNull()).count(),
            expectations=self.expectations(update_id),
            dropped=self.dropped(update_id),
        )


@dataclass(frozen=True)
class Stage:
    """The storage right after one update: its result, and what the tests compare."""

    update_id: str
    storage: Path  # the storage folder the update wrote (never written again)
    rows: dict[str, list[list[Any]]]  # every table of fixtures/expected: its columns, sorted by its key
    counts: dict[str, int]  # rows of the COUNTED tables
    schemas: dict[str, StructType]  # schema of every table written
    event_log_schema: StructType
    quarantined_rules: Counter  # failed_rules of the quarantine rows
    quarantined_without_payload: int
    expectations: dict[tuple[str, str], tuple[int, int]]  # (dataset, rule) -> (passed, failed)
    dropped: dict[str, int]  # flow -> dropped records

    def assert_tables(self, update: int) -> None:
        """Every expected table of ``update`` held exactly its expected rows."""
        mismatches = {}
        for name, spec in expected_tables(update).items():
            want = sorted_rows(spec["rows"], [spec["columns"].index(k) for k in spec["key"]])
            if self.rows[name] != want:
                mismatches[name] = {"got": self.rows[name], "want": want}
        assert not mismatches, json.dumps(mismatches, indent=1, default=str)[:20000]


def expected_tables(update: int) -> dict[str, dict[str, Any]]:
    """Every ``fixtures/expected/update_<n>/<table>.json`` by table name (updates 1 and 2 have the
    same tables, columns and keys)."""
    folder = FIXTURES / "expected" / f"update_{update}"
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))}


@pytest.fixture(scope="session")
def pipeline_run(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PipelineRun]:
    """A fresh storage folder for the three updates; the PII salt secret set meanwhile."""
    previous = os.environ.get(SALT_ENV)
    os.environ[SALT_ENV] = SALT
    yield PipelineRun(spark, tmp_path_factory.mktemp("orders-pipeline"))
    if previous is None:
        os.environ.pop(SALT_ENV, None)
    else:
        os.environ[SALT_ENV] = previous


@pytest.fixture(scope="session")
def update_1(pipeline_run: PipelineRun) -> Stage:
    """The first update over fixtures/landing/update_1, driven by the bundle through the CLI."""
    pipeline_run.land(1)
    return pipeline_run.capture(pipeline_run.cli_update())


@pytest.fixture(scope="session")
def update_2(pipeline_run: PipelineRun, update_1: Stage) -> Stage:
    """The incremental second update after fixtures/landing/update_2 landed, in a copy of update
    1's storage (which the bundle tests keep reading)."""
    pipeline_run.fork("storage-2")
    pipeline_run.land(2)
    return pipeline_run.capture(pipeline_run.update())


@pytest.fixture(scope="session")
def full_refresh(pipeline_run: PipelineRun, update_2: Stage) -> Stage:
    """A full refresh over both landing folders."""
    return pipeline_run.capture(pipeline_run.update(full_refresh=True))
