"""Table maintenance of a storage folder, as Databricks' pipeline maintenance does it.

What Databricks documents for Lakeflow Declarative Pipelines (pipeline properties reference and
"maintenance tasks"): maintenance runs within 24 hours of a table being updated, and only if an
update ran in the 24 hours before; it runs ``OPTIMIZE`` (Z-ordered by
``pipelines.autoOptimize.zOrderCols`` when set) and then ``VACUUM``. The table property
``pipelines.autoOptimize.managed = false`` turns the automatic ``OPTIMIZE`` off for that table
(``VACUUM`` still runs). ``VACUUM`` keeps every file removed less than
``delta.deletedFileRetentionDuration`` ago (default ``interval 7 days``); old log entries go at
checkpoints after ``delta.logRetentionDuration`` (default ``interval 30 days``) - Delta's own
defaults, honoured from each table's properties.

Locally (``localdlt maintain --storage DIR``, or :func:`maintain` after an update): a table is
*due* when it has changed since its last maintenance and that maintenance (or, for a table never
maintained, the first time it was seen) is at least :data:`INTERVAL` old. ``force`` maintains every
changed table now. It runs under the storage's update lock, so never at the same time as an update
writing the same tables. Readers are safe: ``OPTIMIZE`` commits a new version (``dataChange =
false``) and leaves the old files in place; ``VACUUM`` deletes only files that no version of the
last 7 days references, so any reader's snapshot of that age still finds its files.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from localdlt import storage

log = logging.getLogger(__name__)

INTERVAL = timedelta(hours=24)  # Databricks: maintenance within 24 hours of an update
MANAGED = "pipelines.autoOptimize.managed"
ZORDER = "pipelines.autoOptimize.zOrderCols"
STATE_FILE = "maintenance.json"


@dataclass
class TableMaintenance:
    """What maintenance did to one table."""

    table: str
    optimized: bool = False
    files_removed_by_optimize: int = 0
    files_added_by_optimize: int = 0
    vacuumed: bool = False
    skipped: str | None = None  # why nothing was done


@dataclass
class MaintenanceResult:
    """Every table's outcome, in storage order."""

    tables: list[TableMaintenance] = field(default_factory=list)

    def maintained(self) -> list[str]:
        """Names of the tables that were optimized or vacuumed."""
        return [t.table for t in self.tables if t.skipped is None]


def _tables(layout: storage.Layout) -> list[tuple[str, Path]]:
    found = []
    tables = layout.root / "tables"
    if tables.is_dir():
        found = [(p.name, p) for p in sorted(tables.iterdir()) if (p / "_delta_log").is_dir()]
    if (layout.events / "_delta_log").is_dir():
        found.append(("event_log", layout.events))
    # The per-group buffers of incrementally refreshed materialized views (localdlt.mv): their
    # MERGEs leave replaced files and rows marked deleted by deletion vectors, which OPTIMIZE
    # compacts away and VACUUM then removes.
    mv_state = layout.root / "system" / "mv"
    if mv_state.is_dir():
        found += [
            (str(p.relative_to(layout.root)), p)
            for p in sorted(mv_state.glob("*/buffers"))
            if (p / "_delta_log").is_dir()
        ]
    return found


def _latest_version(path: Path) -> int:
    versions = [
        int(entry.name[:20])
        for entry in os.scandir(path / "_delta_log")
        if entry.name.endswith(".json") and entry.name[:20].isdigit()
    ]
    return max(versions, default=-1)


def _load_state(file: Path) -> dict[str, dict[str, Any]]:
    return json.loads(file.read_text()) if file.exists() else {}


def _save_state(file: Path, state: dict[str, dict[str, Any]]) -> None:
    tmp = file.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=1, sort_keys=True))
    os.replace(tmp, file)


def _properties(spark: Any, path: Path) -> dict[str, str]:
    from delta.tables import DeltaTable

    detail = DeltaTable.forPath(spark, str(path)).detail().collect()[0]
    return {str(k): str(v) for k, v in (detail["properties"] or {}).items()}


def _maintain_table(spark: Any, name: str, path: Path) -> TableMaintenance:
    from delta.tables import DeltaTable

    outcome = TableMaintenance(name)
    properties = _properties(spark, path)
    table = DeltaTable.forPath(spark, str(path))
    if properties.get(MANAGED, "true").strip().lower() != "false":
        columns = [c.strip() for c in properties.get(ZORDER, "").split(",") if c.strip()]
        optimize = table.optimize()
        metrics_frame = optimize.executeZOrderBy(*columns) if columns else optimize.executeCompaction()
        metrics = metrics_frame.collect()[0]["metrics"]
        outcome.optimized = True
        outcome.files_removed_by_optimize = int(metrics["numFilesRemoved"])
        outcome.files_added_by_optimize = int(metrics["numFilesAdded"])
    else:
        log.info("%s: %s = false, no OPTIMIZE", name, MANAGED)
    # No retention argument: Delta uses the table's delta.deletedFileRetentionDuration (7 days).
    table.vacuum()
    outcome.vacuumed = True
    return outcome


def maintain(
    spark: Any,
    storage_dir: Path,
    *,
    force: bool = False,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    hold_lock: bool = True,
) -> MaintenanceResult:
    """OPTIMIZE then VACUUM every due Delta table of ``storage_dir`` (all changed ones with ``force``).

    :param hold_lock: take the storage's update lock (False only when the caller already holds it,
        i.e. from inside an update after its flows stopped).
    :raises ConcurrentUpdateError: when an update holds the storage.
    """
    layout = storage.Layout(Path(storage_dir).resolve())
    if hold_lock:
        with storage.update_lock(layout):
            return _maintain(spark, layout, force=force, now=now)
    return _maintain(spark, layout, force=force, now=now)


def _maintain(
    spark: Any, layout: storage.Layout, *, force: bool, now: Callable[[], datetime]
) -> MaintenanceResult:
    state_file = layout.root / "system" / STATE_FILE
    state_file.parent.mkdir(parents=True, exist_ok=True)
    state = _load_state(state_file)
    result = MaintenanceResult()
    for name, path in _tables(layout):
        moment = now()
        entry = state.setdefault(name, {"since": moment.isoformat(), "version": -1})
        version = _latest_version(path)
        since = datetime.fromisoformat(entry["since"])
        if version == entry["version"]:
            result.tables.append(TableMaintenance(name, skipped="not changed since its last maintenance"))
            continue
        if not force and moment - since < INTERVAL:
            result.tables.append(
                TableMaintenance(
                    name, skipped=f"next maintenance after {since + INTERVAL:%Y-%m-%d %H:%M} UTC"
                )
            )
            continue
        outcome = _maintain_table(spark, name, path)
        result.tables.append(outcome)
        # Our own OPTIMIZE/VACUUM commits are not "changes" that call for another maintenance.
        state[name] = {"since": moment.isoformat(), "version": _latest_version(path)}
        _save_state(state_file, state)
        log.info(
            "maintained %s: optimize %s (-%d/+%d files), vacuum done",
            name,
            "on" if outcome.optimized else "off",
            outcome.files_removed_by_optimize,
            outcome.files_added_by_optimize,
        )
    _save_state(state_file, state)
    return result
