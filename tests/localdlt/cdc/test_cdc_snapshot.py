"""Snapshot CDC over three snapshots, SCD1 and SCD2, driven by iterate_snapshots as
Databricks drives ``snapshot_and_version``; a version already applied is skipped."""

from __future__ import annotations

from pathlib import Path

import pytest
from cdc_support import read_rows

from localdlt.cdc import (
    SnapshotCdcSpec,
    SnapshotOrderError,
    apply_snapshot,
    iterate_snapshots,
    last_snapshot_version,
)

SNAPSHOTS = {
    1: [(1, "a", "x"), (2, "b", "y")],
    2: [(1, "a2", "x"), (3, "c", "z")],
    3: [(1, "a2", "x"), (2, "b", "y"), (3, "c", "z2")],
}


def _source(spark, calls: list):
    def snapshot_and_version(latest):
        calls.append(latest)
        version = 1 if latest is None else latest + 1
        if version not in SNAPSHOTS:
            return None
        return spark.createDataFrame(SNAPSHOTS[version], "id INT, name STRING, city STRING").coalesce(
            1
        ), version

    return snapshot_and_version


def _run(spark, spec, table, state, after_each):
    calls: list = []
    for snapshot, version in iterate_snapshots(_source(spark, calls), last_snapshot_version(spark, state)):
        apply_snapshot(spark, spec, table, state, snapshot, version)
        after_each.append(read_rows(spark, table, ("id",) + (("__START_AT",) if spec.scd_type == 2 else ())))
    return calls


def test_snapshot_scd1_three_snapshots(spark, tmp_path: Path):
    spec = SnapshotCdcSpec(target="t", source=None, keys=("id",))
    table, state = str(tmp_path / "t"), str(tmp_path / "s")
    seen: list = []
    calls = _run(spark, spec, table, state, seen)
    assert calls == [None, 1, 2, 3]
    assert seen == [
        [(1, "a", "x"), (2, "b", "y")],
        [(1, "a2", "x"), (3, "c", "z")],
        [(1, "a2", "x"), (2, "b", "y"), (3, "c", "z2")],
    ]
    # Already applied: skipped, nothing changes; the next run asks for what follows 3.
    again = apply_snapshot(
        spark, spec, table, state, spark.createDataFrame(SNAPSHOTS[2], "id INT, name STRING, city STRING"), 2
    )
    assert again.skipped is True
    assert read_rows(spark, table) == seen[-1]
    assert _run(spark, spec, table, state, []) == [3]


def test_snapshot_scd2_three_snapshots(spark, tmp_path: Path):
    spec = SnapshotCdcSpec(target="t", source=None, keys=("id",), stored_as_scd_type=2)
    table, state = str(tmp_path / "t"), str(tmp_path / "s")
    seen: list = []
    _run(spark, spec, table, state, seen)
    assert seen[-1] == [
        (1, "a", "x", 1, 2),
        (1, "a2", "x", 2, None),
        (2, "b", "y", 1, 2),
        (2, "b", "y", 3, None),
        (3, "c", "z", 2, 3),
        (3, "c", "z2", 3, None),
    ]


def test_snapshot_versions_must_increase():
    answers = iter([("df1", 2), ("df2", 2)])
    with pytest.raises(SnapshotOrderError) as info:
        list(iterate_snapshots(lambda latest: next(answers), None))
    assert str(info.value) == (
        "argument 'snapshot_and_version': returned version 2, not above the previous version 2"
    )
