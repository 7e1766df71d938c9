"""Choosing a materialized view's refresh technique and describing the choice as Databricks'
``planning_information`` event does: every candidate technique, whether it applies, the issues
that block it, and the one chosen; ``refresh_policy`` decides between them, and under AUTO the
cost model (:mod:`localdlt.mv.cost`) between the applicable incremental techniques and a
complete recompute."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from localdlt.errors import LocalDltError
from localdlt.mv.analysis import AGGREGATE, ROW_WISE, WINDOW, Shape
from localdlt.mv.changes import APPEND_ONLY, SourceChange, TableState
from localdlt.mv.cost import CostModel, Facts
from localdlt.mv.issues import CANDIDATES, Issue, IssueType, RefreshPolicy, Technique


WRONG_SHAPE = "the query's shape does not fit this technique"


class MaterializedViewNotIncrementalizableError(LocalDltError):
    """``refresh_policy`` INCREMENTAL / INCREMENTAL_STRICT could not be honoured; the error class
    carries the reason, as Databricks' ``MATERIALIZED_VIEW_NOT_INCREMENTALIZABLE.<reason>``."""

    error_class = "MATERIALIZED_VIEW_NOT_INCREMENTALIZABLE"

    def __init__(self, reason: str, message: str, **kwargs: Any) -> None:
        self.error_class = f"MATERIALIZED_VIEW_NOT_INCREMENTALIZABLE.{reason}"
        super().__init__(message, **kwargs)


@dataclass
class Situation:
    """Everything the choice depends on, gathered before planning."""

    shape: Shape
    policy: RefreshPolicy
    changes: dict[str, SourceChange]
    sources: dict[str, TableState]
    reinitialize: list[Issue] = field(default_factory=list)
    has_expectations: bool = False
    state_valid: bool = False
    source_names: dict[str, str] = field(default_factory=dict)
    target_name: str = ""
    target_id: str | None = None
    # the cost model AUTO decides with (None: off, the first applicable technique is taken) and
    # the facts it needs, read only when a decision needs them (None when they cannot be read)
    cost_model: CostModel | None = None
    facts: Callable[[], Facts | None] | None = None


@dataclass
class Plan:
    """The chosen technique and the per-candidate information of the event.

    ``rejected``: the applicable incremental techniques the cost model rejected for a complete
    recompute (their ``INCREMENTAL_PLAN_REJECTED_BY_COST_MODEL`` issue); ``estimates``: the
    model's seconds per applicable technique when it decided; ``keep_state``: whether a complete
    recompute rebuilds a decomposable aggregate's buffers (see
    :meth:`~localdlt.mv.cost.CostModel.keeps_aggregate_state`)."""

    technique: Technique
    candidates: dict[Technique, list[Issue]]
    situation: Situation
    rejected: dict[Technique, Issue] = field(default_factory=dict)
    estimates: dict[Technique, float] = field(default_factory=dict)
    facts: Facts | None = None
    keep_state: bool = True

    def issues(self, technique: Technique) -> list[Issue]:
        """The issues of ``technique`` in the event: what blocks it, or the cost model's rejection."""
        rejection = self.rejected.get(technique)
        return [*self.candidates.get(technique, []), *([rejection] if rejection else [])]

    @property
    def reason(self) -> str:
        """Why the chosen technique: the issues that blocked the better ones (first few)."""
        before = CANDIDATES[: CANDIDATES.index(self.technique)]
        blocking = [
            i
            for t in before
            for i in self.issues(t)
            if i.prevent_incrementalization and i.detail != WRONG_SHAPE
        ]
        return "; ".join(list(dict.fromkeys(i.describe() for i in blocking))[:4])


def _structural(shape: Shape, has_expectations: bool) -> list[Issue]:
    issues = list(shape.issues)
    if has_expectations:
        issues.append(
            Issue(
                IssueType.EXPECTATIONS_NOT_SUPPORTED,
                detail="drop and fail expectations are applied on full recomputes only",
            )
        )
    return issues


def _change_issues(situation: Situation, *, need_append_only: bool) -> list[Issue]:
    issues: list[Issue] = []
    for path, change in situation.changes.items():
        info = table_information(situation, path)
        if change.replaced or change.schema_changed:
            issues.append(Issue(IssueType.DATA_SCHEMA_CHANGED, table_information=info))
        elif not change.unchanged and not change.cdf_covered:
            issues.append(Issue(IssueType.CDF_UNAVAILABLE, table_information=info))
        elif need_append_only and change.change_type != APPEND_ONLY and not change.unchanged:
            issues.append(
                Issue(
                    IssueType.DATA_HAS_CHANGED,
                    table_information=info,
                    detail="the source had updates or deletes (not append-only)",
                )
            )
    return issues


