"""Continuous mode's trigger: a materialized view is due as soon as an input (through views) has
a new Delta commit; other batch flows only on the clock. No Spark job: Delta logs written by hand."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from localdlt.definitions import Dataset, DatasetKind, Flow
from localdlt.mv.freshness import SourceWatch


@dataclass(frozen=True)
class _Planned:
    flow: Flow

    @property
    def name(self) -> str:
        return self.flow.name


class _Graph:
    """The two things SourceWatch asks of a planned graph."""

    def __init__(self, inputs: dict[str, set[str]], kinds: dict[str, DatasetKind]) -> None:
        self._inputs = inputs
        self.datasets = {name: Dataset(name, kind) for name, kind in kinds.items()}

    def dataset_inputs(self, dataset: str) -> set[str]:
        return self._inputs.get(dataset, set())


def _commit(table: Path, version: int) -> None:
    log = table / "_delta_log"
    log.mkdir(parents=True, exist_ok=True)
    (log / f"{version:020d}.json").write_text(json.dumps({"commitInfo": {"operation": "WRITE"}}) + "\n")


def test_views_are_due_when_an_input_commits(tmp_path: Path) -> None:
    graph = _Graph(
        inputs={"gold": {"cleaned"}, "cleaned": {"events"}, "snapshot": set()},
        kinds={"events": DatasetKind.STREAMING_TABLE, "cleaned": DatasetKind.VIEW,
               "gold": DatasetKind.MATERIALIZED_VIEW, "snapshot": DatasetKind.STREAMING_TABLE},
    )
    gold = _Planned(Flow("gold", "gold", None))
    snapshot = _Planned(Flow("snapshot_flow", "snapshot", None))
    watch = SourceWatch(graph, lambda name: tmp_path / name)
    _commit(tmp_path / "events", 0)

    assert watch.stale([gold, snapshot], due=False) == [gold]  # first look: refresh
    assert watch.stale([gold, snapshot], due=False) == []  # nothing committed since
    _commit(tmp_path / "events", 1)  # read through the view 'cleaned'
    assert watch.stale([gold, snapshot], due=False) == [gold]
    assert watch.stale([gold, snapshot], due=True) == [snapshot]  # no input to watch: on the clock
