"""Continuous mode's batch flows: each refreshed as soon as it is due, side by side.

A materialized view is due when one of its stored inputs has a new Delta commit
(:class:`~localdlt.mv.freshness.SourceWatch`), the other batch flows every ``mv_interval`` seconds.
Due flows run in a bounded pool (``max_concurrent_flows``, by default half the cores:
:func:`localdlt.scheduling.continuous_refresh_workers`), in
dependency order: a flow starts once no flow it reads from (through other batch flows and views,
transitively) is being refreshed or is due with data the flow has not seen, so a view far down the
graph is refreshed as soon as its own inputs committed, not after every other stale view; among
flows ready to start, the one that started longest ago goes first; one flow never runs twice at
once. A flow's input versions are
recorded when it becomes due, so a commit that lands later makes it due again after its refresh.
A flow with a ``pipelines.trigger.interval`` (:mod:`localdlt.trigger_interval`) starts at most once
per interval: the commits that land meanwhile are refreshed together (not in the final round).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from localdlt.graph import PlannedFlow
from localdlt.mv.freshness import SourceWatch


def upstream_closure(waits: Mapping[str, Iterable[str]]) -> dict[str, frozenset[str]]:
    """Flow → every flow it waits on, directly or through others (``waits`` as
    :meth:`~localdlt.scheduling.Scheduler.dependencies` gives it)."""
    closure: dict[str, frozenset[str]] = {}

    def visit(name: str, path: frozenset[str]) -> frozenset[str]:
        if name in closure:
            return closure[name]
        found: set[str] = set()
        for before in waits.get(name, ()):
            if before not in path:  # a cycle cannot be planned; never loop on one
                found |= {before} | visit(before, path | {name})
        closure[name] = frozenset(found)
        return closure[name]

    for name in waits:
        visit(name, frozenset())
    return closure


class Refresher:
    """Refreshes continuous mode's batch flows (see the module docstring).

    :param flows: the batch flows, in dependency order.
    :param waits: flow → the flows among ``flows`` that must end before it starts.
    :param run: refreshes one flow and records its outcome (never raises for a flow's error).
    :param runnable: False for a flow that must not run any more (failed or skipped).
    :param intervals: flow → the fewest seconds between two starts of its refresh.
    :param clock: seconds, monotonic (tests pass their own).
    """

    def __init__(
        self,
        flows: list[PlannedFlow],
        waits: Mapping[str, Iterable[str]],
        watch: SourceWatch,
        run: Callable[[PlannedFlow], None],
        runnable: Callable[[PlannedFlow], bool],
        workers: int,
        intervals: Mapping[str, float] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._flows = flows
        self._intervals = dict(intervals or {})
        self._clock = clock
        self._start_times: dict[str, float] = {}  # flow → the clock when it last started
        self._upstream = upstream_closure(waits)
        self._watch = watch
        self._run = run
        self._runnable = runnable
        self._workers = max(1, workers)
        self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="localdlt-refresh")
        self._running: dict[str, Future[None]] = {}
        self._pending: set[str] = set()  # due, not started yet
        self._owed: set[str] = set()  # the clock struck: the flows without inputs to watch are due
        self._started: dict[str, int] = {}  # flow → when it last started (a counter)
        self._starts = 0
        self._final = False  # the final round: readers wait for every due input

    @property
    def running(self) -> set[str]:
        """The flows being refreshed now."""
        return set(self._running)

    def poll(self, *, due: bool = False) -> None:
        """Collect ended refreshes, find the flows that became due, and start due flows whose
        inputs are neither being refreshed nor due, up to the pool's size: the one that started
        longest ago first, so a view whose inputs commit all the time cannot starve the others.
        ``due``: the ``mv_interval`` clock struck."""
        self._reap()
        if due:
            self._owed |= {planned.name for planned in self._flows}
        for planned in self._flows:  # dependency order: an input becomes due before its readers
            name = planned.name
            if name in self._running or name in self._pending or self._blocked(name):
                continue  # a reader is checked once its inputs are refreshed (its versions then)
            if not self._runnable(planned):
                continue
            # The watch ignores ``due`` for a view it watches: such a view is due when an input committed.
            if self._watch.stale([planned], due=name in self._owed):
                self._owed.discard(name)
                self._pending.add(name)
        order = {planned.name: index for index, planned in enumerate(self._flows)}
        for name in sorted(self._pending, key=lambda n: (self._started.get(n, -1), order[n])):
            if len(self._running) >= self._workers:
                break
            if name in self._running or self._blocked(name) or self._too_soon(name):
                continue  # (a flow due again while it runs starts after it ended)
            self._pending.discard(name)
            planned = self._flows[order[name]]
            if not self._runnable(planned):
                continue
            self._starts += 1
            self._started[name] = self._starts
            self._start_times[name] = self._clock()
            self._running[name] = self._pool.submit(self._run, planned)

    def _too_soon(self, name: str) -> bool:
        """Whether ``name``'s trigger interval has not passed since its last start (never in the
        final round, which refreshes everything once more)."""
        interval, last = self._intervals.get(name), self._start_times.get(name)
        if self._final or interval is None or last is None:
            return False
        return self._clock() - last < interval

    def _blocked(self, name: str) -> bool:
        """Whether ``name`` must wait: a flow it reads is being refreshed, or is due and was not
        refreshed since ``name`` last started (then ``name`` waits for that refresh's data). A
        reader whose input was refreshed since does not wait for the input's next turn: inputs
        that commit all the time would starve it (in the final round it waits, for exact
        results)."""
        mine = self._started.get(name, -1)
        for upstream in self._upstream.get(name, frozenset()):
            if upstream in self._running:
                return True
            if upstream in self._pending and (self._final or self._started.get(upstream, -1) <= mine):
                return True
        return False

    def wait(self, timeout: float | None = None) -> None:
        """Block until a running refresh ends (or ``timeout`` seconds)."""
        if self._running:
            wait(list(self._running.values()), timeout=timeout, return_when=FIRST_COMPLETED)

    def drain(self) -> None:
        """Wait for every running refresh to end."""
        while self._running:
            self.wait()
            self._reap()

    def refresh_all(self) -> None:
        """Every flow once more (the end of a continuous update), in dependency order, side by
        side where independent; returns when all have ended."""
        self._pending = {planned.name for planned in self._flows}
        self._final = True
        while True:
            self.poll()
            if not self._pending and not self._running:
                return
            self.wait()

    def close(self) -> None:
        """Wait for running refreshes and release the pool's threads."""
        self.drain()
        self._pool.shutdown(wait=True)

    def _reap(self) -> None:
        for name, future in list(self._running.items()):
            if future.done():
                del self._running[name]
                future.result()  # ``run`` records flow errors; anything else is a bug to raise
