"""Which flow waits for which in a triggered update, and the gate that keeps a flow's spark_conf
to itself — without Spark (the concurrent run itself: test_concurrent_flows.py)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future
from types import SimpleNamespace

from localdlt.conf_gate import ConfGate
from localdlt.definitions import Dataset, DatasetKind, Flow
from localdlt.graph import PipelineGraph, PlannedFlow
from localdlt.results import FlowStatus
from localdlt.scheduling import Scheduler, start_order


def _graph() -> PipelineGraph:
    kinds = {
        "bronze": DatasetKind.STREAMING_TABLE,
        "silver": DatasetKind.STREAMING_TABLE,
        "quarantine": DatasetKind.STREAMING_TABLE,
        "changes": DatasetKind.VIEW,
        "orders": DatasetKind.STREAMING_TABLE,
        "gold": DatasetKind.MATERIALIZED_VIEW,
        "both": DatasetKind.STREAMING_TABLE,
    }
    reads = {
        "bronze": (),
        "silver": ("bronze",),
        "quarantine": ("bronze",),
        "changes": ("silver",),
        "orders": ("changes",),
        "gold": ("silver", "quarantine"),
        "both_a": ("bronze",),
        "both_b": ("silver",),
    }
    targets = {"both_a": "both", "both_b": "both"}
    flows = {
        name: PlannedFlow(Flow(name, targets.get(name, name), None), inputs, True, None)
        for name, inputs in reads.items()
    }
    datasets = {name: Dataset(name, kind) for name, kind in kinds.items()}
    order = ["bronze", "silver", "quarantine", "changes", "orders", "gold", "both_a", "both_b"]
    return PipelineGraph(datasets, flows, {}, list(kinds), order)


def test_a_flow_waits_for_the_writers_it_reads_through_views_and_for_earlier_flows_into_its_table() -> None:
    graph = _graph()
    context = SimpleNamespace(graph=graph, reporter=SimpleNamespace(results={}))
    scheduler = Scheduler(
        context,
        refresh=None,
        full_refresh=set(),
        trigger_interval="1 second",
        mv_interval=60,
        duration=None,
        stop_event=threading.Event(),
        max_concurrent_flows=2,
    )
    runnable = [graph.flows[name] for name in graph.flow_order if name != "changes"]  # views do not run

    assert scheduler.dependencies(runnable) == {
        "bronze": set(),
        "silver": {"bronze"},
        "quarantine": {"bronze"},
        "orders": {"silver"},  # through the view it reads
        "gold": {"silver", "quarantine"},
        "both_a": {"bronze"},
        "both_b": {"silver", "both_a"},  # one writer of a table at a time
    }
    assert scheduler.max_concurrent_flows == 2


def test_triggered_updates_run_two_flows_per_core_continuous_refreshes_half_the_cores(monkeypatch) -> None:
    def scheduler(workers: int | None) -> Scheduler:
        context = SimpleNamespace(graph=_graph(), reporter=SimpleNamespace(results={}))
        return Scheduler(context, refresh=None, full_refresh=set(), trigger_interval=None, mv_interval=60,
                         duration=None, stop_event=threading.Event(), max_concurrent_flows=workers)

    monkeypatch.setattr("localdlt.scheduling.os.cpu_count", lambda: 4)
    default = scheduler(None)
    assert (default.max_concurrent_flows, default.refresh_workers) == (8, 2)
    monkeypatch.setattr("localdlt.scheduling.os.cpu_count", lambda: 3)  # half, rounded down
    odd = scheduler(None)
    assert (odd.max_concurrent_flows, odd.refresh_workers) == (6, 1)
    chosen = scheduler(5)  # localdlt.max_concurrent_flows sets both
    assert (chosen.max_concurrent_flows, chosen.refresh_workers) == (5, 5)
    monkeypatch.setattr("localdlt.scheduling.os.cpu_count", lambda: None)  # unknown: one core
    unknown = scheduler(None)
    assert (unknown.max_concurrent_flows, unknown.refresh_workers) == (2, 1)


def test_ready_flows_start_streams_first_then_the_longest_chain_of_dependants() -> None:
    def flow(name: str, streaming: bool) -> PlannedFlow:
        return PlannedFlow(Flow(name, name, None), (), streaming, None)

    # silver feeds a CDC leaf (orders, streaming) and two materialized-view chains that meet:
    # a → a2 → a3 (three long) and b → a3 (two long); c is a batch flow beside it all.
    runnable = [
        flow("silver", True),
        flow("b", False),
        flow("a", False),
        flow("orders", True),
        flow("a2", False),
        flow("c", False),
        flow("a3", False),
    ]
    waits = {
        "silver": set(),
        "b": {"silver"},
        "a": {"silver"},
        "orders": {"silver"},
        "a2": {"a"},
        "c": set(),
        "a3": {"a2", "b"},
    }

    # Streams first (silver before orders: silver has the longer chain), then by chain length
    # (a: a → a2 → a3; silver's own chain is four), ties in dependency order (b before a2, both 2).
    assert start_order(runnable, waits) == ["silver", "orders", "a", "b", "a2", "c", "a3"]


def test_flows_ending_without_running_free_the_flows_after_them_in_one_scan() -> None:
    graph = _graph()
    statuses: list[tuple[str, FlowStatus]] = []
    reporter = SimpleNamespace(
        results={},
        failed_datasets=set(),
        set_status=lambda planned, status, message=None: statuses.append((planned.name, status)),
    )
    scheduler = Scheduler(
        SimpleNamespace(graph=graph, reporter=reporter),
        refresh={"gold"},  # every other flow is EXCLUDED
        full_refresh=set(),
        trigger_interval=None,
        mv_interval=60,
        duration=None,
        stop_event=threading.Event(),
        max_concurrent_flows=2,
    )
    runnable = [graph.flows[name] for name in graph.flow_order if name != "changes"]
    waits = scheduler.dependencies(runnable)
    # Dependants before what they wait on: each exclusion frees a flow the scan has already passed.
    order = ["gold", "both_b", "orders", "silver", "quarantine", "both_a", "bronze"]
    pending = {name: graph.flows[name] for name in order}
    ended: set[str] = set()
    running: dict[Future[None], str] = {}

    scheduler._start_ready(pending, waits, ended, lambda planned: Future(), running)

    assert pending == {}
    assert sorted(running.values()) == ["gold"]
    assert ended == {"bronze", "silver", "quarantine", "orders", "both_a", "both_b"}
    excluded = [(name, FlowStatus.EXCLUDED) for name in ended]
    assert sorted(statuses) == sorted([("gold", FlowStatus.STARTING), *excluded])


def test_a_flow_setting_conf_holds_the_gate_alone_and_a_nested_hold_is_free() -> None:
    gate = ConfGate()
    order: list[str] = []
    shared_held, exclusive_waiting = threading.Event(), threading.Event()

    def conf_flow() -> None:
        shared_held.wait()
        exclusive_waiting.set()
        with gate.hold(exclusive=True):
            order.append("exclusive acquired")

    thread = threading.Thread(target=conf_flow)
    thread.start()
    with gate.hold(exclusive=False):
        with gate.hold(exclusive=False):  # re-entrant: a nested hold counts once
            shared_held.set()
            exclusive_waiting.wait()
            time.sleep(0.2)  # room for a broken gate to let the writer in early
            order.append("shared released")
    thread.join(timeout=30)
    assert order == ["shared released", "exclusive acquired"]
    with gate.hold(exclusive=True), gate.hold(exclusive=True):  # nested exclusive: free too
        pass
