"""Errors of pipeline SQL files: each names the file, line and column."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

from localdlt.definitions import SourceLocation
from localdlt.errors import PipelineDefinitionError


@dataclass(frozen=True)
class SqlLocation(SourceLocation):
    """A place in a SQL file: file, line and column (both 1-based)."""

    column: int = 1

    def __str__(self) -> str:
        return f"{self.filename}:{self.line}:{self.column}"


class SqlSyntaxError(PipelineDefinitionError):
    """A pipeline SQL statement (or the query inside it) does not parse."""

    error_class = "SQL_SYNTAX_ERROR"


class SqlStatementError(PipelineDefinitionError):
    """A pipeline SQL statement parses but cannot be used as written (wrong kind of query, an
    option that is not a constant, ...)."""

    error_class = "SQL_INVALID_STATEMENT"


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """``"; did you mean 'X'?"`` for the closest candidates (case-insensitive), or ``""``."""
    by_upper = {c.upper(): c for c in candidates}
    matches = difflib.get_close_matches(word.upper(), sorted(by_upper), n=3, cutoff=0.6)
    if not matches:
        return ""
    return "; did you mean " + " or ".join(repr(by_upper[m]) for m in matches) + "?"
