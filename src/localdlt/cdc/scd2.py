"""SCD type 2: one row per version of a key, ``__START_AT`` = the sequence that opened it,
``__END_AT`` = the sequence that closed it (the next version or a delete), NULL while current.

A late event may belong anywhere in a key's history, and the target alone cannot tell where
(in-place updates of untracked columns erase the sequences that made them). So the state is
the condensed change log: every distinct (key, sequence) event, kept in an auxiliary Delta
table. For the keys of a micro-batch, the history is folded again from their events (old and
new) in sequence order, compared with their rows in the target, and only the differences are
merged: versions inserted, re-linked (``__END_AT`` of a neighbour changed) or removed.

Folding (what in-order processing does):

- an upsert opens a new version when there is no open one (first event, after a delete) or
  when a tracked column differs from the open version; otherwise it updates the open version
  in place (the untracked columns take the new values);
- a delete closes the open version at its sequence; a delete with nothing open is a tombstone
  that will close a late, older upsert;
- with ``ignore_null_updates`` a NULL keeps the value in force since the last delete.

Target MERGE first, then the state append, each idempotent by (app id, batch id).
"""

from __future__ import annotations

from functools import reduce

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import BooleanType, StructField, StructType

from localdlt.cdc.columns import END_AT, START_AT, ResolvedColumns
from localdlt.cdc.scd1 import ACTION, IS_DELETE, SEQ, q

ORIGIN = "__origin"
INSERT, UPDATE, DELETE_ROW = "insert", "update", "delete"


def events_schema(cols: ResolvedColumns) -> StructType:
    """Schema of the SCD2 state table: the target columns, the sequence, the delete flag."""
    by_name = {f.name: f for f in cols.source_schema.fields}
    return StructType(
        [StructField(c, by_name[c].dataType, True) for c in cols.columns]
        + [StructField(SEQ, cols.sequence_type, True), StructField(IS_DELETE, BooleanType(), True)]
    )


def all_events(batch: DataFrame, state: DataFrame, cols: ResolvedColumns) -> DataFrame:
    """Old events of the batch's keys plus the batch's events, one per (key, sequence)."""
    keys = [q(k) for k in cols.keys]
    affected = batch.select(*keys).distinct()
    old = state.join(affected, list(cols.keys), "left_semi").withColumn(ORIGIN, F.lit(0))
    new = batch.withColumn(ORIGIN, F.lit(1))
    both = old.unionByName(new)
    # One event per (key, sequence): a delete wins, then the event already known, then a
    # deterministic pick (Databricks leaves equal sequences undefined).
    tie = Window.partitionBy(*keys, q(SEQ)).orderBy(
        q(IS_DELETE).desc(), q(ORIGIN).asc(), F.xxhash64(*[q(c) for c in cols.values] or [F.lit(0)])
    )
    return both.withColumn("__rn", F.row_number().over(tie)).filter(F.col("__rn") == 1).drop("__rn")


def _changed(columns: tuple[str, ...], by_key: Window) -> Column:
    if not columns:
        return F.lit(False)
    return reduce(lambda a, b: a | b, [~q(c).eqNullSafe(F.lag(q(c)).over(by_key)) for c in columns])


