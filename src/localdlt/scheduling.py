"""Which flows of an update run, and when.

Selection: ``refresh`` / ``full_refresh`` name datasets; flows into other datasets are EXCLUDED,
flows reading a failed dataset (directly or through views) are SKIPPED. Triggered: every flow with
``availableNow``, each as soon as the flows it reads from have ended, independent flows
concurrently (up to ``max_concurrent_flows``, default twice the cores); among the flows ready
to start, streams first, then the flow with the longest chain of flows waiting on it
(:func:`start_order`). Continuous: every
streaming flow at once with processing-time triggers until the duration is over or the caller
stops it (each stream at its ``pipelines.trigger.interval``: the dataset's, else the pipeline's,
else every second); once flows run first, then materialized views are refreshed as soon as one of
their inputs commits (a Delta log listing per input, no Spark job) and their trigger interval, when
one is set, has passed, other batch flows every ``mv_interval`` seconds, side by side in dependency
order (:mod:`localdlt.refresher`; at most ``max_concurrent_flows``, default half the cores), and
all once more at the end.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from localdlt.definitions import DatasetKind
from localdlt.errors import UnknownDatasetError
from localdlt.flow_context import FlowContext
from localdlt.flows.dispatch import run_flow, start_stream
from localdlt.graph import PipelineGraph, PlannedFlow
from localdlt.mv.freshness import SourceWatch
from localdlt.refresher import Refresher
from localdlt.reporting import EVENT_FLUSH_SECONDS, BackgroundFlush
from localdlt.results import FlowStatus
from localdlt.trigger_interval import DEFAULT_STREAM_INTERVAL, dataset_interval, seconds

AVAILABLE_NOW: dict[str, Any] = {"availableNow": True}
# How long stopping a continuous update waits for a stream's in-flight micro-batch to commit before
# interrupting it (an interrupted batch is rerun by the next update: nothing is lost either way).
STOP_GRACE_SECONDS = 60.0

logger = logging.getLogger(__name__)


def stop_between_batches(name: str, query: Any, grace_seconds: float = STOP_GRACE_SECONDS) -> None:
    """Stop a streaming query between two micro-batches: wait (at most ``grace_seconds``) until no
    trigger is active, then stop it. ``query.stop()`` alone interrupts a batch mid-write: the
    foreachBatch MERGE is cancelled, py4j logs the Python traceback at ERROR and Spark's stream
    thread may overflow its stack matching the (long) message, all for a batch that is simply
    rerun on the next start."""
    deadline = time.monotonic() + grace_seconds
    waited = False
    while query.isActive and query.status.get("isTriggerActive") and time.monotonic() < deadline:
        if not waited:
            logger.info("stopping flow %s: waiting for its micro-batch to commit", name)
            waited = True
        time.sleep(0.05)
    query.stop()


def start_order(runnable: Sequence[PlannedFlow], waits: Mapping[str, set[str]]) -> list[str]:
    """The order in which a triggered update offers ready flows a slot: streaming flows first,
    then by the longest chain of flows that wait on each (transitively), then dependency order.

    Why: with fewer slots than ready flows (two on two cores), the update ends sooner when the
    longest work starts first. A stream reads a backlog of unknown size (after a stop, thousands of
    events through a CDC ``MERGE`` per micro-batch) and nothing may wait on it (the orders pipeline's
    SCD1/SCD2 flows are leaves), so a critical-path rule alone would start it last, after every
    materialized view. Among batch flows, the longest chain of dependants is the critical path."""
    dependants: dict[str, set[str]] = {planned.name: set() for planned in runnable}
    for name, before in waits.items():
        for flow in before:
            dependants[flow].add(name)
    chain: dict[str, int] = {}

    def longest(name: str) -> int:
        if name not in chain:
            chain[name] = 1 + max((longest(d) for d in dependants[name]), default=0)
        return chain[name]

    position = {planned.name: i for i, planned in enumerate(runnable)}
    streaming = {planned.name for planned in runnable if planned.streaming}
    return sorted(position, key=lambda n: (n not in streaming, -longest(n), position[n]))


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


def _cores() -> int:
    """The machine's cores (1 when Python cannot tell)."""
    return os.cpu_count() or 1


def triggered_concurrency() -> int:
    """How many flows of a triggered update run at once unless ``localdlt.max_concurrent_flows``
    says otherwise: twice the cores. One flow keeps less than a core busy — its driver thread plans,
    calls the JVM through py4j and waits on Delta commits between small Spark jobs — so one flow per
    core left a core idle part of the time (bench/RESULTS.md: the orders pipeline's small update
    66.9–70.0 s with two at a time, 57.4–60.4 s with three or four, on 2 cores)."""
    return 2 * _cores()


