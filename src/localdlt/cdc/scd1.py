"""SCD type 1: one row per key, the change with the highest sequence wins.

State (an auxiliary Delta table) keeps, per key, the sequence of the change last applied and
whether it was a delete (a *tombstone*, with the wall-clock time it was written), plus one
row without key holding the highest truncate sequence (the *watermark*). With it:

- an event whose sequence is not above its key's state is stale and ignored, so out-of-order
  events, within a batch or across batches, end as if they had come in order;
- under ``ignore_null_updates`` the state also keeps, per NULL-ignoring column, the sequence of
  the change that set its value (``__seq_<column>``; a delete sets it too, as it wipes the
  values): a stale change still sets a column no newer change set, and a stale delete still wipes
  a column set before it, so the values end as in order whatever the batch boundaries;
- a late update older than a delete does not resurrect the key while the tombstone lives
  (``pipelines.cdc.tombstoneGCThresholdInSeconds``; expired tombstones are ignored and
  garbage-collected by the state MERGE);
- a truncate removes every key whose last change is older than it; events older than the
  watermark are ignored.

The plan of one micro-batch is computed against the *old* state and materialised before any
write: target MERGE first, state MERGE second, each idempotent by (app id, batch id). A replay
after a crash between the two skips the target and completes the state from the same plan.
"""

from __future__ import annotations

from datetime import datetime

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import BooleanType, StringType, StructField, StructType, TimestampType

from localdlt.cdc.columns import ResolvedColumns

SEQ = "__seq"
IS_DELETE = "__is_delete"
IS_TRUNCATE = "__is_truncate"
ACTION = "__action"
RESET = "__reset"
KIND = "__kind"
DELETED_AT = "__deleted_at"
TRACKED = "__columns_tracked"  # state rows with per-column sequences (older ones have none)
LATE = "__late"  # a stale change that still sets or wipes NULL-ignoring columns

LIVE, TOMBSTONE, WATERMARK = "live", "tombstone", "watermark"
UPSERT, DELETE, TRUNCATE = "upsert", "delete", "truncate"


def q(name: str) -> Column:
    """A top-level column by its exact name (dots and spaces included)."""
    return F.col("`" + name.replace("`", "``") + "`")


def column_seq(column: str) -> str:
    """The state column holding the sequence that set ``column``'s value."""
    return f"__seq_{column}"


def _applies(column: str) -> str:
    return f"__applies_{column}"


def _wipes(column: str) -> str:
    return f"__wipes_{column}"


def _before(column: str) -> str:
    return f"__before_{column}"


def state_schema(cols: ResolvedColumns) -> StructType:
    """Schema of the SCD1 state table: the keys, the last sequence, the kind, the tombstone time,
    and the sequence that set each NULL-ignoring column."""
    by_name = {f.name: f for f in cols.source_schema.fields}
    return StructType(
        [StructField(k, by_name[k].dataType, True) for k in cols.keys]
        + [
            StructField(SEQ, cols.sequence_type, True),
            StructField(KIND, StringType(), False),
            StructField(DELETED_AT, TimestampType(), True),
            StructField(TRACKED, BooleanType(), True),
        ]
        + [StructField(column_seq(c), cols.sequence_type, True) for c in _ignoring(cols)]
    )


def _ignoring(cols: ResolvedColumns) -> list[str]:
    return [c for c in cols.values if c in cols.ignore_null]


