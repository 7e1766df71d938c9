"""Read a pipeline SQL file into :mod:`~localdlt.sql.statements` values (no Spark).

The file is cut into statements at ``;`` (strings, quoted names and comments respected, by lark's
lexer), ``${key}`` is substituted in each statement from the pipeline configuration and the
``SET`` statements above it, and each statement is parsed with :mod:`localdlt.sql.grammar`.

Example::

    from localdlt.sql.parse import parse_sql
    statements = parse_sql("CREATE MATERIALIZED VIEW m AS SELECT 1 AS x;", "m.sql")
    statements[0].name    # 'm'
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedInput

from localdlt.sql.errors import SqlLocation, SqlSyntaxError
from localdlt.sql.grammar import parser
from localdlt.sql.syntax_errors import syntax_error
from localdlt.sql.statements import (
    CdcClauses,
    CdcStatement,
    DatasetStatement,
    ExpectationClause,
    FlowStatement,
    SetStatement,
    SqlText,
    Statement,
)

log = logging.getLogger(__name__)

Lookup = Callable[[str], "str | None"]

_SPLIT_GRAMMAR = r"""
start: _piece*
_piece: STRING | QUOTED_IDENT | COMMENT_LINE | COMMENT_BLOCK | SEMI | OTHER
STRING: /'(?:[^'\\]|\\.)*'/s | /"(?:[^"\\]|\\.)*"/s
QUOTED_IDENT: /`(?:[^`]|``)*`/
COMMENT_LINE.2: /--[^\n]*/
COMMENT_BLOCK.2: /\/\*(.|\n)*?\*\//
SEMI: ";"
OTHER: /[^;'"`\-\/]+/ | "-" | "/"
"""
_SUBSTITUTION = re.compile(r"\$\{([^}]+)\}")


@dataclass(frozen=True)
class _Chunk:
    text: str
    location: SqlLocation


@functools.cache
def _splitter() -> Lark:
    return Lark(_SPLIT_GRAMMAR, parser="lalr", lexer="basic")


def split_statements(source: str, filename: str) -> Iterator[_Chunk]:
    """The statements of ``source`` (text between ``;``), comments-only pieces left out."""
    start: Token | None = None
    end = 0
    try:
        tokens = list(_splitter().lex(source))
    except UnexpectedCharacters as exc:  # only an unterminated string / quoted name gets here
        raise SqlSyntaxError(
            "unterminated string, quoted name or comment",
            params={"file": filename},
            location=SqlLocation(filename, exc.line, exc.column),
        ) from exc
    for token in [*tokens, None]:
        if token is None or token.type == "SEMI":
            if start is not None:
                yield _Chunk(
                    source[start.start_pos : end].rstrip(), SqlLocation(filename, start.line, start.column)
                )
            start = None
            continue
        if token.type.startswith("COMMENT"):
            continue
        if start is None:
            stripped = token.value.lstrip()
            if not stripped:
                continue
            skipped = token.value[: len(token.value) - len(stripped)]
            line = token.line + skipped.count("\n")
            column = len(skipped) - skipped.rfind("\n") if "\n" in skipped else token.column + len(skipped)
            start = Token(token.type, stripped, token.start_pos + len(skipped), line, column)
        end = token.end_pos


def substitute(text: str, lookup: Lookup, location: SqlLocation) -> str:
    """Replace ``${key}`` with the configuration value; unknown keys stay as written (as in
    Spark's own variable substitution) and are logged."""

    def replace(match: re.Match[str]) -> str:
        value = lookup(match.group(1).strip())
        if value is None:
            log.warning(
                "%s: no pipeline configuration value for ${%s}; left as written", location, match.group(1)
            )
            return match.group(0)
        return value

    return _SUBSTITUTION.sub(replace, text)


def parse_sql(source: str, filename: str, lookup: Lookup | None = None) -> list[Statement]:
    """Every statement of a pipeline SQL file, in order. ``lookup(key)`` gives the pipeline
    configuration value for ``${key}`` (``SET`` statements of the file come first)."""
    settings: dict[str, str] = {}

    def resolve(key: str) -> str | None:
        if key in settings:
            return settings[key]
        return lookup(key) if lookup is not None else None

    statements: list[Statement] = []
    for chunk in split_statements(source, filename):
        text = substitute(chunk.text, resolve, chunk.location)
        statement = parse_statement(text, chunk.location)
        if isinstance(statement, SetStatement) and statement.value is not None:
            settings[statement.key] = statement.value
        statements.append(statement)
    return statements


def parse_statement(text: str, location: SqlLocation) -> Statement:
    """One statement (no trailing ``;``) starting at ``location``."""
    try:
        tree = parser().parse(text)
    except UnexpectedInput as exc:
        raise syntax_error(exc, text, location) from None
    return _Builder(text, location).statement(tree.children[0])


class _Builder:
    """lark tree -> statement values; text pieces are cut from the statement source."""

    def __init__(self, text: str, location: SqlLocation) -> None:
        self._text = text
        self._location = location

    def statement(self, tree: Tree) -> Statement:
        return getattr(self, f"_{tree.data}")(tree)

    # -- helpers ------------------------------------------------------------------------------
    def _source(self, tree: Tree | Token) -> str:
        if isinstance(tree, Token):
            return self._text[tree.start_pos : tree.end_pos]
        return self._text[tree.meta.start_pos : tree.meta.end_pos]

    def _sql_text(self, node: Tree | Token) -> SqlText:
        line, column = (
            (node.line, node.column) if isinstance(node, Token) else (node.meta.line, node.meta.column)
        )
        return SqlText(self._source(node), SqlText(self._text, self._location).location_at(line, column - 1))

    @staticmethod
    def _ident(tree: Tree) -> str:
        token = tree.children[0]
        return token.value[1:-1].replace("``", "`") if token.type == "QUOTED_IDENT" else token.value

    def _name(self, tree: Tree) -> str:
        return ".".join(self._ident(part) for part in tree.children)

    def _names(self, tree: Tree) -> tuple[str, ...]:
        return tuple(self._name(child) for child in tree.children if isinstance(child, Tree))

    @staticmethod
    def _string(token: Token) -> str:
        body = token.value[1:-1]
        return re.sub(r"\\(.)", r"\1", body)

    def _paren_inner(self, tree: Tree) -> str:
        return self._source(tree).strip()[1:-1].strip()

    def _find(self, tree: Tree, data: str) -> Tree | None:
        return next((c for c in tree.children if isinstance(c, Tree) and c.data == data), None)

    # -- statements ---------------------------------------------------------------------------
    def _create_dataset(self, tree: Tree) -> DatasetStatement:
        kind = "streaming_table"
        values: dict = {"location": self._location}
        for child in tree.children:
            if not isinstance(child, Tree):
                continue
            if child.data in ("streaming_table", "materialized_view"):
                kind = child.data
            elif child.data == "visibility":
                values["visibility"] = child.children[0].value.lower()
            elif child.data == "name":
                values["name"] = self._name(child)
            elif child.data == "table_spec":
                values.update(self._table_spec(child))
            elif child.data == "or_refresh":
                pass
            elif child.data == "as_query":
                values["query"] = self._sql_text(child.children[0].children[0])
            elif child.data == "flow_insert":
                values["flow_once"] = any(isinstance(c, Token) and c.type == "ONCE" for c in child.children)
                values["query"] = self._sql_text(self._find(child, "query").children[0])  # type: ignore[union-attr]
            elif child.data == "flow_cdc":
                values["flow_once"] = any(isinstance(c, Token) and c.type == "ONCE" for c in child.children)
                values["flow_cdc"] = self._cdc_clauses(self._find(child, "cdc_clauses"))  # type: ignore[arg-type]
            else:
                self._table_clause(child, values)
        return DatasetStatement(kind=kind, **values)

    def _create_view(self, tree: Tree) -> DatasetStatement:
        values: dict = {"location": self._location}
        for child in tree.children:
            if isinstance(child, Token) and child.type == "TEMPORARY":
                values["visibility"] = "temporary"
            elif isinstance(child, Tree) and child.data == "name":
                values["name"] = self._name(child)
            elif isinstance(child, Tree) and child.data == "query":
                values["query"] = self._sql_text(child.children[0])
            elif isinstance(child, Tree) and child.data == "view_columns":
                values.setdefault("recorded", {})["columns"] = self._paren_inner(child)
            elif isinstance(child, Tree) and child.data not in ("or_refresh",):
                self._table_clause(child, values)
        return DatasetStatement(kind="view", **values)

    def _table_spec(self, tree: Tree) -> dict:
        columns, expectations, constraints = [], [], []
        for item in tree.children:
            if item.data == "column_def":
                columns.append(self._source(item).strip())
            elif item.data == "expectation":
                violation = next(
                    (
                        c.data
                        for c in item.children
                        if isinstance(c, Tree) and c.data in ("drop_row", "fail_update")
                    ),
                    None,
                )
                action = {"drop_row": "drop", "fail_update": "fail"}.get(violation or "", "warn")
                paren = self._find(item, "paren_text")
                expectations.append(
                    ExpectationClause(self._ident(item.children[0]), self._paren_inner(paren), action)
                )
            else:
                constraints.append(self._source(item).strip())
        return {
            "columns": tuple(columns),
            "expectations": tuple(expectations),
            "table_constraints": tuple(constraints),
        }

    def _table_clause(self, tree: Tree, values: dict) -> None:
        data = tree.data
        if data == "partitioned_by":
            values["partition_cols"] = self._names(tree.children[0])
        elif data == "cluster_by":
            values["cluster_by"] = self._names(tree.children[0])
        elif data == "cluster_by_auto":
            values["cluster_by_auto"] = True
        elif data == "comment":
            values["comment"] = self._string(tree.children[0])
        elif data == "tblproperties":
            props = {}
            for prop in tree.children[0].children:
                key_tree, value = prop.children
                key = key_tree.children[0]
                key_text = (
                    self._string(key)
                    if isinstance(key, Token) and key.type == "STRING"
                    else ".".join(self._ident(part) for part in key_tree.children)
                )
                if isinstance(value, Tree):
                    props[key_text] = self._ident(value)
                else:
                    props[key_text] = self._string(value) if value.type == "STRING" else value.value
            values["table_properties"] = props
        else:  # using, location, row_filter, schedule: recorded, no local meaning
            values.setdefault("recorded", {})[data] = self._source(tree).strip()

    def _cdc_clauses(self, tree: Tree) -> CdcClauses:
        values: dict = {}
        for child in tree.children:
            data = child.data
            if data in ("stream_source", "batch_source"):
                values["source"] = self._name(self._find(child, "name"))  # type: ignore[arg-type]
                values["streaming_source"] = data == "stream_source"
            elif data == "paren_names":
                values["keys"] = self._names(child)
            elif data == "ignore_null":
                values["ignore_null_updates"] = True
            elif data == "delete_when":
                values["apply_as_deletes"] = self._source(child.children[0]).strip()
            elif data == "truncate_when":
                values["apply_as_truncates"] = self._source(child.children[0]).strip()
            elif data == "sequence_by":
                values["sequence_by"] = self._source(child.children[0]).strip()
            elif data == "stored_as":
                values["stored_as_scd_type"] = int(child.children[0].value)
            elif data in ("columns", "track_history"):
                selection = child.children[0]
                prefix = "" if data == "columns" else "track_history_"
                if selection.data == "except_columns":
                    values[f"{prefix}except_column_list"] = self._names(selection.children[0])
                else:
                    values[f"{prefix}column_list"] = self._names(selection)
        return CdcClauses(**values)

    def _create_flow(self, tree: Tree) -> FlowStatement | CdcStatement:
        name = self._name(tree.children[0])
        comment_tokens = [c for c in tree.children if isinstance(c, Token) and c.type == "STRING"]
        comment = self._string(comment_tokens[0]) if comment_tokens else None
        body = tree.children[-1]
        if body.data == "auto_cdc":
            cdc = self._cdc_statement(body)
            return CdcStatement(
                cdc.target, cdc.clauses, self._location, flow_name=name, once=cdc.once, comment=comment
            )
        once = any(isinstance(c, Token) and c.type == "ONCE" for c in body.children)
        target = self._name(self._find(body, "name"))  # type: ignore[arg-type]
        query = self._sql_text(self._find(body, "query").children[0])  # type: ignore[union-attr]
        return FlowStatement(name, target, query, self._location, once=once, comment=comment)

    def _cdc_statement(self, tree: Tree) -> CdcStatement:
        into = tree.children[0]
        once = any(isinstance(c, Token) and c.type == "ONCE" for c in into.children)
        target = self._name(self._find(into, "name"))  # type: ignore[arg-type]
        clauses = self._cdc_clauses(self._find(into, "cdc_clauses"))  # type: ignore[arg-type]
        return CdcStatement(target, clauses, self._location, once=once)

    def _set_conf(self, tree: Tree) -> SetStatement:
        key = tree.children[0].value.strip()
        value = tree.children[1].value.strip() if len(tree.children) > 1 else ""
        return SetStatement(key, _unquote(value), self._location)

    def _set_show(self, tree: Tree) -> SetStatement:
        return SetStatement(tree.children[0].value.strip(), None, self._location)


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value
