"""Run one update of a planned pipeline on Structured Streaming + Delta: the update's lifecycle.

``create_update`` and ``update_progress`` events (INITIALIZING, RESETTING, SETTING_UP_TABLES,
RUNNING, COMPLETED/FAILED), the full-refresh reset, creating and registering the tables and the
``flow_definition`` events. The rest is delegated: which flows run when to
:mod:`localdlt.scheduling`, one flow to :mod:`localdlt.flows`, exactly-once writes to
:mod:`localdlt.writes`, status and metrics events to :mod:`localdlt.reporting`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence

from pyspark.sql import DataFrame, SparkSession

from localdlt import storage, tables
from localdlt.eventlog import EventLog, Origin
from localdlt.flow_context import FlowContext
from localdlt.graph import PipelineGraph
from localdlt.reporting import Listener, Reporter
from localdlt.results import UpdateResult
from localdlt.scheduling import Scheduler, selection

log = logging.getLogger(__name__)

__all__ = ["Executor", "Listener"]


class Executor:
    """One update (see the module docstring)."""

    def __init__(
        self,
        spark: SparkSession,
        graph: PipelineGraph,
        layout: storage.Layout,
        events: EventLog,
        *,
        full_refresh: bool | Sequence[str] = False,
        refresh: Sequence[str] | None = None,
        continuous: bool = False,
        duration: float | None = None,
        trigger_interval: str | None = None,
        mv_interval: float = 60.0,
        listener: Listener | None = None,
        stop_event: threading.Event | None = None,
        cloud_files_opener: Callable[..., DataFrame] | None = None,
        max_concurrent_flows: int | None = None,
    ) -> None:
        self.spark = spark
        self.graph = graph
        self.layout = layout
        self.events = events
        self.continuous = continuous
        self.stop_event = stop_event or threading.Event()
        self.full_refresh = selection(graph, full_refresh)
        self.refresh = selection(graph, refresh) if refresh else None
        self.reporter = Reporter(graph, events, listener)
        self.results = self.reporter.results
        self.context = FlowContext(spark, graph, layout, self.reporter, cloud_files_opener)
        self.scheduler = Scheduler(
            self.context, refresh=self.refresh, full_refresh=self.full_refresh,
            trigger_interval=trigger_interval, mv_interval=mv_interval, duration=duration,
            stop_event=self.stop_event, max_concurrent_flows=max_concurrent_flows,
        )

    def run(self, configuration: Mapping[str, str], libraries: Sequence[str]) -> UpdateResult:
        """Run the update; flow errors are recorded, never raised."""
        self.events.emit(
            "create_update",
            f"Update {self.events.update_id[:6]} started by USER_ACTION.",
            {"create_update": {
                "cause": "USER_ACTION",
                "config": {"configuration": dict(configuration), "libraries": list(libraries),
                           "storage": str(self.layout.root), "continuous": self.continuous,
                           "development": True},
                "full_refresh": bool(self.full_refresh) and self.full_refresh == selection(self.graph, True),
                "full_refresh_selection": sorted(self.full_refresh),
                "refresh_selection": sorted(self.refresh or ()),
            }},
        )
        self._progress("INITIALIZING")
        if self.full_refresh:
            self._progress("RESETTING")
            self._reset()
        self._progress("SETTING_UP_TABLES")
        self._set_up_tables()
        self._progress("RUNNING")
        try:
            if self.continuous:
                self.scheduler.run_continuous()
            else:
                self.scheduler.run_triggered()
        finally:
            failed = self.reporter.any_failed()
            state = "FAILED" if failed else "COMPLETED"
            self._progress(state, level="ERROR" if failed else "INFO")
            self.events.flush()
        return UpdateResult(self.events.update_id, state, self.results)

    def _progress(self, state: str, *, level: str = "INFO") -> None:
        self.events.emit("update_progress", f"Update {self.events.update_id[:6]} is {state}.",
                         {"update_progress": {"state": state}}, level=level)

    def _reset(self) -> None:
        for name in sorted(self.full_refresh):
            dataset = self.graph.datasets[name]
            if dataset.table_properties.get("pipelines.reset.allowed", "true").lower() == "false":
                log.info("not resetting %s: pipelines.reset.allowed is false", name)
                continue
            if dataset.stored:
                storage.remove(self.layout.table(name))
            for planned in self.graph.flows_into(name):
                storage.remove(self.layout.checkpoint(planned.name))
                storage.remove(self.layout.cdc_state(planned.name))
            log.info("full refresh: reset %s", name)

    def _set_up_tables(self) -> None:
        for name in self.graph.dataset_order:
            dataset = self.graph.datasets[name]
            if not dataset.stored:
                continue
            path = self.layout.table(name)
            tables.create_if_missing(self.spark, dataset, path, self.graph.schemas.get(name))
            tables.register(self.spark, name, path)
        for name in self.graph.flow_order:
            planned = self.graph.flows[name]
            schema = planned.schema
            self.events.emit(
                "flow_definition", f"Flow '{name}' is defined as {planned.flow_type}.",
                {"flow_definition": {
                    "output_dataset": planned.flow.target,
                    "input_datasets": list(planned.inputs),
                    "flow_type": planned.flow_type,
                    "schema": [{"name": f.name, "data_type": f.dataType.simpleString()}
                               for f in schema.fields] if schema is not None else [],
                    "once": planned.flow.once,
                }},
                origin=Origin(flow_name=name, dataset_name=planned.flow.target),
            )
