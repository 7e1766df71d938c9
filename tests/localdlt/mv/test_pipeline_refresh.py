"""Materialized views inside pipeline updates: the ``planning_information`` event of each refresh,
results equal to a recompute, no new Delta version when nothing changed, ``refresh_policy``
honoured (a STRICT view that cannot be incremental fails naming the operator) and ``localdlt
explain``."""

from __future__ import annotations

import json
from pathlib import Path

from localdlt import deltalog
from localdlt.cli import main as cli
from localdlt.runner import run_update

PIPELINE = """
import dlt
from pyspark.sql import functions as F

@dlt.table
def events():
    return spark.readStream.schema("id INT, k STRING, v INT").json(spark.conf.get("test.landing"))

@dlt.table
def by_key():
    return spark.read.table("events").groupBy("k").agg(F.count("*").alias("n"), F.sum("v").alias("total"))

@dlt.table
def distinct_values():
    return spark.read.table("events").groupBy("k").agg(F.sum_distinct("v").alias("values"))

@dlt.table
def big():
    return spark.read.table("events").filter("v > 1").select("id", "k")

@dlt.materialized_view(refresh_policy="incremental_strict")
def strict_join():
    e = spark.read.table("events")
    return e.join(e.select("k").distinct(), "k", "left_anti")
"""


def _planning(spark, storage: Path) -> dict[str, list[str]]:  # noqa: ANN001
    df = spark.read.format("delta").load(str(storage / "system" / "events"))
    rows = df.filter("event_type = 'planning_information'").orderBy("sequence.control_plane_seq_no").collect()
    out: dict[str, list[str]] = {}
    for row in rows:
        info = json.loads(row["details"])["planning_information"]
        chosen = [t["maintenance_type"] for t in info["technique_information"] if t["is_chosen"]]
        out.setdefault(row["origin"]["dataset_name"], []).extend(chosen)
        assert row["message"] == (
            f"Flow '{row['origin']['flow_name']}' has been planned in DLT to be executed "
            f"as {chosen[0].removeprefix('MAINTENANCE_TYPE_')}."
        )
    return out


def test_views_refresh_incrementally_in_updates(spark, tmp_path: Path, write_pipeline, landing, rows) -> None:  # noqa: ANN001
    folder = landing(
        "landing",
        "1.json",
        [{"id": 1, "k": "a", "v": 1}, {"id": 2, "k": "b", "v": 5}, {"id": 3, "k": None, "v": None}],
    )
    pipeline = write_pipeline({"p.py": PIPELINE})
    storage = tmp_path / "storage"
    conf = {"test.landing": str(folder), "localdlt.mv.costModel": "false"}  # tiny: techniques under test

    first = run_update([pipeline], storage, spark=spark, configuration=conf)
    assert first.flows["strict_join"].status == "FAILED"
    assert first.flows["strict_join"].error_class == (
        "MATERIALIZED_VIEW_NOT_INCREMENTALIZABLE.OPERATOR_NOT_SUPPORTED")
    assert first.flows["strict_join"].error.startswith(
        "Materialized view 'strict_join' cannot be refreshed incrementally as refresh_policy "
        "INCREMENTAL_STRICT requires: PLAN_NOT_INCREMENTALIZABLE/OPERATOR_NOT_SUPPORTED "
        "(operator Join, join JOIN_TYPE_LEFTANTI)"
    )
    assert (
        not (storage / "tables" / "strict_join" / "_delta_log").exists()
        or deltalog.latest_version(storage / "tables" / "strict_join") <= 0
    )
    assert rows(storage / "tables" / "by_key", "k", "n", "total") == [
        ("a", 1, 1),
        ("b", 1, 5),
        (None, 1, None),
    ]

    landing("landing", "2.json", [{"id": 4, "k": "a", "v": 2}, {"id": 5, "k": None, "v": 7}])
    run_update([pipeline], storage, spark=spark, configuration=conf)
    assert rows(storage / "tables" / "by_key", "k", "n", "total") == [("a", 2, 3), ("b", 1, 5), (None, 2, 7)]
    assert rows(storage / "tables" / "distinct_values", "k", "values") == [("a", 3), ("b", 5), (None, 7)]
    assert rows(storage / "tables" / "big", "id", "k") == [(2, "b"), (4, "a"), (5, None)]

    versions = {name: deltalog.latest_version(storage / "tables" / name) for name in ("by_key", "big")}
    run_update([pipeline], storage, spark=spark, configuration=conf)  # nothing new
    assert {name: deltalog.latest_version(storage / "tables" / name) for name in versions} == versions

    techniques = _planning(spark, storage)
    full, no_op = "MAINTENANCE_TYPE_COMPLETE_RECOMPUTE", "MAINTENANCE_TYPE_NO_OP"
    assert techniques["by_key"] == [full, "MAINTENANCE_TYPE_GROUP_AGGREGATE", no_op]
    assert techniques["distinct_values"] == [full, "MAINTENANCE_TYPE_GENERIC_AGGREGATE", no_op]
    assert techniques["big"] == [full, "MAINTENANCE_TYPE_APPEND_ONLY", no_op]
    assert "strict_join" not in techniques  # refused before planning anything it could run

    assert (
        cli(["explain", str(pipeline), "--conf", f"test.landing={folder}", "--format", "json"], spark=spark)
        == 0
    )


