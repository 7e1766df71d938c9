"""Read what a Delta commit did straight from ``_delta_log`` (no Spark job): the latest version,
a commit's actions, the ``commitInfo`` of the commit carrying a given ``txn`` (app id, version), and
the live files of a version with their row counts."""

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


def commit_actions(table: Path, version: int) -> list[dict[str, Any]]:
    """The actions of commit ``version``, one dict per line of its JSON file. Raises
    FileNotFoundError when the file is gone (log cleanup keeps only what a checkpoint covers)."""
    file = table / "_delta_log" / f"{version:020d}.json"
    return [json.loads(line) for line in file.read_text().splitlines() if line.strip()]


def find_commit(
    table: Path, after: int, *, app_id: str | None = None, txn_version: int | None = None
) -> dict[str, Any] | None:
    """The ``commitInfo`` of the first commit newer than ``after`` that carries ``txn``
    ``(app_id, txn_version)`` (any newer commit when ``app_id`` is None); None when the write was
    skipped (Delta had already committed that transaction)."""
    for version in range(after + 1, latest_version(table) + 1):
        try:
            actions = commit_actions(table, version)
        except FileNotFoundError:
            continue
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


def live_files(table: Path, version: int) -> dict[str, tuple[int | None, int]]:
    """``{file: (numRecords, bytes)}`` of the table's live files at ``version``, from the log
    replayed by delta-rs (checkpoints included; no Spark job, a few milliseconds). ``numRecords`` is
    None for a file written without statistics."""
    import pyarrow as pa
    from deltalake import DeltaTable

    actions = pa.table(DeltaTable(str(table), version=version).get_add_actions())
    return {
        file: (rows, size)
        for file, rows, size in zip(
            actions.column("path").to_pylist(),
            actions.column("num_records").to_pylist(),
            actions.column("size_bytes").to_pylist(),
            strict=True,
        )
    }


def live_rows(table: Path, version: int) -> int | None:
    """Rows of the table at ``version``: the sum of ``numRecords`` over its live files. None when a
    live file has no statistics. Deletion vectors are not subtracted (localdlt's tables have none)."""
    counts = [rows for rows, _ in live_files(table, version).values()]
    if any(rows is None for rows in counts):
        return None
    return sum(counts)