def plan_changes(
    prepared: DataFrame,
    state: DataFrame,
    cols: ResolvedColumns,
    gc_cutoff: datetime,
    *,
    batch_truncates: bool = True,
) -> DataFrame:
    """The net change per key of one batch, against the state.

    ``prepared`` has the target columns plus ``__seq``, ``__is_delete``, ``__is_truncate``.
    Result: keys, values, ``__seq``, ``__action`` (upsert / delete / truncate), ``__reset``
    (a delete earlier in the batch: do not fill NULLs from the old row), plus one
    ``__action = 'watermark'`` row when the batch truncates. ``batch_truncates=False`` (the
    caller counted no truncate row in ``prepared``) leaves the truncate branches out of the plan;
    the state's watermark is then looked up first (one small job) and applied only if there is one.
    """
    keys = list(cols.keys)
    # Tombstones older than the threshold no longer protect their key (garbage).
    known = state.filter(
        (q(KIND) != WATERMARK) & ~((q(KIND) == TOMBSTONE) & (q(DELETED_AT) < F.lit(gc_cutoff)))
    )
    old_watermark = state.filter(q(KIND) == WATERMARK).agg(F.max(q(SEQ)).alias("__wm_old"))
    events = prepared.filter(~q(IS_TRUNCATE))
    if batch_truncates or old_watermark.first()[0] is not None:
        batch_truncate = prepared.filter(q(IS_TRUNCATE)).agg(F.max(q(SEQ)).alias("__wm_batch"))
        watermark = old_watermark.crossJoin(batch_truncate).select(
            F.greatest("__wm_old", "__wm_batch").alias("__wm"), F.col("__wm_batch")
        )
        events = (
            events.crossJoin(watermark.select("__wm"))
            .filter(F.col("__wm").isNull() | (q(SEQ) > F.col("__wm")))
            .drop("__wm")
        )
    fresh = _against_state(_winners(events, cols), known, cols)
    if not batch_truncates:
        return fresh
    # Truncate: every known key whose last change is not newer than the watermark goes.
    wm_batch = watermark.filter(F.col("__wm_batch").isNotNull())
    truncated = (
        known.crossJoin(wm_batch)
        .filter(q(SEQ) <= F.col("__wm"))
        .join(fresh.select(*[q(k) for k in keys]), keys, "left_anti")
        .select(
            *[q(k) for k in keys],
            *[F.lit(None).cast(cols.source_schema[c].dataType).alias(c) for c in cols.values],
            q(SEQ),
            F.lit(TRUNCATE).alias(ACTION),
            F.lit(False).alias(RESET),
            *_no_column_changes(cols),
        )
    )
    marker = wm_batch.select(
        *[F.lit(None).cast(cols.source_schema[k].dataType).alias(k) for k in keys],
        *[F.lit(None).cast(cols.source_schema[c].dataType).alias(c) for c in cols.values],
        F.col("__wm").alias(SEQ),
        F.lit(WATERMARK).alias(ACTION),
        F.lit(False).alias(RESET),
        *_no_column_changes(cols),
    )
    return fresh.unionByName(truncated).unionByName(marker)


def _winners(events: DataFrame, cols: ResolvedColumns) -> DataFrame:
    """Per key of the batch: the winning change (``__win``: its sequence and whether it deletes),
    the batch's last delete, and each value; a NULL-ignoring column takes the latest non-NULL
    value among the upserts after that delete, and its sequence.

    The shared parts (the ordering, which upserts may set a column) are columns computed once
    before the aggregation, not expressions repeated in each of its ~50 aggregates."""
    order = F.struct(q(SEQ), q(IS_DELETE))  # a delete wins a tie (Databricks leaves ties undefined)
    by_key = Window.partitionBy(*[q(k) for k in cols.keys])
    last_delete = F.max(F.when(q(IS_DELETE), q(SEQ))).over(by_key)
    events = events.withColumns({"__last_del": last_delete, "__order": order})
    after_delete = ~q(IS_DELETE) & (F.col("__last_del").isNull() | (q(SEQ) > F.col("__last_del")))
    events = events.withColumn("__usable", after_delete)
    aggs = [F.max("__order").alias("__win"), F.max("__last_del").alias("__last_del")]
    for c in cols.values:
        if c in cols.ignore_null:
            usable = F.col("__usable") & q(c).isNotNull()
            aggs.append(F.max_by(q(c), F.when(usable, F.col("__order"))).alias(c))
            aggs.append(F.max(F.when(usable, q(SEQ))).alias(column_seq(c)))
        else:
            aggs.append(F.max_by(q(c), F.col("__order")).alias(c))
    return events.groupBy(*[q(k) for k in cols.keys]).agg(*aggs)


