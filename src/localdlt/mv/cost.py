"""The cost model of ``refresh_policy`` AUTO: estimated seconds of each applicable technique, from
facts read without a Spark job (row counts from the Delta log), and the cheapest one.

Databricks' REFRESH POLICY AUTO: "Incremental is available for the refresh: uses the cost model to
determine which is cheaper, incremental or full"; INCREMENTAL and INCREMENTAL STRICT override the
cost model; FULL always recomputes. A rejected technique carries the issue
``INCREMENTAL_PLAN_REJECTED_BY_COST_MODEL`` with a ``cost_model_rejection_subtype`` (event log
schema: IncrementalizationIssue, CostModelRejectionSubType).

The model is linear, per refresh (seconds)::

    COMPLETE_RECOMPUTE = full_fixed + source_rows * scan_per_row + target_rows * write_per_row
    APPEND_ONLY        = fixed[APPEND_ONLY] + changed_rows * change_per_row
    GROUP_AGGREGATE    = fixed[GROUP_AGGREGATE] + changed_rows * change_per_row
                         + target_rows * merge_per_target_row
    GENERIC_AGGREGATE, WINDOW_FUNCTION: as GROUP_AGGREGATE + source_rows * semi_scan_per_row
                         (the source is read again, restricted to the touched keys)

``source_rows``: rows of the view's sources at the versions read (numRecords of the live files);
``changed_rows``: rows the change data feed returns for the change set (added + removed rows of
the commits, or the change files' size for commits that wrote them); ``target_rows``: the view's
rows as last written. The constants below were measured on the project's 2-core machine (see
:data:`MEASURED`); they only need to be right about where incremental starts to pay (millions of
rows of history), not to the second.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from localdlt.errors import InvalidArgumentError
from localdlt.mv.issues import Issue, IssueType, Technique

# Pipeline configuration key (``--conf localdlt.mv.costModel=false``): ``false`` makes AUTO take
# the first applicable incremental technique, as before the cost model (tests on tiny fixtures).
COST_MODEL_KEY = "localdlt.mv.costModel"


class Rejection(str, enum.Enum):
    """``CostModelRejectionSubType`` values localdlt emits."""

    # the change set alone costs more to apply than a recompute
    CHANGESET_SIZE_THRESHOLD_EXCEEDED = "CHANGESET_SIZE_THRESHOLD_EXCEEDED"
    # the incremental path's fixed cost (change data feed read, checkpoint, MERGE) is above a
    # recompute of a small history
    UNSPECIFIED = "COST_MODEL_REJECTION_SUB_TYPE_UNSPECIFIED"


@dataclass(frozen=True)
class Facts:
    """What the estimates depend on, read from the Delta logs of the sources and the target."""

    source_rows: int
    changed_rows: int
    target_rows: int

    def describe(self) -> str:
        """``source 12 rows, change 3 rows, target 3 rows``."""
        return (
            f"source {self.source_rows:,} rows, change {self.changed_rows:,} rows, "
            f"target {self.target_rows:,} rows"
        )


@dataclass(frozen=True)
class CostModel:
    """The constants of the linear model (seconds, seconds per row)."""

    full_fixed: float = 1.2
    scan_per_row: float = 5e-7
    write_per_row: float = 1e-6
    fixed: Mapping[Technique, float] = field(
        default_factory=lambda: {
            Technique.APPEND_ONLY: 2.0,
            Technique.GROUP_AGGREGATE: 2.6,
            Technique.GENERIC_AGGREGATE: 2.6,
            Technique.WINDOW_FUNCTION: 2.6,
        }
    )
    change_per_row: float = 2e-6
    merge_per_target_row: float = 5e-7
    semi_scan_per_row: float = 2.5e-7

    def estimate(self, technique: Technique, facts: Facts) -> float:
        """Estimated seconds of refreshing by ``technique`` (NO_OP costs nothing)."""
        if technique is Technique.NO_OP:
            return 0.0
        if technique is Technique.COMPLETE_RECOMPUTE:
            scan = facts.source_rows * self.scan_per_row
            return self.full_fixed + scan + facts.target_rows * self.write_per_row
        seconds = self.fixed[technique] + facts.changed_rows * self.change_per_row
        if technique is not Technique.APPEND_ONLY:
            seconds += facts.target_rows * self.merge_per_target_row
        if technique in (Technique.GENERIC_AGGREGATE, Technique.WINDOW_FUNCTION):
            seconds += facts.source_rows * self.semi_scan_per_row
        return seconds

    def estimates(self, techniques: Iterable[Technique], facts: Facts) -> dict[Technique, float]:
        """Estimated seconds of each technique (rounded to the millisecond, as reported)."""
        return {t: round(self.estimate(t, facts), 3) for t in techniques}

    def keeps_aggregate_state(self, facts: Facts) -> bool:
        """Whether a complete recompute should rebuild the per-group buffers of a decomposable
        aggregate: only when a GROUP_AGGREGATE refresh could ever be cheaper than a recompute at
        this size (its fixed cost, with an empty change, below the recompute's estimate). Below
        that, the buffers are dropped instead of being rebuilt on every recompute (a second full
        aggregation): they come back at the first recompute of a history large enough."""
        empty = Facts(facts.source_rows, 0, facts.target_rows)
        group = self.estimate(Technique.GROUP_AGGREGATE, empty)
        return group < self.estimate(Technique.COMPLETE_RECOMPUTE, empty)

    def rejection(self, technique: Technique, facts: Facts) -> Issue:
        """The ``INCREMENTAL_PLAN_REJECTED_BY_COST_MODEL`` issue of a technique that lost to the
        complete recompute, with the estimates in its detail."""
        full = self.estimate(Technique.COMPLETE_RECOMPUTE, facts)
        incremental = self.estimate(technique, facts)
        by_change = facts.changed_rows * self.change_per_row >= full
        return Issue(
            IssueType.INCREMENTAL_PLAN_REJECTED_BY_COST_MODEL,
            cost_model_rejection_subtype=(
                Rejection.CHANGESET_SIZE_THRESHOLD_EXCEEDED if by_change else Rejection.UNSPECIFIED
            ).value,
            detail=(
                f"{technique.short} estimated {incremental:.2f} s against {full:.2f} s for a complete "
                f"recompute ({facts.describe()})"
            ),
        )


# The default constants, and how they were measured: `python -m bench mv_growth` (Gold's views over
# a Silver-shaped table of 50,000 and 5,000,000 rows, 2,000 new rows; bench/RESULTS.md, sections
# "Materialized-view refresh against history size"), quiet runs on the 2-core machine. Fixed costs
# are the 50,000-row times (where per-row terms are negligible): a localdlt recompute 1.0-2.0 s,
# an incremental refresh 2.7-2.8 s (APPEND_ONLY less: no MERGE). Per-row terms are the growth from
# 50 k to 5 M rows divided by the rows added: recomputes 0.15-1.3 µs per source row (middle of the
# views: 0.5 µs), GENERIC_AGGREGATE's restricted re-read 0.1-0.7 µs (0.25 µs). With them a
# GROUP_AGGREGATE over a small target pays from ~3 M rows of history and GENERIC_AGGREGATE from
# ~6 M, as measured (dim_customer's GENERIC_AGGREGATE beat its recompute at 5 M rows, 6.1 s vs
# 8.3 s; gold_payment_health's GROUP_AGGREGATE did not, 3.2 s vs 1.8 s).
MEASURED = CostModel()


def from_configuration(configuration: Mapping[str, str]) -> CostModel | None:
    """The cost model a pipeline runs with: :data:`MEASURED`, or None when the configuration sets
    ``localdlt.mv.costModel`` to ``false`` (anything but true/false is an error naming the key)."""
    value = str(configuration.get(COST_MODEL_KEY, "true")).strip().lower()
    if value not in ("true", "false"):
        raise InvalidArgumentError(
            f"{COST_MODEL_KEY} must be true or false; got {configuration.get(COST_MODEL_KEY)!r}",
            params={"argument": COST_MODEL_KEY, "value": str(configuration.get(COST_MODEL_KEY))},
        )
    return MEASURED if value == "true" else None
