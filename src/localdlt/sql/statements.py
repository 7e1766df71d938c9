"""The pipeline SQL statements of a file, as plain values (no Spark).

A statement keeps the text of its query and of every expression; Spark parses those later
(:mod:`localdlt.sql.query`). Positions are kept so errors can point at the user's file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from localdlt.sql.errors import SqlLocation


@dataclass(frozen=True)
class SqlText:
    """A piece of SQL text and where it starts in its file."""

    text: str
    location: SqlLocation

    def location_at(self, line: int, column: int) -> SqlLocation:
        """The file location of (1-based ``line``, 0-based ``column``) inside this text."""
        if line <= 1:
            return SqlLocation(self.location.filename, self.location.line, self.location.column + column)
        return SqlLocation(self.location.filename, self.location.line + line - 1, column + 1)


@dataclass(frozen=True)
class ExpectationClause:
    """``CONSTRAINT name EXPECT (expr) [ON VIOLATION DROP ROW | FAIL UPDATE]``."""

    name: str
    expression: str
    action: str  # "warn" | "drop" | "fail"


@dataclass(frozen=True)
class CdcClauses:
    """The clauses of ``AUTO CDC INTO`` / ``APPLY CHANGES INTO`` (names as in the Python API)."""

    source: str
    streaming_source: bool
    keys: tuple[str, ...]
    sequence_by: str
    ignore_null_updates: bool = False
    apply_as_deletes: str | None = None
    apply_as_truncates: str | None = None
    column_list: tuple[str, ...] | None = None
    except_column_list: tuple[str, ...] | None = None
    stored_as_scd_type: int = 1
    track_history_column_list: tuple[str, ...] | None = None
    track_history_except_column_list: tuple[str, ...] | None = None


@dataclass(frozen=True)
class DatasetStatement:
    """``CREATE ... STREAMING TABLE | MATERIALIZED VIEW | VIEW``."""

    kind: str  # "streaming_table" | "materialized_view" | "view"
    name: str
    location: SqlLocation
    visibility: str | None = None  # "private" | "temporary"
    columns: tuple[str, ...] = ()
    expectations: tuple[ExpectationClause, ...] = ()
    table_constraints: tuple[str, ...] = ()
    partition_cols: tuple[str, ...] = ()
    cluster_by: tuple[str, ...] = ()
    cluster_by_auto: bool = False
    comment: str | None = None
    table_properties: dict[str, str] = field(default_factory=dict)
    query: SqlText | None = None
    flow_once: bool = False
    flow_cdc: CdcClauses | None = None
    recorded: dict[str, str] = field(default_factory=dict)
    """Clauses with no local meaning (LOCATION, ROW FILTER, SCHEDULE, ...): reported, not lost."""


@dataclass(frozen=True)
class FlowStatement:
    """``CREATE FLOW name AS INSERT INTO [ONCE] target BY NAME query``."""

    name: str
    target: str
    query: SqlText
    location: SqlLocation
    once: bool = False
    comment: str | None = None


@dataclass(frozen=True)
class CdcStatement:
    """``[CREATE FLOW name AS] AUTO CDC | APPLY CHANGES INTO target ...``."""

    target: str
    clauses: CdcClauses
    location: SqlLocation
    flow_name: str | None = None
    once: bool = False
    comment: str | None = None


@dataclass(frozen=True)
class SetStatement:
    """``SET key = value``: a Spark conf for the statements that follow in the file, and a value
    for ``${key}`` in them."""

    key: str
    value: str | None
    location: SqlLocation


Statement = DatasetStatement | FlowStatement | CdcStatement | SetStatement
