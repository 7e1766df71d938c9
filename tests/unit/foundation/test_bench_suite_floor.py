"""bench.bench_suite_floor: the commits a test run left, counted exactly, and what they cost."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from bench import bench_suite_floor as floor

FLOORS = {
    floor.APPEND: 0.2,
    floor.OVERWRITE: 0.75,
    floor.MERGE: 1.5,
    floor.CREATE: 0.25,
    floor.DELTA_SINK: 0.85,
    floor.FOREACH_BATCH: 0.4,
}


def _table(path: Path, *operations: tuple[str, dict[str, str]]) -> None:
    log = path / "_delta_log"
    log.mkdir(parents=True)
    for version, (operation, parameters) in enumerate(operations):
        info = {"commitInfo": {"operation": operation, "operationParameters": parameters}}
        lines = [json.dumps({"protocol": {}}), json.dumps(info)]
        (log / f"{version:020d}.json").write_text("\n".join(lines) + "\n")
        (log / f"{version:020d}.crc").write_text("{}")  # not a commit


def _checkpoint(path: Path, batches: int) -> None:
    (path / "commits").mkdir(parents=True)
    (path / "metadata").write_text("{}")
    for batch in range(batches):
        (path / "commits" / str(batch)).write_text("v1")
    (path / "commits" / ".0.crc").write_text("")


def test_census_counts_commits_by_operation_and_micro_batches(tmp_path: Path) -> None:
    _table(tmp_path / "a" / "view", ("CREATE TABLE", {}), ("WRITE", {"mode": "Overwrite"}), ("MERGE", {}))
    _table(tmp_path / "b" / "bronze", ("WRITE", {"mode": "Append"}), ("WRITE", {"mode": "Append"}))
    _table(tmp_path / "c" / "sink", ("STREAMING UPDATE", {"outputMode": "Append"}))
    _checkpoint(tmp_path / "a" / "checkpoints" / "bronze", batches=2)
    _checkpoint(tmp_path / "c" / "checkpoint", batches=1)
    (tmp_path / "d" / "commits").mkdir(parents=True)  # no metadata beside it: not a checkpoint
    (tmp_path / "d" / "commits" / "7").write_text("")
    found = floor.census(tmp_path)
    assert found.tables == 3
    assert found.commits == Counter(
        {"CREATE TABLE": 1, "WRITE Overwrite": 1, "MERGE": 1, "WRITE Append": 2, "STREAMING UPDATE": 1}
    )
    assert found.micro_batches == 3


def test_lower_bound_charges_each_commit_its_floor_and_unmeasured_ones_nothing() -> None:
    found = floor.Census(
        tables=2,
        commits=Counter({"WRITE Append": 4, "MERGE": 2, "STREAMING UPDATE": 1, "VACUUM START": 3}),
        micro_batches=5,
    )
    rows = {row["operation"]: (row["count"], row["cpu_s"]) for row in floor.lower_bound(found, FLOORS)}
    assert rows == {
        "WRITE Append": (4, 0.8),
        "MERGE": (2, 3.0),
        "STREAMING UPDATE": (1, 0.85),
        "VACUUM START": (3, 0.0),
        # five micro-batches, one of them the Delta sink's (charged whole above): four pay the
        # foreachBatch overhead beyond their append, 0.4 - 0.2 s each
        floor.BATCH_OVERHEAD: (4, 0.8),
    }
