"""Exactly-once writes of an update.

Streaming flows write each micro-batch from ``foreachBatch`` as a Delta append with
``txnAppId``/``txnVersion`` (a fresh app id whenever a checkpoint is created), so a batch
replayed after a crash is skipped by Delta; the batch ids already written are also marked next
to the checkpoint. Every write applies the target's expectations and returns the batch's numbers.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame

from localdlt import deltalog, storage
from localdlt.definitions import Dataset, DatasetKind, Expectation
from localdlt.eventlog import batch_event_id
from localdlt.expectations import BatchQuality, check_batch, has_fail_rules, observe, observed_quality
from localdlt.flow_context import FlowContext
from localdlt.graph import PlannedFlow
from localdlt.recovery import check_checkpoint, refresh_rows, run_replayed_batch

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
            before = deltalog.latest_version(table_path) if table_path is not None else -1
            save(writer_of(out))
            if table_path is not None and app_id is not None and deltalog.find_commit(
                    table_path, before, app_id=app_id, txn_version=txn_version) is None:
                return None  # a replayed transaction: Delta skipped it
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

    table_path = delta_path(layout, target)
    context.reporter.batch_app_ids[planned.name] = app_id

    def process(batch_df: DataFrame, batch_id: int) -> None:
        if batch_id <= storage.last_batch(checkpoint):
            log.info("flow %s: batch %d already written, skipped on replay", planned.name, batch_id)
            run_replayed_batch(batch_df)  # its stateful operators must commit their state
            return
        quality = write(planned.name, target, batch_df, expectations,
                        lambda w: append(w, layout, target, app_id, batch_id),
                        table_path=table_path, app_id=app_id, txn_version=batch_id)
        if quality is None and table_path is not None:
            run_replayed_batch(batch_df)  # Delta skipped the write without running the batch's plan
            # Delta had the batch: the process that wrote it died before marking it done. Its
            # event may be missing too (written then, from the commit and the replayed rows).
            quality = replayed_quality(context, planned, batch_df, expectations, table_path, app_id, batch_id)
        # The event (journaled: it survives a kill) comes before the mark: a batch marked done
        # always has its event.
        if quality is not None:
            context.reporter.report_batch(planned, quality, batch_id)
        storage.mark_batch(checkpoint, batch_id)

    return process


def guarded_batch(context: FlowContext, planned: PlannedFlow, batch_fn: BatchFunction) -> BatchFunction:
    """Keep the original Python exception of a batch in ``context.batch_errors`` (py4j only
    passes on its text).

    Called just before the flow's stream starts, it also checks the checkpoint the stream resumes
    from (a corrupt file fails the flow with its name and the fix) and gives a CDC flow's batches
    their replay guard (:func:`cdc_replay_guard`).
    """
    checkpoint = context.layout.checkpoint(planned.name)
    check_checkpoint(planned.name, planned.flow.target, checkpoint)
    app_id_file = checkpoint / storage.APP_ID_FILE
    if planned.flow.cdc is not None and app_id_file.exists():
        app_id = app_id_file.read_text().strip()
        context.reporter.batch_app_ids[planned.name] = app_id
        batch_fn = cdc_replay_guard(context, planned, app_id, batch_fn)

    def run(batch_df: DataFrame, batch_id: int) -> None:
        try:
            batch_fn(batch_df, batch_id)
        except BaseException as exc:
            context.batch_errors[planned.name] = exc
            raise

    return run


def committed_rows(table: Path, app_id: str, version: int) -> int | None:
    """Rows written by the commit of ``table`` that carries ``txn`` (``app_id``, ``version``), or None
    when there is none; searched from the newest commit back (a replayed batch is recent)."""
    for number in range(deltalog.latest_version(table), -1, -1):
        try:
            text = (table / "_delta_log" / f"{number:020d}.json").read_text()
        except FileNotFoundError:
            continue
        actions = [json.loads(line) for line in text.splitlines() if line.strip()]
        if any(a.get("txn", {}).get("appId") == app_id and a["txn"].get("version") == version
               for a in actions):
            return refresh_rows(next((a["commitInfo"] for a in actions if "commitInfo" in a), {}))
    return None


def replayed_quality(
    context: FlowContext, planned: PlannedFlow, batch_df: DataFrame, expectations: Sequence[Expectation],
    table_path: Path, app_id: str, batch_id: int,
) -> BatchQuality | None:
    """The numbers of a batch that Delta already had (the process died after the commit), or None
    when its event was written too: the row count from the commit, the expectation counts from
    one aggregate over the replayed batch (the same rows: the source replays the same offsets)."""
    if context.reporter.events.recorded(batch_event_id(app_id, planned.name, batch_id)):
        return None
    rows = committed_rows(table_path, app_id, batch_id)
    if rows is None:
        return None
    log.warning("flow %s: batch %d was committed by a process that died before reporting it; "
                "its flow_progress event is written now", planned.name, batch_id)
    if not expectations:
        return BatchQuality(rows, rows, 0, ())
    _, quality = check_batch(batch_df, expectations, flow=planned.name, dataset=planned.flow.target)
    return BatchQuality(quality.input_rows, rows, quality.dropped_records, quality.expectations)


def cdc_replay_guard(
    context: FlowContext, planned: PlannedFlow, app_id: str, batch_fn: BatchFunction
) -> BatchFunction:
    """Wrap a CDC flow's ``foreachBatch`` function: a batch the CDC writer skipped as already
    applied gets its ``flow_progress`` event if the process that applied it died before writing it."""
    table_path = context.layout.table(planned.flow.target)

    def process(batch_df: DataFrame, batch_id: int) -> None:
        batch_fn(batch_df, batch_id)
        if context.reporter.reported(planned.name, batch_id):
            return
        if context.reporter.events.recorded(batch_event_id(app_id, planned.name, batch_id)):
            return
        rows = committed_rows(table_path, f"{app_id}/target", batch_id)
        if rows is not None:
            log.warning("flow %s: batch %d was applied by a process that died before reporting it; "
                        "its flow_progress event is written now", planned.name, batch_id)
            context.reporter.report_batch(planned, BatchQuality(batch_df.count(), rows, 0, ()), batch_id)

    return process
