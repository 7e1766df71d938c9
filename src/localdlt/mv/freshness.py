"""Continuous mode's trigger for materialized views: a view is refreshed as soon as one of its
stored inputs (through views, transitively) has a new Delta commit — a directory listing of each
input's ``_delta_log``, no Spark job."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from localdlt import deltalog
from localdlt.definitions import DatasetKind


class SourceWatch:
    """Remembers the input versions each view was last refreshed at."""

    def __init__(self, graph: Any, table_path: Callable[[str], Path]) -> None:
        self._graph = graph
        self._table_path = table_path
        self._seen: dict[str, tuple[int, ...]] = {}

    def _inputs(self, dataset: str, seen: frozenset[str] = frozenset()) -> list[str]:
        found: list[str] = []
        for name in sorted(self._graph.dataset_inputs(dataset)):
            ds = self._graph.datasets.get(name)
            if ds is None or name in seen:
                continue
            if ds.stored:
                found.append(name)
            else:  # a view: what it reads
                found.extend(self._inputs(name, seen | {name}))
        return found

    def stale(self, flows: Iterable[Any], *, due: bool) -> list[Any]:
        """The materialized views whose inputs committed since they were last returned (all, the
        first time; their current input versions are remembered), plus the other batch flows
        (nothing to watch) when ``due``."""
        out = []
        for planned in flows:
            inputs = self._inputs(planned.flow.target)
            kind = self._graph.datasets[planned.flow.target].kind
            if kind is not DatasetKind.MATERIALIZED_VIEW or not inputs:
                if due:
                    out.append(planned)
                continue
            versions = tuple(deltalog.latest_version(self._table_path(n)) for n in inputs)
            if self._seen.get(planned.name) != versions:
                self._seen[planned.name] = versions
                out.append(planned)
        return out