def candidates(situation: Situation) -> dict[Technique, list[Issue]]:
    """Issues blocking each candidate technique (empty list: applicable)."""
    shape = situation.shape
    structural = _structural(shape, situation.has_expectations)
    common = list(situation.reinitialize)
    nothing_changed = all(c.unchanged for c in situation.changes.values())
    out: dict[Technique, list[Issue]] = {}
    deterministic = [i for i in shape.issues if i.issue_type is IssueType.PLAN_NOT_DETERMINISTIC]
    untracked = [
        Issue(IssueType.INPUT_NOT_IN_DELTA, operator_name=name) for name in dict.fromkeys(shape.untracked)
    ]
    out[Technique.NO_OP] = [*common, *deterministic, *untracked] + (
        []
        if nothing_changed
        else [
            Issue(
                IssueType.DATA_HAS_CHANGED,
                prevent_incrementalization=False,
                detail="a source has new commits",
            )
        ]
    )
    wrong_shape = Issue(
        IssueType.PLAN_NOT_INCREMENTALIZABLE,
        plan_not_incrementalizable_sub_type="OPERATOR_NOT_SUPPORTED",
        detail=WRONG_SHAPE,
    )

    def fits(kind: str) -> list[Issue]:
        return [] if shape.kind == kind else [wrong_shape]

    out[Technique.APPEND_ONLY] = [
        *common,
        *structural,
        *fits(ROW_WISE),
        *_change_issues(situation, need_append_only=True),
    ]
    group = [
        *common,
        *structural,
        *fits(AGGREGATE),
        *shape.merge_issues,
        *_change_issues(situation, need_append_only=True),
    ]
    if shape.kind == AGGREGATE and not shape.merge_issues and not situation.state_valid:
        group.append(Issue(IssueType.CHANGE_SET_MISSING, detail="no stored aggregate state yet"))
    out[Technique.GROUP_AGGREGATE] = group
    out[Technique.GENERIC_AGGREGATE] = [
        *common,
        *structural,
        *fits(AGGREGATE),
        *_change_issues(situation, need_append_only=False),
    ]
    out[Technique.WINDOW_FUNCTION] = [
        *common,
        *structural,
        *fits(WINDOW),
        *_change_issues(situation, need_append_only=False),
    ]
    out[Technique.COMPLETE_RECOMPUTE] = []
    return {t: list(dict.fromkeys(v)) for t, v in out.items()}


def structural_blockers(shape: Shape, has_expectations: bool) -> list[Issue]:
    """What makes the query itself not incrementalizable (independent of the data)."""
    return _structural(shape, has_expectations)


def choose(situation: Situation, *, dataset: str) -> Plan:
    """Pick the technique under ``refresh_policy`` (raises for an INCREMENTAL(_STRICT) view that
    cannot be honoured)."""
    options = candidates(situation)
    policy = situation.policy
    structural = structural_blockers(situation.shape, situation.has_expectations)
    # Create or re-initialisation with a query that cannot be incremental fails under both
    # INCREMENTAL policies (Databricks' REFRESH POLICY table).
    if (
        policy in (RefreshPolicy.INCREMENTAL, RefreshPolicy.INCREMENTAL_STRICT)
        and structural
        and situation.reinitialize
    ):
        raise _not_incrementalizable(dataset, policy, structural)
    if policy is RefreshPolicy.FULL:
        # the buffers of a decomposable aggregate would never be read: not rebuilt
        return Plan(Technique.COMPLETE_RECOMPUTE, options, situation, keep_state=False)
    chosen = next(t for t in CANDIDATES if not options[t])
    if policy is RefreshPolicy.INCREMENTAL_STRICT and chosen is Technique.COMPLETE_RECOMPUTE:
        if not (situation.reinitialize and not structural):
            blockers = [i for t in CANDIDATES[1:-1] for i in options[t]] or structural
            raise _not_incrementalizable(dataset, policy, structural or blockers)
    if policy is RefreshPolicy.AUTO:
        return _by_cost(Plan(chosen, options, situation))
    return Plan(chosen, options, situation)  # INCREMENTAL (STRICT) override the cost model


