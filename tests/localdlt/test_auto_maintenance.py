"""A completed update maintains the tables that are due (Databricks' 24-hour schedule), under its
own lock, without changing a row; ``localdlt.maintenance.auto = false`` turns that off; a failed
update maintains nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession

from localdlt.maintenance import STATE_FILE
from localdlt.runner import AUTO_MAINTENANCE_KEY, run_update

PIPELINE = """
import dlt


@dlt.table
def raw():
    return spark.readStream.schema("id INT").json(spark.conf.get("test.landing"))
"""


def _active_files(spark: SparkSession, table: Path) -> int:
    return spark.sql(f"DESCRIBE DETAIL delta.`{table}`").collect()[0]["numFiles"]


def _age_maintenance_state(storage: Path, hours: int) -> None:
    """What 'hours later' means to the schedule: every table first seen that long ago."""
    state_file = storage / "system" / STATE_FILE
    state = json.loads(state_file.read_text())
    earlier = (datetime.now(UTC) - timedelta(hours=hours)).isoformat()
    for entry in state.values():
        entry["since"] = earlier
    state_file.write_text(json.dumps(state))


def _three_updates(
    spark: SparkSession,
    write_pipeline: Callable[..., Path],
    landing: Callable[..., Path],
    storage: Path,
    configuration: dict[str, str],
) -> Path:
    """Three updates of three files each (one file per commit); the state aged 25 h before the last."""
    folder = write_pipeline({"p.py": PIPELINE})
    for update in range(3):
        land = landing("land", f"{update}.json", [{"id": update * 10 + i} for i in range(5)])
        if update == 2:
            _age_maintenance_state(storage, hours=25)
        result = run_update(
            [folder],
            storage,
            spark=spark,
            configuration={"test.landing": str(land), **configuration},
        )
        assert result.ok, result.failed_flows()
    return storage / "tables" / "raw"


def test_a_completed_update_optimizes_the_tables_that_are_due(
    spark: SparkSession, write_pipeline: Callable[..., Path], landing: Callable[..., Path], tmp_path: Path
) -> None:
    table = _three_updates(spark, write_pipeline, landing, tmp_path / "storage", {})
    # Two appends (one file each) while the schedule said "not yet", a third after 25 hours: the
    # update that followed compacted the three files into one; every row is still there.
    assert _active_files(spark, table) == 1
    history = spark.sql(f"DESCRIBE HISTORY delta.`{table}`").select("operation").collect()
    assert [row["operation"] for row in history][:3] == ["VACUUM END", "VACUUM START", "OPTIMIZE"]
    ids = sorted(r["id"] for r in spark.read.format("delta").load(str(table)).collect())
    assert ids == [0, 1, 2, 3, 4, 10, 11, 12, 13, 14, 20, 21, 22, 23, 24]
    state = json.loads((tmp_path / "storage" / "system" / STATE_FILE).read_text())
    assert state["raw"]["version"] == _latest_version(table)


def test_auto_maintenance_false_leaves_the_files_alone(
    spark: SparkSession, write_pipeline: Callable[..., Path], landing: Callable[..., Path], tmp_path: Path
) -> None:
    storage = tmp_path / "storage"
    # The first update must still record when each table was first seen, or there is nothing to age:
    # run it with maintenance on, then turn it off for the rest.
    folder = write_pipeline({"p.py": PIPELINE})
    land = landing("land", "0.json", [{"id": 0}])
    assert run_update([folder], storage, spark=spark, configuration={"test.landing": str(land)}).ok
    _age_maintenance_state(storage, hours=25)
    off = {AUTO_MAINTENANCE_KEY: "false"}
    for update in (1, 2):
        land = landing("land", f"{update}.json", [{"id": update}])
        result = run_update([folder], storage, spark=spark, configuration={"test.landing": str(land), **off})
        assert result.ok, result.failed_flows()
    table = storage / "tables" / "raw"
    assert _active_files(spark, table) == 3
    operations = [r["operation"] for r in spark.sql(f"DESCRIBE HISTORY delta.`{table}`").collect()]
    assert "OPTIMIZE" not in operations and "VACUUM START" not in operations


def _latest_version(table: Path) -> Any:
    return max(int(p.stem) for p in (table / "_delta_log").glob("*.json"))
