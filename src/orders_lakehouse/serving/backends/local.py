"""Local backend: Delta tables of a localdlt run read with delta-rs (``deltalake``), no JVM.

Tables live at ``<storage>/tables/<name>`` and the event log at ``<storage>/system/events`` (the
localdlt storage layout). Snapshots stay open between requests and are refreshed only when the
table's version moves (:mod:`.delta_cache`); filters skip files by their min/max statistics and
results are cached per table version, so latency does not grow with the number of commits.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any


from orders_lakehouse.serving import models
from orders_lakehouse.serving.backends.base import Query, TableUnavailableError
from orders_lakehouse.serving.backends.delta_cache import DeltaCache, Snapshot, VanishedFileError
from orders_lakehouse.serving.gold import EVENT_LOG, FACT_ORDERS, GOLD_TABLES, SILVER_EVENTS, GoldTable

log = logging.getLogger(__name__)


class LocalDeltaBackend:
    """Reads the Delta tables of one localdlt storage root.

    Example::

        backend = LocalDeltaBackend(Path("/tmp/run"))
        backend.fetch(Query(FACT_ORDERS, ("order_id", "status"), (Filter("order_id", "=", "o-1"),)))
    """

    name = "local"

    def __init__(self, storage: Path, *, check_seconds: float = 1.0) -> None:
        self.storage = storage
        self.cache = DeltaCache(check_seconds=check_seconds)

    def path(self, table: GoldTable) -> Path:
        """Where ``table`` is stored under the storage root."""
        if table is EVENT_LOG:
            return self.storage / "system" / "events"
        return self.storage / "tables" / table.name

    def commit_times(self, tables: tuple[GoldTable, ...]) -> dict[str, datetime | None]:
        """When each table was last committed (None when it does not exist)."""
        result: dict[str, datetime | None] = {}
        for table in tables:
            try:
                result[table.name] = self.snapshot(table).commit_time
            except TableUnavailableError:
                result[table.name] = None
        return result

    def latency(self, window_minutes: int) -> models.Latency:
        """Event time -> visible in Silver / in Gold over the latest ``window_minutes`` of commits."""
        from orders_lakehouse.serving.backends.latency import measure

        silver, gold = self.snapshot(SILVER_EVENTS), self.snapshot(FACT_ORDERS)
        key = ("latency", silver.version, gold.version, window_minutes)
        return self.cache.result(
            key, lambda: measure(self.cache, silver, self.path(FACT_ORDERS), window_minutes)
        )

    def snapshot(self, table: GoldTable) -> Snapshot:
        """The current snapshot of ``table`` (raises :class:`TableUnavailableError`)."""
        return self.cache.snapshot(table.name, self.path(table))

    def fetch(self, query: Query) -> list[dict[str, Any]]:
        """Rows of ``query`` as dicts of Python values (Decimal, datetime in UTC, date, ...)."""
        try:
            return self._fetch(query)
        except VanishedFileError:
            # Our snapshot predates a compaction + VACUUM: the newest version has what we need.
            log.info("a file of %s was vacuumed under an old snapshot; reloading", query.table.name)
            self.cache.invalidate(self.path(query.table))
            return self._fetch(query)

    def _fetch(self, query: Query) -> list[dict[str, Any]]:
        snapshot = self.snapshot(query.table)
        key = (
            str(self.path(query.table)),
            snapshot.version,
            query.columns,
            query.filters,
            query.order_by,
            query.limit,
        )
        return self.cache.result(key, lambda: self._compute(query, snapshot))

    def _compute(self, query: Query, snapshot: Snapshot) -> list[dict[str, Any]]:
        needed = list(
            dict.fromkeys(
                [*query.columns, *(f.column for f in query.filters), *(c for c, _ in query.order_by)]
            )
        )
        data = self.cache.read(query.table.name, snapshot, needed, query.filters)
        if query.order_by:
            data = data.sort_by(
                [(column, "descending" if desc else "ascending") for column, desc in query.order_by]
            )
        if query.limit is not None:
            data = data.slice(0, query.limit)
        return data.select(list(query.columns)).to_pylist()

    def versions(self, tables: tuple[GoldTable, ...]) -> dict[str, int]:
        """The current version of each table (-1 when it does not exist yet)."""
        result = {}
        for table in tables:
            try:
                result[table.name] = self.snapshot(table).version
            except TableUnavailableError:
                result[table.name] = -1
        return result

    def available_tables(self) -> dict[str, bool]:
        """Which Gold tables (and the event log) exist under the storage root."""
        return {t.name: (self.path(t) / "_delta_log").is_dir() for t in (*GOLD_TABLES, EVENT_LOG)}
