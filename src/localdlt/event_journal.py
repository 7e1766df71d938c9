"""The event journal: what makes buffered events survive a ``kill -9``.

The event log is a Delta table written a few events at a time (one commit per flush). Between two
flushes the events live in memory, and a killed process would take them along — a committed batch
without its ``flow_progress`` event. So every event is also appended, as one JSON line, to a
journal file the moment it is emitted: ``<storage>/system/event_journal/<update_id>/<segment>.jsonl``.

* A flush writes the buffered events with Delta's idempotent-write options (``txnAppId`` =
  ``localdlt-events:<update_id>``, ``txnVersion`` = the segment number), then deletes the segments
  it covered. New events go to the next segment meanwhile.
* At the next start (:func:`recover`, under the storage lock, so no other process is writing),
  the segments a dead process left are appended in order under the same ids: Delta skips those
  already committed (``txnVersion`` at or below the recorded one), so nothing is written twice.
* A view's refresh is reported after its Delta commit (and after its refresh state is saved), so a
  kill can land between the two. Its ``planning_information`` event and the METRICS events of
  flows without batches also go to ``refreshes.jsonl``, which flushes do not discard: the recovery
  of a dead update finds there the views it was refreshing, and adds the METRICS event of each
  refresh that committed without one (:func:`localdlt.recovery.unreported_refreshes`).
* A process ends its journal by removing the folder. A folder that is still there at the next
  start belongs to an update that never finished: if its journal has no final state, the recovery
  adds an ``update_progress`` FAILED event saying so.

A line is written with one ``write`` on an ``O_APPEND`` descriptor: the kernel has it as soon as the
call returns, so a killed process loses nothing (only a power loss could, which ``fsync`` per event
would be needed for; not done: it would cost every event a disk flush). A torn last line is skipped.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from localdlt.recovery import unreported_refreshes

log = logging.getLogger(__name__)

JOURNAL_DIR = "event_journal"
SUFFIX = ".jsonl"
REFRESH_INDEX = "refreshes.jsonl"
TXN_APP_PREFIX = "localdlt-events:"
FINAL_STATES = ("COMPLETED", "FAILED", "CANCELED")

Row = tuple[Any, ...]
# (update_id, segment, rows) -> None: append ``rows`` idempotently as segment ``segment`` of ``update_id``.
SegmentWriter = Callable[[str, int, list[Row]], None]


def txn_app_id(update_id: str) -> str:
    """The Delta ``txnAppId`` of an update's event-log appends."""
    return f"{TXN_APP_PREFIX}{update_id}"


def encode(row: Row) -> str:
    """One event row (the event log's column order) as a JSON line."""
    values = list(row)
    values[3] = values[3].isoformat()
    return json.dumps(values, separators=(",", ":"))


def decode(line: str) -> Row:
    """The inverse of :func:`encode`."""
    values = json.loads(line)
    values[1] = tuple(values[1])
    values[2] = tuple(values[2])
    values[3] = datetime.fromisoformat(values[3])
    return tuple(values)


class EventJournal:
    """The journal of one live update (see the module docstring)."""

    def __init__(self, root: Path, update_id: str) -> None:
        self.folder = root / update_id
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._segment = 0
        self._fd = self._open(0)
        self._refresh_fd: int | None = None

    def _open(self, segment: int) -> int:
        return os.open(self.folder / f"{segment:08d}{SUFFIX}", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def append(self, row: Row) -> None:
        """Journal one event (one ``write`` call)."""
        data = (encode(row) + "\n").encode()
        with self._lock:
            os.write(self._fd, data)
            if _is_refresh_event(row):
                if self._refresh_fd is None:
                    self._refresh_fd = os.open(
                        self.folder / REFRESH_INDEX, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644
                    )
                os.write(self._refresh_fd, data)

    def rotate(self) -> int:
        """Start a new segment for the events to come; returns the number of the one closed."""
        with self._lock:
            closed = self._segment
            os.close(self._fd)
            self._segment += 1
            self._fd = self._open(self._segment)
            return closed

    def discard(self, segments: Sequence[int]) -> None:
        """Delete segments whose events are in the event log."""
        for segment in segments:
            (self.folder / f"{segment:08d}{SUFFIX}").unlink(missing_ok=True)

    def close(self) -> None:
        """End the journal: every event was flushed; the folder goes."""
        with self._lock:
            os.close(self._fd)
            if self._refresh_fd is not None:
                os.close(self._refresh_fd)
        shutil.rmtree(self.folder, ignore_errors=True)


def _is_refresh_event(row: Row) -> bool:
    """A view's planning event, or a METRICS event of a flow without batches (a view's refresh)."""
    if row[9] == "planning_information":
        return True
    return row[9] == "flow_progress" and row[5] == "METRICS" and row[2][5] is None


def _segments(folder: Path) -> list[tuple[int, Path]]:
    found = []
    for file in folder.iterdir():
        stem = file.name.removesuffix(SUFFIX)
        if file.name.endswith(SUFFIX) and stem.isdigit():
            found.append((int(stem), file))
    return sorted(found)


def _read(file: Path) -> list[Row]:
    rows = []
    for number, line in enumerate(file.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(decode(line))
        except (ValueError, IndexError, TypeError):
            # Only the last line can be torn (the process died inside a write); say so and go on.
            log.warning("event journal %s line %d is incomplete; skipped", file, number)
    return rows


def leftovers(root: Path, *, exclude: str | None = None) -> Iterator[tuple[str, list[tuple[int, list[Row]]]]]:
    """Journals of updates that did not end cleanly: ``(update_id, [(segment, rows), ...])``."""
    if not root.is_dir():
        return
    for folder in sorted(root.iterdir()):
        if folder.is_dir() and folder.name != exclude:
            yield folder.name, [(number, _read(file)) for number, file in _segments(folder)]


def recover(
    root: Path,
    write: SegmentWriter,
    *,
    interrupted: Callable[[str, Row | None], Row | None],
    exclude: str | None = None,
) -> int:
    """Append what dead updates left in their journals (idempotently) and remove the journals.

    ``interrupted(update_id, last_row)`` builds the FAILED ``update_progress`` row added when a
    journal has no final update state (None: the update did finish, its final state is already in
    the event log). Returns the number of events handed to ``write``.
    """
    handed = 0
    for update_id, segments in leftovers(root, exclude=exclude):
        rows_seen: list[Row] = [row for _, rows in segments for row in rows]
        final = any(row[9] == "update_progress" and _state(row) in FINAL_STATES for row in rows_seen)
        if not final:
            last = rows_seen[-1] if rows_seen else None
            index = root / update_id / REFRESH_INDEX
            refreshes = _read(index) if index.exists() else []
            closing = interrupted(update_id, last)
            added = unreported_refreshes(root.parent.parent, refreshes) + ([closing] if closing else [])
            if added:
                number = segments[-1][0] + 1 if segments else 0
                segments.append((number, added))
        for number, rows in segments:
            if rows:
                write(update_id, number, rows)
                handed += len(rows)
        shutil.rmtree(root / update_id, ignore_errors=True)
        log.warning("update %s left an event journal (%d segment(s)); its events are in the event log now",
                    update_id, len(segments))
    return handed


def _state(row: Row) -> str | None:
    try:
        return json.loads(row[8]).get("update_progress", {}).get("state")
    except (TypeError, ValueError, AttributeError):
        return None
