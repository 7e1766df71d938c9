"""A materialized view's flow: refreshed as Databricks refreshes it (see docs/localdlt-mv.md).

The refresh is planned from the view's analysed query and the Delta history of its inputs since
the last refresh (:mod:`localdlt.mv`); the decision is a ``planning_information`` event, then the
chosen technique runs: nothing (NO_OP), the new rows appended, partial aggregates merged, the
touched groups or window partitions recomputed, or a complete recompute written over the table
with the expectations applied — the result always equal to a recompute. Warn expectations of an
incrementally refreshed view are counted over the refreshed table, so the event log reports what
a recompute would; drop and fail expectations make the view recompute.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from localdlt import tables
from localdlt.eventlog import Origin
from localdlt.definitions import ExpectationAction
from localdlt.expectations import BatchQuality, check_batch
from localdlt.flow_context import FlowContext
from localdlt.graph import PlannedFlow
from localdlt.mv import cost
from localdlt.mv import refresh as mv
from localdlt.mv.issues import RefreshPolicy
from localdlt.mv.pinning import PinnedResolver
from localdlt.mv.planner import Plan, message, planning_details
from localdlt.reads import resolving
from localdlt.results import FlowStatus
from localdlt.writes import write

# Every table a materialized view writes has the change data feed on, so views reading it can
# be refreshed incrementally too (tables.py does the same for the tables it creates).
CDF_OPTION = "delta.enableChangeDataFeed"


def state_dir(context: FlowContext, flow: str) -> Path:
    """Where a view's refresh record and aggregate buffers live."""
    return Path(context.layout.root) / "system" / "mv" / flow


def run_materialized_view(context: FlowContext, planned: PlannedFlow) -> None:
    """Refresh the view (see the module docstring)."""
    target = context.graph.datasets[planned.flow.target]
    path = context.layout.table(target.name)
    context.reporter.set_status(planned, FlowStatus.RUNNING)
    expectations = context.expectations(planned)
    stored = {name for name, ds in context.graph.datasets.items() if ds.stored}
    pinned = PinnedResolver(context.resolver(planned.name), context.layout.table, stored)
    written: list[BatchQuality | None] = []

    def full_write(df: Any) -> int | None:
        def overwrite(writer: Any) -> None:
            (writer.format("delta").mode("overwrite").option("overwriteSchema", "true")
             .option(CDF_OPTION, "true").save(str(path)))

        quality = write(planned.name, target, df, expectations, overwrite, table_path=path)
        written.append(quality)
        return quality.output_rows if quality is not None else None

    def on_plan(plan: Plan) -> None:
        context.reporter.events.emit(
            "planning_information", message(planned.name, plan.technique), planning_details(plan),
            origin=Origin(flow_name=planned.name, dataset_name=target.name))

    with context.flow_conf(planned):
        assert planned.flow.query_function is not None
        with resolving(pinned):
            query = planned.flow.query_function()
        request = mv.Request(
            flow=planned.name, dataset=target.name, query=query, target=path,
            state_dir=state_dir(context, planned.name), source_versions=pinned.versions,
            source_names=pinned.names,
            policy=RefreshPolicy.parse(target.extra.get("refresh_policy"), dataset=target.name),
            # warn rules are counted over the refreshed table (below); drop/fail need a recompute
            has_expectations=any(rule.action is not ExpectationAction.WARN for rule in expectations),
            cost_model=cost.from_configuration(context.configuration),  # localdlt.mv.costModel
        )
        outcome = mv.refresh(context.spark, request, full_write, on_plan)
    tables.register(context.spark, target.name, path)
    if written:
        if written[0] is not None:
            context.reporter.report_batch(planned, written[0], None)
    elif outcome.wrote:
        rows = outcome.output_rows or 0
        metrics: tuple[Any, ...] = ()
        if expectations:
            # Counted over the whole refreshed table (one aggregate over the view, not its
            # sources), so the numbers are those a recompute would report.
            table = context.spark.read.format("delta").load(str(path))
            metrics = check_batch(table, expectations, flow=planned.name, dataset=target.name)[1].expectations
        context.reporter.report_batch(planned, BatchQuality(rows, rows, 0, metrics), None)
