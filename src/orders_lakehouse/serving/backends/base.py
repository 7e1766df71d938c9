"""The backend protocol: run a structured, read-only :class:`Query` and return plain rows.

A query is data (table, columns, filters, order, limit), never SQL text, so the local backend can
evaluate it with pyarrow and the Databricks backend can render it with named parameter markers
only. Column names come from :mod:`orders_lakehouse.serving.gold`, never from a request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from orders_lakehouse.serving.gold import GoldTable

Operator = Literal["=", ">=", ">", "<", "<="]
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class BackendError(RuntimeError):
    """The backend could not answer (the message says why; no secrets in it). Answered with 502."""


class BackendUnavailableError(BackendError):
    """The store cannot answer right now but may shortly (a file vacuumed mid-read). Answered with 503."""


class TableUnavailableError(BackendUnavailableError):
    """A table does not exist (yet): the pipeline has not written it."""

    def __init__(self, table: str) -> None:
        super().__init__(f"table {table!r} is not available")
        self.table = table


@dataclass(frozen=True)
class Filter:
    """``column <op> value``; ``value`` is a Python scalar (str, int, float, datetime, date)."""

    column: str
    op: Operator
    value: Any


@dataclass(frozen=True)
class Query:
    """A read of one table: the columns, conjunctive filters, order (column, descending), limit."""

    table: GoldTable
    columns: tuple[str, ...]
    filters: tuple[Filter, ...] = ()
    order_by: tuple[tuple[str, bool], ...] = ()
    limit: int | None = None

    def __post_init__(self) -> None:
        known = set(self.table.columns())
        used = [*self.columns, *(f.column for f in self.filters), *(c for c, _ in self.order_by)]
        for column in used:
            # Identifiers end up in SQL text: allow only the table's declared, plain column names.
            if column not in known or not _IDENTIFIER.match(column):
                raise ValueError(f"column {column!r} is not a declared column of {self.table.name}")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"limit must be >= 1, got {self.limit}")


class Backend(Protocol):
    """What the API and alert delivery need from a store of Gold tables."""

    name: str

    def fetch(self, query: Query) -> list[dict[str, Any]]:
        """Rows (column -> Python value) of ``query``; raises :class:`TableUnavailableError`."""
        ...  # pragma: no cover

    def available_tables(self) -> dict[str, bool]:
        """Table name -> whether it can be read now (for ``/health/ready``)."""
        ...  # pragma: no cover

    def versions(self, tables: tuple[GoldTable, ...]) -> dict[str, int] | None:
        """Current version of each table (cheap; for ``ETag``), or None when the backend cannot tell."""
        ...  # pragma: no cover