def fold_history(events: DataFrame, cols: ResolvedColumns) -> DataFrame:
    """The SCD2 rows (target schema) that ``events`` produce when applied in sequence order."""
    keys = [q(k) for k in cols.keys]
    by_key = Window.partitionBy(*keys).orderBy(q(SEQ))
    running = by_key.rowsBetween(Window.unboundedPreceding, Window.currentRow)
    ev = events.withColumn("__segment", F.sum(q(IS_DELETE).cast("int")).over(running))
    if cols.ignore_null:
        in_segment = (
            Window.partitionBy(*keys, F.col("__segment"))
            .orderBy(q(SEQ))
            .rowsBetween(Window.unboundedPreceding, Window.currentRow)
        )
        for c in cols.ignore_null:
            ev = ev.withColumn(c, F.last(F.when(~q(IS_DELETE), q(c)), ignorenulls=True).over(in_segment))
    previous_delete = F.lag(q(IS_DELETE)).over(by_key)
    opens = ~q(IS_DELETE) & (previous_delete.isNull() | previous_delete | _changed(cols.tracked, by_key))
    ev = (
        ev.withColumn("__open", opens.cast("int"))
        .withColumn("__version", F.sum("__open").over(running))
        .withColumn("__next", F.lead(q(SEQ)).over(by_key))
    )
    latest = F.max_by(F.struct(*[q(c) for c in cols.values], F.col("__next").alias(END_AT)), q(SEQ))
    versions = (
        ev.filter(~q(IS_DELETE))
        .groupBy(*keys, "__version")
        .agg(F.min(q(SEQ)).alias(START_AT), latest.alias("__latest"))
    )
    by_name = {c: F.col(f"__latest.`{c}`").alias(c) for c in cols.values}
    return versions.select(
        *[by_name[c] if c in by_name else q(c) for c in cols.columns],
        F.col(START_AT),
        F.col(f"__latest.{END_AT}").alias(END_AT),
    )


def plan(events: DataFrame, target: DataFrame, cols: ResolvedColumns) -> tuple[DataFrame, DataFrame]:
    """(new events to append to the state, row changes to merge into the target).

    ``events`` is :func:`all_events` of the batch, materialised by the caller: both results read
    it, and the target's rows of the batch's keys are compared with the history folded from it.
    """
    new_events = events.filter(q(ORIGIN) == 1).drop(ORIGIN)
    history = fold_history(events.drop(ORIGIN), cols)
    affected = new_events.select(*[q(k) for k in cols.keys]).distinct()
    current = target.join(affected, list(cols.keys), "left_semi")
    old = current.select(*[q(c).alias(f"o_{c}") for c in (*cols.columns, START_AT, END_AT)])
    new = history.select(*[q(c).alias(f"n_{c}") for c in (*cols.columns, START_AT, END_AT)])
    on = [F.col(f"o_{k}") == F.col(f"n_{k}") for k in cols.keys] + [
        F.col(f"o_{START_AT}") == F.col(f"n_{START_AT}")
    ]
    joined = old.join(new, reduce(lambda a, b: a & b, on), "full_outer")
    differs = reduce(
        lambda a, b: a | b,
        [~F.col(f"o_{c}").eqNullSafe(F.col(f"n_{c}")) for c in (*cols.values, END_AT)],
        F.lit(False),
    )
    action = (
        F.when(F.col(f"n_{START_AT}").isNull(), F.lit(DELETE_ROW))
        .when(F.col(f"o_{START_AT}").isNull(), F.lit(INSERT))
        .when(differs, F.lit(UPDATE))
    )
    changes = joined.select(
        *[F.coalesce(F.col(f"n_{k}"), F.col(f"o_{k}")).alias(k) for k in cols.keys],
        *[F.col(f"n_{c}").alias(c) for c in cols.values],
        F.coalesce(F.col(f"n_{START_AT}"), F.col(f"o_{START_AT}")).alias(START_AT),
        F.col(f"n_{END_AT}").alias(END_AT),
        action.alias(ACTION),
    ).filter(q(ACTION).isNotNull())
    return new_events, changes


def merge_target(target, changes: DataFrame, cols: ResolvedColumns):
    """The target MERGE builder: versions are identified by (keys, ``__START_AT``)."""
    cond = " AND ".join([f"t.`{k}` = s.`{k}`" for k in cols.keys] + [f"t.{START_AT} = s.{START_AT}"])
    update = {f"`{c}`": F.col(f"s.`{c}`") for c in (*cols.values, END_AT)}
    insert = {f"`{c}`": F.col(f"s.`{c}`") for c in (*cols.columns, START_AT, END_AT)}
    return (
        target.alias("t")
        .merge(changes.alias("s"), cond)
        .whenMatchedDelete(condition=F.col(f"s.{ACTION}") == F.lit(DELETE_ROW))
        .whenMatchedUpdate(condition=F.col(f"s.{ACTION}") == F.lit(UPDATE), set=update)
        .whenNotMatchedInsert(condition=F.col(f"s.{ACTION}") == F.lit(INSERT), values=insert)
    )
