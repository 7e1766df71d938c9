"""The error of a pipeline SQL statement the grammar rejects: where (file, line, column of the
offending word), what was expected there, and a "did you mean" among the pipeline keywords."""

from __future__ import annotations

import re

from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from localdlt.sql.errors import SqlLocation, SqlSyntaxError, did_you_mean
from localdlt.sql.statements import SqlText


_KEYWORD_HINTS = (
    "CREATE",
    "OR",
    "REFRESH",
    "STREAMING",
    "MATERIALIZED",
    "VIEW",
    "TABLE",
    "LIVE",
    "TEMPORARY",
    "PRIVATE",
    "FLOW",
    "INSERT",
    "INTO",
    "ONCE",
    "AUTO",
    "CDC",
    "APPLY",
    "CHANGES",
    "FROM",
    "STREAM",
    "KEYS",
    "IGNORE",
    "SEQUENCE",
    "COLUMNS",
    "STORED",
    "TRACK",
    "HISTORY",
    "CONSTRAINT",
    "EXPECT",
    "VIOLATION",
    "DROP",
    "FAIL",
    "PARTITIONED",
    "CLUSTER",
    "COMMENT",
    "TBLPROPERTIES",
    "AS",
    "SET",
    "SCD",
    "TYPE",
    "EXCEPT",
    "WHEN",
)


def syntax_error(exc: UnexpectedInput, text: str, location: SqlLocation) -> SqlSyntaxError:
    """The :class:`SqlSyntaxError` for lark's ``exc`` in statement ``text``: the file, line and
    column of the offending word, what the grammar expected there, and "did you mean"."""
    line, column = getattr(exc, "line", 1), getattr(exc, "column", 1)
    if isinstance(exc, UnexpectedEOF) or line in (None, -1):
        where = SqlText(text, location).location_at(text.count("\n") + 1, len(text.rsplit("\n", 1)[-1]))
        found = "end of statement"
        word = ""
    else:
        pos = exc.pos_in_stream if isinstance(exc, UnexpectedCharacters) else exc.token.start_pos  # type: ignore[union-attr]
        while pos and pos > 0 and (text[pos - 1].isalnum() or text[pos - 1] == "_") and text[pos].isalnum():
            pos, column = pos - 1, column - 1  # point at the start of the word, not inside it
        where = SqlText(text, location).location_at(line, column - 1)
        word_match = re.match(r"[A-Za-z_][A-Za-z0-9_]*|\S", text[pos:] if pos is not None else "")
        word = word_match.group(0) if word_match else ""
        found = repr(word) if word else "end of statement"
    expected = _expected_words(exc)
    hint = did_you_mean(word, expected or _KEYWORD_HINTS) if word.isidentifier() else ""
    listed = f"; expected {', '.join(sorted(expected)[:8])}" if expected else ""
    return SqlSyntaxError(
        f"syntax error at {found}{hint}{listed}",
        params={"file": location.filename, "found": word, "expected": sorted(expected)},
        location=where,
    )


def _expected_words(exc: UnexpectedInput) -> set[str]:
    names: set[str] = set()
    if isinstance(exc, UnexpectedCharacters):
        names = set(exc.allowed or ())
    elif isinstance(exc, (UnexpectedToken, UnexpectedEOF)):
        names = set(exc.expected or ())
    words = set()
    for name in names:
        bare = name.lstrip("_")
        if bare in _KEYWORD_HINTS or bare in (
            "ONCE",
            "STREAM",
            "PRIVATE",
            "TEMPORARY",
            "INCREMENTAL",
            "REPLACE",
        ):
            words.add(bare)
    return words
