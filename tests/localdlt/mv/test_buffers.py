"""The per-group buffers of GROUP_AGGREGATE on disk (Spark + Delta, a source of 200 rows): a refresh
that touches groups already stored marks their old buffer rows deleted with deletion vectors instead
of rewriting the files that hold them; the next refresh reads only the live rows of those files;
``localdlt maintain`` compacts the buffers (and the view, which stays incremental); the view equals
a recompute after every step."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from localdlt import deltalog
from localdlt.maintenance import maintain
from localdlt.mv import refresh as mv
from localdlt.mv.issues import Technique
from localdlt.mv.writers import DELETION_VECTORS

SCHEMA = "id int, k string, v int"
FLOW = "by_key"


def _append(spark: SparkSession, source: Path, rows: list[tuple[object, ...]]) -> None:
    spark.createDataFrame(rows, SCHEMA).write.format("delta").mode("append").save(str(source))


def _refresh(spark: SparkSession, source: Path, storage: Path) -> Technique:
    """Refresh the view forced incremental (no cost model) and check it against a recompute."""
    version = deltalog.latest_version(source)
    query = (
        spark.read.format("delta").option("versionAsOf", version).load(str(source))
        .groupBy("k").agg(F.count("*").alias("n"), F.sum("v").alias("total"))
    )
    target = storage / "tables" / FLOW
    outcome = mv.refresh(
        spark,
        mv.Request(
            flow=FLOW, dataset=FLOW, query=query, target=target, state_dir=storage / "system" / "mv" / FLOW,
            source_versions={str(source): version}, source_names={str(source): "events"}, cost_model=None,
        ),
    )
    got = sorted(tuple(r) for r in spark.read.format("delta").load(str(target)).collect())
    assert got == sorted(tuple(r) for r in query.collect()), outcome.technique
    return outcome.technique


def _properties(spark: SparkSession, table: Path) -> dict[str, str]:
    return spark.sql(f"DESCRIBE DETAIL delta.`{table}`").collect()[0]["properties"]


def _commits(table: Path) -> list[list[dict[str, Any]]]:
    """The table's commits, oldest first, each its list of actions."""
    return [
        [json.loads(line) for line in commit.read_text().splitlines()]
        for commit in sorted((table / "_delta_log").glob("*.json"))
    ]


def _info(commit: list[dict[str, Any]]) -> dict[str, Any]:
    (info,) = [action["commitInfo"] for action in commit if "commitInfo" in action]
    return info


def _adds(commit: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [action["add"] for action in commit if "add" in action]


def _computed(spark: SparkSession, tmp_path: Path, rows: list[tuple[object, ...]]) -> tuple[Path, Path, Path]:
    """A source of ``rows`` and the view's first computation: (source, storage, buffers)."""
    source, storage = tmp_path / "source", tmp_path / "storage"
    spark.createDataFrame(rows, SCHEMA).write.format("delta").option(
        "delta.enableChangeDataFeed", "true"
    ).save(str(source))
    assert _refresh(spark, source, storage) is Technique.COMPLETE_RECOMPUTE
    return source, storage, storage / "system" / "mv" / FLOW / "buffers"


def test_merged_groups_are_marked_deleted_not_rewritten_and_read_exactly(
    spark: SparkSession, tmp_path: Path
) -> None:
    source, storage, buffers = _computed(spark, tmp_path, [(i, f"k{i % 40:02d}", i) for i in range(200)])
    assert _properties(spark, buffers)[DELETION_VECTORS] == "true"

    # Three stored groups and a new one: the three old buffer rows get deletion vectors, no file
    # is rewritten, the merged rows and the new group land in one new file.
    _append(spark, source, [(200, "k01", 1000), (201, "k02", 1000), (202, "k03", 1000), (203, "new", 7)])
    assert _refresh(spark, source, storage) is Technique.GROUP_AGGREGATE
    merge = _commits(buffers)[-1]
    metrics = _info(merge)["operationMetrics"]
    assert _info(merge)["operation"] == "MERGE"
    assert (metrics["numTargetRowsDeleted"], metrics["numTargetRowsInserted"]) == ("3", "4")
    assert int(metrics["numTargetDeletionVectorsAdded"]) >= 1
    assert metrics["numTargetFilesRemoved"] == "0"
    assert any(add.get("deletionVector") for add in _adds(merge))

    # Every stored group again: k01's live row is in the new file, its deleted row is still in a
    # file of the recompute, which the other keys send the touched-rows read to. Only the live row
    # may be merged.
    _append(spark, source, [(204 + i, f"k{i:02d}", 1) for i in range(40)])
    assert _refresh(spark, source, storage) is Technique.GROUP_AGGREGATE
    view = spark.read.format("delta").load(str(storage / "tables" / FLOW)).collect()
    by_key = {r["k"]: (r["n"], r["total"]) for r in view}
    assert (by_key["k01"], by_key["k05"], by_key["new"]) == ((7, 1406), (6, 426), (1, 7))

    # Maintenance compacts the buffers: one file, no deletion vector left, same rows.
    result = maintain(spark, storage, force=True)
    assert f"system/mv/{FLOW}/buffers" in result.maintained()
    (optimize,) = [c for c in _commits(buffers) if _info(c)["operation"] == "OPTIMIZE"]
    (compacted,) = _adds(optimize)
    assert not compacted.get("deletionVector")
    live = spark.read.format("delta").load(str(buffers))
    assert live.count() == 41
    assert [r[0] for r in live.select("_metadata.file_name").distinct().collect()] == [compacted["path"]]
    # The view was compacted too (OPTIMIZE, dataChange = false): still its refreshes' table, so the
    # next refresh stays incremental.
    assert f"tables/{FLOW}" not in result.maintained() and FLOW in result.maintained()
    _append(spark, source, [(300, "k01", 1), (301, "k05", 1)])
    assert _refresh(spark, source, storage) is Technique.GROUP_AGGREGATE


def test_buffers_written_before_deletion_vectors_get_them_and_stay_incremental(
    spark: SparkSession, tmp_path: Path
) -> None:
    # A storage from before: the same buffer rows in a table without deletion vectors, on which
    # Delta has no _metadata.row_index. The next refresh switches them on (one commit), then merges.
    source, storage, buffers = _computed(spark, tmp_path, [(i, f"k{i % 4}", i) for i in range(20)])
    stored = spark.createDataFrame(spark.read.format("delta").load(str(buffers)).collect())
    shutil.rmtree(buffers)
    stored.write.format("delta").save(str(buffers))
    assert DELETION_VECTORS not in _properties(spark, buffers)

    _append(spark, source, [(20, "k1", 100), (21, "k2", 100)])
    assert _refresh(spark, source, storage) is Technique.GROUP_AGGREGATE
    assert [_info(c)["operation"] for c in _commits(buffers)] == ["WRITE", "SET TBLPROPERTIES", "MERGE"]
    assert _properties(spark, buffers)[DELETION_VECTORS] == "true"
    _append(spark, source, [(22, "k1", 1)])
    assert _refresh(spark, source, storage) is Technique.GROUP_AGGREGATE
    assert [_info(c)["operation"] for c in _commits(buffers)][3:] == ["MERGE"]
