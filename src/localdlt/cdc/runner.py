"""Run-time wiring of CDC flows: a streaming query over the source dataset whose
``foreachBatch`` calls the CDC engine (:class:`~localdlt.cdc.writer.CdcWriter`), ``once`` CDC
flows and snapshot flows applied once per update. State lives at ``<storage>/system/cdc/<flow>``;
the Delta app id comes from the flow's checkpoint (new whenever the checkpoint is recreated).

The runtime hands a flow what it needs in a :class:`CdcFlowRun` (paths, a read resolver for the
source dataset, a callback for batch metrics); nothing here knows the executor.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from localdlt import storage
from localdlt.cdc.schema import build_spec
from localdlt.cdc.snapshot import apply_snapshot, iterate_snapshots, last_snapshot_version
from localdlt.cdc.spec import SnapshotCdcSpec
from localdlt.cdc.writer import CdcWriter
from localdlt.definitions import Flow
from localdlt.expectations import BatchQuality
from localdlt.reads import ReadResolver, strip_live
from localdlt.recovery import run_replayed_batch

log = logging.getLogger(__name__)

BatchReporter = Callable[[BatchQuality, int | None], None]


@dataclass(frozen=True)
class CdcFlowRun:
    """One CDC flow as the runtime gives it to this module.

    ``resolver`` reads the source dataset (Delta read, or a view inlined); ``report`` receives
    each applied batch's numbers and its batch id.
    """

    spark: SparkSession
    flow: Flow
    table_path: Path
    state_path: Path
    checkpoint: Path
    resolver: ReadResolver
    report: BatchReporter


def _source(run: CdcFlowRun, *, streaming: bool) -> DataFrame:
    source = run.flow.cdc_source
    assert source is not None
    df = run.resolver.read_dataset(strip_live(source), streaming=streaming, explicit=True)
    assert df is not None
    return df


def _report(run: CdcFlowRun, metrics: Any) -> None:
    if getattr(metrics, "skipped", False):
        log.info("CDC flow %s: batch %s already applied (replay)", run.flow.name, metrics.batch_id)
        return
    rows = int(metrics.num_output_rows)
    run.report(BatchQuality(int(metrics.input_rows), rows, 0, ()), metrics.batch_id)


def _writer(run: CdcFlowRun, app_id: str) -> CdcWriter:
    assert run.flow.cdc is not None
    return CdcWriter(run.spark, build_spec(run.flow.cdc), str(run.table_path), str(run.state_path), app_id)


def cdc_source_stream(run: CdcFlowRun) -> DataFrame:
    """The streaming read of the CDC flow's source dataset."""
    return _source(run, streaming=True)


def cdc_batch_function(run: CdcFlowRun, app_id: str) -> Callable[[DataFrame, int], None]:
    """``foreachBatch`` function applying each micro-batch with ``CdcWriter.write_batch``
    (idempotent on replay of a batch id)."""
    writer = _writer(run, app_id)

    def process(batch_df: DataFrame, batch_id: int) -> None:
        metrics = writer.write_batch(batch_df, batch_id)
        if getattr(metrics, "skipped", False):
            run_replayed_batch(batch_df)  # skipped unread: its stateful operators must commit their state
        _report(run, metrics)

    return process


def run_cdc_once(run: CdcFlowRun) -> None:
    """A ``once=True`` CDC flow: the source read as a batch, applied as batch 0, once."""
    if (run.checkpoint / storage.ONCE_DONE_FILE).exists():
        return
    app_id = storage.app_id(run.checkpoint, streaming=False)
    _report(run, _writer(run, app_id).write_batch(_source(run, streaming=False), 0))
    (run.checkpoint / storage.ONCE_DONE_FILE).write_text(app_id)


def run_snapshot_flow(run: CdcFlowRun) -> None:
    """Apply new snapshots: from a ``snapshot_and_version`` function until it returns None, or
    one snapshot of the source dataset per update (versions 1, 2, ...)."""
    assert run.flow.snapshot_cdc is not None
    spec_args = dict(run.flow.snapshot_cdc)
    source = spec_args.get("source")
    spec = SnapshotCdcSpec.from_kwargs(**spec_args)
    table_path, state_path = str(run.table_path), str(run.state_path)
    latest = last_snapshot_version(run.spark, state_path)
    if callable(source):
        for snapshot, version in iterate_snapshots(source, latest):
            _report(run, apply_snapshot(run.spark, spec, table_path, state_path, snapshot, version))
        return
    version = (latest or 0) + 1
    snapshot = _source(run, streaming=False)
    _report(run, apply_snapshot(run.spark, spec, table_path, state_path, snapshot, version))
