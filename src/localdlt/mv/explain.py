"""``localdlt explain``: for each materialized view, the technique it would get and what blocks
the others, without running anything (the local answer to ``EXPLAIN CREATE MATERIALIZED VIEW``).

Each view's query is called with every stored dataset read as an empty stand-in, analysed, and
planned twice: once as if its sources only received appends, once as if they had updates or
deletes (CDF on, as for the tables localdlt writes). The answer is structural, as Databricks' EXPLAIN
is: under ``refresh_policy`` AUTO the cost model (:mod:`localdlt.mv.cost`) may still recompute at
run time when that is estimated cheaper, which the output says.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from localdlt.definitions import DatasetKind, ExpectationAction
from localdlt.expectations import apply_as_filter
from localdlt.mv import jvm
from localdlt.mv.analysis import SOURCE_MARKER, Shape, analyse
from localdlt.mv.changes import APPEND_ONLY, GENERAL_CHANGE, SourceChange, TableState
from localdlt.mv.issues import CANDIDATES, Issue, RefreshPolicy, Technique
from localdlt.mv.planner import WRONG_SHAPE, Situation, candidates, structural_blockers
from localdlt.reads import resolving


@dataclass
class Explanation:
    """What a materialized view would get."""

    dataset: str
    policy: str
    shape: str
    on_appends: Technique
    on_changes: Technique
    blockers: dict[Technique, list[Issue]] = field(default_factory=dict)
    structural: list[Issue] = field(default_factory=list)

    @property
    def cost_model_may_recompute(self) -> bool:
        """AUTO with an incremental answer: the cost model decides at run time."""
        return self.policy == RefreshPolicy.AUTO.value and (
            self.on_appends.incremental or self.on_changes.incremental
        )

    def lines(self) -> list[str]:
        """Human-readable lines for the CLI."""
        out = [
            f"{self.dataset} (refresh_policy {self.policy}; query shape {self.shape})",
            f"  when sources only receive appends: {self.on_appends.short}",
            f"  when sources have updates/deletes: {self.on_changes.short}",
        ]
        if self.cost_model_may_recompute:
            out.append(
                "  under refresh_policy AUTO the cost model may still choose COMPLETE_RECOMPUTE when it is "
                "estimated cheaper (small history, large change); INCREMENTAL and INCREMENTAL_STRICT do not"
            )
        if self.structural:
            out.append("  blocking incremental refresh: "
                       + "; ".join(dict.fromkeys(i.describe() for i in self.structural)))
        for technique, issues in self.blockers.items():
            if issues:
                out.append(
                    f"  {technique.short}: not applicable: "
                    + "; ".join(dict.fromkeys(i.describe() for i in issues))
                )
        return out

    def to_json(self) -> dict[str, Any]:
        """A JSON object for ``--format json``."""
        return {
            "dataset": self.dataset,
            "refresh_policy": self.policy,
            "shape": self.shape,
            "on_appends": self.on_appends.value,
            "on_changes": self.on_changes.value,
            "blockers": {t.value: [i.to_json() for i in v] for t, v in self.blockers.items() if v},
            # what blocks every incremental technique (the text's "blocking incremental refresh")
            "structural": [i.to_json() for i in self.structural],
            "cost_model_may_recompute": self.cost_model_may_recompute,
        }


class _StandInResolver:
    """Reads of stored datasets become empty DataFrames marked as sources; views are inlined."""

    def __init__(self, spark: SparkSession, graph: Any) -> None:
        self._spark = spark
        self._graph = graph

    def read_dataset(
        self, name: str, *, streaming: bool, explicit: bool, options: dict[str, str] | None = None
    ) -> DataFrame | None:
        dataset = self._graph.datasets.get(name)
        if dataset is None:
            return None
        if dataset.kind is DatasetKind.VIEW:
            view = self._graph.flows_into(name)[0].flow
            return apply_as_filter(view.query_function(), dataset.expectations, flow=name)
        schema = self._graph.schemas[name]
        return self._spark.createDataFrame([], schema).alias(SOURCE_MARKER + name)

    def cloud_files(self, path: str, options: dict[str, str], schema: Any) -> DataFrame:
        raise RuntimeError("a materialized view cannot read Auto Loader")


def _hypothetical(shape: Shape, change_type: str) -> dict[str, SourceChange]:
    return {p: SourceChange(p, 0, 1, change_type, False, False, True, None) for p in shape.all_sources}


def explain_view(spark: SparkSession, graph: Any, dataset: str) -> Explanation:
    """Explain one materialized view of a planned graph."""
    target = graph.datasets[dataset]
    (planned,) = graph.flows_into(dataset)
    with resolving(_StandInResolver(spark, graph)):
        df = planned.flow.query_function()
    shape = analyse(jvm.normalised(df))
    policy = RefreshPolicy.parse(target.extra.get("refresh_policy"), dataset=dataset)
    expectations = any(rule.action is not ExpectationAction.WARN
                       for rule in (*target.expectations, *planned.flow.expectations))
    sources = {p: TableState(p, None, 1, None, True) for p in shape.all_sources}
    results = {}
    blockers: dict[Technique, list[Issue]] = {}
    for change_type in (APPEND_ONLY, GENERAL_CHANGE):
        situation = Situation(
            shape=shape,
            policy=policy,
            changes=_hypothetical(shape, change_type),
            sources=sources,
            has_expectations=expectations,
            state_valid=True,
        )
        options = candidates(situation)
        options[Technique.NO_OP] = []  # not a property of the query: left out
        chosen = (
            Technique.COMPLETE_RECOMPUTE
            if policy is RefreshPolicy.FULL
            else next(t for t in CANDIDATES[1:] if not options[t])
        )
        results[change_type] = chosen
        for technique in CANDIDATES[1:-1]:
            kept = [i for i in options[technique] if i.prevent_incrementalization and i.detail != WRONG_SHAPE]
            if any(i.detail == WRONG_SHAPE for i in options[technique]):
                continue  # the technique is for another shape of query
            if change_type == GENERAL_CHANGE and technique in blockers:
                continue
            blockers[technique] = kept
    kind = shape.kind + (" (decomposable)" if shape.decomposable else "")
    return Explanation(
        dataset,
        policy.value,
        kind,
        results[APPEND_ONLY],
        results[GENERAL_CHANGE],
        blockers,
        structural_blockers(shape, expectations),
    )


def explain(spark: SparkSession, graph: Any, names: Iterable[str] | None = None) -> list[Explanation]:
    """Explain every materialized view of ``graph`` (or the ones named), in dependency order."""
    wanted = set(names) if names is not None else None
    return [
        explain_view(spark, graph, name)
        for name in graph.dataset_order
        if graph.datasets[name].kind is DatasetKind.MATERIALIZED_VIEW and (wanted is None or name in wanted)
    ]
