"""Wiring of CDC flows into the executor: a streaming query over the source dataset whose
``foreachBatch`` calls the CDC engine (:mod:`localdlt.cdc`), and snapshot flows applied once
per update. State lives at ``<storage>/system/cdc/<flow>``; the Delta app id comes from the
flow's checkpoint (new whenever the checkpoint is recreated)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pyspark.sql import DataFrame
from pyspark.sql.types import StructType

from localdlt import storage
from localdlt.expectations import BatchQuality

if TYPE_CHECKING:
    from localdlt.executor import Executor
    from localdlt.graph import PlannedFlow

log = logging.getLogger(__name__)


def build_spec(spec: dict[str, Any]) -> Any:
    """The engine's ``CdcSpec`` from the recorded arguments."""
    from localdlt.cdc import CdcSpec

    return CdcSpec.from_kwargs(**spec)


def target_schema(spark: Any, spec: dict[str, Any], source_schema: StructType) -> StructType:
    """The target schema the CDC engine gives a source schema (no I/O)."""
    from localdlt.cdc import CdcWriter, SnapshotCdcSpec

    if "sequence_by" not in spec:  # a snapshot flow: keys + columns, SCD2 adds typed __START_AT/__END_AT
        snapshot_spec = SnapshotCdcSpec.from_kwargs(**spec)
        from localdlt.cdc.snapshot import _resolve

        from pyspark.sql.types import LongType

        return _resolve(spark, snapshot_spec, source_schema, LongType()).target_schema()
    return CdcWriter(spark, build_spec(spec), "unused", "unused", "planning").target_schema(source_schema)


def _source(executor: Executor, planned: PlannedFlow, *, streaming: bool) -> DataFrame:
    from localdlt.executor import _ExecutionResolver

    source = planned.flow.cdc_source
    assert source is not None
    name = source[5:] if source.lower().startswith("live.") else source
    df = _ExecutionResolver(executor, planned.name).read_dataset(name, streaming=streaming, explicit=True)
    assert df is not None
    return df


def _report(executor: Executor, planned: PlannedFlow, metrics: Any) -> None:
    if getattr(metrics, "skipped", False):
        log.info("CDC flow %s: batch %s already applied (replay)", planned.name, metrics.batch_id)
        return
    rows = int(metrics.num_output_rows)
    executor._report_batch(planned, BatchQuality(int(metrics.input_rows), rows, 0, ()), metrics.batch_id)


def _writer(executor: Executor, planned: PlannedFlow, app_id: str) -> Any:
    from localdlt.cdc import CdcWriter

    return CdcWriter(executor.spark, build_spec(planned.flow.cdc), str(executor.layout.table(planned.flow.target)),
                     str(executor.layout.cdc_state(planned.name)), app_id)


def cdc_source_stream(executor: Executor, planned: PlannedFlow) -> DataFrame:
    """The streaming read of the CDC flow's source dataset."""
    return _source(executor, planned, streaming=True)


def cdc_batch_function(executor: Executor, planned: PlannedFlow, app_id: str) -> Callable[[DataFrame, int], None]:
    """``foreachBatch`` function applying each micro-batch with ``CdcWriter.write_batch``
    (idempotent on replay of a batch id)."""
    writer = _writer(executor, planned, app_id)

    def process(batch_df: DataFrame, batch_id: int) -> None:
        _report(executor, planned, writer.write_batch(batch_df, batch_id))

    return process


def run_cdc_once(executor: Executor, planned: PlannedFlow) -> None:
    """A ``once=True`` CDC flow: the source read as a batch, applied as batch 0, once."""
    checkpoint = executor.layout.checkpoint(planned.name)
    if (checkpoint / storage.ONCE_DONE_FILE).exists():
        return
    app_id = storage.app_id(checkpoint, streaming=False)
    _report(executor, planned, _writer(executor, planned, app_id).write_batch(_source(executor, planned, streaming=False), 0))
    (checkpoint / storage.ONCE_DONE_FILE).write_text(app_id)


def run_snapshot_flow(executor: Executor, planned: PlannedFlow) -> None:
    """Apply new snapshots: from a ``snapshot_and_version`` function until it returns None, or
    one snapshot of the source dataset per update (versions 1, 2, ...)."""
    from localdlt.cdc import SnapshotCdcSpec, apply_snapshot, iterate_snapshots, last_snapshot_version

    spec_args = dict(planned.flow.snapshot_cdc)
    source = spec_args.get("source")
    spec = SnapshotCdcSpec.from_kwargs(**spec_args)
    spark = executor.spark
    table_path = str(executor.layout.table(planned.flow.target))
    state_path = str(executor.layout.cdc_state(planned.name))
    latest = last_snapshot_version(spark, state_path)
    if callable(source):
        for snapshot, version in iterate_snapshots(source, latest):
            _report(executor, planned, apply_snapshot(spark, spec, table_path, state_path, snapshot, version))
        return
    version = (latest or 0) + 1
    snapshot = _source(executor, planned, streaming=False)
    _report(executor, planned, apply_snapshot(spark, spec, table_path, state_path, snapshot, version))
