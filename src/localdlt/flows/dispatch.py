"""Run one flow of an update: pick its runner by kind (snapshot CDC, once CDC, once append,
materialized view, streaming append / CDC / sink) and wait for a triggered stream to end."""

from __future__ import annotations

from typing import Any

from pyspark.errors import StreamingQueryException

from localdlt import storage
from localdlt.cdc.runner import (
    CdcFlowRun,
    cdc_batch_function,
    cdc_source_stream,
    run_cdc_once,
    run_snapshot_flow,
)
from localdlt.definitions import FOREACH_BATCH_FORMAT, DatasetKind
from localdlt.flow_context import FlowContext
from localdlt.flows.materialized_view import run_materialized_view
from localdlt.flows.once import run_once
from localdlt.flows.replay import replay_pending_kafka_batch
from localdlt.flows.sinks import foreach_batch_function, start_kafka_sink
from localdlt.graph import PlannedFlow
from localdlt.results import FlowStatus
from localdlt.writes import append_batch_function, guarded_batch


def cdc_run(context: FlowContext, planned: PlannedFlow) -> CdcFlowRun:
    """What the CDC runner needs of this update for flow ``planned``."""
    layout = context.layout
    return CdcFlowRun(
        spark=context.spark, flow=planned.flow, table_path=layout.table(planned.flow.target),
        state_path=layout.cdc_state(planned.name), checkpoint=layout.checkpoint(planned.name),
        resolver=context.resolver(planned.name),
        report=lambda quality, batch_id: context.reporter.report_batch(planned, quality, batch_id),
    )


def run_flow(context: FlowContext, planned: PlannedFlow, trigger: dict[str, Any]) -> None:
    """Run the flow to the end of its input (``trigger`` for a streaming flow); raise its error."""
    target = context.graph.datasets[planned.flow.target]
    reporter = context.reporter
    if planned.flow.snapshot_cdc is not None:
        reporter.set_status(planned, FlowStatus.RUNNING)
        with context.flow_conf(planned):
            run_snapshot_flow(cdc_run(context, planned))
        return
    if planned.flow.cdc is not None and planned.flow.once:
        reporter.set_status(planned, FlowStatus.RUNNING)
        with context.flow_conf(planned):
            run_cdc_once(cdc_run(context, planned))
        return
    if planned.flow.once:
        run_once(context, planned)
        return
    if target.kind is DatasetKind.MATERIALIZED_VIEW:
        run_materialized_view(context, planned)
        return
    query = start_stream(context, planned, trigger)
    reporter.set_status(planned, FlowStatus.RUNNING)
    try:
        query.awaitTermination()
    except StreamingQueryException as exc:
        raise context.batch_errors.pop(planned.name, exc) from None
    error = context.batch_errors.pop(planned.name, None)
    if error is not None:
        raise error


def start_stream(context: FlowContext, planned: PlannedFlow, trigger: dict[str, Any]) -> Any:
    """Start the streaming query of an append, CDC or sink flow; return it (not awaited)."""
    target = context.graph.datasets[planned.flow.target]
    checkpoint = context.layout.checkpoint(planned.name)
    with context.flow_conf(planned):
        if planned.flow.cdc is not None:
            run = cdc_run(context, planned)
            df = cdc_source_stream(run)
            batch_fn = cdc_batch_function(run, storage.app_id(checkpoint))
        else:
            df = context.query(planned)
            if target.kind is DatasetKind.SINK and target.sink_format == "kafka":
                return start_kafka_sink(context, planned, df, trigger)
            if target.kind is DatasetKind.SINK and target.sink_format == FOREACH_BATCH_FORMAT:
                batch_fn = foreach_batch_function(context, planned)
            else:
                batch_fn = append_batch_function(context, planned, storage.app_id(checkpoint))

        def start(query_trigger: dict[str, Any]) -> Any:
            writer = df.writeStream.option("checkpointLocation", str(checkpoint)).trigger(**query_trigger)
            return writer.foreachBatch(guarded_batch(context, planned, batch_fn)).start()

        try:
            replay_pending_kafka_batch(planned.name, checkpoint, df, start)
        except StreamingQueryException as exc:
            raise context.batch_errors.pop(planned.name, exc) from None
        return start(trigger)
