"""Which flows of an update run, and when.

Selection: ``refresh`` / ``full_refresh`` name datasets; flows into other datasets are EXCLUDED,
flows reading a failed dataset (directly or through views) are SKIPPED. Triggered: every flow in
dependency order with ``availableNow``. Continuous: every streaming flow at once with
processing-time triggers until the duration is over or the caller stops it; once flows run
first, materialized views are refreshed as soon as one of their inputs commits (a Delta log
listing per input, no Spark job), other batch flows every ``mv_interval`` seconds, and all
once more at the end.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Sequence
from typing import Any

from localdlt.definitions import DatasetKind
from localdlt.errors import UnknownDatasetError
from localdlt.flow_context import FlowContext
from localdlt.flows.dispatch import run_flow, start_stream
from localdlt.graph import PipelineGraph, PlannedFlow
from localdlt.mv.freshness import SourceWatch
from localdlt.results import FlowStatus

AVAILABLE_NOW: dict[str, Any] = {"availableNow": True}


def selection(graph: PipelineGraph, value: bool | Sequence[str] | None) -> set[str]:
    """The datasets a ``refresh``/``full_refresh`` argument names: all stored ones for ``True``;
    an unknown name raises :class:`UnknownDatasetError`."""
    if value is True:
        return {name for name, ds in graph.datasets.items() if ds.kind is not DatasetKind.VIEW}
    if not value:
        return set()
    names = set(value)  # type: ignore[arg-type]
    for name in names:
        if name not in graph.datasets:
            raise UnknownDatasetError.for_name(name, graph.datasets, reader=None, location=None)
    return names


class Scheduler:
    """Runs the flows of one update (see the module docstring); flow errors are recorded by the
    reporter, never raised."""

    def __init__(
        self,
        context: FlowContext,
        *,
        refresh: set[str] | None,
        full_refresh: set[str],
        trigger_interval: str,
        mv_interval: float,
        duration: float | None,
        stop_event: threading.Event,
    ) -> None:
        self.context = context
        self.graph = context.graph
        self.reporter = context.reporter
        self.refresh = refresh
        self.full_refresh = full_refresh
        self.trigger_interval = trigger_interval
        self.mv_interval = mv_interval
        self.duration = duration
        self.stop_event = stop_event

    def _selected(self, target: str) -> bool:
        if self.refresh is None:
            return True
        return target in self.refresh or target in self.full_refresh

    def _runnable(self) -> list[PlannedFlow]:
        return [self.graph.flows[name] for name in self.graph.flow_order if name in self.reporter.results]

    def _bad_input(self, planned: PlannedFlow) -> bool:
        failed = self.reporter.failed_datasets

        def bad(name: str, seen: frozenset[str]) -> bool:
            if name in failed:
                return True
            dataset = self.graph.datasets[name]
            if dataset.kind is DatasetKind.VIEW and name not in seen:
                return any(bad(i, seen | {name}) for p in self.graph.flows_into(name) for i in p.inputs)
            return False

        return any(bad(name, frozenset()) for name in planned.inputs)

    def run_triggered(self) -> None:
        """Every selected flow once, in dependency order, to the end of its input."""
        reporter = self.reporter
        for planned in self._runnable():
            if not self._selected(planned.flow.target):
                reporter.set_status(planned, FlowStatus.EXCLUDED)
                continue
            if self._bad_input(planned):
                reporter.failed_datasets.add(planned.flow.target)
                reporter.set_status(planned, FlowStatus.SKIPPED,
                                    message=f"Flow '{planned.name}' SKIPPED due to upstream failure(s).")
                continue
            reporter.set_status(planned, FlowStatus.STARTING)
            try:
                run_flow(self.context, planned, trigger=AVAILABLE_NOW)
                reporter.set_status(planned, FlowStatus.COMPLETED)
            except Exception as exc:  # noqa: BLE001 - one flow's failure must not stop the others
                reporter.fail(planned, exc)
            reporter.maybe_flush()

    def run_continuous(self) -> None:
        """Streaming flows as long-running queries until the duration ends, the caller stops
        the update or a flow fails; batch flows between (see the module docstring)."""
        reporter = self.reporter
        queries: dict[str, Any] = {}
        batch_flows: list[PlannedFlow] = []
        for planned in self._runnable():
            if not self._selected(planned.flow.target):
                reporter.set_status(planned, FlowStatus.EXCLUDED)
            elif planned.streaming and not planned.flow.once:
                reporter.set_status(planned, FlowStatus.STARTING)
                try:
                    queries[planned.name] = start_stream(self.context, planned,
                                                         {"processingTime": self.trigger_interval})
                    reporter.set_status(planned, FlowStatus.RUNNING)
                except Exception as exc:  # noqa: BLE001
                    reporter.fail(planned, exc)
            else:
                batch_flows.append(planned)
        deadline = time.monotonic() + self.duration if self.duration is not None else None
        once_flows = [p for p in batch_flows if p.flow.once]
        views = [p for p in batch_flows if not p.flow.once]
        self._run_batch_flows(once_flows)
        # Materialized views are refreshed as soon as an input has a new commit (a listing of each
        # input's Delta log per loop), other batch flows every mv_interval seconds; all once more
        # at the end.
        watch = SourceWatch(self.graph, self.context.layout.table)
        next_refresh = time.monotonic() + self.mv_interval
        try:
            while not self.stop_event.is_set() and (deadline is None or time.monotonic() < deadline):
                due = time.monotonic() >= next_refresh
                stale = watch.stale(views, due=due)
                if stale:
                    self._run_batch_flows(stale)
                if due:
                    next_refresh = time.monotonic() + self.mv_interval
                for name, query in list(queries.items()):
                    if not query.isActive:
                        error = query.exception() or RuntimeError("stream stopped")
                        reporter.fail(self.graph.flows[name], error)
                        queries.pop(name)
                if reporter.any_failed():
                    break
                reporter.maybe_flush()
                self.stop_event.wait(0.5)
        finally:
            for name, query in queries.items():
                with contextlib.suppress(Exception):
                    query.stop()
                if reporter.results[name].status == FlowStatus.RUNNING:
                    reporter.set_status(self.graph.flows[name], FlowStatus.COMPLETED)
            if not reporter.any_failed():
                self._run_batch_flows(views)
            reporter.events.flush()

    def _run_batch_flows(self, flows: list[PlannedFlow]) -> None:
        for planned in flows:
            result = self.reporter.results[planned.name]
            if result.status in (FlowStatus.FAILED, FlowStatus.SKIPPED):
                continue
            try:
                run_flow(self.context, planned, trigger=AVAILABLE_NOW)
                self.reporter.set_status(planned, FlowStatus.COMPLETED)
            except Exception as exc:  # noqa: BLE001
                self.reporter.fail(planned, exc)
