"""Exactly-once writes of an update.

Streaming flows write each micro-batch from ``foreachBatch`` as a Delta append with
``txnAppId``/``txnVersion`` (a fresh app id whenever a checkpoint is created), so a batch
replayed after a crash is skipped by Delta; the batch ids already written are also marked next
to the checkpoint. Every write applies the target's expectations and returns the batch's numbers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame

from localdlt import deltalog, storage
from localdlt.definitions import Dataset, DatasetKind, Expectation
from localdlt.expectations import BatchQuality, check_batch, has_fail_rules, observe, observed_quality
from localdlt.flow_context import FlowContext
from localdlt.graph import PlannedFlow

log = logging.getLogger(__name__)

BatchFunction = Callable[[DataFrame, int], None]


def delta_path(layout: storage.Layout, target: Dataset) -> Path | None:
    """Where the target's Delta log is (None for a sink given by table name)."""
    if target.kind is DatasetKind.SINK:
        return Path(target.sink_options["path"]) if "path" in target.sink_options else None
    return layout.table(target.name)


def append(writer: Any, layout: storage.Layout, target: Dataset, app_id: str, version: int) -> None:
    """Append with Delta's idempotent-write options ``txnAppId``/``txnVersion``."""
    writer = writer.format("delta").mode("append").option("txnAppId", app_id).option("txnVersion", version)
    if target.kind is DatasetKind.SINK:
        if "tableName" in target.sink_options:
            writer.saveAsTable(target.sink_options["tableName"])
        else:
            writer.save(target.sink_options["path"])
        return
    writer.option("mergeSchema", "true").save(str(layout.table(target.name)))


def write(
    flow: str,
    target: Dataset,
    df: DataFrame,
    expectations: Sequence[Expectation],
    save: Callable[[Any], None],
    *,
    table_path: Path | None,
    app_id: str | None = None,
    txn_version: int | None = None,
) -> BatchQuality | None:
    """Write ``df`` with its expectations applied; return the batch's numbers, or None when
    Delta skipped the write (a replayed transaction).

    Metrics cost no extra pass: warn/drop counts are an Observation on the write itself and
    the row count comes from the Delta commit. Only fail rules need a check before the write
    (nothing of a violating batch may be written), done as one aggregate over the persisted
    batch that also yields every other metric.
    """

    def writer_of(frame: DataFrame) -> Any:
        writer = frame.write
        if target.partition_cols and target.kind is not DatasetKind.SINK:
            writer = writer.partitionBy(*target.partition_cols)
        return writer

    if has_fail_rules(expectations):
        df = df.persist()
        try:
            out, quality = check_batch(df, expectations, flow=flow, dataset=target.name)
            save(writer_of(out))
            return quality
        finally:
            df.unpersist()
    observation = None
    if expectations or table_path is None:
        df, observation = observe(df, expectations)
    before = deltalog.latest_version(table_path) if table_path is not None else -1
    save(writer_of(df))
    commit = None
    if table_path is not None:
        commit = deltalog.find_commit(table_path, before, app_id=app_id, txn_version=txn_version)
        if commit is None:
            return None  # Delta had this transaction already: nothing was executed or written
    if observation is not None:
        return observed_quality(observation.get, expectations, dataset=target.name)
    rows = deltalog.output_rows(commit or {})
    return BatchQuality(rows, rows, 0, ())


def append_batch_function(context: FlowContext, planned: PlannedFlow, app_id: str) -> BatchFunction:
    """The ``foreachBatch`` function of an append flow: each new batch appended exactly once."""
    target = context.graph.datasets[planned.flow.target]
    layout = context.layout
    checkpoint = layout.checkpoint(planned.name)
    expectations = context.expectations(planned) if target.kind is not DatasetKind.SINK else []

    def process(batch_df: DataFrame, batch_id: int) -> None:
        if batch_id <= storage.last_batch(checkpoint):
            log.info("flow %s: batch %d already written, skipped on replay", planned.name, batch_id)
            return
        quality = write(planned.name, target, batch_df, expectations,
                        lambda w: append(w, layout, target, app_id, batch_id),
                        table_path=delta_path(layout, target), app_id=app_id, txn_version=batch_id)
        storage.mark_batch(checkpoint, batch_id)
        if quality is None:
            log.info("flow %s: batch %d was already in the table (replay)", planned.name, batch_id)
            return
        context.reporter.report_batch(planned, quality, batch_id)

    return process


def guarded_batch(context: FlowContext, planned: PlannedFlow, batch_fn: BatchFunction) -> BatchFunction:
    """Keep the original Python exception of a batch in ``context.batch_errors`` (py4j only
    passes on its text)."""

    def run(batch_df: DataFrame, batch_id: int) -> None:
        try:
            batch_fn(batch_df, batch_id)
        except BaseException as exc:
            context.batch_errors[planned.name] = exc
            raise

    return run
