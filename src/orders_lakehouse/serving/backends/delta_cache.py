"""Delta snapshots kept open between requests, refreshed only when the table's version moves.

A request costs one cheap version check (two ``stat`` calls on ``_delta_log``, at most once per
``check_seconds``), not a reopening of the table. A new version is loaded incrementally
(``DeltaTable.update_incremental``), and its pyarrow dataset carries each data file's min/max
statistics as the fragment's expression, so a filter skips files whose statistics exclude it.
Data files are immutable in Delta, so what was read from one file is cached by its path and
stays valid across versions: a new commit costs reading the new files only.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as pads
from deltalake import DeltaTable
from deltalake.exceptions import DeltaError

from orders_lakehouse.serving.backends.base import (
    BackendError,
    BackendUnavailableError,
    TableUnavailableError,
)

log = logging.getLogger(__name__)


def _log_file(log_dir: Path, version: int) -> Path:
    return log_dir / f"{version:020d}.json"


@dataclass
class Snapshot:
    """One version of one table: the open table, its dataset (file fragments with stats) and schema."""

    version: int
    table: DeltaTable
    dataset: pads.FileSystemDataset
    columns: frozenset[str]
    commit_time: datetime
    checked_at: float


@dataclass
class ScanStats:
    """Counters that show what caching and file skipping saved (read by tests and the bench)."""

    snapshots_loaded: int = 0
    files_considered: int = 0
    files_read: int = 0
    result_hits: int = 0


class _ByteBoundedLru:
    """An LRU of pyarrow tables bounded by their total size in bytes."""

    def __init__(self, max_bytes: int) -> None:
        self._items: OrderedDict[Any, pa.Table] = OrderedDict()
        self._bytes = 0
        self._max = max_bytes

    def get(self, key: Any) -> pa.Table | None:
        item = self._items.get(key)
        if item is not None:
            self._items.move_to_end(key)
        return item

    def put(self, key: Any, value: pa.Table) -> None:
        if key in self._items:
            return
        self._items[key] = value
        self._bytes += value.nbytes
        while self._bytes > self._max and len(self._items) > 1:
            _, evicted = self._items.popitem(last=False)
            self._bytes -= evicted.nbytes


class DeltaCache:
    """Open snapshots per table path, a per-file column cache, and a per-version result cache.

    Example::

        cache = DeltaCache(check_seconds=1.0)
        snapshot = cache.snapshot("fact_orders", Path("/run/tables/fact_orders"))
        data = cache.read(snapshot, ["order_id"], pc.field("order_id") == "o-1")
    """

    def __init__(
        self,
        *,
        check_seconds: float = 1.0,
        max_file_bytes: int = 256 * 1024 * 1024,
        max_results: int = 512,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.check_seconds = check_seconds
        self.stats = ScanStats()
        self._clock = clock
        self._snapshots: dict[Path, Snapshot] = {}
        self._files = _ByteBoundedLru(max_file_bytes)
        self._results: OrderedDict[Any, Any] = OrderedDict()
        self._max_results = max_results
        self._lock = threading.RLock()

    # --- versions -------------------------------------------------------------------------
    def snapshot(self, name: str, path: Path) -> Snapshot:
        """The current snapshot of the table at ``path`` (raises :class:`TableUnavailableError`)."""
        with self._lock:
            current = self._snapshots.get(path)
            now = self._clock()
            if current is not None and now - current.checked_at < self.check_seconds:
                return current
            log_dir = path / "_delta_log"
            if current is not None and self._unchanged(log_dir, current.version):
                current.checked_at = now
                return current
            if not log_dir.is_dir():
                self._snapshots.pop(path, None)
                raise TableUnavailableError(name)
            fresh = self._load(name, path, current, now)
            self._snapshots[path] = fresh
            return fresh

    def invalidate(self, path: Path) -> None:
        """Forget the snapshot of ``path`` (the next request reloads it from the log)."""
        with self._lock:
            self._snapshots.pop(path, None)

    @staticmethod
    def _unchanged(log_dir: Path, version: int) -> bool:
        # The same check a Delta reader makes: our commit still there, no next commit yet. A
        # table recreated from scratch (full refresh) loses our commit file, so it is reloaded.
        return _log_file(log_dir, version).exists() and not _log_file(log_dir, version + 1).exists()

    def _load(self, name: str, path: Path, current: Snapshot | None, now: float) -> Snapshot:
        try:
            if current is not None and _log_file(path / "_delta_log", current.version).exists():
                table = current.table
                table.update_incremental()
            else:
                table = DeltaTable(str(path))
            version = table.version()
            dataset = table.to_pyarrow_dataset()
            history = table.history(1)
        except DeltaError as error:
            if not DeltaTable.is_deltatable(str(path)):
                raise TableUnavailableError(name) from error
            raise BackendError(f"table {name!r} cannot be read: {_short(error)}") from error
        except (OSError, ValueError) as error:  # a truncated or garbled commit file
            raise BackendError(f"table {name!r} cannot be read: {_short(error)}") from error
        self.stats.snapshots_loaded += 1
        millis = history[0].get("timestamp") if history else None
        commit_time = datetime.fromtimestamp(millis / 1000, UTC) if millis else datetime.now(UTC)
        log.debug("loaded %s at version %d", name, version)
        return Snapshot(version, table, dataset, frozenset(dataset.schema.names), commit_time, now)

    # --- reads ----------------------------------------------------------------------------
    def read(self, name: str, snapshot: Snapshot, columns: list[str], expression: Any) -> pa.Table:
        """The rows of ``snapshot`` matching ``expression`` (``columns`` only), skipping files by stats."""
        missing = sorted(set(columns) - snapshot.columns)
        if missing:
            raise BackendError(
                f"table {name!r} has no column(s) {', '.join(missing)}: its schema changed under the API"
            )
        fragments = list(snapshot.dataset.get_fragments(filter=expression))
        self.stats.files_considered += len(fragments)
        parts = [self._file(fragment, columns) for fragment in fragments]
        data = pa.concat_tables(parts) if parts else snapshot.dataset.schema.empty_table().select(columns)
        return data.filter(expression) if expression is not None else data

    def file_column(self, fragment: pads.Fragment, column: str) -> list[Any]:
        """The values of one column of one data file (cached by file path)."""
        return self._file(fragment, [column]).column(column).to_pylist()

    def _file(self, fragment: pads.Fragment, columns: list[str]) -> pa.Table:
        key = (fragment.path, tuple(columns))
        with self._lock:  # requests run in a thread pool: the LRU is shared
            cached = self._files.get(key)
        if cached is not None:
            return cached
        try:
            data = fragment.to_table(columns=columns)
        except FileNotFoundError as error:
            # VACUUM removed a file of an older snapshot: the caller reloads and retries once.
            raise VanishedFileError(fragment.path) from error
        except (OSError, pa.ArrowException) as error:
            raise BackendError(f"a data file cannot be read: {_short(error)}") from error
        with self._lock:
            self.stats.files_read += 1
            self._files.put(key, data)
        return data

    # --- results --------------------------------------------------------------------------
    def result(self, key: Any, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per ``key`` (a key holds the table version), then from memory."""
        with self._lock:
            if key in self._results:
                self._results.move_to_end(key)
                self.stats.result_hits += 1
                return self._results[key]
        value = compute()
        with self._lock:
            self._results[key] = value
            while len(self._results) > self._max_results:
                self._results.popitem(last=False)
        return value


class VanishedFileError(BackendUnavailableError):
    """A data file listed by a snapshot is gone (vacuumed after a newer version replaced it)."""

    def __init__(self, path: str) -> None:
        super().__init__(f"data file {Path(path).name} was removed while being read; retry")


def _short(error: BaseException) -> str:
    # One line, bounded: these reasons end up in API answers; never a traceback.
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text[:200]
