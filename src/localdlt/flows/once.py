"""``append_flow(once=True)``: a batch query appended once (again only after a full refresh)."""

from __future__ import annotations

import logging

from localdlt import storage
from localdlt.errors import PipelineDefinitionError
from localdlt.flow_context import FlowContext
from localdlt.graph import PlannedFlow
from localdlt.results import FlowStatus
from localdlt.writes import append, delta_path, write

log = logging.getLogger(__name__)


def run_once(context: FlowContext, planned: PlannedFlow) -> None:
    """Append the flow's batch query as transaction 0 of a batch app id, then mark it done."""
    checkpoint = context.layout.checkpoint(planned.name)
    if (checkpoint / storage.ONCE_DONE_FILE).exists():
        log.info("once flow %s already ran (full refresh runs it again)", planned.name)
        return
    target = context.graph.datasets[planned.flow.target]
    layout = context.layout
    app_id = storage.app_id(checkpoint, streaming=False)
    context.reporter.set_status(planned, FlowStatus.RUNNING)
    with context.flow_conf(planned):
        df = context.query(planned)
        if df.isStreaming:
            raise PipelineDefinitionError(
                f"once flow '{planned.name}' must return a batch DataFrame",
                params={"flow": planned.name}, location=planned.flow.location,
            )
        quality = write(planned.name, target, df, context.expectations(planned),
                        lambda w: append(w, layout, target, app_id, 0),
                        table_path=delta_path(layout, target), app_id=app_id, txn_version=0)
    (checkpoint / storage.ONCE_DONE_FILE).write_text(app_id)
    if quality is not None:
        context.reporter.report_batch(planned, quality, 0)
