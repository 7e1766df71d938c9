"""Databricks' documented foreach_batch_sink and event-hook examples (``examples/``) through localdlt."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from localdlt.runner import run_update

EXAMPLES = Path(__file__).parent / "examples"
Rows = Callable[..., list[tuple[Any, ...]]]


def _lines(path: Path) -> list[Any]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_foreach_batch_sink_upserts_batches_and_restarts_at_zero_on_full_refresh(
    spark, tmp_path: Path, landing, rows: Rows, events
) -> None:
    folder = landing(
        "changes", "1.json", [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}, {"id": 3, "name": "c"}]
    )
    target, calls = tmp_path / "upserted", tmp_path / "calls.jsonl"
    conf = {
        "conformance.changes_path": str(folder),
        "conformance.upsert_target": str(target),
        "conformance.calls_file": str(calls),
    }
    storage = tmp_path / "storage"

    first = run_update([EXAMPLES / "foreach_batch"], storage, spark=spark, configuration=conf)
    assert first.status == "COMPLETED", first.failed_flows()
    assert rows(target, "id", "name") == [(1, "a"), (2, "b"), (3, "c")]
    assert (first.flows["upsert_flow"].rows_written, first.flows["upsert_flow"].batches) == (3, 1)

    landing("changes", "2.json", [{"id": 1, "name": "a2"}, {"id": 4, "name": "d"}])
    second = run_update([EXAMPLES / "foreach_batch"], storage, spark=spark, configuration=conf)
    assert second.status == "COMPLETED", second.failed_flows()
    assert rows(target, "id", "name") == [(1, "a2"), (2, "b"), (3, "c"), (4, "d")]

    nothing_new = run_update([EXAMPLES / "foreach_batch"], storage, spark=spark, configuration=conf)
    assert nothing_new.flows["upsert_flow"].batches == 0

    # A full refresh restarts the flow's checkpoint: batch 0 again, which the handler treats as a
    # rewrite. localdlt never clears what the handler wrote (the sink's data is the user's).
    refreshed = run_update(
        [EXAMPLES / "foreach_batch"], storage, spark=spark, configuration=conf, full_refresh=True
    )
    assert refreshed.status == "COMPLETED", refreshed.failed_flows()
    assert _lines(calls) == [
        {"batch_id": 0, "rows": 3},
        {"batch_id": 1, "rows": 2},
        {"batch_id": 0, "rows": 5},
    ]
    assert rows(target, "id", "name") == [(1, "a"), (1, "a2"), (2, "b"), (3, "c"), (4, "d")]
    progress = [
        json.loads(e["details"])["flow_progress"]
        for e in events(storage, "flow_progress")
        if e["origin"]["flow_name"] == "upsert_flow" and e["origin"]["update_id"] == first.update_id
    ]
    assert [p["status"] for p in progress] == ["STARTING", "RUNNING", "RUNNING", "COMPLETED"]
    assert progress[2]["metrics"] == {"num_output_rows": 3}


def test_event_hooks_see_every_event_and_a_failing_hook_is_disabled(spark, tmp_path: Path, events) -> None:
    seen = tmp_path / "seen.jsonl"
    storage = tmp_path / "storage"
    result = run_update(
        [EXAMPLES / "event_hooks"], storage, spark=spark, configuration={"conformance.seen_file": str(seen)}
    )
    assert result.status == "COMPLETED", result.failed_flows()
    # The hook saw every update_progress event of the update, in order.
    assert _lines(seen) == ["INITIALIZING", "SETTING_UP_TABLES", "RUNNING", "COMPLETED"]
    hook_events = events(storage, "hook_progress")
    details = [json.loads(e["details"])["hook_progress"] for e in hook_events]
    # max_allowable_consecutive_failures=1: the second consecutive failure disables the hook.
    assert [(d["name"], d["status"], d["consecutive_failures"]) for d in details] == [
        ("always_fails", "FAILED", 1),
        ("always_fails", "FAILED", 2),
        ("always_fails", "DISABLED", 2),
    ]
    assert json.loads(hook_events[0]["error"])["exceptions"][0]["message"] == "alerting endpoint unreachable"
    assert {e["level"] for e in hook_events} == {"WARN"}
    assert {e["origin"]["update_id"] for e in hook_events} == {result.update_id}
