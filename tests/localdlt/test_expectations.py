"""Expectations end to end: NULL fails, every rule counted on the rows entering the flow,
dropped_records counts distinct rows, fail is atomic, downstream SKIPPED, independent flows go on."""

from __future__ import annotations

import json
from pathlib import Path

from localdlt.runner import run_update


ROWS = [
    {"id": 1, "amount": 10},
    {"id": 2, "amount": None},
    {"id": None, "amount": 5},
    {"id": None, "amount": None},
    {"id": 3, "amount": -1},
]

PIPELINE = """
import dlt
from pyspark.sql import functions as F

@dlt.table(comment="raw rows")
@dlt.expect("amount_positive", "amount > 0")
@dlt.expect_all_or_drop({"id_present": "id IS NOT NULL", "amount_present": F.col("amount").isNotNull()})
def bronze():
    return spark.readStream.schema("id INT, amount INT").json(spark.conf.get("test.landing"))

@dlt.view
def positive():
    return dlt.read("bronze").where("amount > 0")

@dlt.table
def totals():
    return spark.read.table("LIVE.positive").agg(F.count("*").alias("n"), F.sum("amount").alias("total"))
"""


def test_warn_and_drop_metrics_rows_and_event_log(
    spark, tmp_path: Path, write_pipeline, landing, rows, events
) -> None:
    folder = landing("in", "a.json", ROWS)
    pipeline = write_pipeline({"p.py": PIPELINE})
    storage = tmp_path / "storage"
    result = run_update([pipeline], storage, spark=spark, configuration={"test.landing": str(folder)})

    assert result.status == "COMPLETED"
    bronze = result.flows["bronze"]
    assert (bronze.status, bronze.rows_written, bronze.batches, bronze.dropped_records) == (
        "COMPLETED",
        2,
        1,
        3,
    )
    assert {n: (m.passed_records, m.failed_records) for n, m in bronze.expectations.items()} == {
        "amount_positive": (2, 3),
        "id_present": (3, 2),
        "amount_present": (3, 2),
    }
    assert rows(storage / "tables" / "bronze", "id", "amount") == [(1, 10), (3, -1)]
    assert rows(storage / "tables" / "totals", "n", "total") == [(1, 10)]
    assert result.flows["totals"].rows_written == 1
    assert "positive" not in result.flows  # views are not flows of their own
    assert not (storage / "tables" / "positive").exists()
    assert spark.read.table("bronze").count() == 2  # registered in the session catalog

    progress = [e for e in events(storage, "flow_progress") if e["origin"]["flow_name"] == "bronze"]
    assert [json.loads(e["details"])["flow_progress"]["status"] for e in progress] == [
        "STARTING",
        "RUNNING",
        "RUNNING",
        "COMPLETED",
    ]
    metrics = json.loads(progress[2]["details"])
    assert metrics == {
        "flow_progress": {
            "status": "RUNNING",
            "metrics": {"num_output_rows": 2},
            "data_quality": {
                "dropped_records": 3,
                "expectations": [
                    {
                        "name": "amount_positive",
                        "dataset": "bronze",
                        "passed_records": 2,
                        "failed_records": 3,
                    },
                    {"name": "id_present", "dataset": "bronze", "passed_records": 3, "failed_records": 2},
                    {"name": "amount_present", "dataset": "bronze", "passed_records": 3, "failed_records": 2},
                ],
            },
        }
    }
    assert progress[2]["level"] == "METRICS" and progress[2]["origin"]["batch_id"] == 0
    assert progress[3]["details"] == '{"flow_progress": {"status": "COMPLETED"}}'  # no metrics on COMPLETED
    all_events = events(storage)
    assert {e["origin"]["update_id"] for e in all_events} == {result.update_id}
    states = [
        json.loads(e["details"])["update_progress"]["state"]
        for e in all_events
        if e["event_type"] == "update_progress"
    ]
    assert states == ["INITIALIZING", "SETTING_UP_TABLES", "RUNNING", "COMPLETED"]
    definition = next(e for e in events(storage, "flow_definition") if e["origin"]["flow_name"] == "totals")
    assert json.loads(definition["details"])["flow_definition"]["input_datasets"] == ["positive"]
    assert json.loads(definition["details"])["flow_definition"]["flow_type"] == "COMPLETE"

    # The documented expectation-metrics query works on the local event log.
    summary = spark.sql(f"""
        SELECT e.name, SUM(e.passed_records) AS passed, SUM(e.failed_records) AS failed
        FROM (SELECT explode(from_json(get_json_object(details, '$.flow_progress.data_quality.expectations'),
                'array<struct<name:string,dataset:string,passed_records:bigint,failed_records:bigint>>')) e
              FROM delta.`{storage / "system" / "events"}`
              WHERE event_type = 'flow_progress' AND origin.update_id = '{result.update_id}')
        GROUP BY e.name ORDER BY e.name""").collect()
    assert [tuple(r) for r in summary] == [
        ("amount_positive", 2, 3),
        ("amount_present", 3, 2),
        ("id_present", 3, 2),
    ]


