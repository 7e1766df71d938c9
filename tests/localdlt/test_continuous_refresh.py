"""Continuous mode refreshes stale materialized views side by side in dependency order: a view
whose inputs committed does not wait for an unrelated slow view, a view waits for the views it
reads, one view never runs twice at once, and the final tables are the same. Order and overlap
are read from the event log's own events, never from timings."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from localdlt.results import FlowResult
from localdlt.runner import run_update

# `slow` is defined first (the planner's order for independent flows), so a refresh loop that
# took stale views one after another would start it first and could only reach `downstream`
# after it. Its UDF blocks until `downstream`'s query has run, at most a minute: refreshed one
# at a time, `slow` ends only by that timeout, after which `downstream` starts.
PIPELINE = '''
import os
import time

import dlt
from pyspark.sql import functions as F

MARKER = spark.conf.get("test.marker")


def wait_for_downstream(n):
    deadline = time.monotonic() + 60
    while not os.path.exists(MARKER) and time.monotonic() < deadline:
        time.sleep(0.1)
    return n


def mark_downstream(n):
    with open(MARKER, "a") as marker:
        marker.write("ran\\n")
    return n * 10


# Non-deterministic: each refresh recomputes the view (and so runs the function again).
wait_udf = F.udf(wait_for_downstream, "long").asNondeterministic()
mark_udf = F.udf(mark_downstream, "long").asNondeterministic()

@dlt.table
def bronze():
    return spark.readStream.schema("id INT").json(spark.conf.get("test.landing"))


@dlt.table
def slow():
    return dlt.read("bronze").groupBy().count().select(
        wait_udf("count").alias("n"))


@dlt.table
def fast():
    return dlt.read("bronze").groupBy().count()


@dlt.table
def downstream():
    return dlt.read("fast").select(mark_udf("count").alias("tens"))
'''

VIEWS = ("slow", "fast", "downstream")


def _refreshes(progress: list) -> list[tuple[str, str]]:
    """(view, "start" | "end") of every view refresh, in the event log's sequence order: a
    refresh starts with the view's RUNNING event and ends with its COMPLETED one."""
    marks = []
    for event in progress:
        flow = event["origin"]["flow_name"]
        status = json.loads(event["details"])["flow_progress"].get("status")
        if flow in VIEWS and event["level"] == "INFO" and status in ("RUNNING", "COMPLETED"):
            marks.append((flow, "start" if status == "RUNNING" else "end"))
    return marks


def test_a_view_is_refreshed_while_an_unrelated_slow_view_runs(
    spark, tmp_path: Path, write_pipeline, landing, rows, events
) -> None:
    # `slow`'s task holds one task slot while it waits; the other refreshes need another.
    assert spark.sparkContext.defaultParallelism >= 2, "needs a session with 2 task slots (local[2] or more)"
    folder = landing("in", "1.json", [{"id": 1}, {"id": 2}, {"id": 3}])
    stop = threading.Event()
    seen = {"bronze_rows": 0, "slow_done": False}

    def listener(flow: FlowResult) -> None:
        # Stop once Bronze has its rows and a refresh of `slow` has ended (it ended only after
        # `downstream`'s query ran, or after its minute).
        if flow.name == "bronze":
            seen["bronze_rows"] = flow.rows_written
        if flow.name == "slow" and flow.status == "COMPLETED":
            seen["slow_done"] = True
        if seen["bronze_rows"] >= 3 and seen["slow_done"]:
            stop.set()

    storage = tmp_path / "storage"
    result = run_update(
        [write_pipeline({"p.py": PIPELINE})], storage, spark=spark, continuous=True, duration=600,
        stop_event=stop, listener=listener,
        configuration={"test.landing": str(folder), "test.marker": str(tmp_path / "downstream-ran"),
                       "pipelines.trigger.interval": "500 milliseconds",
                       "localdlt.max_concurrent_flows": "2"},
    )

    assert result.ok, result.failed_flows()
    marks = _refreshes(events(storage, "flow_progress"))
    # `fast` was refreshed and `downstream` started inside the first refresh of `slow`. Only the
    # start of `downstream` is ordered against the end of `slow`: its query releases `slow`, so
    # which of the two logs COMPLETED first is a race that proves nothing either way.
    first_slow = (marks.index(("slow", "start")), marks.index(("slow", "end")))
    fast_end = marks.index(("fast", "end"))
    downstream_start = marks.index(("downstream", "start"))
    assert first_slow[0] < fast_end < downstream_start < first_slow[1], marks
    assert marks.index(("downstream", "end")) > downstream_start, marks
    for view in VIEWS:
        # One refresh of a view at a time: its starts and ends alternate.
        own = [kind for flow, kind in marks if flow == view]
        assert own == ["start", "end"] * (len(own) // 2), (view, own)
        assert len(own) >= 4, (view, own)  # refreshed in the loop and once more at the end
    # A view waits for the views it reads: `downstream` starts only after a `fast` refresh ended,
    # never while one runs.
    fast_running = False
    for flow, kind in marks:
        if flow == "fast":
            fast_running = kind == "start"
        elif flow == "downstream" and kind == "start":
            assert not fast_running, marks
    tables = storage / "tables"
    assert rows(tables / "slow", "n") == [(3,)]
    assert rows(tables / "fast", "count") == [(3,)]
    assert rows(tables / "downstream", "tens") == [(30,)]
    assert not spark.streams.active
