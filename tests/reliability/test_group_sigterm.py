"""SIGTERM to the whole process group of ``localdlt run --continuous`` — what ``timeout``, systemd
(``KillMode=control-group``) and a shell killing a job send — stops the update cleanly.

The JVM is a child of the ``localdlt`` process, in its group. Started as Spark starts it, the
JVM ran its shutdown hooks on that SIGTERM and took Spark away under the running update: the
views being refreshed failed with ``ConnectionRefusedError`` and the update ended FAILED (exit
1). ``localdlt.session`` now starts the JVM with SIGTERM ignored, so only the Python handler acts:
streams stop, views refresh once more, the update ends COMPLETED, and the JVM ends with Python.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from crash_lab import EVENTS_BRONZE, start_localdlt, wait_until
from fault_ledger import Record, record
from layer_checks import missing_events
from storage_probe import StorageProbe, commit_actions, delta_versions

pytestmark = [pytest.mark.reliability, pytest.mark.slow, pytest.mark.timeout(1200)]

PIPELINE = EVENTS_BRONZE + """
@dlt.table
def events_count():
    return dlt.read("events_bronze").groupBy().count()
"""


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _update_events(spark: SparkSession, storage: Path) -> list[tuple[str, str, str]]:
    """(level, event_type, message) of the newest update, in order."""
    events = spark.read.format("delta").load(str(storage / "system" / "events"))
    newest = events.orderBy("timestamp", ascending=False).first()["origin"]["update_id"]
    rows = events.where(events.origin.update_id == newest).orderBy("timestamp").collect()
    return [(r["level"], r["event_type"], r["message"]) for r in rows]


def test_sigterm_to_the_process_group_stops_the_update_cleanly(spark: SparkSession, tmp_path: Path) -> None:
    pipeline, landing, storage = tmp_path / "pipeline", tmp_path / "landing", tmp_path / "storage"
    pipeline.mkdir()
    landing.mkdir()
    (pipeline / "p.py").write_text(PIPELINE)
    (landing / "1.json").write_text(
        "".join(json.dumps({"event_id": f"e{n}", "amount": n}) + "\n" for n in range(5))
    )
    log_file = tmp_path / "localdlt.log"
    run = start_localdlt(
        [pipeline],
        storage,
        {"test.landing": str(landing), "pipelines.trigger.interval": "1 second"},
        log_file=log_file,
    )
    probe = StorageProbe(storage)
    wait_until(lambda: probe.txn_commits("events_bronze"), 600, "Bronze's first batch", run)
    view = storage / "tables" / "events_count"
    wait_until(
        lambda: any("add" in a for v in delta_versions(view) for a in commit_actions(view, v)),
        600,
        "the view's first refresh",
        run,
    )

    os.killpg(run.pid, signal.SIGTERM)  # the whole group: Python and its JVM
    code = run.wait(timeout=600)
    deadline = time.monotonic() + 60
    while _group_alive(run.pid) and time.monotonic() < deadline:  # the JVM ends with Python
        time.sleep(0.5)
    jvm_gone = not _group_alive(run.pid)

    events = _update_events(spark, storage)
    errors = [e for e in events if e[0] == "ERROR"]
    final_state = [m for level, kind, m in events if kind == "update_progress"][-1]
    bronze = sorted(
        r["event_id"]
        for r in spark.read.format("delta").load(str(storage / "tables" / "events_bronze")).collect()
    )
    count = [
        tuple(r) for r in spark.read.format("delta").load(str(storage / "tables" / "events_count")).collect()
    ]
    audit = missing_events(spark, storage, ["events_bronze"])
    survived = (
        code == 0
        and jvm_gone
        and not errors
        and final_state.endswith("is COMPLETED.")
        and bronze == [f"e{n}" for n in range(5)]
        and count == [(5,)]
        and not audit.missing
        and not audit.duplicated
    )
    record(
        Record(
            "SIGTERM to the process group (timeout, systemd)",
            faults=1,
            survived=int(survived),
            events_missing=len(audit.missing),
            duplicated=len(audit.duplicated),
        )
    )
    log_tail = log_file.read_text()[-3000:]
    assert code == 0, log_tail
    assert errors == [], errors
    assert final_state.endswith("is COMPLETED."), events
    assert jvm_gone, "a process of localdlt's group outlived it"
    assert bronze == [f"e{n}" for n in range(5)]
    assert count == [(5,)]
    assert (audit.missing, audit.duplicated) == ([], []), audit
