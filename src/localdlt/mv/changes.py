"""What happened to a Delta source between two versions, read from its ``_delta_log`` commit files
(no Spark job): append-only or not, schema or table replaced, change data feed on or off, and how
many rows were added and how many the change data feed returns (for the cost model)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localdlt import deltalog

APPEND_ONLY = "TABLE_CHANGE_TYPE_APPEND_ONLY"
GENERAL_CHANGE = "TABLE_CHANGE_TYPE_GENERAL_CHANGE"
UNKNOWN = "TABLE_CHANGE_TYPE_UNKNOWN"
CDF_PROPERTY = "delta.enableChangeDataFeed"


@dataclass(frozen=True)
class TableState:
    """A Delta table at one version: its id, version, schema and whether CDF is on."""

    path: str
    table_id: str | None
    version: int
    schema: str | None
    cdf_enabled: bool
    partition_columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class SourceChange:
    """The commits of a source after ``from_version`` up to ``to_version``."""

    path: str
    from_version: int
    to_version: int
    change_type: str
    schema_changed: bool
    replaced: bool
    cdf_covered: bool
    added_rows: int | None
    # rows the change data feed returns for these commits (estimated; None: a file without stats)
    changed_rows: int | None = None

    @property
    def unchanged(self) -> bool:
        """No commit at all since the last refresh."""
        return self.to_version == self.from_version and not self.replaced


def _metadata_at(path: Path, version: int) -> dict[str, Any] | None:
    """The latest ``metaData`` action at or before ``version`` (newest commit files first, then
    the checkpoint that Delta keeps when older files are gone)."""
    for v in range(version, -1, -1):
        try:
            actions = deltalog.commit_actions(path, v)
        except FileNotFoundError:
            return _metadata_from_checkpoint(path, v)
        for action in actions:
            if "metaData" in action:
                return action["metaData"]
    return None


def _metadata_from_checkpoint(path: Path, version: int) -> dict[str, Any] | None:
    import pyarrow.parquet as pq  # only for tables whose early commit files were cleaned up

    checkpoints = sorted((path / "_delta_log").glob("*.checkpoint.parquet"))
    usable = [c for c in checkpoints if int(c.name.split(".")[0]) <= version]
    if not usable:
        return None
    table = pq.read_table(usable[-1], columns=["metaData"]).to_pylist()
    return next((row["metaData"] for row in table if row.get("metaData")), None)


def table_state(path: Path, version: int) -> TableState:
    """The table at ``version`` (id, schema, CDF property)."""
    meta = _metadata_at(path, version) or {}
    configuration = meta.get("configuration") or {}
    return TableState(
        path=str(path),
        table_id=meta.get("id"),
        version=version,
        schema=meta.get("schemaString"),
        cdf_enabled=str(configuration.get(CDF_PROPERTY, "false")).lower() == "true",
        partition_columns=tuple(meta.get("partitionColumns") or ()),
    )


def changes_between(path: Path, before: TableState, now: TableState) -> SourceChange:
    """Classify the commits ``(before.version, now.version]`` of the table at ``path``."""
    replaced = before.table_id != now.table_id or now.version < before.version
    if replaced:
        return SourceChange(str(path), before.version, now.version, UNKNOWN, True, True, False, None)
    append_only = True
    schema_changed = before.schema != now.schema
    cdf_covered = before.cdf_enabled and now.cdf_enabled
    added: int | None = 0
    changed: int | None = 0
    for version in range(before.version + 1, now.version + 1):
        commit = _CommitRows()
        for action in deltalog.commit_actions(path, version):
            if "remove" in action and action["remove"].get("dataChange", True):
                append_only = False
                if action["remove"].get("stats"):
                    commit.count(action["remove"])
                else:  # an overwrite's removes carry no statistics: the file's add at version - 1 does
                    commit.unknown_removes.append(action["remove"]["path"])
            elif "add" in action and action["add"].get("dataChange", True):
                rows = commit.count(action["add"])
                added = added + rows if rows is not None and added is not None else None
            elif "cdc" in action:
                commit.cdc_bytes += int(action["cdc"].get("size", 0))
            elif "metaData" in action:
                configuration = action["metaData"].get("configuration") or {}
                if str(configuration.get(CDF_PROPERTY, "false")).lower() != "true":
                    cdf_covered = False
        if commit.unknown_removes:
            commit.count_removed_files(deltalog.live_files(path, version - 1))
        rows = commit.change_feed_rows()
        changed = changed + rows if rows is not None and changed is not None else None
    return SourceChange(
        str(path),
        before.version,
        now.version,
        APPEND_ONLY if append_only else GENERAL_CHANGE,
        schema_changed,
        False,
        cdf_covered,
        added,
        changed,
    )


def rows_changed(path: Path, from_version: int, to_version: int) -> bool:
    """Whether a commit ``(from_version, to_version]`` of the table at ``path`` changed its rows or
    its metadata. ``OPTIMIZE`` and ``VACUUM`` (``localdlt maintain``) do not: their files carry
    ``dataChange = false``. A commit file already cleaned up, or a version below ``from_version``,
    counts as a change."""
    if to_version < from_version:
        return True
    for version in range(from_version + 1, to_version + 1):
        try:
            actions = deltalog.commit_actions(path, version)
        except FileNotFoundError:
            return True
        for action in actions:
            if "metaData" in action or "protocol" in action:
                return True
            for kind in ("add", "remove", "cdc"):
                if kind in action and action[kind].get("dataChange", True):
                    return True
    return False


class _CommitRows:
    """Rows and bytes of one commit's data files, for the change data feed's size: a commit that
    wrote change files (``cdc``: updates, MERGE) is read from them, whose row count is estimated
    from their size at the rows per byte of the commit's data files; any other commit from its
    added and removed files (inserts and deletes)."""

    def __init__(self) -> None:
        self.rows: int | None = 0
        self.bytes = 0
        self.cdc_bytes = 0
        self.unknown_removes: list[str] = []

    def count(self, action: dict[str, Any]) -> int | None:
        stats = action.get("stats")
        rows = int(json.loads(stats).get("numRecords", 0)) if stats else None
        self.rows = self.rows + rows if rows is not None and self.rows is not None else None
        self.bytes += int(action.get("size", 0))
        return rows

    def count_removed_files(self, live: dict[str, tuple[int | None, int]]) -> None:
        """Rows of the removed files without statistics, from their add actions (``live``)."""
        for file in self.unknown_removes:
            rows, size = live.get(file, (None, 0))
            self.rows = self.rows + rows if rows is not None and self.rows is not None else None
            self.bytes += size

    def change_feed_rows(self) -> int | None:
        if not self.cdc_bytes:
            return self.rows
        if self.rows is None or not self.bytes:
            return None
        return round(self.cdc_bytes * self.rows / self.bytes)
