"""Listing and per-flow state of the Auto Loader emulation (mostly without Spark)."""

from __future__ import annotations

import os
from pathlib import Path

from pyspark.sql import SparkSession

from localdlt.sources.cloud_files import check_changed_files, read_cloud_files
from localdlt.sources.file_state import FileEntry, FlowFileState, list_files, local_path, spark_file_paths


def test_local_path_forms(tmp_path: Path) -> None:
    assert local_path(str(tmp_path)) == str(tmp_path)
    assert local_path(f"file:{tmp_path}") == str(tmp_path)
    assert local_path(f"file://{tmp_path}") == str(tmp_path)
    assert local_path("abfss://landing@account.dfs.core.windows.net/orders") is None
    assert local_path("dbfs:/Volumes/main/orders/landing") is None


def test_listing_skips_hidden_files_and_orders_by_time(tmp_path: Path) -> None:
    for name, mtime in [("b.json", 20), ("a.json", 30), (".a.json.tmp", 5), ("_SUCCESS", 5), ("c.txt", 10)]:
        (tmp_path / name).write_text("{}\n")
        os.utime(tmp_path / name, (mtime, mtime))
    (tmp_path / "_spark_metadata").mkdir()
    (tmp_path / "_spark_metadata" / "0").write_text("x")
    (tmp_path / "day=1").mkdir()
    (tmp_path / "day=1" / "d.json").write_text("{}\n")
    os.utime(tmp_path / "day=1" / "d.json", (40, 40))

    assert [Path(e.path).name for e in list_files(str(tmp_path))] == ["c.txt", "b.json", "a.json", "d.json"]
    assert [Path(e.path).name for e in list_files(str(tmp_path), path_glob_filter="*.json")] == [
        "b.json",
        "a.json",
        "d.json",
    ]
    assert [Path(e.path).name for e in list_files(str(tmp_path / "*.json"))] == ["b.json", "a.json"]
    assert list_files(str(tmp_path / "missing")) == []


def test_spark_file_paths_match_metadata_file_path(spark: SparkSession, tmp_path: Path) -> None:
    # includeExistingFiles=false filters on _metadata.file_path: both forms must agree exactly,
    # including the characters Hadoop encodes (space, #, %) and the ones it does not (+).
    names = ["plain.txt", "with space.txt", "hash#1.txt", "plus+sign.txt", "pct%41.txt"]
    for name in names:
        (tmp_path / name).write_text(name + "\n")
    seen = {r.file_path for r in spark.read.text(str(tmp_path)).select("_metadata.file_path").collect()}
    assert set(spark_file_paths(spark, [str(tmp_path / n) for n in names])) == seen


def test_changed_files_reported_once_per_change(tmp_path: Path) -> None:
    state = FlowFileState(tmp_path / "state")
    v1, v2, v3 = FileEntry(1, "/in/a", 10), FileEntry(2, "/in/a", 12), FileEntry(3, "/in/a", 12)
    other = FileEntry(1, "/in/b", 5)
    assert state.changed_files([v1, other], set()) == []
    # A caller without a callback sees the change but does not consume it.
    assert state.changed_files([v2, other], set(), report=False) == ["/in/a"]
    assert state.changed_files([v2, other], set()) == ["/in/a"]
    assert state.changed_files([v2, other], set()) == []
    assert state.changed_files([v3, other], set()) == ["/in/a"]
    # Skipped files (includeExistingFiles=false) are never tracked.
    assert state.changed_files([FileEntry(9, "/in/old", 1)], {"/in/old"}) == []
    assert state.load("seen_files.json") == {"/in/a": [10, 1], "/in/b": [5, 1]}
    assert sorted(p.name for p in (tmp_path / "state").iterdir()) == [
        "reported_changes.json",
        "seen_files.json",
    ]


def test_check_changed_files_between_batches_shares_the_bookkeeping(
    spark: SparkSession, tmp_path: Path
) -> None:
    landing, state = tmp_path / "landing", tmp_path / "state"
    landing.mkdir()
    target = landing / "a.json"
    target.write_text('{"id": 1}\n')
    os.utime(target, (1_700_000_000, 1_700_000_000))
    options = {"cloudFiles.format": "json"}
    changed: list[str] = []
    # Never opened: nothing is known yet, nothing to report.
    assert check_changed_files(str(landing), options, state_dir=state, on_changed_file=changed.append) == []

    read_cloud_files(spark, str(landing), options, "id INT", state_dir=state, on_changed_file=changed.append)
    target.write_text('{"id": 1}\n{"id": 2}\n')
    # A continuous run checks between micro-batches: reported now ...
    assert check_changed_files(str(landing), options, state_dir=state, on_changed_file=changed.append) == [
        str(target)
    ]
    assert check_changed_files(str(landing), options, state_dir=state, on_changed_file=changed.append) == []
    # ... and not again when the source is next opened.
    read_cloud_files(spark, str(landing), options, "id INT", state_dir=state, on_changed_file=changed.append)
    assert changed == [str(target)]