FAIL_PIPELINE = """
import dlt

@dlt.table
def bronze():
    return spark.readStream.schema("id INT, amount INT").json(spark.conf.get("test.landing"))

@dlt.table
@dlt.expect_or_fail("non_negative", "amount >= 0")
@dlt.expect("ignored_warn", "id > 100")
def silver():
    return dlt.read_stream("bronze")

@dlt.table
def gold():
    return dlt.read("silver").groupBy().count()

@dlt.table
def independent():
    return spark.readStream.schema("id INT, amount INT").json(spark.conf.get("test.other"))
"""


def test_fail_is_atomic_skips_downstream_and_lets_independent_flows_finish(
    spark, tmp_path: Path, write_pipeline, landing, rows, events
) -> None:
    folder = landing(
        "in", "a.json", [{"id": 1, "amount": 10}, {"id": 3, "amount": -1}, {"id": 4, "amount": None}]
    )
    other = landing("other", "b.json", [{"id": 7, "amount": 70}])
    storage = tmp_path / "storage"
    result = run_update(
        [write_pipeline({"p.py": FAIL_PIPELINE})],
        storage,
        spark=spark,
        configuration={"test.landing": str(folder), "test.other": str(other)},
    )

    assert result.status == "FAILED"
    assert {name: flow.status for name, flow in result.flows.items()} == {
        "bronze": "COMPLETED",
        "silver": "FAILED",
        "gold": "SKIPPED",
        "independent": "COMPLETED",
    }
    silver = result.flows["silver"]
    assert silver.error == (
        "[EXPECTATION_VIOLATION.VERBOSITY_ALL] Flow 'silver' failed to meet the expectation. "
        "Violated expectations: 'non_negative'. Input data: '{\"id\":3,\"amount\":-1}'"
    )
    assert silver.error_class == "EXPECTATION_VIOLATION" and silver.rows_written == 0
    assert rows(storage / "tables" / "silver", "id") == []  # nothing of the batch written
    assert rows(storage / "tables" / "independent", "id", "amount") == [(7, 70)]
    failed = [e for e in events(storage, "flow_progress") if e["level"] == "ERROR"]
    assert [(e["origin"]["flow_name"], e["message"]) for e in failed] == [
        ("silver", "Flow 'silver' has FAILED.")
    ]
    assert json.loads(failed[0]["error"])["exceptions"][0]["message"] == silver.error
    skipped = [e["message"] for e in events(storage, "flow_progress") if e["origin"]["flow_name"] == "gold"]
    assert skipped == ["Flow 'gold' SKIPPED due to upstream failure(s)."]
    # The failing batch is retried on the next update, and fails again (manual fix needed).
    again = run_update(
        [write_pipeline({"p.py": FAIL_PIPELINE})],
        storage,
        spark=spark,
        configuration={"test.landing": str(folder), "test.other": str(other)},
    )
    assert again.flows["silver"].status == "FAILED" and rows(storage / "tables" / "silver", "id") == []


VIEW_PIPELINE = """
import dlt

@dlt.view
@dlt.expect_or_drop("positive", "n > 0")
def v():
    return spark.createDataFrame([(1,), (-1,), (None,)], "n INT")

@dlt.table
def kept():
    return dlt.read("v")

@dlt.view
@dlt.expect_or_fail("small", "n < 10")
def w():
    return spark.createDataFrame([(1,), (20,)], "n INT")

@dlt.table
def broken():
    return dlt.read("w")
"""


def test_view_expectations_apply_where_the_view_is_read(spark, tmp_path: Path, write_pipeline, rows) -> None:
    storage = tmp_path / "storage"
    result = run_update([write_pipeline({"p.py": VIEW_PIPELINE})], storage, spark=spark)
    assert result.status == "FAILED"
    assert (result.flows["kept"].status, result.flows["broken"].status) == ("COMPLETED", "FAILED")
    assert rows(storage / "tables" / "kept", "n") == [(1,)]
    assert (
        "[EXPECTATION_VIOLATION.VERBOSITY_ALL] Flow 'w' failed to meet the expectation. "
        "Violated expectations: 'small'. Input data: '{\"n\":20}'"
    ) in (result.flows["broken"].error or "")
    assert rows(storage / "tables" / "broken", "n") == []
