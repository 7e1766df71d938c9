"""localdlt maintenance: OPTIMIZE then VACUUM on Databricks' schedule and defaults, table properties
honoured, never during an update, and safe for readers of older versions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from localdlt import storage
from localdlt.errors import ConcurrentUpdateError
from localdlt.maintenance import maintain

T0 = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)

pytestmark = pytest.mark.slow  # VACUUM/OPTIMIZE over many commits


def _table(spark: SparkSession, path: Path, commits: int, properties: dict[str, str] | None = None) -> None:
    for index in range(commits):
        spark.range(index * 10, index * 10 + 10).coalesce(1).write.format("delta").mode("append").save(
            str(path)
        )
    for key, value in (properties or {}).items():
        spark.sql(f"ALTER TABLE delta.`{path}` SET TBLPROPERTIES ('{key}' = '{value}')")


def _data_files(path: Path) -> int:
    return len(list(path.glob("*.parquet")))


def _active_files(spark: SparkSession, path: Path) -> int:
    return spark.sql(f"DESCRIBE DETAIL delta.`{path}`").collect()[0]["numFiles"]


@pytest.fixture()
def run_storage(spark: SparkSession, tmp_path: Path) -> Path:
    root = tmp_path / "run"
    _table(spark, root / "tables" / "compacted", 6)
    _table(spark, root / "tables" / "unmanaged", 3, {"pipelines.autoOptimize.managed": "false"})
    _table(
        spark,
        root / "tables" / "short_retention",
        4,
        {"delta.deletedFileRetentionDuration": "interval 0 hours"},
    )
    return root


def test_maintenance_waits_24_hours_then_optimizes_and_vacuums(
    spark: SparkSession, run_storage: Path
) -> None:
    first = maintain(spark, run_storage, now=lambda: T0)
    assert first.maintained() == []
    assert {t.skipped for t in first.tables} == {"next maintenance after 2026-11-30 10:00 UTC"}
    assert _active_files(spark, run_storage / "tables" / "compacted") == 6

    later = maintain(spark, run_storage, now=lambda: T0 + timedelta(hours=24))
    outcome = {t.table: t for t in later.tables}
    assert later.maintained() == ["compacted", "short_retention", "unmanaged"]
    compacted = outcome["compacted"]
    assert (
        compacted.optimized,
        compacted.files_removed_by_optimize,
        compacted.files_added_by_optimize,
        compacted.vacuumed,
    ) == (True, 6, 1, True)
    assert _active_files(spark, run_storage / "tables" / "compacted") == 1
    # pipelines.autoOptimize.managed = false: no OPTIMIZE, VACUUM still runs.
    assert (outcome["unmanaged"].optimized, outcome["unmanaged"].vacuumed) == (False, True)
    assert _active_files(spark, run_storage / "tables" / "unmanaged") == 3
    # Default retention (7 days): the compacted-away files stay on disk for older readers ...
    assert _data_files(run_storage / "tables" / "compacted") == 7
    # ... and a reader of the version before OPTIMIZE still reads every row.
    old = spark.read.format("delta").option("versionAsOf", 5).load(str(run_storage / "tables" / "compacted"))
    assert old.count() == 60
    # delta.deletedFileRetentionDuration = 0 hours is honoured: the 4 replaced files are gone.
    assert _data_files(run_storage / "tables" / "short_retention") == 1
    assert spark.read.format("delta").load(str(run_storage / "tables" / "short_retention")).count() == 40

    again = maintain(spark, run_storage, now=lambda: T0 + timedelta(hours=72))
    assert {t.skipped for t in again.tables} == {"not changed since its last maintenance"}


def test_changed_tables_are_maintained_again_after_the_interval(
    spark: SparkSession, run_storage: Path
) -> None:
    maintain(spark, run_storage, force=True, now=lambda: T0)
    _table(spark, run_storage / "tables" / "compacted", 2)
    soon = maintain(spark, run_storage, now=lambda: T0 + timedelta(hours=1))
    assert soon.maintained() == []
    due = maintain(spark, run_storage, now=lambda: T0 + timedelta(hours=25))
    assert due.maintained() == ["compacted"]
    assert _active_files(spark, run_storage / "tables" / "compacted") == 1
    assert spark.read.format("delta").load(str(run_storage / "tables" / "compacted")).count() == 80


def test_maintenance_never_runs_during_an_update(spark: SparkSession, tmp_path: Path) -> None:
    layout = storage.Layout(tmp_path.resolve())
    with storage.update_lock(layout):
        with pytest.raises(ConcurrentUpdateError, match="another localdlt update is running on storage"):
            maintain(spark, tmp_path, force=True)
    assert not (tmp_path / "system" / "maintenance.json").exists()  # nothing was looked at
