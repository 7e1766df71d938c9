"""Delta snapshots kept open between requests, refreshed only when the table's version moves.

A request costs one cheap version check (two ``stat`` calls on ``_delta_log``, at most once per
``check_seconds``), not a reopening of the table. A new version is loaded incrementally
(``DeltaTable.update_incremental``) with its add actions as one Arrow table (path and each
file's min/max statistics): a filter skips the files whose statistics exclude it, computed over
those columns in one vectorised pass (a pyarrow dataset of the table would build one fragment per
file: ~0.5 s of CPU per version at 200 files). Data files are immutable in Delta, so what was read
from one file is cached by its path and stays valid across versions: a new commit costs reading
the new files only. Tables whose files cannot be read as plain Parquet (partitioned, deletion
vectors, column mapping) are read through delta-rs instead, once per version.
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

import operator
from functools import reduce
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
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
    """One version of one table: the open table, its files with their statistics, and its schema."""

    version: int
    table: DeltaTable
    files: pa.Table  # add actions, flattened: path, modification_time, min.<c>, max.<c>, ...
    schema: pa.Schema
    commit_time: datetime
    checked_at: float
    plain: bool  # data files are plain Parquet holding the table's columns (see the module doc)

    @property
    def columns(self) -> frozenset[str]:
        """The table's column names."""
        return frozenset(self.schema.names)

    def file_path(self, relative: str) -> str:
        """The absolute path of a data file named in the log."""
        return str(Path(self.table.table_uri.removeprefix("file://")) / unquote(relative))


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
            files = pa.table(table.get_add_actions(flatten=True))
            schema = pa.schema(table.schema().to_arrow())
            metadata = table.metadata()
            protocol = table.protocol()
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
        features = set(protocol.reader_features or [])
        plain = (
            not metadata.partition_columns
            and not features & {"deletionVectors", "columnMapping"}
            and metadata.configuration.get("delta.columnMapping.mode", "none") == "none"
        )
        log.debug("loaded %s at version %d", name, version)
        return Snapshot(version, table, files, schema, commit_time, now, plain)

    # --- reads ----------------------------------------------------------------------------
    def read(self, name: str, snapshot: Snapshot, columns: list[str], filters: tuple[Any, ...]) -> pa.Table:
        """The rows of ``snapshot`` passing ``filters`` (``columns`` only), skipping files by their stats.

        ``filters`` are :class:`~orders_lakehouse.serving.backends.base.Filter` (column, op, value).
        """
        missing = sorted(set(columns) - snapshot.columns)
        if missing:
            raise BackendError(
                f"table {name!r} has no column(s) {', '.join(missing)}: its schema changed under the API"
            )
        expression = _expression(filters)
        if not snapshot.plain:
            try:
                return snapshot.table.to_pyarrow_table(columns=columns, filters=expression)
            except (DeltaError, OSError, pa.ArrowException) as error:
                raise BackendError(f"table {name!r} cannot be read: {_short(error)}") from error
        paths = snapshot.files.column("path").filter(_candidates(snapshot.files, filters)).to_pylist()
        self.stats.files_considered += len(paths)
        parts = [self._file(snapshot, path, columns) for path in paths]
        if not parts:
            return snapshot.schema.empty_table().select(columns)
        data = pa.concat_tables(parts, promote_options="permissive")
        return data.filter(expression) if expression is not None else data

    def file_column(self, snapshot: Snapshot, path: str, column: str) -> list[Any]:
        """The values of one column of one data file (cached by file path)."""
        return self._file(snapshot, path, [column]).column(column).to_pylist()

    def _file(self, snapshot: Snapshot, path: str, columns: list[str]) -> pa.Table:
        location = snapshot.file_path(path)
        key = (location, tuple(columns))
        with self._lock:  # requests run in a thread pool: the LRU is shared
            cached = self._files.get(key)
        if cached is not None:
            return cached
        try:
            # One open, no dataset: 0.26 ms per small file against 1.4 ms for read_schema +
            # read_table (which builds a dataset), i.e. ~2 s less for a cold 2,000-file table.
            with pq.ParquetFile(location) as parquet:
                present = set(parquet.schema_arrow.names)
                data = parquet.read(columns=[c for c in columns if c in present])
        except FileNotFoundError as error:
            # VACUUM removed a file of an older snapshot: the caller reloads and retries once.
            raise VanishedFileError(path) from error
        except (OSError, pa.ArrowException) as error:
            raise BackendError(f"a data file cannot be read: {_short(error)}") from error
        for column in columns:  # a column added after this file was written: NULL here
            if column not in present:
                data = data.append_column(column, pa.nulls(data.num_rows, snapshot.schema.field(column).type))
        data = data.select(columns)
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


_OPERATORS = {"=": operator.eq, ">=": operator.ge, ">": operator.gt, "<": operator.lt, "<=": operator.le}


def _expression(filters: tuple[Any, ...]) -> pc.Expression | None:
    parts = [_OPERATORS[f.op](pc.field(f.column), f.value) for f in filters]
    return reduce(operator.and_, parts) if parts else None


def _may_match(files: pa.Table, column: str, op: str, value: Any) -> pa.ChunkedArray | None:
    """Per file: may it hold a row with ``column <op> value``? None when there are no statistics."""
    low, high = f"min.{column}", f"max.{column}"
    if low not in files.column_names or high not in files.column_names:
        return None
    try:
        scalar = pa.scalar(value, type=files.column(low).type)
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return None  # not comparable with the statistics: keep every file
    checks = {
        "=": lambda: pc.and_(
            pc.less_equal(files.column(low), scalar), pc.greater_equal(files.column(high), scalar)
        ),
        ">=": lambda: pc.greater_equal(files.column(high), scalar),
        ">": lambda: pc.greater(files.column(high), scalar),
        "<": lambda: pc.less(files.column(low), scalar),
        "<=": lambda: pc.less_equal(files.column(low), scalar),
    }
    return pc.fill_null(checks[op](), True)  # a file without statistics may hold anything


def _candidates(files: pa.Table, filters: tuple[Any, ...]) -> pa.ChunkedArray:
    mask = pa.chunked_array([pa.array([True] * files.num_rows, pa.bool_())])
    for item in filters:
        may = _may_match(files, item.column, item.op, item.value)
        if may is not None:
            mask = pc.and_(mask, may)
    return mask


def _short(error: BaseException) -> str:
    # One line, bounded: these reasons end up in API answers; never a traceback.
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text[:200]