def _no_column_changes(cols: ResolvedColumns) -> list[Column]:
    return [F.lit(False).alias(LATE)] + [
        col
        for c in _ignoring(cols)
        for col in (
            F.lit(None).cast(cols.sequence_type).alias(column_seq(c)),
            F.lit(False).alias(_applies(c)),
            F.lit(False).alias(_wipes(c)),
        )
    ]


def _against_state(winners: DataFrame, known: DataFrame, cols: ResolvedColumns) -> DataFrame:
    """The batch's net change per key (``winners``) against the key's state: a change newer than
    the state applies; a stale one is kept only where it still sets a NULL-ignoring column no newer
    change set, or its delete wipes one set before it (``__late``). Per NULL-ignoring column:
    whether the batch's value applies, whether the column is wiped, and its new sequence."""
    keys = list(cols.keys)
    ignoring = _ignoring(cols)
    state = known.select(
        *[q(k) for k in keys],
        q(SEQ).alias("__st_seq"),
        q(KIND).alias("__st_kind"),
        q(TRACKED).alias("__st_tracked"),
        *[q(column_seq(c)).alias(f"__st_{column_seq(c)}") for c in ignoring],
    )
    st_seq, win, last_delete = F.col("__st_seq"), F.col("__win"), F.col("__last_del")
    # Each step below is its own set of columns: later ones name earlier ones instead of repeating
    # their expressions, which keeps the plan small (analysis and optimisation grow with it).
    joined = winners.join(state, keys, "left").withColumns(
        {
            "__newer": st_seq.isNull() | (win[SEQ] > st_seq),
            # The sequence that set the column: unknown for state rows written before columns
            # were tracked (then the row's own, as before), the tombstone's for a deleted key.
            **{
                _before(c): F.when(F.col("__st_kind") == F.lit(TOMBSTONE), st_seq)
                .when(F.coalesce(F.col("__st_tracked"), F.lit(False)), F.col(f"__st_{column_seq(c)}"))
                .otherwise(st_seq)
                for c in ignoring
            },
        }
    )
    joined = joined.withColumns(
        {
            _applies(c): q(column_seq(c)).isNotNull()
            & (F.col(_before(c)).isNull() | (q(column_seq(c)) > F.col(_before(c))))
            for c in ignoring
        }
    )
    joined = joined.withColumns(
        {
            _wipes(c): ~F.col(_applies(c))
            & last_delete.isNotNull()
            & (F.col(_before(c)).isNull() | (F.col(_before(c)) < last_delete))
            for c in ignoring
        }
    )
    touches = F.lit(False)
    for c in ignoring:
        touches = touches | F.col(_applies(c)) | F.col(_wipes(c))
    newer = F.col("__newer")
    joined = joined.withColumn(LATE, ~newer & (F.col("__st_kind") == F.lit(LIVE)) & touches)
    return joined.filter(newer | F.col(LATE)).select(
        *[q(k) for k in keys],
        *[q(c) for c in cols.values],
        F.when(newer, win[SEQ]).otherwise(st_seq).alias(SEQ),
        F.when(newer & win[IS_DELETE], F.lit(DELETE)).otherwise(F.lit(UPSERT)).alias(ACTION),
        (newer & last_delete.isNotNull()).alias(RESET),
        F.col(LATE),
        *[
            col
            for c in ignoring
            for col in (
                F.when(F.col(_applies(c)), q(column_seq(c)))
                .when(F.col(_wipes(c)), last_delete)
                .otherwise(F.col(_before(c)))
                .alias(column_seq(c)),
                F.col(_applies(c)),
                F.col(_wipes(c)),
            )
        ],
    )


