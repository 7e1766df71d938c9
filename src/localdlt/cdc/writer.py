"""``CdcWriter``: applies the micro-batches of one CDC flow to its Delta target (SCD1 or SCD2),
called from ``foreachBatch``.

Example::

    writer = CdcWriter(spark, spec, table_path, state_path, app_id=query_app_id)
    writer.ensure_table(source_df.schema)
    (source_df.writeStream.foreachBatch(lambda df, batch_id: writer.write_batch(df, batch_id))
        .option("checkpointLocation", checkpoint).trigger(availableNow=True).start())

Every write is idempotent by ``(app_id, batch_id)``: replaying a batch after a crash, at any
point, neither duplicates nor loses anything. ``app_id`` must change whenever the checkpoint
is recreated (batch ids start again at 0) — and then ``table_path`` and ``state_path`` must
be cleared too, as a full refresh does.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from localdlt.cdc import scd1, scd2
from localdlt.cdc.columns import ResolvedColumns, as_column, resolve_columns, sequence_column
from localdlt.cdc.scd1 import ACTION, IS_DELETE, IS_TRUNCATE, SEQ, q
from localdlt.cdc.spec import (
    DEFAULT_TOMBSTONE_GC_THRESHOLD_SECONDS,
    TOMBSTONE_GC_THRESHOLD_CONF,
    TOMBSTONE_GC_THRESHOLD_LEGACY_CONF,
    CdcNullKeyError,
    CdcNullSequenceError,
    CdcSpec,
    CdcSpecError,
)
from localdlt.cdc.txn import idempotent_append, idempotent_merge

log = logging.getLogger(__name__)

SCD1_STATE = "scd1_keys"
TOMBSTONE_GC_FREQUENCY_CONF = "pipelines.cdc.tombstoneGCFrequencyInSeconds"
DEFAULT_GC_FREQUENCY_SECONDS = 1800.0
SCD2_STATE = "scd2_events"


@dataclass(frozen=True)
class CdcBatchMetrics:
    """What one ``write_batch`` (or ``apply_snapshot``) did.

    ``input_rows``: rows of the batch after ``where``. ``upserted`` / ``deleted``: change
    events applied (SCD1: keys inserted-or-updated / deleted; SCD2: new upsert / delete events;
    snapshots: rows new-or-changed / gone). ``truncated``: rows removed by truncates.
    ``ignored``: events without effect (stale: older than their key's state, a tombstone or a
    truncate; superseded within the batch; already known). ``rows_inserted`` /
    ``rows_updated`` / ``rows_deleted``: the target MERGE's row counts. ``skipped``: the batch
    had already been written (a replay): nothing was changed.
    """

    batch_id: int
    input_rows: int = 0
    upserted: int = 0
    deleted: int = 0
    truncated: int = 0
    ignored: int = 0
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_deleted: int = 0
    skipped: bool = False

    @property
    def num_output_rows(self) -> int:
        """Target rows written (inserted + updated + deleted), as ``flow_progress`` reports them."""
        return self.rows_inserted + self.rows_updated + self.rows_deleted


def tombstone_gc_threshold(spark: SparkSession) -> int:
    """Seconds a SCD1 tombstone lives: ``pipelines.cdc.tombstoneGCThresholdInSeconds`` (or its
    older spelling ``pipelines.applyChanges.…``) from the session conf, else 2 days."""
    for key in (TOMBSTONE_GC_THRESHOLD_CONF, TOMBSTONE_GC_THRESHOLD_LEGACY_CONF):
        raw = spark.conf.get(key, None)
        if raw is not None:
            text = str(raw).strip().lower().removesuffix("s")
            try:
                value = int(text)
            except ValueError as exc:
                raise CdcSpecError(key, f"must be a number of seconds, got {raw!r}") from exc
            if value < 0:
                raise CdcSpecError(key, f"must be >= 0, got {raw!r}")
            return value
    return DEFAULT_TOMBSTONE_GC_THRESHOLD_SECONDS


def table_exists(spark: SparkSession, path: str) -> bool:
    """True when ``path`` holds a Delta table."""
    return os.path.isdir(os.path.join(path, "_delta_log")) and DeltaTable.isDeltaTable(spark, path)


def create_if_missing(spark: SparkSession, path: str, schema: StructType) -> bool:
    """Create an empty Delta table of ``schema`` at ``path`` unless one exists; True if created."""
    if table_exists(spark, path):
        return False
    # A metadata-only commit: no Spark job, no empty data file.
    DeltaTable.createIfNotExists(spark).location(str(path)).addColumns(schema).execute()
    log.info("created Delta table %s", path)
    return True


class CdcWriter:
    """Applies one CDC flow's micro-batches to the Delta table at ``table_path``; auxiliary
    state (SCD1 key sequences and tombstones, SCD2 change log) lives under ``state_path``."""

    def __init__(
        self, spark: SparkSession, spec: CdcSpec, table_path: str, state_path: str, app_id: str
    ) -> None:
        if not isinstance(spec, CdcSpec):
            raise CdcSpecError("spec", f"must be a CdcSpec, got {type(spec).__name__}")
        if not app_id:
            raise CdcSpecError("app_id", "must be a non-empty string")
        self.spark = spark
        self.spec = spec
        self.table_path = str(table_path)
        self.state_path = str(state_path)
        self.app_id = app_id
        self._cols: ResolvedColumns | None = None
        self._last_gc: float | None = None
        self._ensured: StructType | None = None

    # -- schema ----------------------------------------------------------------------------
    def resolve(self, source_schema: StructType) -> ResolvedColumns:
        """Check the spec's columns against ``source_schema`` (errors name the argument)."""
        spec = self.spec
        return resolve_columns(
            self.spark,
            source_schema,
            keys=spec.keys,
            sequence_by=spec.sequence_by,
            scd_type=spec.scd_type,
            column_list=spec.column_list,
            except_column_list=spec.except_column_list,
            track_history_column_list=spec.track_history_column_list,
            track_history_except_column_list=spec.track_history_except_column_list,
            ignore_null_updates=spec.ignore_null_updates,
            ignore_null_updates_column_list=spec.ignore_null_updates_column_list,
            ignore_null_updates_except_column_list=spec.ignore_null_updates_except_column_list,
            expressions=(
                ("where", spec.where),
                ("apply_as_deletes", spec.apply_as_deletes),
                ("apply_as_truncates", spec.apply_as_truncates),
            ),
        )

    def _columns(self, source_schema: StructType) -> ResolvedColumns:
        if self._cols is None or self._cols.source_schema != source_schema:
            self._cols = self.resolve(source_schema)
        return self._cols

    def target_schema(self, source_schema: StructType) -> StructType:
        """The target's schema for ``source_schema``: the selected columns; SCD2 adds
        ``__START_AT`` and ``__END_AT`` typed like ``sequence_by``."""
        return self._columns(source_schema).target_schema()

    @property
    def _state_table(self) -> str:
        return os.path.join(self.state_path, SCD1_STATE if self.spec.scd_type == 1 else SCD2_STATE)

    def ensure_table(self, source_schema: StructType) -> None:
        """Create the target table (and the state table) if missing."""
        cols = self._columns(source_schema)
        if self._ensured == cols.source_schema:
            return
        create_if_missing(self.spark, self.table_path, cols.target_schema())
        state = scd1.state_schema(cols) if self.spec.scd_type == 1 else scd2.events_schema(cols)
        if not create_if_missing(self.spark, self._state_table, state):
            self._add_missing_columns(self._state_table, state)
        self._ensured = cols.source_schema

    def _add_missing_columns(self, path: str, schema: StructType) -> None:
        """Add the columns of ``schema`` a state table written by an older localdlt lacks (SCD1's
        per-column sequences; NULL in the old rows, which the plan reads as "not tracked")."""
        present = set(self.spark.read.format("delta").load(path).columns)
        missing = [f for f in schema.fields if f.name not in present]
        if missing:
            columns = ", ".join(f"`{f.name}` {f.dataType.simpleString()}" for f in missing)
            self.spark.sql(f"ALTER TABLE delta.`{path}` ADD COLUMNS ({columns})")
            log.info("state table %s: added columns %s", path, [f.name for f in missing])

    # -- one micro-batch -------------------------------------------------------------------
    def _prepare(self, batch_df: DataFrame, cols: ResolvedColumns) -> DataFrame:
        """Filter with ``where``; keep the target columns, the sequence and the event kind."""
        spec = self.spec
        frame = batch_df if spec.where is None else batch_df.filter(as_column(spec.where))

        def flag(expression):  # a NULL predicate is not a delete / truncate
            return F.lit(False) if expression is None else F.coalesce(as_column(expression), F.lit(False))

        return frame.select(
            *[q(c) for c in cols.columns],
            sequence_column(spec.sequence_by).alias(SEQ),
            flag(spec.apply_as_deletes).alias(IS_DELETE),
            flag(spec.apply_as_truncates).alias(IS_TRUNCATE),
        )

    def _validate(self, prepared: DataFrame, cols: ResolvedColumns) -> tuple[int, int]:
        """(rows, truncate rows) of the batch, in one pass; NULL keys / sequences raise."""
        null_key = F.lit(False)
        for k in cols.keys:
            null_key = null_key | q(k).isNull()
        row = prepared.agg(
            F.count(F.lit(1)).alias("rows"),
            F.count(F.when(null_key & ~q(IS_TRUNCATE), 1)).alias("null_keys"),
            F.count(F.when(q(SEQ).isNull(), 1)).alias("null_seqs"),
            F.count(F.when(q(IS_TRUNCATE), 1)).alias("truncates"),
        ).first()
        assert row is not None
        if row["null_keys"]:
            raise CdcNullKeyError(self.spec.name, cols.keys, row["null_keys"])
        if row["null_seqs"]:
            raise CdcNullSequenceError(self.spec.name, row["null_seqs"])
        return int(row["rows"]), int(row["truncates"])

    def write_batch(self, batch_df: DataFrame, batch_id: int) -> CdcBatchMetrics:
        """Apply one micro-batch of change rows; idempotent by ``(app_id, batch_id)``.

        Raises :class:`CdcNullKeyError` / :class:`CdcNullSequenceError` before writing
        anything when the batch has a NULL key or sequence.
        """
        # The batch's own session: in foreachBatch it is the query's cloned session, so the
        # txn session confs set for MERGE never leak into other queries' writes.
        session = batch_df.sparkSession
        cols = self._columns(batch_df.schema)
        self.ensure_table(batch_df.schema)
        prepared = self._prepare(batch_df, cols)
        rows, truncates = self._validate(prepared, cols)
        if rows == 0:
            return CdcBatchMetrics(batch_id)
        if self.spec.scd_type == 1:
            return self._write_scd1(session, prepared, cols, batch_id, rows, truncates)
        return self._write_scd2(session, prepared, cols, batch_id, rows)

    def _gc_due(self, session: SparkSession) -> bool:
        """Whether this batch also deletes expired tombstones: the first batch of the writer,
        then every ``pipelines.cdc.tombstoneGCFrequencyInSeconds`` (default 30 minutes)."""
        raw = session.conf.get(TOMBSTONE_GC_FREQUENCY_CONF, None)
        try:
            every = (
                float(str(raw).strip().lower().removesuffix("s"))
                if raw is not None
                else DEFAULT_GC_FREQUENCY_SECONDS
            )
        except ValueError as exc:
            raise CdcSpecError(
                TOMBSTONE_GC_FREQUENCY_CONF, f"must be a number of seconds, got {raw!r}"
            ) from exc
        now = time.monotonic()
        if self._last_gc is not None and now - self._last_gc < every:
            return False
        self._last_gc = now
        return True

    def _app_id(self, role: str) -> str:
        return f"{self.app_id}/{role}"

    def _write_scd1(
        self,
        session: SparkSession,
        prepared: DataFrame,
        cols: ResolvedColumns,
        batch_id: int,
        rows: int,
        truncates: int,
    ) -> CdcBatchMetrics:
        now = datetime.now(timezone.utc)
        cutoff = now - timedelta(seconds=tombstone_gc_threshold(session))
        state = DeltaTable.forPath(session, self._state_table)
        # Materialised once, against the state as it is now, before either write.
        plan = scd1.plan_changes(prepared, state.toDF(), cols, cutoff, batch_truncates=truncates > 0)
        changes = plan.localCheckpoint(eager=True)
        counts = {
            r[ACTION]: r["n"] for r in changes.groupBy(ACTION).agg(F.count(F.lit(1)).alias("n")).collect()
        }
        target = DeltaTable.forPath(session, self.table_path)
        to_target = changes.filter(q(ACTION) != scd1.WATERMARK)
        merged = idempotent_merge(
            session, scd1.merge_target(target, to_target, cols), self._app_id("target"), batch_id
        )
        state_rows = scd1.state_rows(changes, cols, now)
        collect = self._gc_due(session)
        idempotent_merge(
            session,
            scd1.merge_state(state, state_rows, cols, cutoff if collect else None),
            self._app_id("state"),
            batch_id,
        )
        upserted, deleted = counts.get(scd1.UPSERT, 0), counts.get(scd1.DELETE, 0)
        truncated = counts.get(scd1.TRUNCATE, 0)
        metrics = CdcBatchMetrics(
            batch_id=batch_id,
            input_rows=rows,
            upserted=upserted,
            deleted=deleted,
            truncated=truncated,
            ignored=rows - upserted - deleted - truncates,
            rows_inserted=merged.inserted,
            rows_updated=merged.updated,
            rows_deleted=merged.deleted,
            skipped=merged.skipped,
        )
        log.info("flow %s batch %d: %s", self.spec.name, batch_id, metrics)
        return metrics

    def _write_scd2(
        self, session: SparkSession, prepared: DataFrame, cols: ResolvedColumns, batch_id: int, rows: int
    ) -> CdcBatchMetrics:
        batch = prepared.drop(IS_TRUNCATE)
        state = session.read.format("delta").load(self._state_table)
        target = DeltaTable.forPath(session, self.table_path)
        # The batch's events with the state's events of its keys, materialised once; the changes
        # against the current target too, before either write.
        events = scd2.all_events(batch, state, cols).localCheckpoint(eager=True)
        new_events, changes = scd2.plan(events, target.toDF(), cols)
        changes = changes.localCheckpoint(eager=True)
        counts = {
            r[IS_DELETE]: r["n"]
            for r in new_events.groupBy(IS_DELETE).agg(F.count(F.lit(1)).alias("n")).collect()
        }
        merged = idempotent_merge(
            session, scd2.merge_target(target, changes, cols), self._app_id("target"), batch_id
        )
        idempotent_append(new_events, self._state_table, self._app_id("state"), batch_id)
        upserted, deleted = counts.get(False, 0), counts.get(True, 0)
        metrics = CdcBatchMetrics(
            batch_id=batch_id,
            input_rows=rows,
            upserted=upserted,
            deleted=deleted,
            ignored=rows - upserted - deleted,
            rows_inserted=merged.inserted,
            rows_updated=merged.updated,
            rows_deleted=merged.deleted,
            skipped=merged.skipped,
        )
        log.info("flow %s batch %d: %s", self.spec.name, batch_id, metrics)
        return metrics