def test_explain_names_each_views_technique(spark, write_pipeline, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    pipeline = write_pipeline({"p.py": PIPELINE})
    assert (
        cli(["explain", str(pipeline), "--conf", f"test.landing={tmp_path}", "--format", "json"], spark=spark)
        == 0
    )
    out = {e["dataset"]: e for e in json.loads(capsys.readouterr().out)}
    assert {name: (e["on_appends"], e["on_changes"]) for name, e in out.items()} == {
        "by_key": ("MAINTENANCE_TYPE_GROUP_AGGREGATE", "MAINTENANCE_TYPE_GENERIC_AGGREGATE"),
        "distinct_values": ("MAINTENANCE_TYPE_GENERIC_AGGREGATE", "MAINTENANCE_TYPE_GENERIC_AGGREGATE"),
        "big": ("MAINTENANCE_TYPE_APPEND_ONLY", "MAINTENANCE_TYPE_COMPLETE_RECOMPUTE"),
        "strict_join": ("MAINTENANCE_TYPE_COMPLETE_RECOMPUTE", "MAINTENANCE_TYPE_COMPLETE_RECOMPUTE"),
    }
    assert out["strict_join"]["refresh_policy"] == "INCREMENTAL_STRICT"
    assert {name: e["cost_model_may_recompute"] for name, e in out.items()} == {
        "by_key": True, "distinct_values": True, "big": True, "strict_join": False,
    }
    assert out["distinct_values"]["blockers"]["MAINTENANCE_TYPE_GROUP_AGGREGATE"][0] == {
        "issue_type": "PLAN_NOT_INCREMENTALIZABLE",
        "prevent_incrementalization": True,
        "expression_name": "sum",
        "plan_not_incrementalizable_sub_type": "AGGREGATE_WITH_DISTINCT",
    }
    assert cli(["explain", str(pipeline), "--conf", f"test.landing={tmp_path}"], spark=spark) == 0
    text = capsys.readouterr().out
    assert "strict_join (refresh_policy INCREMENTAL_STRICT; query shape OTHER)" in text
    assert text.count("under refresh_policy AUTO the cost model may still choose COMPLETE_RECOMPUTE") == 3
    assert "operator Join, join JOIN_TYPE_LEFTANTI" in text


def test_the_cost_model_recomputes_small_views_by_default(
    spark, tmp_path: Path, write_pipeline, landing, rows  # noqa: ANN001
) -> None:
    folder = landing("landing", "1.json", [{"id": 1, "k": "a", "v": 1}, {"id": 2, "k": "b", "v": 5},
                                           {"id": 3, "k": None, "v": None}])
    pipeline = write_pipeline({"p.py": PIPELINE.split("@dlt.table\ndef distinct_values")[0]})
    storage = tmp_path / "storage"
    conf = {"test.landing": str(folder)}  # localdlt.mv.costModel not set: on
    run_update([pipeline], storage, spark=spark, configuration=conf)
    landing("landing", "2.json", [{"id": 4, "k": "a", "v": 2}, {"id": 5, "k": None, "v": 7}])
    run_update([pipeline], storage, spark=spark, configuration=conf)
    assert _planning(spark, storage)["by_key"] == ["MAINTENANCE_TYPE_COMPLETE_RECOMPUTE"] * 2
    events = spark.read.format("delta").load(str(storage / "system" / "events"))
    (last,) = events.filter("event_type = 'planning_information'").orderBy(
        events.sequence.control_plane_seq_no.desc()).limit(1).collect()
    info = json.loads(last["details"])["planning_information"]
    generic = next(t for t in info["technique_information"]
                   if t["maintenance_type"] == "MAINTENANCE_TYPE_GENERIC_AGGREGATE")
    assert generic["incrementalization_issues"] == [{
        "issue_type": "INCREMENTAL_PLAN_REJECTED_BY_COST_MODEL",
        "prevent_incrementalization": True,
        "cost_model_rejection_subtype": "COST_MODEL_REJECTION_SUB_TYPE_UNSPECIFIED",
    }]
    costs = info["localdlt_cost_estimates"]
    assert (costs["source_rows"], costs["changed_rows"], costs["target_rows"]) == (5, 2, 3)
    assert rows(storage / "tables" / "by_key", "k", "n", "total") == [("a", 2, 3), ("b", 1, 5), (None, 2, 7)]
    # the first recompute found the history too small for merged partial aggregates: no buffers
    assert not (storage / "system" / "mv" / "by_key" / "buffers").exists()

    bad = run_update([pipeline], storage, spark=spark, configuration={**conf, "localdlt.mv.costModel": "no"})
    assert (bad.flows["by_key"].status, bad.flows["by_key"].error_class) == ("FAILED", "INVALID_ARGUMENT")
    assert "localdlt.mv.costModel must be true or false; got 'no'" in bad.flows["by_key"].error