def merge_target(target, changes: DataFrame, cols: ResolvedColumns):
    """The target MERGE builder for ``changes`` (watermark rows excluded by the caller)."""
    cond = " AND ".join(f"t.`{k}` = s.`{k}`" for k in cols.keys)
    update, insert = {}, {f"`{c}`": F.col(f"s.`{c}`") for c in cols.columns}
    for c in cols.values:
        source, current = F.col(f"s.`{c}`"), F.col(f"t.`{c}`")
        if c in cols.ignore_null:
            applies, wipes = F.col(f"s.`{_applies(c)}`"), F.col(f"s.`{_wipes(c)}`")
            nothing = F.lit(None).cast(cols.source_schema[c].dataType)
            update[f"`{c}`"] = F.when(applies, source).when(wipes, nothing).otherwise(current)
            insert[f"`{c}`"] = F.when(applies, source)
        else:
            # A stale change (__late) leaves the newer change's values alone.
            update[f"`{c}`"] = F.when(F.col(f"s.{LATE}"), current).otherwise(source)
    builder = (
        target.alias("t")
        .merge(changes.alias("s"), cond)
        .whenMatchedDelete(condition=F.col(f"s.{ACTION}") != F.lit(UPSERT))
    )
    if update:
        builder = builder.whenMatchedUpdate(condition=F.col(f"s.{ACTION}") == F.lit(UPSERT), set=update)
    return builder.whenNotMatchedInsert(condition=F.col(f"s.{ACTION}") == F.lit(UPSERT), values=insert)


def state_rows(changes: DataFrame, cols: ResolvedColumns, now: datetime) -> DataFrame:
    """The state MERGE source: the new sequence and kind of every changed key, the watermark."""
    kind = (
        F.when(q(ACTION) == UPSERT, F.lit(LIVE))
        .when(q(ACTION) == DELETE, F.lit(TOMBSTONE))
        .when(q(ACTION) == WATERMARK, F.lit(WATERMARK))
        .otherwise(F.lit(TRUNCATE))
    )
    return changes.select(
        *[q(k) for k in cols.keys],
        q(SEQ),
        kind.alias(KIND),
        F.when(q(ACTION) == DELETE, F.lit(now)).cast(TimestampType()).alias(DELETED_AT),
        F.lit(True).alias(TRACKED),
        *[F.when(q(ACTION) == UPSERT, q(column_seq(c))).alias(column_seq(c)) for c in _ignoring(cols)],
        q(ACTION),
    )


def merge_state(state, rows: DataFrame, cols: ResolvedColumns, gc_cutoff: datetime | None):
    """The state MERGE builder: upsert sequences, drop truncated keys and, when ``gc_cutoff``
    is given, delete tombstones written before it (expired ones are already ignored when
    planning, so collecting them is only about space and can run now and then)."""
    cond = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in cols.keys)
    values = {f"`{c}`": F.col(f"s.`{c}`") for c in (SEQ, KIND, DELETED_AT, TRACKED)}
    values.update({f"`{column_seq(c)}`": F.col(f"s.`{column_seq(c)}`") for c in _ignoring(cols)})
    insert = {**{f"`{k}`": F.col(f"s.`{k}`") for k in cols.keys}, **values}
    builder = (
        state.alias("t")
        .merge(rows.alias("s"), cond)
        .whenMatchedDelete(condition=F.col(f"s.{ACTION}") == F.lit(TRUNCATE))
        .whenMatchedUpdate(set=values)
        .whenNotMatchedInsert(condition=F.col(f"s.{ACTION}") != F.lit(TRUNCATE), values=insert)
    )
    if gc_cutoff is None:
        return builder
    return builder.whenNotMatchedBySourceDelete(
        condition=(F.col(f"t.{KIND}") == F.lit(TOMBSTONE)) & (F.col(f"t.{DELETED_AT}") < F.lit(gc_cutoff))
    )
