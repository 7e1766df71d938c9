"""Snapshot CDC (``create_auto_cdc_from_snapshot_flow`` / ``apply_changes_from_snapshot``):
each new full snapshot of the source is compared with the target and the difference applied.

SCD1: keys new in the snapshot are inserted, changed rows updated, keys gone deleted.
SCD2 (sequence = the snapshot's version): a key gone closes its current version
(``__END_AT`` = version); a key whose tracked columns changed closes it and opens a new one
(``__START_AT`` = version); untracked changes update the current version in place.

Applying a version not above the last applied one does nothing (idempotent), and versions are
recorded under ``state_path`` after the target is written (a replay of the same snapshot is a
no-op on the target anyway: it already equals the snapshot).

Example::

    latest = last_snapshot_version(spark, state_path)
    for snapshot, version in iterate_snapshots(next_snapshot, latest):
        apply_snapshot(spark, spec, table_path, state_path, snapshot, version)
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from datetime import date, datetime
from functools import reduce
from typing import Any

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import DataType, DateType, LongType, StringType, StructField, StructType, TimestampType

from localdlt.cdc.columns import END_AT, START_AT, ResolvedColumns, resolve_columns
from localdlt.cdc.scd1 import ACTION, q
from localdlt.cdc.spec import CdcSpecError, SnapshotCdcSpec
from localdlt.cdc.txn import MergeResult, idempotent_append, idempotent_merge
from localdlt.cdc.writer import CdcBatchMetrics, create_if_missing, table_exists

log = logging.getLogger(__name__)

VERSIONS_TABLE = "snapshot_versions"
VERSION = "version"
CLOSE, IN_PLACE, INSERT = "close", "in_place", "insert"

SnapshotFunction = Callable[[Any], "tuple[DataFrame, Any] | None"]


class SnapshotOrderError(CdcSpecError):
    """``snapshot_and_version`` returned a version not above the previous one."""


def version_type(version: Any) -> DataType:
    """The Spark type of a snapshot version (and of ``__START_AT`` / ``__END_AT``)."""
    if isinstance(version, bool):
        raise CdcSpecError("version", f"must be an int, a date, a timestamp or a string, got {version!r}")
    if isinstance(version, int):
        return LongType()
    if isinstance(version, datetime):
        return TimestampType()
    if isinstance(version, date):
        return DateType()
    if isinstance(version, str):
        return StringType()
    raise CdcSpecError("version", f"must be an int, a date, a timestamp or a string, got {version!r}")


def _versions_path(state_path: str) -> str:
    return os.path.join(str(state_path), VERSIONS_TABLE)


def last_snapshot_version(spark: SparkSession, state_path: str) -> Any:
    """The last version applied by :func:`apply_snapshot` under ``state_path``, or None."""
    path = _versions_path(state_path)
    if not table_exists(spark, path):
        return None
    row = spark.read.format("delta").load(path).agg(F.max(VERSION).alias("v")).first()
    return None if row is None else row["v"]


def iterate_snapshots(
    snapshot_and_version: SnapshotFunction, latest_version: Any
) -> Iterator[tuple[DataFrame, Any]]:
    """Call ``snapshot_and_version(latest)`` until it returns None, as Databricks does, yielding
    each ``(snapshot, version)``; ``latest`` starts at ``latest_version`` (None on a first run)
    and becomes each returned version. A version not above the previous one is an error."""
    latest = latest_version
    while True:
        result = snapshot_and_version(latest)
        if result is None:
            return
        if not isinstance(result, tuple) or len(result) != 2:
            raise CdcSpecError(
                "snapshot_and_version", f"must return (DataFrame, version) or None, got {result!r}"
            )
        snapshot, version = result
        if latest is not None and not version > latest:
            raise SnapshotOrderError(
                "snapshot_and_version",
                f"returned version {version!r}, not above the previous version {latest!r}",
            )
        yield snapshot, version
        latest = version


def resolve_snapshot_columns(
    spark: SparkSession, spec: SnapshotCdcSpec, schema: StructType, vtype: DataType
) -> ResolvedColumns:
    return resolve_columns(
        spark,
        schema,
        keys=spec.keys,
        sequence_by=None,
        scd_type=spec.scd_type,
        track_history_column_list=spec.track_history_column_list,
        track_history_except_column_list=spec.track_history_except_column_list,
        sequence_fallback=vtype,
    )


def _differs(columns: tuple[str, ...], left: str, right: str):
    return reduce(
        lambda a, b: a | b,
        [~F.col(f"{left}.`{c}`").eqNullSafe(F.col(f"{right}.`{c}`")) for c in columns],
        F.lit(False),
    )


def _merge_scd1(target: DeltaTable, snapshot: DataFrame, cols: ResolvedColumns):
    cond = " AND ".join(f"t.`{k}` = s.`{k}`" for k in cols.keys)
    builder = target.alias("t").merge(snapshot.alias("s"), cond)
    if cols.values:
        builder = builder.whenMatchedUpdate(
            condition=_differs(cols.values, "t", "s"), set={f"`{c}`": F.col(f"s.`{c}`") for c in cols.values}
        )
    return builder.whenNotMatchedInsert(
        values={f"`{c}`": F.col(f"s.`{c}`") for c in cols.columns}
    ).whenNotMatchedBySourceDelete()


def _scd2_changes(target: DataFrame, snapshot: DataFrame, cols: ResolvedColumns, version: Any) -> DataFrame:
    vtype = cols.sequence_type
    current = target.filter(q(END_AT).isNull()).alias("c")
    snap = snapshot.alias("s")
    on = reduce(lambda a, b: a & b, [F.col(f"c.`{k}`") == F.col(f"s.`{k}`") for k in cols.keys])
    joined = current.join(snap, on, "full_outer")
    c_present = F.col(f"c.{START_AT}").isNotNull()
    s_present = F.col(f"s.`{cols.keys[0]}`").isNotNull()
    tracked_change = _differs(cols.tracked, "c", "s")
    other_change = _differs(tuple(c for c in cols.values if c not in cols.tracked), "c", "s")
    v = F.lit(version).cast(vtype)
    # One row to close or rewrite the current version (matched on its __START_AT)...
    old_side = joined.filter(c_present & (~s_present | tracked_change | other_change)).select(
        *[F.col(f"c.`{k}`").alias(k) for k in cols.keys],
        *[F.when(s_present, F.col(f"s.`{c}`")).otherwise(F.col(f"c.`{c}`")).alias(c) for c in cols.values],
        F.col(f"c.{START_AT}").alias(START_AT),
        F.when(~s_present | tracked_change, v).alias(END_AT),
        F.when(~s_present | tracked_change, F.lit(CLOSE)).otherwise(F.lit(IN_PLACE)).alias(ACTION),
    )
    # ...and one row per new version (new key, or tracked change).
    new_side = joined.filter(s_present & (~c_present | tracked_change)).select(
        *[F.col(f"s.`{c}`").alias(c) for c in cols.columns],
        v.alias(START_AT),
        F.lit(None).cast(vtype).alias(END_AT),
        F.lit(INSERT).alias(ACTION),
    )
    return old_side.unionByName(new_side)


def _merge_scd2(target: DeltaTable, changes: DataFrame, cols: ResolvedColumns):
    cond = " AND ".join(
        [f"t.`{k}` = s.`{k}`" for k in cols.keys] + [f"t.{START_AT} = s.{START_AT}", f"t.{END_AT} IS NULL"]
    )
    return (
        target.alias("t")
        .merge(changes.alias("s"), cond)
        .whenMatchedUpdate(condition=F.col(f"s.{ACTION}") == F.lit(CLOSE), set={END_AT: F.col(f"s.{END_AT}")})
        .whenMatchedUpdate(
            condition=F.col(f"s.{ACTION}") == F.lit(IN_PLACE),
            set={f"`{c}`": F.col(f"s.`{c}`") for c in cols.values},
        )
        .whenNotMatchedInsert(
            condition=F.col(f"s.{ACTION}") == F.lit(INSERT),
            values={f"`{c}`": F.col(f"s.`{c}`") for c in (*cols.columns, START_AT, END_AT)},
        )
    )


def apply_snapshot(
    spark: SparkSession,
    spec: SnapshotCdcSpec,
    table_path: str,
    state_path: str,
    snapshot_df: DataFrame,
    version: Any,
) -> CdcBatchMetrics:
    """Apply the full snapshot ``snapshot_df`` taken at ``version`` to the target at
    ``table_path``; a version not above the last applied one is skipped."""
    vtype = version_type(version)
    cols = resolve_snapshot_columns(spark, spec, snapshot_df.schema, vtype)
    batch_id = version if isinstance(version, int) else 0
    last = last_snapshot_version(spark, state_path)
    if last is not None and not version > last:
        log.info("snapshot flow %s: version %r already applied (last %r)", spec.name, version, last)
        return CdcBatchMetrics(batch_id, skipped=True)
    create_if_missing(spark, table_path, cols.target_schema())
    create_if_missing(spark, _versions_path(state_path), StructType([StructField(VERSION, vtype, False)]))
    snapshot = snapshot_df.select(*[q(c) for c in cols.columns]).localCheckpoint(eager=True)
    dupes = snapshot.groupBy(*[q(k) for k in cols.keys]).count().filter("count > 1").limit(1).collect()
    if dupes:
        raise CdcSpecError(
            "keys", f"do not identify snapshot rows uniquely (version {version!r}): {dupes[0].asDict()}"
        )
    input_rows = snapshot.count()
    target = DeltaTable.forPath(spark, table_path)
    app_id = f"localdlt-snapshot/{spec.name}"
    if spec.scd_type == 1:
        builder = _merge_scd1(target, snapshot, cols)
        upserted = deleted = None
    else:
        changes = _scd2_changes(target.toDF(), snapshot, cols, version).localCheckpoint(eager=True)
        counts = {
            r[ACTION]: r["n"] for r in changes.groupBy(ACTION).agg(F.count(F.lit(1)).alias("n")).collect()
        }
        closes = counts.get(CLOSE, 0)
        upserted = counts.get(INSERT, 0) + counts.get(IN_PLACE, 0)
        # A closed version without a new one is a key gone from the snapshot.
        deleted = closes - (counts.get(INSERT, 0) - _new_keys(changes, cols))
        builder = _merge_scd2(target, changes, cols)
    if isinstance(version, int):
        merged = idempotent_merge(spark, builder, app_id, version)
    else:
        row = builder.execute().first()
        merged = (
            MergeResult(
                False,
                int(row["num_inserted_rows"]),
                int(row["num_updated_rows"]),
                int(row["num_deleted_rows"]),
            )
            if row
            else MergeResult(True)
        )
    versions = spark.createDataFrame([(version,)], StructType([StructField(VERSION, vtype, False)]))
    if isinstance(version, int):
        idempotent_append(versions, _versions_path(state_path), f"{app_id}/versions", version)
    else:
        versions.write.format("delta").mode("append").save(_versions_path(state_path))
    if upserted is None:
        upserted, deleted = merged.inserted + merged.updated, merged.deleted
    metrics = CdcBatchMetrics(
        batch_id=batch_id,
        input_rows=input_rows,
        upserted=upserted,
        deleted=deleted,
        rows_inserted=merged.inserted,
        rows_updated=merged.updated,
        rows_deleted=merged.deleted,
        skipped=merged.skipped,
    )
    log.info("snapshot flow %s version %r: %s", spec.name, version, metrics)
    return metrics


def _new_keys(changes: DataFrame, cols: ResolvedColumns) -> int:
    """Inserted versions whose key had no current version (new keys, not replacements)."""
    inserts = changes.filter(q(ACTION) == INSERT).select(*[q(k) for k in cols.keys])
    closes = changes.filter(q(ACTION) == CLOSE).select(*[q(k) for k in cols.keys])
    return inserts.join(closes, list(cols.keys), "left_anti").count()
