"""Planning without refreshing: what the analysed plan says, which technique each situation gets,
``refresh_policy`` and the ``planning_information`` event's shape. No Spark job runs except the
one write of the small source table."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from localdlt import deltalog
from localdlt.errors import InvalidArgumentError
from localdlt.mv import jvm
from localdlt.mv import refresh as mv
from localdlt.mv.analysis import AGGREGATE, OTHER, ROW_WISE, WINDOW, analyse
from localdlt.mv.changes import APPEND_ONLY, GENERAL_CHANGE, SourceChange, TableState
from localdlt.mv.issues import RefreshPolicy, Technique
from localdlt.mv.planner import MaterializedViewNotIncrementalizableError, Situation, choose, planning_details


@pytest.fixture(scope="module")
def source(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("mv-planning") / "events"
    (
        spark.createDataFrame([(1, "a", 3)], "id int, k string, v int")
        .write.format("delta")
        .option("delta.enableChangeDataFeed", "true")
        .save(str(path))
    )
    return path


def _shape(df: DataFrame):  # noqa: ANN202 - test helper
    return analyse(jvm.analyzed(df))


def test_shapes_and_blocking_operators(spark: SparkSession, source: Path) -> None:
    d = spark.read.format("delta").load(str(source))
    rows = _shape(d.filter("v > 1").select("id", F.explode(F.array("k")).alias("x")))
    assert (rows.kind, rows.issues, rows.source_paths) == (ROW_WISE, [], [str(source)])

    summed = _shape(
        d.groupBy("k").agg(F.sum("v").alias("s"), F.avg("v").alias("a")).withColumn("r", F.col("s") * 2)
    )
    assert (summed.kind, summed.decomposable, summed.key_columns) == (AGGREGATE, True, ["k"])

    latest = _shape(
        d.groupBy("k").agg(
            F.countDistinct("v").alias("n"),
            F.expr("max_by(v, id)").alias("last"),
            F.sort_array(F.collect_list("v")).alias("values"),
            F.expr("count_if(v > 1)").alias("big"),
        )
    )
    assert (latest.kind, latest.decomposable) == (AGGREGATE, True)  # distinct values / extremes kept
    distinct = _shape(
        d.groupBy("k").agg(
            F.sum_distinct("v").alias("n"),
            F.expr("percentile(v, 0.5)").alias("p"),
            F.expr("min_by(map(k, v), id)").alias("m"),  # a map cannot be ordered
            F.collect_list("v").alias("l"),  # its order is the rows': mergeable only sorted
        )
    )
    assert distinct.kind == AGGREGATE and not distinct.decomposable
    assert [(i.plan_not_incrementalizable_sub_type, i.expression_name) for i in distinct.merge_issues] == [
        ("AGGREGATE_WITH_DISTINCT", "sum"),
        ("AGGREGATE_WITH_UNSUPPORTED_EXPRESSION", "percentile"),
        ("AGGREGATE_WITH_UNSUPPORTED_EXPRESSION", "min_by"),
        ("AGGREGATE_WITH_UNSUPPORTED_EXPRESSION", "collect_list"),
    ]

    ranked = _shape(
        d.select("id", "k", F.row_number().over(Window.partitionBy("k").orderBy("id")).alias("rn"))
    )
    assert (ranked.kind, ranked.key_columns) == (WINDOW, ["k"])

    unpartitioned = _shape(d.select("id", F.row_number().over(Window.orderBy("id")).alias("rn")))
    assert unpartitioned.kind == OTHER
    assert unpartitioned.issues[-1].describe() == (
        "PLAN_NOT_INCREMENTALIZABLE/WINDOW_FUNCTION_WITHOUT_PARTITION_BY (operator Window)"
    )

    joined = _shape(d.join(d.select("k"), "k", "left_anti"))
    assert joined.issues[-1].describe() == (
        "PLAN_NOT_INCREMENTALIZABLE/OPERATOR_NOT_SUPPORTED (operator Join, join JOIN_TYPE_LEFTANTI)"
    )

    nested = _shape(d.groupBy("k").count().groupBy("count").count())
    assert nested.issues[-1].plan_not_incrementalizable_sub_type == "AGGREGATE_NOT_TOP_NODE"

    random = _shape(d.select("id", F.rand(1).alias("r")))
    assert [i.describe() for i in random.issues] == [
        "PLAN_NOT_DETERMINISTIC/NON_DETERMINISTIC_EXPRESSION (expression rand)"
    ]
    clock = _shape(d.select("id", F.current_timestamp().alias("now")))
    assert [i.describe() for i in clock.issues] == [
        "PLAN_NOT_DETERMINISTIC/TIME_FUNCTION (expression current_timestamp)"
    ]


def _situation(shape, change_type: str, policy: RefreshPolicy = RefreshPolicy.AUTO) -> Situation:  # noqa: ANN001
    path = shape.all_sources[0]
    return Situation(
        shape=shape,
        policy=policy,
        changes={path: SourceChange(path, 3, 5, change_type, False, False, True, 10)},
        sources={path: TableState(path, "id-1", 5, "{}", True)},
        state_valid=True,
        source_names={path: "events"},
        target_name="view",
        target_id="id-2",
    )


def test_technique_by_shape_and_change(spark: SparkSession, source: Path) -> None:
    d = spark.read.format("delta").load(str(source))
    summed = _shape(d.groupBy("k").agg(F.sum("v").alias("s")))
    assert choose(_situation(summed, APPEND_ONLY), dataset="v").technique is Technique.GROUP_AGGREGATE
    assert choose(_situation(summed, GENERAL_CHANGE), dataset="v").technique is Technique.GENERIC_AGGREGATE
    rows = _shape(d.filter("v > 1"))
    assert choose(_situation(rows, APPEND_ONLY), dataset="v").technique is Technique.APPEND_ONLY
    plan = choose(_situation(rows, GENERAL_CHANGE), dataset="v")
    assert plan.technique is Technique.COMPLETE_RECOMPUTE
    assert plan.reason == ("DATA_HAS_CHANGED: the source had updates or deletes (not append-only)")
    assert choose(_situation(summed, APPEND_ONLY, RefreshPolicy.FULL), dataset="v").technique is (
        Technique.COMPLETE_RECOMPUTE
    )


def test_planning_information_event_shape(spark: SparkSession, source: Path) -> None:
    d = spark.read.format("delta").load(str(source))
    plan = choose(_situation(_shape(d.groupBy("k").agg(F.sum("v").alias("s"))), APPEND_ONLY), dataset="v")
    info = planning_details(plan)["planning_information"]
    chosen = [t for t in info["technique_information"] if t["is_chosen"]]
    assert chosen == [
        {
            "maintenance_type": "MAINTENANCE_TYPE_GROUP_AGGREGATE",
            "is_chosen": True,
            "is_applicable": True,
            "change_set_information": {"change_set_type": "CHANGE_SET_TYPE_APPEND_ONLY"},
        }
    ]
    types = [t["maintenance_type"] for t in info["technique_information"]]
    assert types == [
        "MAINTENANCE_TYPE_NO_OP",
        "MAINTENANCE_TYPE_APPEND_ONLY",
        "MAINTENANCE_TYPE_GROUP_AGGREGATE",
        "MAINTENANCE_TYPE_GENERIC_AGGREGATE",
        "MAINTENANCE_TYPE_WINDOW_FUNCTION",
        "MAINTENANCE_TYPE_COMPLETE_RECOMPUTE",
    ]
    no_op = info["technique_information"][0]
    assert no_op["is_applicable"] is False
    assert no_op["incrementalization_issues"][0]["issue_type"] == "DATA_HAS_CHANGED"
    assert info["source_table_information"] == [
        {
            "table_name": "events",
            "table_id": "id-1",
            "partition_columns": [],
            "is_cdf_enabled": True,
            "is_row_id_enabled": False,
            "is_deletion_vector_enabled": False,
            "table_change_type": "TABLE_CHANGE_TYPE_APPEND_ONLY",
        }
    ]
    assert info["target_table_information"] == {"table_name": "view", "table_id": "id-2"}


@pytest.mark.parametrize(
    "text, policy",
    [
        (None, RefreshPolicy.AUTO),
        ("auto", RefreshPolicy.AUTO),
        ("Incremental", RefreshPolicy.INCREMENTAL),
        ("incremental strict", RefreshPolicy.INCREMENTAL_STRICT),
        ("INCREMENTAL_STRICT", RefreshPolicy.INCREMENTAL_STRICT),
        ("full", RefreshPolicy.FULL),
    ],
)
def test_refresh_policy_spellings(text: str | None, policy: RefreshPolicy) -> None:
    assert RefreshPolicy.parse(text) is policy


def test_refresh_policy_typo_names_the_argument() -> None:
    with pytest.raises(
        InvalidArgumentError,
        match="refresh_policy of 'v' must be one of auto, incremental, "
        "incremental_strict, full; got 'incremental-strict'",
    ):
        RefreshPolicy.parse("incremental-strict", dataset="v")


@pytest.mark.parametrize("policy", [RefreshPolicy.INCREMENTAL, RefreshPolicy.INCREMENTAL_STRICT])
def test_incremental_policies_refuse_a_join_on_create(
    spark: SparkSession, source: Path, tmp_path: Path, policy: RefreshPolicy
) -> None:
    d = spark.read.format("delta").load(str(source))
    request = mv.Request(
        flow="v",
        dataset="v",
        query=d.join(d.select("k"), "k", "left_anti"),
        target=tmp_path / "v",
        state_dir=tmp_path / "state",
        source_versions={str(source): deltalog.latest_version(source)},
        source_names={str(source): "events"},
        policy=policy,
    )
    with pytest.raises(MaterializedViewNotIncrementalizableError) as caught:
        mv.refresh(spark, request)
    assert str(caught.value).startswith(
        "[MATERIALIZED_VIEW_NOT_INCREMENTALIZABLE.OPERATOR_NOT_SUPPORTED] Materialized view 'v' cannot be "
        f"refreshed incrementally as refresh_policy {policy.value} requires: PLAN_NOT_INCREMENTALIZABLE/"
        "OPERATOR_NOT_SUPPORTED (operator Join, join JOIN_TYPE_LEFTANTI)"
    )
    assert caught.value.params["operator_name"] == "Join"
    assert not (tmp_path / "v").exists()  # nothing written
