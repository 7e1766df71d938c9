"""A materialized view's flow: its batch query recomputed and written over the table."""

from __future__ import annotations

from typing import Any

from localdlt import tables
from localdlt.flow_context import FlowContext
from localdlt.graph import PlannedFlow
from localdlt.results import FlowStatus
from localdlt.writes import write


def run_materialized_view(context: FlowContext, planned: PlannedFlow) -> None:
    """Recompute the view and overwrite its Delta table (schema included), with expectations."""
    target = context.graph.datasets[planned.flow.target]
    path = context.layout.table(target.name)
    context.reporter.set_status(planned, FlowStatus.RUNNING)
    with context.flow_conf(planned):
        df = context.query(planned)

        def overwrite(writer: Any) -> None:
            writer.format("delta").mode("overwrite").option("overwriteSchema", "true").save(str(path))

        quality = write(planned.name, target, df, context.expectations(planned), overwrite, table_path=path)
    tables.register(context.spark, target.name, path)
    if quality is not None:
        context.reporter.report_batch(planned, quality, None)
