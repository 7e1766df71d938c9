"""The cost model on real refreshes (Spark + Delta on disk, a source of a few rows): AUTO recomputes
a tiny view, the rejected techniques say so in the event, the aggregate buffers dropped by such a
recompute never make a later incremental refresh wrong, a model under which incremental is cheaper
goes incremental, and INCREMENTAL / INCREMENTAL_STRICT ignore the model."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from localdlt import deltalog
from localdlt.mv import refresh as mv
from localdlt.mv.cost import MEASURED, CostModel
from localdlt.mv.issues import RefreshPolicy, Technique

SCHEMA = "id int, k string, v int"
# Incremental always cheaper: a recompute is estimated at 1,000 s whatever the size.
EXPENSIVE_FULL = CostModel(full_fixed=1000.0)


@pytest.fixture
def source(spark: SparkSession, tmp_path: Path) -> Path:
    path = tmp_path / "source"
    rows = [(1, "a", 1), (2, "b", 5), (3, None, None)]
    spark.createDataFrame(rows, SCHEMA).write.format("delta").option(
        "delta.enableChangeDataFeed", "true"
    ).save(str(path))
    return path


def _append(spark: SparkSession, source: Path, rows: list[tuple[object, ...]]) -> None:
    spark.createDataFrame(rows, SCHEMA).write.format("delta").mode("append").save(str(source))


def _refresh(
    spark: SparkSession,
    source: Path,
    root: Path,
    model: CostModel | None,
    *,
    policy: RefreshPolicy = RefreshPolicy.AUTO,
    full_refresh: bool = False,
) -> mv.Outcome:
    version = deltalog.latest_version(source)
    query = (
        spark.read.format("delta").option("versionAsOf", version).load(str(source))
        .groupBy("k").agg(F.count("*").alias("n"), F.sum("v").alias("total"))
    )
    outcome = mv.refresh(
        spark,
        mv.Request(
            flow="by_key", dataset="by_key", query=query, target=root / "by_key", state_dir=root / "state",
            source_versions={str(source): version}, source_names={str(source): "events"}, policy=policy,
            full_refresh=full_refresh, cost_model=model,
        ),
    )
    got = sorted(
        (tuple(r) for r in spark.read.format("delta").load(str(root / "by_key")).collect()),
        key=lambda t: (t[0] is None, t[0]),
    )
    expected = sorted((tuple(r) for r in query.collect()), key=lambda t: (t[0] is None, t[0]))
    assert got == expected, outcome.technique
    return outcome


def _issues(outcome: mv.Outcome) -> dict[str, list[str]]:
    techniques = outcome.details["planning_information"]["technique_information"]
    return {
        t["maintenance_type"].removeprefix("MAINTENANCE_TYPE_"): [
            "/".join(filter(None, (i["issue_type"], i.get("cost_model_rejection_subtype"))))
            for i in t.get("incrementalization_issues", [])
        ]
        for t in techniques
    }


def test_auto_recomputes_a_tiny_view_and_its_state_stays_correct(
    spark: SparkSession, source: Path, tmp_path: Path
) -> None:
    root = tmp_path / "mv"
    buffers = root / "state" / "buffers"
    # The model off: the first computation builds the aggregate buffers, as before the model.
    assert _refresh(spark, source, root, None).technique is Technique.COMPLETE_RECOMPUTE
    assert buffers.is_dir()

    _append(spark, source, [(4, "a", 2), (5, None, 7)])
    auto = _refresh(spark, source, root, MEASURED)
    assert auto.technique is Technique.COMPLETE_RECOMPUTE
    rejected = "INCREMENTAL_PLAN_REJECTED_BY_COST_MODEL/COST_MODEL_REJECTION_SUB_TYPE_UNSPECIFIED"
    issues = _issues(auto)
    assert (issues["GROUP_AGGREGATE"], issues["GENERIC_AGGREGATE"], issues["COMPLETE_RECOMPUTE"]) == (
        [rejected], [rejected], []
    )
    info = auto.details["planning_information"]
    assert {t["maintenance_type"]: t["is_applicable"] for t in info["technique_information"]}[
        "MAINTENANCE_TYPE_GROUP_AGGREGATE"
    ] is True
    costs = info["localdlt_cost_estimates"]
    assert (costs["source_rows"], costs["changed_rows"], costs["target_rows"]) == (5, 2, 3)
    assert costs["seconds"]["MAINTENANCE_TYPE_COMPLETE_RECOMPUTE"] < costs["seconds"][
        "MAINTENANCE_TYPE_GROUP_AGGREGATE"
    ]
    assert auto.reason.startswith(rejected + ": GROUP_AGGREGATE estimated ")
    # At this size the buffers could never pay for themselves: dropped, not rebuilt.
    assert not buffers.exists()

    # Without buffers GROUP_AGGREGATE is out; where incremental is cheaper, the touched groups
    # are recomputed instead — still equal to a recompute (checked by _refresh).
    _append(spark, source, [(6, "b", 1), (7, "c", 3)])
    touched = _refresh(spark, source, root, EXPENSIVE_FULL)
    assert touched.technique is Technique.GENERIC_AGGREGATE
    assert _issues(touched)["GROUP_AGGREGATE"] == ["CHANGE_SET_MISSING"]

    # A recompute where merging partial results can pay rebuilds the buffers, and the next
    # refresh merges into them.
    assert _refresh(spark, source, root, EXPENSIVE_FULL, full_refresh=True).technique is (
        Technique.COMPLETE_RECOMPUTE
    )
    assert buffers.is_dir()
    _append(spark, source, [(8, "a", 10), (9, None, 1)])
    assert _refresh(spark, source, root, EXPENSIVE_FULL).technique is Technique.GROUP_AGGREGATE

    # Nothing new: NO_OP whatever the model, no new version of the view.
    version = deltalog.latest_version(root / "by_key")
    assert _refresh(spark, source, root, MEASURED).technique is Technique.NO_OP
    assert deltalog.latest_version(root / "by_key") == version


@pytest.mark.parametrize("policy", [RefreshPolicy.INCREMENTAL, RefreshPolicy.INCREMENTAL_STRICT])
def test_incremental_policies_override_the_cost_model(
    spark: SparkSession, source: Path, tmp_path: Path, policy: RefreshPolicy
) -> None:
    root = tmp_path / "mv"
    assert _refresh(spark, source, root, MEASURED, policy=policy).technique is Technique.COMPLETE_RECOMPUTE
    _append(spark, source, [(4, "a", 2)])
    outcome = _refresh(spark, source, root, MEASURED, policy=policy)
    assert outcome.technique is Technique.GROUP_AGGREGATE
    assert "localdlt_cost_estimates" not in outcome.details["planning_information"]
