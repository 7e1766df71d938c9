"""The event log is complete after a ``kill -9``.

1. A small pipeline (a streaming table over JSON files, a second one with a drop expectation over
   it) runs continuously, is killed while a batch is in flight, and the next (triggered) update
   recovers the dead update's journaled events, closes it with an ``update_progress`` FAILED event,
   and every committed batch of both flows has exactly one ``flow_progress`` event with its row
   count.
2. A materialized view (an aggregate refreshed incrementally from partial-aggregate buffers) over a
   streaming table is killed twice in continuous mode, inside incremental refreshes: right after
   its buffers' commit, then right after the view's commit (before its event).
   The next update must find every refresh commit with its METRICS event (the missing ones
   recovered from the commits) and the view equal to the aggregate of Bronze.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from crash_lab import EVENTS_BRONZE, kill_group, start_localdlt, wait_until
from fault_ledger import Record, record
from layer_checks import missing_events, missing_view_events
from storage_probe import StorageProbe

pytestmark = [pytest.mark.reliability, pytest.mark.slow, pytest.mark.timeout(2400)]

PIPELINE = EVENTS_BRONZE + """
@dlt.table
@dlt.expect_or_drop("positive", "amount > 0")
def events_silver():
    return dlt.read_stream("events_bronze")
"""


def _land(landing: Path, index: int, events: int = 50) -> None:
    staging = landing.parent / f".{index}.tmp"
    staging.write_text(
        "".join(json.dumps({"event_id": f"{index}-{n}", "amount": n}) + "\n" for n in range(events))
    )
    staging.replace(landing / f"f{index}.json")


def test_events_of_a_killed_update_are_recovered(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    pipeline, landing, storage = tmp_path / "pipeline", tmp_path / "landing", tmp_path / "storage"
    pipeline.mkdir()
    landing.mkdir()
    (pipeline / "p.py").write_text(PIPELINE)
    conf, log_file = {"test.landing": str(landing)}, tmp_path / "localdlt.log"
    journal = storage / "system" / "event_journal"
    _land(landing, 0)
    assert (
        start_localdlt([pipeline], storage, conf, log_file=log_file, continuous=False).wait(timeout=1200) == 0
    )
    assert list(journal.iterdir()) == []  # an update that ends cleanly leaves no journal

    _land(landing, 1)
    running = start_localdlt(
        [pipeline], storage, {**conf, "pipelines.trigger.interval": "1 second"}, log_file=log_file
    )
    probe = StorageProbe(storage)
    wait_until(lambda: len(probe.commits("events_silver")) >= 2, 1200, "silver's second batch", running)
    _land(landing, 2)
    wait_until(lambda: len(probe.offsets("events_bronze")) >= 3, 600, "bronze's third batch", running)
    kill_group(running)
    killed = [p.name for p in journal.iterdir()]
    assert len(killed) == 1  # the dead update's journal

    _land(landing, 3)
    assert (
        start_localdlt([pipeline], storage, conf, log_file=log_file, continuous=False).wait(timeout=1200) == 0
    )
    assert list(journal.iterdir()) == []

    spark = request.getfixturevalue("spark")
    audit = missing_events(spark, storage, ["events_bronze", "events_silver"])
    events = spark.read.format("delta").load(str(storage / "system" / "events"))
    failed = [
        r[0]
        for r in events.where("event_type = 'update_progress' AND level = 'ERROR'")
        .select("origin.update_id")
        .collect()
    ]
    bronze = spark.read.format("delta").load(str(storage / "tables" / "events_bronze"))
    record(
        Record(
            "event log after kill -9",
            faults=1,
            survived=int(not audit.missing and not audit.duplicated),
            duplicated=len(audit.duplicated),
            events_missing=len(audit.missing),
            details={"batches_audited": audit.batches},
        )
    )
    assert (audit.missing, audit.duplicated) == ([], [])
    assert audit.batches >= 6
    assert failed == killed
    assert (bronze.count(), bronze.select("event_id").distinct().count()) == (200, 200)


VIEW_PIPELINE = EVENTS_BRONZE + """
@dlt.table(comment="events and amount per amount % 5: refreshed incrementally (partial aggregates)")
def events_by_bucket():
    return dlt.read("events_bronze").groupBy((F.col("amount") % 5).alias("bucket")).agg(
        F.count("*").alias("events"), F.sum("amount").alias("amount"))
