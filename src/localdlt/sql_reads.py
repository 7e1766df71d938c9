"""``spark.sql(...)`` inside a query function: pipeline datasets named in the text are read through
the active read resolver, as open-source Spark 4.1 does in its flow analysis.

Spark's own parser gives the relations of the statement (every ``UnresolvedRelation``, in
subqueries and CTE bodies too; ``STREAM(t)`` / ``STREAM t`` are streaming ones). A relation that
names a pipeline dataset (``t`` or ``LIVE.t``; not a CTE name) is resolved by the resolver, so the
planner records a graph edge and the executor reads the stored table, a view's query or the
planner's schema-only frame. Each resolved frame is put in a temporary view of the dataset's own
name while ``spark.sql`` analyses the text (so ``t.col`` and options clauses keep working), then
the views are dropped (an analysed DataFrame keeps its plan). ``LIVE.t`` is rewritten to ``t`` at
the exact position the parser reports. Other names are left to the session catalog.

Example (in a pipeline file)::

    @dlt.table
    def totals():
        return spark.sql("SELECT k, count(*) AS n FROM STREAM(events) GROUP BY k")
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from py4j.protocol import Py4JJavaError

from localdlt.errors import InvalidArgumentError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from localdlt.reads import ReadResolver

log = logging.getLogger(__name__)

# Temporary views are session-wide: one statement at a time creates, uses and drops them.
_LOCK = threading.RLock()


@dataclass(frozen=True)
class Relation:
    """A table reference found by Spark's parser: its name parts, streaming or not, its options
    and the character span of the reference in the text (``start`` .. start of its last token)."""

    parts: tuple[str, ...]
    streaming: bool
    options: dict[str, str]
    start: int | None
    stop: int | None


def _seq(scala_seq: Any) -> list[Any]:
    items = []
    iterator = scala_seq.iterator()
    while iterator.hasNext():
        items.append(iterator.next())
    return items


def _option_int(option: Any) -> int | None:
    return int(option.get()) if option.isDefined() else None


def parse_relations(spark: SparkSession, query: str) -> tuple[list[Relation], set[str]]:
    """The relations of ``query`` and the CTE names it defines (lower case), from Spark's parser.

    A statement Spark cannot parse raises Spark's own ``ParseException``."""
    jvm = spark._jvm  # noqa: SLF001 - the parser and plan classes live in the JVM
    plan = spark._jsparkSession.sessionState().sqlParser().parsePlan(query)  # noqa: SLF001
    walker = _Walker(
        logical=jvm.java.lang.Class.forName("org.apache.spark.sql.catalyst.plans.logical.LogicalPlan"),
        subquery=jvm.java.lang.Class.forName("org.apache.spark.sql.catalyst.expressions.SubqueryExpression"),
    )
    walker.plan(plan)
    return walker.relations, walker.ctes


@dataclass
class _Walker:
    """Collects relations and CTE names from a parsed plan, subqueries included."""

    logical: Any
    subquery: Any
    relations: list[Relation] = field(default_factory=list)
    ctes: set[str] = field(default_factory=set)

    def plan(self, plan: Any) -> None:
        name = plan.getClass().getSimpleName()
        if name == "UnresolvedRelation":
            origin = plan.origin()
            options = plan.options().asCaseSensitiveMap()
            self.relations.append(
                Relation(
                    parts=tuple(str(part) for part in _seq(plan.multipartIdentifier())),
                    streaming=bool(plan.isStreaming()),
                    options={str(k): str(options.get(k)) for k in options.keySet()},
                    start=_option_int(origin.startIndex()),
                    stop=_option_int(origin.stopIndex()),
                )
            )
        elif name == "UnresolvedWith":
            for pair in _seq(plan.cteRelations()):
                self.ctes.add(str(pair._1()).lower())
        # innerChildren holds the CTE definitions of a WITH (plans that read datasets too).
        for child in [*_seq(plan.children()), *_seq(plan.innerChildren())]:
            if self.logical.isInstance(child):
                self.plan(child)
        for expression in _seq(plan.expressions()):
            self.expression(expression)

    def expression(self, expression: Any) -> None:
        # IN (SELECT ...), EXISTS, scalar and lateral subqueries carry a plan of their own.
        if self.subquery.isInstance(expression):
            self.plan(expression.plan())
        for child in _seq(expression.children()):
            self.expression(child)


