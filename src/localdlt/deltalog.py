"""Read what a Delta commit did straight from ``_delta_log`` (no Spark job): the latest version
and the ``commitInfo`` of the commit carrying a given ``txn`` (app id, version)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def versions(table: Path) -> list[int]:
    """The versions whose commit files are in the table's log, oldest first ([] when none)."""
    try:
        names = os.listdir(table / "_delta_log")
    except FileNotFoundError:
        return []
    return sorted(int(name[:-5]) for name in names if name.endswith(".json") and name[:-5].isdigit())


def latest_version(table: Path) -> int:
    """The table's latest committed version, -1 when there is none."""
    return max(versions(table), default=-1)


def _actions(table: Path, version: int) -> list[dict[str, Any]]:
    file = table / "_delta_log" / f"{version:020d}.json"
    try:
        return [json.loads(line) for line in file.read_text().splitlines() if line.strip()]
    except FileNotFoundError:
        return []


def find_commit(
    table: Path, after: int, *, app_id: str | None = None, txn_version: int | None = None
) -> dict[str, Any] | None:
    """The ``commitInfo`` of the first commit newer than ``after`` that carries ``txn``
    ``(app_id, txn_version)`` (any newer commit when ``app_id`` is None); None when the write was
    skipped (Delta had already committed that transaction)."""
    for version in range(after + 1, latest_version(table) + 1):
        actions = _actions(table, version)
        if app_id is not None and not any(
            a.get("txn", {}).get("appId") == app_id and a["txn"].get("version") == txn_version
            for a in actions
        ):
            continue
        return next((a["commitInfo"] for a in actions if "commitInfo" in a), {})
    return None


def output_rows(commit: dict[str, Any]) -> int:
    """``numOutputRows`` of a write commit (0 when absent)."""
    return int(commit.get("operationMetrics", {}).get("numOutputRows", 0))


def live_rows(table: Path, version: int) -> int | None:
    """Rows of the table at ``version``: the sum of ``numRecords`` over its live files, from the
    log replayed by delta-rs (checkpoints included; no Spark job, a few milliseconds). None when a
    live file has no statistics. Deletion vectors are not subtracted (localdlt's tables have none)."""
    import pyarrow as pa
    from deltalake import DeltaTable

    counts = pa.table(DeltaTable(str(table), version=version).get_add_actions()).column("num_records")
    if counts.null_count:
        return None
    return int(sum(counts.to_pylist()))