"""
VIEW = "events_by_bucket"
# Where each kill is timed, inside an incremental refresh (the touched groups merged into the view
# and the partial aggregates into the buffers, one commit each, then the refresh record, then the
# event): the buffers' commit, then the view's commit. Whatever their order, the view's state and
# its record disagree after such a kill and its event is not emitted yet.
VIEW_KILL_POINTS = ("buffers commit", "view commit")


def _kill_at_next_commit(table: Path, running: subprocess.Popen, since_ns: int, what: str) -> None:
    """SIGKILL ``running`` the moment ``table`` gets a commit file newer than ``since_ns`` (polled
    every 5 ms: the window after a view's commit can be a few tens of milliseconds)."""
    deadline = time.monotonic() + 1200
    log_dir = table / "_delta_log"
    while True:
        try:
            fresh = any(
                e.stat().st_mtime_ns > since_ns for e in os.scandir(log_dir) if e.name.endswith(".json")
            )
        except FileNotFoundError:
            fresh = False
        if fresh:
            kill_group(running)
            return
        if running.poll() is not None:
            raise AssertionError(f"localdlt exited ({running.returncode}) while waiting for {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


def _refresh_without_event(journal: Path, killed_update: str) -> bool:
    """Whether the killed update's refresh index ends with a planning event of the view and no
    METRICS event after it (the kill landed between the view's commit and its event)."""
    index = journal / killed_update / "refreshes.jsonl"
    if not index.exists():
        return False
    last = [json.loads(line) for line in index.read_text().splitlines() if line.strip()]
    last = [row for row in last if row[2][3] == VIEW]
    return bool(last) and last[-1][9] == "planning_information"


def test_view_refreshes_killed_after_their_commit_get_their_events(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    pipeline, landing, storage = tmp_path / "pipeline", tmp_path / "landing", tmp_path / "storage"
    pipeline.mkdir()
    landing.mkdir()
    (pipeline / "p.py").write_text("from pyspark.sql import functions as F\n" + VIEW_PIPELINE)
    # The kills are timed inside incremental refreshes: on 50-row batches the cost model of
    # refresh_policy AUTO would recompute the view instead (and keep no buffers), so it is off.
    conf = {"test.landing": str(landing), "localdlt.mv.costModel": "false"}
    live_conf = {**conf, "pipelines.trigger.interval": "1 second"}
    log_file, journal = tmp_path / "localdlt.log", storage / "system" / "event_journal"
    view, buffers = storage / "tables" / VIEW, storage / "system" / "mv" / VIEW / "buffers"
    _land(landing, 0)
    assert (
        start_localdlt([pipeline], storage, conf, log_file=log_file, continuous=False).wait(timeout=1200) == 0
    )
    kills: list[dict[str, object]] = []
    for number, point in enumerate(VIEW_KILL_POINTS, 1):
        watched = view if point == "view commit" else buffers
        started_ns = time.time_ns()
        running = start_localdlt([pipeline], storage, live_conf, log_file=log_file)
        _land(landing, number)
        _kill_at_next_commit(watched, running, started_ns, f"the {point} of kill {number}")
        (killed,) = [p.name for p in journal.iterdir()]
        kills.append({"point": point, "event_missing_at_kill": _refresh_without_event(journal, killed)})
    assert (
        start_localdlt([pipeline], storage, conf, log_file=log_file, continuous=False).wait(timeout=1200) == 0
    )

    spark = request.getfixturevalue("spark")
    streams = missing_events(spark, storage, ["events_bronze"])
    views = missing_view_events(spark, storage, [VIEW])
    bronze = spark.read.format("delta").load(str(storage / "tables" / "events_bronze"))
    truth = sorted(tuple(r) for r in bronze.groupBy((F.col("amount") % 5).alias("bucket"))
                   .agg(F.count("*"), F.sum("amount")).collect())  # fmt: skip
    refreshed = sorted(tuple(r) for r in spark.read.format("delta").load(str(view)).collect())
    events = spark.read.format("delta").load(str(storage / "system" / "events"))
    recovered = events.where(
        f"origin.flow_name = '{VIEW}' AND details LIKE '%recovered_from_table_version%'"
    ).count()
    # The kills at the view's commit that landed before its event (the window this test is about).
    hit = sum(1 for k in kills if k["point"] == "view commit" and k["event_missing_at_kill"])
    ok = (
        not (streams.missing or streams.duplicated or views.missing or views.duplicated)
        and refreshed == truth
    )
    record(
        Record(
            "kill -9 around materialized view refreshes",
            faults=len(kills),
            survived=len(kills) if ok else 0,
            lost=max(0, bronze.count() - sum(r[1] for r in refreshed)),
            duplicated=max(0, sum(r[1] for r in refreshed) - bronze.count()) + len(views.duplicated),
            events_missing=len(streams.missing) + len(views.missing),
            details={"kills": kills, "events_recovered": recovered, "view_commits_audited": views.batches},
        )
    )
    assert hit >= 1, f"no kill landed between the view's commit and its event: {kills}"
    assert recovered >= hit
    assert (streams.missing, streams.duplicated) == ([], [])
    assert (views.missing, views.duplicated) == ([], [])
    assert bronze.count() == 50 * (len(VIEW_KILL_POINTS) + 1)
    assert refreshed == truth
