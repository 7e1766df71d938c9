"""Writes of an incremental refresh, each one Delta commit: append new rows, or replace the rows of
touched keys (a MERGE whose source holds one delete marker per key plus the new rows, so any
number of rows per key — aggregates, window partitions — is replaced atomically)."""

from __future__ import annotations

from pathlib import Path

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from localdlt import deltalog

OP = "__localdlt_op"
DELETION_VECTORS = "delta.enableDeletionVectors"


def append(df: DataFrame, target: Path) -> int:
    """Append ``df`` to the Delta table at ``target``; the number of rows written."""
    before = deltalog.latest_version(target)
    df.write.format("delta").mode("append").save(str(target))
    return deltalog.output_rows(deltalog.find_commit(target, before) or {})


def replace_keys(
    spark: SparkSession, target: Path, rows: DataFrame, keys: DataFrame, key_columns: list[str]
) -> int:
    """Delete every row of ``target`` whose ``key_columns`` equal (NULL-safe) a row of ``keys``
    and insert ``rows``, in one commit. Returns the number of rows inserted.

    ``keys`` has the key columns under the target's names; with no key column the whole table is
    replaced (a global aggregate).
    """
    # Materialised first: rows rebuilt by plan surgery reuse the query's attribute ids, which a
    # union with the markers would duplicate (Spark's CombineUnions then rejects the plan).
    rows = rows.localCheckpoint()
    columns = [f.name for f in rows.schema.fields]
    markers = keys.select(*[F.col(c) for c in key_columns], F.lit("D").alias(OP))
    if not key_columns:
        markers = spark.range(1).select(F.lit("D").alias(OP))
    source = rows.withColumn(OP, F.lit("I")).unionByName(markers, allowMissingColumns=True)
    condition = " AND ".join([*(f"t.`{c}` <=> s.`{c}`" for c in key_columns), f"s.{OP} = 'D'"])
    before = deltalog.latest_version(target)
    (
        DeltaTable.forPath(spark, str(target))
        .alias("t")
        .merge(source.alias("s"), condition)
        .whenMatchedDelete()
        .whenNotMatchedInsert(condition=f"s.{OP} = 'I'", values={c: f"s.`{c}`" for c in columns})
        .execute()
    )
    commit = deltalog.find_commit(target, before) or {}
    return int(commit.get("operationMetrics", {}).get("numTargetRowsInserted", 0))


def overwrite(
    df: DataFrame, target: Path, *, change_feed: bool = False, deletion_vectors: bool = False
) -> None:
    """Replace the Delta table at ``target`` with ``df`` (schema included); ``change_feed``
    switches Delta's change data feed on (a view others may read incrementally);
    ``deletion_vectors`` lets :func:`replace_keys` mark the replaced rows deleted instead of
    rewriting every file that holds one (only for tables nothing but Spark reads: delta-rs, which
    serving and the event-log reader use, refuses tables with that reader feature)."""
    writer = df.write.format("delta").mode("overwrite").option("overwriteSchema", "true")
    if change_feed:
        writer = writer.option("delta.enableChangeDataFeed", "true")
    if deletion_vectors:
        writer = writer.option(DELETION_VECTORS, "true")
        # Delta takes a table property from a write option only when the write creates the table.
        if (target / "_delta_log").is_dir():
            load_with_deletion_vectors(df.sparkSession, target)
    writer.save(str(target))


def load_with_deletion_vectors(spark: SparkSession, target: Path) -> DataFrame:
    """The existing Delta table at ``target``, with deletion vectors switched on first (one commit,
    only when they are off): tables written before localdlt enabled them, whose reads of
    ``_metadata.row_index`` would otherwise fail. Delta exposes that field only with the feature
    on, so its presence is the check: it comes from the snapshot Delta caches, where reading the
    property from the log would replay the commits on every refresh. The table is loaded again
    only after the switch."""
    table = spark.read.format("delta").load(str(target))
    if "row_index" in table.select("_metadata.*").columns:
        return table
    spark.sql(f"ALTER TABLE delta.`{target}` SET TBLPROPERTIES ('{DELETION_VECTORS}' = 'true')")
    return spark.read.format("delta").load(str(target))
