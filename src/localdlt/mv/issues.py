"""Databricks' vocabulary for materialized-view planning: maintenance types (techniques), issue
types and their sub-types, and ``refresh_policy`` — the names of the ``planning_information``
event (event log schema: TechniqueInformation, IncrementalizationIssue, IssueType,
PlanNotIncrementalizableSubType, PlanNotDeterministicSubType, CostModelRejectionSubType,
TableInformation)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from localdlt.errors import InvalidArgumentError


class Technique(str, enum.Enum):
    """``maintenance_type`` values localdlt can choose (Databricks' names)."""

    NO_OP = "MAINTENANCE_TYPE_NO_OP"
    APPEND_ONLY = "MAINTENANCE_TYPE_APPEND_ONLY"
    GROUP_AGGREGATE = "MAINTENANCE_TYPE_GROUP_AGGREGATE"
    GENERIC_AGGREGATE = "MAINTENANCE_TYPE_GENERIC_AGGREGATE"
    WINDOW_FUNCTION = "MAINTENANCE_TYPE_WINDOW_FUNCTION"
    COMPLETE_RECOMPUTE = "MAINTENANCE_TYPE_COMPLETE_RECOMPUTE"

    @property
    def short(self) -> str:
        """``GROUP_AGGREGATE`` for ``MAINTENANCE_TYPE_GROUP_AGGREGATE`` (the message's spelling)."""
        return self.value.removeprefix("MAINTENANCE_TYPE_")

    @property
    def incremental(self) -> bool:
        """True for the techniques that are incremental refreshes (not NO_OP, not a recompute)."""
        return self not in (Technique.NO_OP, Technique.COMPLETE_RECOMPUTE)


# Candidates in the order they are considered: the first applicable one is chosen.
CANDIDATES = (
    Technique.NO_OP,
    Technique.APPEND_ONLY,
    Technique.GROUP_AGGREGATE,
    Technique.GENERIC_AGGREGATE,
    Technique.WINDOW_FUNCTION,
    Technique.COMPLETE_RECOMPUTE,
)


class IssueType(str, enum.Enum):
    """``IncrementalizationIssue.issue_type`` values used locally."""

    CDF_UNAVAILABLE = "CDF_UNAVAILABLE"
    DATA_SCHEMA_CHANGED = "DATA_SCHEMA_CHANGED"
    INPUT_NOT_IN_DELTA = "INPUT_NOT_IN_DELTA"
    PLAN_NOT_DETERMINISTIC = "PLAN_NOT_DETERMINISTIC"
    PLAN_NOT_INCREMENTALIZABLE = "PLAN_NOT_INCREMENTALIZABLE"
    QUERY_FINGERPRINT_CHANGED = "QUERY_FINGERPRINT_CHANGED"
    CONFIGURATION_CHANGED = "CONFIGURATION_CHANGED"
    CHANGE_SET_MISSING = "CHANGE_SET_MISSING"
    EXPECTATIONS_NOT_SUPPORTED = "EXPECTATIONS_NOT_SUPPORTED"
    DATA_HAS_CHANGED = "DATA_HAS_CHANGED"
    PRIOR_TIMESTAMP_MISSING = "PRIOR_TIMESTAMP_MISSING"
    INCREMENTAL_PLAN_REJECTED_BY_COST_MODEL = "INCREMENTAL_PLAN_REJECTED_BY_COST_MODEL"


@dataclass(frozen=True)
class Issue:
    """One ``IncrementalizationIssue``: why a technique does not apply."""

    issue_type: IssueType
    prevent_incrementalization: bool = True
    operator_name: str | None = None
    expression_name: str | None = None
    join_type: str | None = None
    plan_not_incrementalizable_sub_type: str | None = None
    plan_not_deterministic_sub_type: str | None = None
    cost_model_rejection_subtype: str | None = None
    table_information: dict[str, Any] | None = field(default=None, compare=False)
    detail: str | None = field(default=None, compare=False)

    def to_json(self) -> dict[str, Any]:
        """The event's JSON object (unset fields left out, as Databricks does)."""
        out: dict[str, Any] = {
            "issue_type": self.issue_type.value,
            "prevent_incrementalization": self.prevent_incrementalization,
        }
        for key in (
            "operator_name",
            "expression_name",
            "join_type",
            "plan_not_incrementalizable_sub_type",
            "plan_not_deterministic_sub_type",
            "cost_model_rejection_subtype",
            "table_information",
        ):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out

    def describe(self) -> str:
        """One human line: the type, its sub-type and what caused it."""
        parts = [self.issue_type.value]
        sub = (
            self.plan_not_incrementalizable_sub_type
            or self.plan_not_deterministic_sub_type
            or self.cost_model_rejection_subtype
        )
        if sub:
            parts.append(sub)
        what = ", ".join(
            x
            for x in (
                self.operator_name and f"operator {self.operator_name}",
                self.expression_name and f"expression {self.expression_name}",
                self.join_type and f"join {self.join_type}",
            )
            if x
        )
        text = "/".join(parts) + (f" ({what})" if what else "")
        return text + (f": {self.detail}" if self.detail else "")


def not_incrementalizable(sub_type: str, **kwargs: Any) -> Issue:
    """A ``PLAN_NOT_INCREMENTALIZABLE`` issue of the given sub-type."""
    return Issue(IssueType.PLAN_NOT_INCREMENTALIZABLE, plan_not_incrementalizable_sub_type=sub_type, **kwargs)


def not_deterministic(sub_type: str, **kwargs: Any) -> Issue:
    """A ``PLAN_NOT_DETERMINISTIC`` issue of the given sub-type."""
    return Issue(IssueType.PLAN_NOT_DETERMINISTIC, plan_not_deterministic_sub_type=sub_type, **kwargs)


class RefreshPolicy(str, enum.Enum):
    """``refresh_policy`` (SQL ``REFRESH POLICY``): AUTO | INCREMENTAL | INCREMENTAL STRICT | FULL."""

    AUTO = "AUTO"
    INCREMENTAL = "INCREMENTAL"
    INCREMENTAL_STRICT = "INCREMENTAL_STRICT"
    FULL = "FULL"

    @classmethod
    def parse(cls, value: str | None, *, dataset: str | None = None) -> RefreshPolicy:
        """``None`` → AUTO; case-insensitive, ``incremental strict`` / ``incremental_strict`` both
        accepted; anything else is an error naming the argument."""
        if value is None:
            return cls.AUTO
        key = " ".join(str(value).replace("_", " ").split()).upper().replace(" ", "_")
        try:
            return cls(key)
        except ValueError:
            where = f" of '{dataset}'" if dataset else ""
            raise InvalidArgumentError(
                f"refresh_policy{where} must be one of auto, incremental, incremental_strict, full; "
                f"got {value!r}",
                params={"argument": "refresh_policy", "value": str(value)},
            ) from None
