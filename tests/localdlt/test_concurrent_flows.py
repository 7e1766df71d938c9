"""Triggered updates run independent flows concurrently (bounded by ``localdlt.max_concurrent_flows``):
same tables and event-log metrics as one flow at a time, flows overlap in the event log's own
timestamps, a failing flow skips only its downstream, and one flow's ``spark_conf`` never shows
in a flow built beside it."""

from __future__ import annotations

import json
from pathlib import Path

from localdlt.runner import run_update

PIPELINE = '''
import dlt
from pyspark.sql import functions as F

@dlt.table
def bronze():
    return spark.readStream.schema("id INT, amount INT").json(spark.conf.get("test.landing"))

@dlt.table(spark_conf={"spark.sql.shuffle.partitions": "3"})
@dlt.expect_or_drop("positive", "amount > 0")
def positive():
    return dlt.read_stream("bronze").withColumn(
        "seen_partitions", F.lit(spark.conf.get("spark.sql.shuffle.partitions")))

@dlt.table
def negative():
    return dlt.read_stream("bronze").where("amount <= 0").withColumn(
        "seen_partitions", F.lit(spark.conf.get("spark.sql.shuffle.partitions")))

@dlt.table
def totals():
    return dlt.read("bronze").groupBy().agg(F.sum("amount").alias("total"), F.count("*").alias("n"))

@dlt.table
def positive_count():
    return dlt.read("positive").groupBy().count()
'''

FAILING = '''
import dlt

@dlt.table
def bronze():
    return spark.readStream.schema("id INT, amount INT").json(spark.conf.get("test.landing"))

@dlt.table
@dlt.expect_or_fail("non_negative", "amount >= 0")
def strict():
    return dlt.read_stream("bronze")

@dlt.table
def after_strict():
    return dlt.read("strict").groupBy().count()

@dlt.table
def lenient():
    return dlt.read_stream("bronze")

@dlt.table
def after_lenient():
    return dlt.read("lenient").groupBy().count()
'''

ROWS = [{"id": 1, "amount": 5}, {"id": 2, "amount": -3}, {"id": 3, "amount": 0}, {"id": 4, "amount": 7}]


def _spans(events: list) -> dict[str, tuple]:
    """Flow → (STARTING time, end time) from the event log."""
    spans: dict[str, list] = {}
    for event in events:
        status = json.loads(event["details"])["flow_progress"].get("status")
        flow = event["origin"]["flow_name"]
        if status == "STARTING":
            spans.setdefault(flow, [None, None])[0] = event["timestamp"]
        elif status in ("COMPLETED", "FAILED"):
            spans.setdefault(flow, [None, None])[1] = event["timestamp"]
    return {flow: tuple(span) for flow, span in spans.items()}


def _metrics(events: list) -> dict[str, tuple[int, int]]:
    """Flow → (output rows, dropped rows) summed over its METRICS events."""
    totals: dict[str, tuple[int, int]] = {}
    for event in events:
        if event["level"] != "METRICS":
            continue
        details = json.loads(event["details"])["flow_progress"]
        rows, dropped = totals.get(event["origin"]["flow_name"], (0, 0))
        totals[event["origin"]["flow_name"]] = (
            rows + details["metrics"]["num_output_rows"],
            dropped + details.get("data_quality", {}).get("dropped_records", 0),
        )
    return totals


def test_independent_flows_overlap_with_the_same_tables_and_metrics_as_one_at_a_time(
    spark, tmp_path: Path, write_pipeline, landing, rows, events
) -> None:
    folder = landing("in", "a.json", ROWS)
    pipeline = write_pipeline({"p.py": PIPELINE})
    session_partitions = spark.conf.get("spark.sql.shuffle.partitions")
    outcomes = {}
    for workers in ("1", "2"):
        storage = tmp_path / f"storage-{workers}"
        configuration = {"test.landing": str(folder), "localdlt.max_concurrent_flows": workers}
        result = run_update([pipeline], storage, spark=spark, configuration=configuration)
        assert result.ok, result.failed_flows()
        tables = storage / "tables"
        outcomes[workers] = (
            rows(tables / "positive", "id", "amount", "seen_partitions"),
            rows(tables / "negative", "id", "amount", "seen_partitions"),
            rows(tables / "totals", "total", "n"),
            rows(tables / "positive_count", "count"),
            _metrics(events(storage, "flow_progress")),
        )
        spans = _spans(events(storage, "flow_progress"))
        after_bronze = ["positive", "negative", "totals"]
        assert all(spans[f][0] >= spans["bronze"][1] for f in after_bronze)  # readers wait for their input
        assert spans["positive_count"][0] >= spans["positive"][1]
        overlapping = {(a, b) for a in after_bronze for b in after_bronze
                       if a < b and spans[a][0] < spans[b][1] and spans[b][0] < spans[a][1]}
        if workers == "1":
            assert overlapping == set()  # one at a time
        else:
            assert overlapping  # two flows of the three independent ones ran side by side

    assert outcomes["1"] == outcomes["2"]
    positive, negative, totals, positive_count, metrics = outcomes["2"]
    # The flow's spark_conf is what it saw; the flow built beside it saw the session's own value.
    assert positive == [(1, 5, "3"), (4, 7, "3")]
    assert negative == [(2, -3, session_partitions), (3, 0, session_partitions)]
    assert totals == [(9, 4)] and positive_count == [(2,)]
    assert metrics == {"bronze": (4, 0), "positive": (2, 2), "negative": (2, 0), "totals": (1, 0),
                       "positive_count": (1, 0)}
    assert spark.conf.get("spark.sql.shuffle.partitions") == session_partitions  # restored


def test_a_failing_flow_skips_only_its_downstream_while_others_run_beside_it(
    spark, tmp_path: Path, write_pipeline, landing, rows, events
) -> None:
    folder = landing("in", "a.json", ROWS)
    storage = tmp_path / "storage"
    result = run_update([write_pipeline({"p.py": FAILING})], storage, spark=spark,
                        configuration={"test.landing": str(folder), "localdlt.max_concurrent_flows": "2"})

    assert result.status == "FAILED"
    assert {name: flow.status for name, flow in result.flows.items()} == {
        "bronze": "COMPLETED", "strict": "FAILED", "after_strict": "SKIPPED",
        "lenient": "COMPLETED", "after_lenient": "COMPLETED"}
    assert rows(storage / "tables" / "strict", "id") == []
    assert rows(storage / "tables" / "after_lenient", "count") == [(4,)]
    progress = events(storage, "flow_progress")
    skipped = [e["message"] for e in progress if e["origin"]["flow_name"] == "after_strict"]
    assert skipped == ["Flow 'after_strict' SKIPPED due to upstream failure(s)."]
    updates = events(storage, "update_progress")
    states = [json.loads(e["details"])["update_progress"]["state"] for e in updates]
    assert states[-1] == "FAILED"