def continuous_refresh_workers() -> int:
    """How many views continuous mode refreshes at once unless ``localdlt.max_concurrent_flows``
    says otherwise: half the cores, at least one. The streams of a continuous update never end and
    need the other half: with one refresh per core the refreshes took the cores from them
    (bench/RESULTS.md: the orders pipeline at 1,000 events/s on 2 cores, Silver's p95 latency
    82.7–107.6 s with two refreshes at a time, 42.6–55.0 s with one; Gold's 163.9–167.1 s against
    149.1–181.5 s)."""
    return max(1, _cores() // 2)


class Scheduler:
    """Runs the flows of one update (see the module docstring); flow errors are recorded by the
    reporter, never raised."""

    def __init__(
        self,
        context: FlowContext,
        *,
        refresh: set[str] | None,
        full_refresh: set[str],
        trigger_interval: str | None,
        mv_interval: float,
        duration: float | None,
        stop_event: threading.Event,
        max_concurrent_flows: int | None = None,
    ) -> None:
        self.context = context
        self.max_concurrent_flows = max(1, max_concurrent_flows or triggered_concurrency())
        self.refresh_workers = max(1, max_concurrent_flows or continuous_refresh_workers())
        self.graph = context.graph
        self.reporter = context.reporter
        self.refresh = refresh
        self.full_refresh = full_refresh
        self.trigger_interval = trigger_interval
        self.mv_interval = mv_interval
        self.duration = duration
        self.stop_event = stop_event

    def trigger_interval_of(self, planned: PlannedFlow) -> str | None:
        """The flow's ``pipelines.trigger.interval``: its dataset's (or its own ``spark_conf``),
        else the pipeline's; None when neither sets one."""
        dataset = self.graph.datasets[planned.flow.target]
        return dataset_interval(dataset.spark_conf, planned.flow.spark_conf) or self.trigger_interval

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

    def dependencies(self, runnable: Sequence[PlannedFlow]) -> dict[str, set[str]]:
        """Flow → the flows that must end before it starts: the flows writing any stored dataset
        it reads (views are read through, as they are inlined), and earlier flows into its own
        target (two flows never write one table at once)."""
        writers: dict[str, list[str]] = {}
        for planned in runnable:
            writers.setdefault(planned.flow.target, []).append(planned.name)

        def stored(name: str, seen: frozenset[str]) -> set[str]:
            if self.graph.datasets[name].kind is not DatasetKind.VIEW:
                return {name}
            if name in seen:
                return set()
            inputs = {i for p in self.graph.flows_into(name) for i in p.inputs}
            return {s for i in inputs for s in stored(i, seen | {name})}

        waits: dict[str, set[str]] = {}
        for planned in runnable:
            sources = {s for name in planned.inputs for s in stored(name, frozenset())}
            before = writers[planned.flow.target]
            waits[planned.name] = {w for s in sources for w in writers.get(s, ()) if w != planned.name}
            waits[planned.name] |= set(before[: before.index(planned.name)])
        return waits

    def run_triggered(self) -> None:
        """Every selected flow once, to the end of its input: a flow starts as soon as the flows
        it reads from have ended, up to ``max_concurrent_flows`` at a time (as Databricks runs
        independent flows concurrently). The event log is flushed from here, off the flows' path."""
        reporter = self.reporter
        runnable = self._runnable()
        waits = self.dependencies(runnable)
        pending = {name: self.graph.flows[name] for name in start_order(runnable, waits)}
        ended: set[str] = set()
        running: dict[Future[None], str] = {}
        flusher = BackgroundFlush(reporter)
        with ThreadPoolExecutor(self.max_concurrent_flows, thread_name_prefix="localdlt-flow") as pool:
            try:
                while pending or running:
                    self._start_ready(pending, waits, ended, lambda p: pool.submit(self._run_one, p), running)
                    if not running:
                        if pending and not any(waits[n] <= ended for n in pending):  # pragma: no cover
                            raise RuntimeError(f"flows wait on each other: {sorted(pending)}")
                        continue
                    flusher.tick()
                    finished, _ = wait(running, timeout=EVENT_FLUSH_SECONDS, return_when=FIRST_COMPLETED)
                    for future in finished:
                        ended.add(running.pop(future))
                        future.result()  # _run_one records flow errors; anything else is a bug to raise
            finally:
                flusher.close()

    def _start_ready(
        self,
        pending: dict[str, PlannedFlow],
        waits: Mapping[str, set[str]],
        ended: set[str],
        submit: Callable[[PlannedFlow], Future[None]],
        running: dict[Future[None], str],
    ) -> None:
        """Take every flow of ``pending`` whose waits have ended, in ``pending``'s order: EXCLUDED
        or SKIPPED at once (no slot needed), else started while a slot is free. A flow that ends
        without running can make later flows ready, and earlier ones in the start order too, so
        the scan repeats until it ends nothing more."""
        reporter = self.reporter
        scan_again = True
        while scan_again:
            scan_again = False
            for name, planned in list(pending.items()):
                if not waits[name] <= ended:
                    continue
                selected = self._selected(planned.flow.target)
                if selected and not self._bad_input(planned):
                    if len(running) < self.max_concurrent_flows:
                        del pending[name]
                        reporter.set_status(planned, FlowStatus.STARTING)
                        running[submit(planned)] = name
                    continue
                del pending[name]
                if not selected:
                    reporter.set_status(planned, FlowStatus.EXCLUDED)
                else:
                    reporter.failed_datasets.add(planned.flow.target)
                    message = f"Flow '{planned.name}' SKIPPED due to upstream failure(s)."
                    reporter.set_status(planned, FlowStatus.SKIPPED, message=message)
                ended.add(name)
                scan_again = True

    def _run_one(self, planned: PlannedFlow) -> None:
        """Run one flow in a worker thread; its Spark jobs go to a fair-scheduler pool of its own."""
        self.context.spark.sparkContext.setLocalProperty("spark.scheduler.pool", planned.name)
        try:
            run_flow(self.context, planned, trigger=AVAILABLE_NOW)
            self.reporter.set_status(planned, FlowStatus.COMPLETED)
        except Exception as exc:  # noqa: BLE001 - one flow's failure must not stop the others
            self.reporter.fail(planned, exc)
        finally:
            self.context.spark.sparkContext.setLocalProperty("spark.scheduler.pool", None)

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
                    interval = self.trigger_interval_of(planned) or DEFAULT_STREAM_INTERVAL
                    queries[planned.name] = start_stream(self.context, planned, {"processingTime": interval})
                    reporter.set_status(planned, FlowStatus.RUNNING)
                except Exception as exc:  # noqa: BLE001
                    reporter.fail(planned, exc)
            else:
                batch_flows.append(planned)
        deadline = time.monotonic() + self.duration if self.duration is not None else None
        once_flows = [p for p in batch_flows if p.flow.once]
        views = [p for p in batch_flows if not p.flow.once]
        self._run_batch_flows(once_flows)
        intervals = {
            p.name: seconds(value, where=f"flow '{p.name}'")
            for p in views
            if (value := self.trigger_interval_of(p)) is not None
        }
        refresher = Refresher(
            views,
            self.dependencies(views),
            SourceWatch(self.graph, self.context.layout.table),
            self._run_one,
            self._may_run,
            self.refresh_workers,
            intervals,
        )
        flusher = BackgroundFlush(reporter)
        next_refresh = time.monotonic() + self.mv_interval
        try:
            while not self.stop_event.is_set() and (deadline is None or time.monotonic() < deadline):
                due = time.monotonic() >= next_refresh
                refresher.poll(due=due)  # views whose inputs committed (and, when due, the others)
                if due:
                    next_refresh = time.monotonic() + self.mv_interval
                for name, query in list(queries.items()):
                    if not query.isActive:
                        error = query.exception() or RuntimeError("stream stopped")
                        reporter.fail(self.graph.flows[name], error)
                        queries.pop(name)
                if reporter.any_failed():
                    break
                flusher.tick()
                self.stop_event.wait(0.5)
        finally:
            for name, query in queries.items():
                with contextlib.suppress(Exception):
                    stop_between_batches(name, query)
                if reporter.results[name].status == FlowStatus.RUNNING:
                    reporter.set_status(self.graph.flows[name], FlowStatus.COMPLETED)
            try:
                refresher.drain()
                if not reporter.any_failed():
                    refresher.refresh_all()
            finally:
                refresher.close()
                flusher.close()
                reporter.events.flush()

    def _may_run(self, planned: PlannedFlow) -> bool:
        return self.reporter.results[planned.name].status not in (FlowStatus.FAILED, FlowStatus.SKIPPED)

    def _run_batch_flows(self, flows: list[PlannedFlow]) -> None:
        for planned in flows:
            if not self._may_run(planned):
                continue
            try:
                run_flow(self.context, planned, trigger=AVAILABLE_NOW)
                self.reporter.set_status(planned, FlowStatus.COMPLETED)
            except Exception as exc:  # noqa: BLE001
                self.reporter.fail(planned, exc)
