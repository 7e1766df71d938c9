"""The cost model of refresh_policy AUTO without Spark: the estimates of each technique, the choice
between incremental techniques and a complete recompute, the INCREMENTAL_PLAN_REJECTED_BY_COST_MODEL
issue in the planning event, the policies that ignore the model, whether a recompute keeps the
aggregate buffers, the ``localdlt.mv.costModel`` switch, and the facts read from Delta logs (change
set rows from commit files, live rows through delta-rs)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import write_deltalake

from localdlt import deltalog
from localdlt.errors import InvalidArgumentError
from localdlt.mv import cost
from localdlt.mv.analysis import AGGREGATE, ROW_WISE, Shape
from localdlt.mv.changes import APPEND_ONLY, GENERAL_CHANGE, SourceChange, TableState, changes_between
from localdlt.mv.cost import CostModel, Facts
from localdlt.mv.issues import Issue, IssueType, RefreshPolicy, Technique
from localdlt.mv.planner import Situation, choose, planning_details

SOURCE = "/data/events"
# Round constants so that every estimate below can be checked by hand.
MODEL = CostModel(
    full_fixed=1.0,
    scan_per_row=1e-6,
    write_per_row=2e-6,
    fixed={
        Technique.APPEND_ONLY: 2.0,
        Technique.GROUP_AGGREGATE: 3.0,
        Technique.GENERIC_AGGREGATE: 3.0,
        Technique.WINDOW_FUNCTION: 3.0,
    },
    change_per_row=1e-5,
    merge_per_target_row=1e-6,
    semi_scan_per_row=5e-7,
)


def test_estimates_of_each_technique() -> None:
    facts = Facts(source_rows=4_000_000, changed_rows=20_000, target_rows=100_000)
    assert MODEL.estimates(list(Technique), facts) == {
        Technique.NO_OP: 0.0,
        Technique.APPEND_ONLY: 2.2,  # 2 + 20,000 * 1e-5
        Technique.GROUP_AGGREGATE: 3.3,  # 3 + 0.2 + 100,000 * 1e-6 (MERGE into the target)
        Technique.GENERIC_AGGREGATE: 5.3,  # + 4,000,000 * 5e-7 (the source re-read for the keys)
        Technique.WINDOW_FUNCTION: 5.3,
        Technique.COMPLETE_RECOMPUTE: 5.2,  # 1 + 4 + 100,000 * 2e-6
    }


def _aggregate(*, decomposable: bool = True) -> Shape:
    merge = [] if decomposable else [Issue(IssueType.PLAN_NOT_INCREMENTALIZABLE, detail="distinct")]
    return Shape(AGGREGATE, None, source_paths=[SOURCE], all_sources=[SOURCE], merge_issues=merge)


def _situation(
    facts: Facts | None,
    *,
    shape: Shape | None = None,
    change_type: str = APPEND_ONLY,
    policy: RefreshPolicy = RefreshPolicy.AUTO,
    model: CostModel | None = MODEL,
    unchanged: bool = False,
    reinitialize: list[Issue] | None = None,
    reads: list[int] | None = None,
) -> Situation:
    def read() -> Facts | None:
        if reads is not None:
            reads.append(1)
        return facts

    to_version = 3 if unchanged else 5
    return Situation(
        shape=shape or _aggregate(),
        policy=policy,
        changes={SOURCE: SourceChange(SOURCE, 3, to_version, change_type, False, False, True, 10, 10)},
        sources={SOURCE: TableState(SOURCE, "id-1", to_version, "{}", True)},
        reinitialize=reinitialize or [],
        state_valid=True,
        source_names={SOURCE: "events"},
        target_name="view",
        target_id="id-2",
        cost_model=model,
        facts=read,
    )


def test_small_history_recomputes_and_says_why() -> None:
    facts = Facts(source_rows=50_000, changed_rows=2_000, target_rows=1_000)
    plan = choose(_situation(facts), dataset="view")
    # recompute 1 + 0.05 + 0.002 = 1.052 s; GROUP_AGGREGATE 3 + 0.02 + 0.001; GENERIC + 0.025
    assert plan.technique is Technique.COMPLETE_RECOMPUTE
    assert plan.estimates == {
        Technique.GROUP_AGGREGATE: 3.021,
        Technique.GENERIC_AGGREGATE: 3.046,
        Technique.COMPLETE_RECOMPUTE: 1.052,
    }
    assert plan.keep_state is False  # GROUP_AGGREGATE (3 s) can never beat 1.05 s here: no buffers
    info = planning_details(plan)["planning_information"]
    by_type = {t["maintenance_type"]: t for t in info["technique_information"]}
    rejected = {
        "issue_type": "INCREMENTAL_PLAN_REJECTED_BY_COST_MODEL",
        "prevent_incrementalization": True,
        "cost_model_rejection_subtype": "COST_MODEL_REJECTION_SUB_TYPE_UNSPECIFIED",
    }
    for technique in ("MAINTENANCE_TYPE_GROUP_AGGREGATE", "MAINTENANCE_TYPE_GENERIC_AGGREGATE"):
        assert by_type[technique] == {
            "maintenance_type": technique,
            "is_chosen": False,
            "is_applicable": True,
            "incrementalization_issues": [rejected],
        }
    assert by_type["MAINTENANCE_TYPE_COMPLETE_RECOMPUTE"] == {
        "maintenance_type": "MAINTENANCE_TYPE_COMPLETE_RECOMPUTE",
        "is_chosen": True,
        "is_applicable": True,
    }
    assert info["localdlt_cost_estimates"] == {
        "source_rows": 50_000,
        "changed_rows": 2_000,
        "target_rows": 1_000,
        "seconds": {
            "MAINTENANCE_TYPE_GROUP_AGGREGATE": 3.021,
            "MAINTENANCE_TYPE_GENERIC_AGGREGATE": 3.046,
            "MAINTENANCE_TYPE_COMPLETE_RECOMPUTE": 1.052,
        },
    }
    issue = "INCREMENTAL_PLAN_REJECTED_BY_COST_MODEL/COST_MODEL_REJECTION_SUB_TYPE_UNSPECIFIED"
    seen = "(source 50,000 rows, change 2,000 rows, target 1,000 rows)"
    assert plan.reason == (
        f"{issue}: GROUP_AGGREGATE estimated 3.02 s against 1.05 s for a complete recompute {seen}; "
        f"{issue}: GENERIC_AGGREGATE estimated 3.05 s against 1.05 s for a complete recompute {seen}"
    )


def test_large_history_goes_incremental() -> None:
    # recompute 1 + 5 + 0.2 = 6.2 s; GROUP_AGGREGATE 3 + 0.02 + 0.1 = 3.12 s
    facts = Facts(source_rows=5_000_000, changed_rows=2_000, target_rows=100_000)
    plan = choose(_situation(facts), dataset="view")
    assert plan.technique is Technique.GROUP_AGGREGATE
    assert plan.rejected == {}
    assert plan.keep_state is True
    info = planning_details(plan)["planning_information"]
    # The event's whole shape is test_planning's; here: which technique, applicable, on what change.
    chosen = [
        (t["maintenance_type"], t["is_applicable"], t["change_set_information"]["change_set_type"])
        for t in info["technique_information"]
        if t["is_chosen"]
    ]
    assert chosen == [("MAINTENANCE_TYPE_GROUP_AGGREGATE", True, "CHANGE_SET_TYPE_APPEND_ONLY")]
    by_type = {t["maintenance_type"]: t for t in info["technique_information"]}
    for technique in ("GROUP_AGGREGATE", "GENERIC_AGGREGATE", "COMPLETE_RECOMPUTE"):
        assert "incrementalization_issues" not in by_type[f"MAINTENANCE_TYPE_{technique}"]


@pytest.mark.parametrize(
    "source_rows, expected",
    [
        # GENERIC_AGGREGATE (3 + 0.02 + 0.1 + 0.5 * rows) against (1 + rows + 0.2): even at 3.84 M rows
        (3_840_000, Technique.GENERIC_AGGREGATE),
        (3_830_000, Technique.COMPLETE_RECOMPUTE),
    ],
)
def test_updates_choose_between_touched_groups_and_recompute(source_rows: int, expected: Technique) -> None:
    facts = Facts(source_rows=source_rows, changed_rows=2_000, target_rows=100_000)
    plan = choose(_situation(facts, shape=_aggregate(decomposable=False), change_type=GENERAL_CHANGE),
                  dataset="view")
    assert plan.technique is expected


def test_a_large_change_set_is_rejected_as_such() -> None:
    # 1,000,000 changed rows cost 10 s to apply, more than the 6.2 s recompute alone
    facts = Facts(source_rows=5_000_000, changed_rows=1_000_000, target_rows=100_000)
    plan = choose(_situation(facts, shape=_aggregate(decomposable=False)), dataset="view")
    assert plan.technique is Technique.COMPLETE_RECOMPUTE
    assert plan.rejected[Technique.GENERIC_AGGREGATE].to_json() == {
        "issue_type": "INCREMENTAL_PLAN_REJECTED_BY_COST_MODEL",
        "prevent_incrementalization": True,
        "cost_model_rejection_subtype": "CHANGESET_SIZE_THRESHOLD_EXCEEDED",
    }


def test_row_wise_append_uses_the_append_fixed_cost() -> None:
    shape = Shape(ROW_WISE, None, source_paths=[SOURCE], all_sources=[SOURCE])
    # APPEND_ONLY 2 + 0.02 = 2.02 s against 1 + 1 + 2 = 4 s (one million rows, all written again)
    facts = Facts(source_rows=1_000_000, changed_rows=2_000, target_rows=1_000_000)
    assert choose(_situation(facts, shape=shape), dataset="view").technique is Technique.APPEND_ONLY
    small = Facts(source_rows=10_000, changed_rows=2_000, target_rows=10_000)
    assert choose(_situation(small, shape=shape), dataset="view").technique is Technique.COMPLETE_RECOMPUTE


@pytest.mark.parametrize("policy", [RefreshPolicy.INCREMENTAL, RefreshPolicy.INCREMENTAL_STRICT])
def test_incremental_policies_ignore_the_cost_model(policy: RefreshPolicy) -> None:
    reads: list[int] = []
    plan = choose(_situation(Facts(10, 2, 3), policy=policy, reads=reads), dataset="view")
    assert (plan.technique, plan.rejected, plan.keep_state) == (Technique.GROUP_AGGREGATE, {}, True)
    assert reads == []  # the facts were not even read


def test_full_policy_recomputes_without_buffers() -> None:
    plan = choose(_situation(Facts(10**9, 2, 3), policy=RefreshPolicy.FULL), dataset="view")
    assert (plan.technique, plan.keep_state) == (Technique.COMPLETE_RECOMPUTE, False)


def test_switched_off_or_unreadable_facts_keep_the_first_applicable_technique() -> None:
    reads: list[int] = []
    plan = choose(_situation(Facts(10, 2, 3), model=None, reads=reads), dataset="view")
    assert (plan.technique, plan.keep_state, reads) == (Technique.GROUP_AGGREGATE, True, [])
    plan = choose(_situation(None), dataset="view")
    assert (plan.technique, plan.estimates, plan.keep_state) == (Technique.GROUP_AGGREGATE, {}, True)


def test_nothing_new_is_a_no_op_without_reading_row_counts() -> None:
    reads: list[int] = []
    plan = choose(_situation(Facts(10, 0, 3), unchanged=True, reads=reads), dataset="view")
    assert (plan.technique, reads) == (Technique.NO_OP, [])


def test_first_computation_keeps_buffers_only_where_they_can_pay() -> None:
    first = [Issue(IssueType.CHANGE_SET_MISSING, detail="first computation or full refresh")]
    small = choose(_situation(Facts(50_000, 0, 0), reinitialize=first), dataset="view")
    assert (small.technique, small.keep_state, small.estimates) == (Technique.COMPLETE_RECOMPUTE, False, {})
    # recompute of 3 M rows: 1 + 3 = 4 s > GROUP_AGGREGATE's 3 s fixed cost: buffers rebuilt
    large = choose(_situation(Facts(3_000_000, 0, 0), reinitialize=first), dataset="view")
    assert (large.technique, large.keep_state) == (Technique.COMPLETE_RECOMPUTE, True)


def test_measured_model_recomputes_the_orders_fixture_and_not_millions() -> None:
    model = cost.MEASURED
    small = Facts(source_rows=22_000, changed_rows=2_000, target_rows=1_000)
    large = Facts(source_rows=20_000_000, changed_rows=2_000, target_rows=1_000)
    full, group = Technique.COMPLETE_RECOMPUTE, Technique.GROUP_AGGREGATE
    generic = Technique.GENERIC_AGGREGATE
    assert model.estimate(full, small) < model.estimate(group, small)
    assert model.estimate(group, large) < model.estimate(full, large)
    assert model.estimate(generic, large) < model.estimate(full, large)


@pytest.mark.parametrize(
    "configuration, on",
    [({}, True), ({"localdlt.mv.costModel": "true"}, True), ({"localdlt.mv.costModel": " FALSE "}, False)],
)
def test_switch(configuration: dict[str, str], on: bool) -> None:
    assert (cost.from_configuration(configuration) is cost.MEASURED) is on
    assert (cost.from_configuration(configuration) is None) is not on


def test_switch_typo_names_the_key() -> None:
    with pytest.raises(InvalidArgumentError, match=r"localdlt.mv.costModel must be true or false; got 'off'"):
        cost.from_configuration({"localdlt.mv.costModel": "off"})


def _write_commit(table: Path, version: int, actions: list[dict[str, object]]) -> None:
    log = table / "_delta_log"
    log.mkdir(parents=True, exist_ok=True)
    (log / f"{version:020d}.json").write_text("".join(json.dumps(a) + "\n" for a in actions))


def _file(kind: str, rows: int | None, size: int) -> dict[str, object]:
    body: dict[str, object] = {"path": f"{kind}-{rows}-{size}.parquet", "size": size, "dataChange": True}
    if rows is not None:
        body["stats"] = json.dumps({"numRecords": rows})
    return {kind: body}


def test_change_set_rows_from_commit_files(tmp_path: Path) -> None:
    table = tmp_path / "t"
    _write_commit(table, 1, [_file("add", 100, 1_000), _file("add", 50, 500)])  # append
    _write_commit(table, 2, [_file("remove", 100, 1_000)])  # delete of a whole file: 100 deletes
    # MERGE: a file rewritten (300 rows out, 310 in, 6,100 bytes for 610 rows) with 250 bytes of
    # change files: read from those, ~25 rows
    _write_commit(
        table,
        3,
        [
            _file("remove", 300, 3_000),
            _file("add", 310, 3_100),
            {"cdc": {"path": "_change_data/c.parquet", "size": 250, "dataChange": False}},
        ],
    )
    before, now = TableState(str(table), "id", 0, "{}", True), TableState(str(table), "id", 3, "{}", True)
    change = changes_between(table, before, now)
    assert (change.change_type, change.added_rows, change.changed_rows) == (GENERAL_CHANGE, 460, 275)
    appended = changes_between(table, before, TableState(str(table), "id", 1, "{}", True))
    assert (appended.change_type, appended.added_rows, appended.changed_rows) == (APPEND_ONLY, 150, 150)
    _write_commit(table, 4, [_file("add", None, 700)])  # no statistics: unknown
    unknown = changes_between(table, now, TableState(str(table), "id", 4, "{}", True))
    assert (unknown.added_rows, unknown.changed_rows) == (None, None)


def test_live_rows_at_a_version(tmp_path: Path) -> None:
    table = tmp_path / "t"
    write_deltalake(str(table), pa.table({"k": ["a", "b", "c"]}))
    write_deltalake(str(table), pa.table({"k": ["d", "e"]}), mode="append")
    write_deltalake(str(table), pa.table({"k": ["z"]}), mode="overwrite")
    assert [deltalog.live_rows(table, v) for v in (0, 1, 2)] == [3, 5, 1]
    # the overwrite's remove actions carry no statistics: their rows come from the files' adds
    commit = (table / "_delta_log" / f"{2:020d}.json").read_text().splitlines()
    removes = [json.loads(line)["remove"] for line in commit if '"remove"' in line]
    assert len(removes) == 2 and not any("stats" in r for r in removes)
    first, now = TableState(str(table), "id", 1, "{}", True), TableState(str(table), "id", 2, "{}", True)
    change = changes_between(table, first, now)
    assert (change.change_type, change.added_rows, change.changed_rows) == (GENERAL_CHANGE, 1, 6)