def _by_cost(plan: Plan) -> Plan:
    """AUTO: the cheapest of the applicable incremental techniques and the complete recompute,
    by the situation's cost model (ties go to the incremental technique); NO_OP stays first. When
    the model is off or its facts cannot be read, the first applicable technique stays chosen."""
    situation = plan.situation
    model = situation.cost_model
    shape = situation.shape
    # a recompute of a decomposable aggregate: whether to rebuild its buffers is the model's call
    recompute_of_aggregate = (
        plan.technique is Technique.COMPLETE_RECOMPUTE and shape.decomposable and not shape.issues
    )
    if model is None or situation.facts is None or not (plan.technique.incremental or recompute_of_aggregate):
        return plan
    facts = situation.facts()
    if facts is None:
        return plan
    plan.facts = facts
    plan.keep_state = model.keeps_aggregate_state(facts)
    if not plan.technique.incremental:
        return plan
    applicable = [t for t in CANDIDATES[1:] if not plan.candidates[t]]
    plan.estimates = model.estimates(applicable, facts)
    plan.technique = min(applicable, key=lambda t: (plan.estimates[t], CANDIDATES.index(t)))
    if plan.technique is Technique.COMPLETE_RECOMPUTE:
        plan.rejected = {t: model.rejection(t, facts) for t in applicable if t.incremental}
    return plan


def _not_incrementalizable(
    dataset: str, policy: RefreshPolicy, issues: list[Issue]
) -> MaterializedViewNotIncrementalizableError:
    first = issues[0]
    sub = (
        first.plan_not_incrementalizable_sub_type
        or first.plan_not_deterministic_sub_type
        or first.issue_type.value
    )
    reasons = "; ".join(dict.fromkeys(i.describe() for i in issues))
    return MaterializedViewNotIncrementalizableError(
        sub,
        f"Materialized view '{dataset}' cannot be refreshed incrementally as refresh_policy "
        f"{policy.value} requires: {reasons}",
        params={
            "dataset": dataset,
            "refresh_policy": policy.value,
            "reason": sub,
            "operator_name": first.operator_name,
            "expression_name": first.expression_name,
        },
    )


def table_information(situation: Situation, path: str) -> dict[str, Any]:
    """A ``TableInformation`` object for a source."""
    state = situation.sources.get(path)
    change = situation.changes.get(path)
    info: dict[str, Any] = {"table_name": situation.source_names.get(path, path)}
    if state is not None:
        info.update(
            table_id=state.table_id,
            partition_columns=list(state.partition_columns),
            is_cdf_enabled=state.cdf_enabled,
            is_row_id_enabled=False,
            is_deletion_vector_enabled=False,
        )
    if change is not None:
        info["table_change_type"] = change.change_type
    return info


def planning_details(plan: Plan) -> dict[str, Any]:
    """``details`` of the ``planning_information`` event."""
    situation = plan.situation
    techniques = []
    for technique in CANDIDATES:
        issues = plan.issues(technique)
        entry: dict[str, Any] = {
            "maintenance_type": technique.value,
            "is_chosen": technique is plan.technique,
            # a technique the cost model rejected still applies: its issue says why not chosen
            "is_applicable": not plan.candidates[technique],
        }
        if issues:
            entry["incrementalization_issues"] = [i.to_json() for i in issues]
        if technique is plan.technique and technique.incremental:
            append_only = all(c.change_type == APPEND_ONLY or c.unchanged for c in situation.changes.values())
            entry["change_set_information"] = {
                "change_set_type": "CHANGE_SET_TYPE_APPEND_ONLY"
                if append_only
                else "CHANGE_SET_TYPE_GENERAL_ROW_CHANGE"
            }
        techniques.append(entry)
    info: dict[str, Any] = {
        "technique_information": techniques,
        "source_table_information": [table_information(situation, p) for p in situation.sources],
        "target_table_information": {
            "table_name": situation.target_name,
            "table_id": situation.target_id,
        },
    }
    if plan.estimates and plan.facts is not None:
        # localdlt's own field (not Databricks'): what the cost model saw and estimated
        info["localdlt_cost_estimates"] = {
            "source_rows": plan.facts.source_rows,
            "changed_rows": plan.facts.changed_rows,
            "target_rows": plan.facts.target_rows,
            "seconds": {t.value: s for t, s in plan.estimates.items()},
        }
    return {"planning_information": info}


def message(flow: str, technique: Technique) -> str:
    """The event's message."""
    return f"Flow '{flow}' has been planned in DLT to be executed as {technique.short}."
