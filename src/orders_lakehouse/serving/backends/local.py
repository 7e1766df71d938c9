"""Local backend: Delta tables of a localdlt run read with delta-rs (``deltalake``), no JVM.

Tables live at ``<storage>/tables/<name>`` and the event log at ``<storage>/system/events`` (the
localdlt storage layout). Filters are pushed into the scan as pyarrow expressions, so file
statistics prune what they can.
"""

from __future__ import annotations

import logging
import operator
from functools import reduce
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
from deltalake import DeltaTable

from orders_lakehouse.serving.backends.base import Filter, Query, TableUnavailableError
from orders_lakehouse.serving.gold import EVENT_LOG, GOLD_TABLES, GoldTable

log = logging.getLogger(__name__)

_OPERATORS = {"=": operator.eq, ">=": operator.ge, ">": operator.gt, "<": operator.lt, "<=": operator.le}


def _expression(filters: tuple[Filter, ...]) -> pc.Expression | None:
    parts = [_OPERATORS[f.op](pc.field(f.column), f.value) for f in filters]
    return reduce(operator.and_, parts) if parts else None


class LocalDeltaBackend:
    """Reads the Delta tables of one localdlt storage root.

    Example::

        backend = LocalDeltaBackend(Path("/tmp/run"))
        backend.fetch(Query(FACT_ORDERS, ("order_id", "status"), (Filter("order_id", "=", "o-1"),)))
    """

    name = "local"

    def __init__(self, storage: Path) -> None:
        self.storage = storage

    def path(self, table: GoldTable) -> Path:
        """Where ``table`` is stored under the storage root."""
        if table is EVENT_LOG:
            return self.storage / "system" / "events"
        return self.storage / "tables" / table.name

    def _open(self, table: GoldTable) -> DeltaTable:
        location = str(self.path(table))
        if not DeltaTable.is_deltatable(location):
            raise TableUnavailableError(table.name)
        return DeltaTable(location)

    def fetch(self, query: Query) -> list[dict[str, Any]]:
        """Rows of ``query`` as dicts of Python values (Decimal, datetime in UTC, date, ...)."""
        delta = self._open(query.table)
        needed = list(dict.fromkeys([*query.columns, *(c for c, _ in query.order_by)]))
        data = delta.to_pyarrow_table(columns=needed, filters=_expression(query.filters))
        if query.order_by:
            data = data.sort_by(
                [(column, "descending" if desc else "ascending") for column, desc in query.order_by]
            )
        if query.limit is not None:
            data = data.slice(0, query.limit)
        return data.select(list(query.columns)).to_pylist()

    def available_tables(self) -> dict[str, bool]:
        """Which Gold tables (and the event log) exist under the storage root."""
        return {t.name: DeltaTable.is_deltatable(str(self.path(t))) for t in (*GOLD_TABLES, EVENT_LOG)}
