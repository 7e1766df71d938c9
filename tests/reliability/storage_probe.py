"""Read a localdlt storage folder's on-disk state without Spark: Structured Streaming checkpoints
(``offsets/N``, ``commits/N``), Delta logs (``_delta_log/N.json`` with their ``txn`` actions) and
the app ids localdlt keeps next to the checkpoints.

Used while a run is alive (to time a kill) and after a kill (to record what was in flight), so
every read tolerates files that appear or vanish under it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

APP_ID_FILE = "localdlt_app_id"


def _numbers(folder: Path) -> set[int]:
    """The batch ids of a checkpoint log folder (``offsets``/``commits``): files named by digits."""
    try:
        return {int(name) for name in os.listdir(folder) if name.isdigit()}
    except FileNotFoundError:
        return set()


def delta_versions(table: Path) -> set[int]:
    """Committed versions of the Delta table at ``table`` (its ``_delta_log/<n>.json`` files)."""
    try:
        names = os.listdir(table / "_delta_log")
    except FileNotFoundError:
        return set()
    return {int(name[:-5]) for name in names if name.endswith(".json") and name[:-5].isdigit()}


def commit_actions(table: Path, version: int) -> list[dict[str, Any]]:
    """The actions of one Delta commit ([] when the file is gone or not complete yet)."""
    try:
        text = (table / "_delta_log" / f"{version:020d}.json").read_text()
    except FileNotFoundError:
        return []
    actions = []
    for line in text.splitlines():
        if line.strip():
            try:
                actions.append(json.loads(line))
            except json.JSONDecodeError:
                return []
    return actions


@dataclass(frozen=True)
class TxnCommit:
    """A Delta commit made by an idempotent write: its table version, (app id, txn version) and
    the rows it wrote (appends: ``numOutputRows``; MERGE: inserted + updated + deleted)."""

    table: str
    version: int
    app_id: str
    txn_version: int
    operation: str
    rows: int


def _rows(commit_info: dict[str, Any]) -> int:
    metrics = commit_info.get("operationMetrics", {})
    if "numOutputRows" in metrics and commit_info.get("operation") != "MERGE":
        return int(metrics["numOutputRows"])
    return sum(
        int(metrics.get(key, 0))
        for key in ("numTargetRowsInserted", "numTargetRowsUpdated", "numTargetRowsDeleted")
    )


class StorageProbe:
    """The on-disk state of one ``--storage`` folder."""

    def __init__(self, storage: Path) -> None:
        self.storage = storage
        self.checkpoints = storage / "checkpoints"
        self.tables = storage / "tables"
        self._txn_cache: dict[tuple[str, int], list[TxnCommit]] = {}

    def flows(self) -> list[str]:
        """Flows that have a checkpoint folder."""
        try:
            return sorted(os.listdir(self.checkpoints))
        except FileNotFoundError:
            return []

    def offsets(self, flow: str) -> set[int]:
        return _numbers(self.checkpoints / flow / "offsets")

    def commits(self, flow: str) -> set[int]:
        return _numbers(self.checkpoints / flow / "commits")

    def in_flight(self, flow: str) -> int | None:
        """The batch id planned (``offsets/N``) but not committed (no ``commits/N``), if any."""
        planned = self.offsets(flow)
        if not planned:
            return None
        latest = max(planned)
        return latest if latest not in self.commits(flow) else None

    def app_id(self, flow: str) -> str | None:
        try:
            return (self.checkpoints / flow / APP_ID_FILE).read_text().strip()
        except FileNotFoundError:
            return None

    def txn_commits(self, table: str) -> list[TxnCommit]:
        """Every commit of ``table`` that carries a ``txn`` action (cached per version: commits
        are immutable)."""
        found: list[TxnCommit] = []
        path = self.tables / table
        for version in sorted(delta_versions(path)):
            key = (table, version)
            if key not in self._txn_cache:
                actions = commit_actions(path, version)
                if not actions:
                    continue
                info = next((a["commitInfo"] for a in actions if "commitInfo" in a), {})
                self._txn_cache[key] = [
                    TxnCommit(
                        table,
                        version,
                        a["txn"]["appId"],
                        int(a["txn"]["version"]),
                        info.get("operation", ""),
                        _rows(info),
                    )
                    for a in actions
                    if "txn" in a
                ]
            found.extend(self._txn_cache[key])
        return found

    def flow_commits(self, flow: str, table: str) -> list[TxnCommit]:
        """The commits of ``table`` written by ``flow`` under its current app id (appends use the
        app id itself, CDC target MERGEs ``<app id>/target``)."""
        app = self.app_id(flow)
        if app is None:
            return []
        return [c for c in self.txn_commits(table) if c.app_id in (app, f"{app}/target")]