def _dataset_name(relation: Relation) -> tuple[str, bool] | None:
    """``(name, explicit)`` for a reference that may be a pipeline dataset, ``None`` otherwise."""
    if len(relation.parts) == 1:
        return relation.parts[0], False
    if len(relation.parts) == 2 and relation.parts[0].lower() == "live":
        return relation.parts[1], True
    return None  # catalog.schema.table: left to the session catalog


def _without_live_prefixes(query: str, relations: list[Relation]) -> str:
    """Rewrite every ``LIVE.t`` reference to ``t`` at the parser's position (last one first)."""
    for relation in sorted((r for r in relations if len(r.parts) == 2 and r.parts[0].lower() == "live"),
                           key=lambda r: r.start or 0, reverse=True):
        if relation.start is None or relation.stop is None:
            continue
        # The span runs from the reference's first token to its last token's start: for
        # ``LIVE . t`` or ``STREAM(LIVE.t)`` the name token starts at ``stop`` (or just before a
        # closing parenthesis / alias); find the ``live`` keyword and the dot after it.
        segment = query[relation.start : relation.stop + 1]
        index = segment.lower().find("live")
        dot = segment.find(".", index)
        if index < 0 or dot < 0:
            continue
        after = dot + 1
        while after < len(segment) and segment[after].isspace():
            after += 1
        start = relation.start + index
        if start > 0 and query[start - 1] == "`":  # `live`.t
            start -= 1
        query = query[:start] + query[relation.start + after :]
    return query


def sql(
    spark: SparkSession, resolver: ReadResolver, query: str, args: Any = None, **kwargs: Any
) -> DataFrame:
    """``spark.sql(query, args, **kwargs)`` with the pipeline datasets it names resolved by
    ``resolver`` (see the module docstring)."""
    formatter = None
    if kwargs:
        from pyspark.sql.sql_formatter import SQLStringFormatter

        formatter = SQLStringFormatter(spark)  # PySpark's own {name} substitution, as spark.sql does
        query = formatter.format(query, **kwargs)
    try:
        try:
            relations, ctes = parse_relations(spark, query)
        except Py4JJavaError:  # not parsable: spark.sql raises Spark's own ParseException for it
            return spark.sql(query, args)
        frames: dict[str, DataFrame] = {}
        modes: dict[str, bool] = {}
        for relation in relations:
            found = _dataset_name(relation)
            if found is None or (not found[1] and found[0].lower() in ctes):
                continue
            name, explicit = found
            key = name.lower()
            if key in modes and modes[key] != relation.streaming:
                raise InvalidArgumentError(
                    f"spark.sql reads dataset '{name}' both with and without STREAM in one statement; "
                    "split the statement (localdlt resolves one read of a dataset per statement)",
                    params={"argument": "sqlQuery", "dataset": name},
                )
            if key in frames:
                continue
            frame = resolver.read_dataset(name, streaming=relation.streaming, explicit=explicit,
                                          options=relation.options or None)
            if frame is not None:
                frames[key] = frame
                modes[key] = relation.streaming
        if not frames:
            return spark.sql(query, args)
        return _with_views(spark, _without_live_prefixes(query, relations), args, frames)
    finally:
        if formatter is not None:
            formatter.clear()


def _with_views(spark: SparkSession, query: str, args: Any, frames: dict[str, DataFrame]) -> DataFrame:
    catalog = spark._jsparkSession.sessionState().catalog()  # noqa: SLF001 - save/restore temp views
    with _LOCK:
        saved = {name: catalog.getRawTempView(name) for name in frames}  # TemporaryViewRelation
        try:
            for name, frame in frames.items():
                frame.createOrReplaceTempView(name)
            return spark.sql(query, args)
        finally:
            for name, previous in saved.items():
                spark.catalog.dropTempView(name)
                if previous.isDefined():
                    catalog.createTempView(name, previous.get(), True)
