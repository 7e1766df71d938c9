"""The query of a pipeline SQL statement, analysed by Spark's own parser.

:func:`analyse` parses the text with the session's SQL parser (nothing runs) and finds what it
reads: tables (``t``, ``LIVE.t``, ``STREAM(t)``, ``STREAM t``) and the source functions
``read_files(...)`` / ``cloud_files(...)`` / ``read_kafka(...)``, each with its span in the text.
:func:`localdlt.sql.execute.run` then builds the DataFrame from it inside a query function.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from pyspark.errors import ParseException
from pyspark.sql import SparkSession

from localdlt.sql.errors import SqlStatementError, SqlSyntaxError
from localdlt.sql.statements import SqlText

log = logging.getLogger(__name__)

FILE_FUNCTIONS = ("read_files", "cloud_files", "read_kafka")


@dataclass(frozen=True)
class TableRef:
    """A table read by the query: name parts, whether ``STREAM``, span (inclusive) in the text."""

    parts: tuple[str, ...]
    streaming: bool
    start: int
    stop: int
    aliased: bool
    line: int
    column: int

    @property
    def name(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class FileRef:
    """``read_files(path, k => v, ...)`` / ``cloud_files(path, format, map(...))``."""

    function: str
    path: str
    options: dict[str, str]
    streaming: bool
    start: int
    stop: int
    aliased: bool


@dataclass(frozen=True)
class QueryAnalysis:
    """What a query reads."""

    tables: tuple[TableRef, ...] = ()
    files: tuple[FileRef, ...] = ()
    ctes: frozenset[str] = field(default_factory=frozenset)


def analyse(spark: SparkSession, query: SqlText) -> QueryAnalysis:
    """Parse ``query`` with Spark's SQL parser; a syntax error names the SQL file's line and column."""
    jvm = spark._jvm  # type: ignore[attr-defined]
    parser = spark._jsparkSession.sessionState().sqlParser()  # type: ignore[attr-defined]
    text = stream_file_functions(query.text)
    try:
        plan = parser.parsePlan(text)
    except ParseException as exc:
        raise _parse_error(exc, query) from None
    walker = _Walker(jvm, text)
    try:
        walker.plan(plan, parent=None)
    except ValueError as exc:  # a file function with arguments it cannot take
        raise SqlStatementError(
            str(exc), params={"file": query.location.filename}, location=query.location
        ) from None
    return QueryAnalysis(tuple(walker.tables), tuple(walker.files), frozenset(walker.ctes))


def stream_file_functions(text: str) -> str:
    """Databricks writes ``STREAM read_files(...)``; Spark 4.1's parser knows only ``STREAM(t)``
    and ``STREAM t`` for tables, so make it ``STREAM(read_files(...))`` (same length plus two
    characters, spans after it shift; the walker works on the rewritten text)."""
    out, pos = [], 0
    for match in re.finditer(r"(?i)\bSTREAM\s+((?:read_files|cloud_files|read_kafka)\s*\()", text):
        i = _matching_paren(text, match.end(1) - 1)
        out.append(text[pos : match.start()] + "STREAM(" + text[match.start(1) : i + 1] + ")")
        pos = i + 1
    out.append(text[pos:])
    return "".join(out)


def _parse_error(exc: ParseException, query: SqlText) -> SqlSyntaxError:
    line, column = 1, 0
    java = getattr(exc, "_origin", None)
    if java is not None:
        try:
            line = int(java.line().get())
            column = int(java.startPosition().get())
        except Exception:  # noqa: BLE001 - no position in this error: point at the query start
            pass
    message = (exc.getMessage() or str(exc)).split("\n")[0]
    return SqlSyntaxError(
        f"Spark cannot parse the query: {message}",
        params={"file": query.location.filename, "spark_error": exc.getCondition()},
        location=query.location_at(line, column),
    )


class _Walker:
    """Collects relation references of an unresolved plan (children, CTE definitions,
    subqueries inside expressions)."""

    def __init__(self, jvm: Any, text: str) -> None:
        self._text = text
        cls = jvm.java.lang.Class
        self._subquery = cls.forName("org.apache.spark.sql.catalyst.expressions.SubqueryExpression")
        self._logical = cls.forName("org.apache.spark.sql.catalyst.plans.logical.LogicalPlan")
        self.tables: list[TableRef] = []
        self.files: list[FileRef] = []
        self.ctes: set[str] = set()
        self._seen: set[int] = set()

    @staticmethod
    def _seq(seq: Any) -> list[Any]:
        it = seq.iterator()
        out = []
        while it.hasNext():
            out.append(it.next())
        return out

    def plan(self, node: Any, parent: Any) -> None:
        kind = node.nodeName()
        aliased = parent is not None and parent.nodeName() == "SubqueryAlias"
        if kind == "UnresolvedRelation":
            origin = node.origin()
            start = int(origin.startIndex().get())
            if start not in self._seen:
                self._seen.add(start)
                self.tables.append(
                    TableRef(
                        tuple(self._seq(node.multipartIdentifier())),
                        bool(node.isStreaming()),
                        start,
                        _relation_end(self._text, start, int(origin.stopIndex().get())),
                        aliased,
                        int(origin.line().get()),
                        int(origin.startPosition().get()),
                    )
                )
        elif kind == "UnresolvedTableValuedFunction":
            self._function(node, aliased)
        elif kind == "UnresolvedWith":
            for pair in self._seq(node.cteRelations()):
                self.ctes.add(pair._1().lower())
        for child in self._seq(node.innerChildren()) + self._seq(node.children()):
            if self._logical.isInstance(child):
                self.plan(child, node)
        for expression in self._seq(node.expressions()):
            self._expression(expression)

    def _expression(self, expression: Any) -> None:
        if self._subquery.isInstance(expression):
            self.plan(expression.plan(), None)
        for child in self._seq(expression.children()):
            self._expression(child)

    def _function(self, node: Any, aliased: bool) -> None:
        name = ".".join(self._seq(node.name())).lower()
        args = self._seq(node.functionArgs())
        streaming = False
        if name == "stream" and len(args) == 1 and args[0].nodeName() == "UnresolvedFunction":
            inner = args[0]
            name = ".".join(self._seq(inner.nameParts())).lower()
            args = self._seq(inner.arguments())
            streaming = True
        if name not in FILE_FUNCTIONS:
            return  # another table-valued function (range, explode, ...): Spark's own
        origin = node.origin()
        start = int(origin.startIndex().get())
        if start in self._seen:
            return
        self._seen.add(start)
        stop = _relation_end(self._text, start, int(origin.stopIndex().get()))
        where = self._text[start : stop + 1]
        positional, named = [], {}
        for arg in args:
            if arg.nodeName() == "NamedArgumentExpression":
                named[str(arg.key())] = _constant(arg.value(), where)
            else:
                positional.append(_constant(arg, where))
        if name == "read_kafka":
            # read_kafka(option => value, ...): Databricks requires named arguments only.
            if positional:
                raise ValueError(f"{where}: read_kafka takes its options as named arguments (key => value)")
            options = {key: _option_value(value) for key, value in named.items()}
            self.files.append(FileRef(name, "", options, streaming, start, stop, aliased))
            return
        if not positional or not isinstance(positional[0], str):
            raise ValueError(f"{where}: the first argument must be the path (a string)")
        if name == "cloud_files":
            # cloud_files(path, format [, map(option, value, ...)]): always a stream.
            if len(positional) < 2:
                raise ValueError(f"{where}: cloud_files needs a path and a format")
            options = {"format": str(positional[1])}
            if len(positional) > 2:
                if not isinstance(positional[2], dict):
                    raise ValueError(f"{where}: the third argument of cloud_files must be map(...)")
                options.update(positional[2])
            streaming = True
        else:
            if len(positional) > 1:
                raise ValueError(f"{where}: read_files takes its options as named arguments (key => value)")
            options = {key: _option_value(value) for key, value in named.items()}
        self.files.append(FileRef(name, positional[0], options, streaming, start, stop, aliased))


def _relation_end(text: str, start: int, stop: int) -> int:
    """Where the relation itself ends inside Spark's span, which may include an alias
    (``STREAM(t) AS x``): after ``STREAM(...)``/a function call's parenthesis, after the name of
    ``STREAM name``, else the span's end."""
    span = text[start : stop + 1]
    call = re.match(r"(?is)(STREAM\s*\(|[A-Za-z_][A-Za-z0-9_]*\s*\()", span)
    if call:
        return start + _matching_paren(span, call.end() - 1)
    stream_name = re.match(r"(?is)STREAM\s+(`[^`]*`|[A-Za-z0-9_]+)(\s*\.\s*(`[^`]*`|[A-Za-z0-9_]+))*", span)
    if stream_name:
        return start + stream_name.end() - 1
    return stop


def _matching_paren(text: str, open_at: int) -> int:
    """Index of the parenthesis closing the one at ``open_at`` (strings and quoted names skipped)."""
    depth, i, quote = 0, open_at, None
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "'\"`":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return len(text) - 1


def _constant(expression: Any, where: str) -> Any:
    """The value of a constant argument: literal, or ``map(k, v, ...)`` of literals."""
    kind = expression.nodeName()
    if kind == "Literal":
        value = expression.value()
        return (
            None
            if value is None
            else value
            if isinstance(value, (bool, int, float))
            else str(value.toString())
        )
    if kind == "UnresolvedFunction" and ".".join(_Walker._seq(expression.nameParts())).lower() == "map":
        items = [_constant(arg, where) for arg in _Walker._seq(expression.arguments())]
        if len(items) % 2:
            raise ValueError(f"{where}: map(...) needs key, value pairs")
        return {str(k): _option_value(v) for k, v in zip(items[::2], items[1::2])}
    raise ValueError(f"{where}: option values must be constants, got {expression.sql()}")


def _option_value(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)
