"""Incremental versions of an analysed query, built by plan surgery (attribute ids kept):

* the query's relation replaced by the rows a change data feed reports (``with_changes``);
* the core (aggregate / window) restricted to touched keys (``restricted_to_keys``);
* aggregate buffers (count/sum/min/max, avg as sum + count, ``max_by``/``min_by`` as the extreme
  ``struct(ordering, value)``, ``count(DISTINCT ...)`` as the set of values, a sorted
  ``collect_list`` as the list) and their re-aggregation;
* the nodes above the core applied to rows rebuilt from buffers (``finish_from_buffers``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from localdlt.mv import jvm
from localdlt.mv.analysis import Shape, _key_of, _norm_path, aggregate_leaves, unaliased

CDF_COLUMNS = ("_change_type", "_commit_version", "_commit_timestamp")
KEY = "__k{}"


def change_feed(spark: SparkSession, path: str, start: int, end: int, *, inserts_only: bool) -> DataFrame:
    """Rows of versions ``start..end`` from the table's change data feed, CDF columns dropped."""
    df = (
        spark.read.format("delta")
        .option("readChangeFeed", "true")
        .option("startingVersion", start)
        .option("endingVersion", end)
        .load(path)
    )
    if inserts_only:
        df = df.filter(F.col("_change_type") == "insert")
    return df.drop(*CDF_COLUMNS)


def _replace(spark: SparkSession, node: Any, path: str, replacement: Any) -> Any:
    if jvm.class_name(node) == "LogicalRelation" and path in (
        _norm_path(p) for p in jvm.relation_paths(node)
    ):
        return replacement(node)
    kids = jvm.children(node)
    if not kids:
        return node
    return jvm.with_children(spark, node, [_replace(spark, k, path, replacement) for k in kids])


def with_source(spark: SparkSession, plan: Any, path: str, rows: DataFrame) -> Any:
    """``plan`` reading ``rows`` instead of the Delta relation at ``path`` (same attribute ids)."""
    jv = spark._jvm
    rows_plan = jvm.analyzed(rows)
    by_name = {str(a.name()): a for a in jvm.seq(rows_plan.output())}
    nil = jvm.to_scala_seq(spark, [])

    def project(relation: Any) -> Any:
        aliases = []
        for attr in jvm.seq(relation.output()):
            new = by_name[str(attr.name())]
            aliases.append(
                jv.org.apache.spark.sql.catalyst.expressions.Alias(  # type: ignore[union-attr]
                    new, attr.name(), attr.exprId(), nil, jv.scala.Option.empty(), nil
                )
            )  # type: ignore[union-attr]
        return jv.org.apache.spark.sql.catalyst.plans.logical.Project(  # type: ignore[union-attr]
            jvm.to_scala_seq(spark, aliases), rows_plan
        )

    return _replace(spark, plan, path, project)


def rebuild(spark: SparkSession, shape: Shape, core: Any) -> Any:
    """The query's plan with its core node replaced (the nodes above it kept)."""
    node = core
    for parent in reversed(shape.top):
        node = jvm.with_children(spark, parent, [node])
    return node


def key_columns(spark: SparkSession, shape: Shape) -> list[Column]:
    """Columns computing the grouping / partition keys on the core's child."""
    return [jvm.column(spark, k) for k in shape.keys]


def touched_keys(spark: SparkSession, shape: Shape, changed_child: DataFrame) -> DataFrame:
    """Distinct key values (``__k0..``) of the changed rows after the core's child."""
    return changed_child.select(
        *[c.alias(KEY.format(i)) for i, c in enumerate(key_columns(spark, shape))]
    ).distinct()


def restricted_child(spark: SparkSession, shape: Shape, child: DataFrame, keys: DataFrame) -> DataFrame:
    """The core's child limited to rows whose keys are in ``keys`` (NULL keys match NULL)."""
    conditions = [c.eqNullSafe(keys[KEY.format(i)]) for i, c in enumerate(key_columns(spark, shape))]
    if not conditions:
        return child
    return child.join(keys, reduce(lambda a, b: a & b, conditions), "left_semi")


def core_child(spark: SparkSession, shape: Shape, plan: Any | None = None) -> DataFrame:
    """The core node's input as a DataFrame (of ``plan``'s core when given, e.g. over changes)."""
    core = shape.core if plan is None else _core_of(plan, len(shape.top))
    return jvm.dataframe(spark, jvm.children(core)[0])


def _core_of(plan: Any, depth: int) -> Any:
    node = plan
    for _ in range(depth):
        node = jvm.children(node)[0]
    return node


def recompute_for_keys(spark: SparkSession, shape: Shape, keys: DataFrame) -> DataFrame:
    """The query's output rows for the touched keys only, recomputed from the whole source."""
    child = restricted_child(spark, shape, core_child(spark, shape), keys)
    core = jvm.with_children(spark, shape.core, [jvm.analyzed(child)])
    return jvm.dataframe(spark, rebuild(spark, shape, core))


# -- aggregate buffers -------------------------------------------------------------------------
@dataclass(frozen=True)
class Buffer:
    """One stored partial result of an aggregate function call (``kind``: count/sum/min/max/
    avg_sum/avg_count/max_by/min_by/count_distinct/collect_list) of output ``output``, ``leaf``-th call in it
    (see ``aggregate_leaves``)."""

    output: int
    leaf: int
    kind: str
    column: str


def _leaves(shape: Shape) -> list[tuple[int, int, Any]]:
    """``(output index, leaf index, AggregateExpression)`` of every aggregate function call."""
    grouping = jvm.seq(shape.core.groupingExpressions())
    out = []
    for index, expr in enumerate(jvm.seq(shape.core.aggregateExpressions())):
        if _key_of(expr, grouping) is None:
            leaves = aggregate_leaves(unaliased(expr), grouping)
            out.extend((index, j, leaf) for j, leaf in enumerate(leaves))
    return out


# Buffer kinds of the aggregate functions whose kind is not their lower-cased class name.
_KINDS = {
    "Average": ("avg_sum", "avg_count"),
    "CountIf": ("count",),
    "MaxBy": ("max_by",),
    "MinBy": ("min_by",),
    "CollectList": ("collect_list",),
}


def _kinds(leaf: Any) -> tuple[str, ...]:
    name = jvm.class_name(leaf.aggregateFunction())
    if name == "Count" and leaf.isDistinct():
        return ("count_distinct",)
    return _KINDS.get(name, (name.lower(),))


def buffers_of(shape: Shape) -> list[Buffer]:
    """The buffer columns of a decomposable aggregate, in a stable order."""
    return [
        Buffer(index, j, kind, f"__b{index}_{j}_{kind}")
        for index, j, leaf in _leaves(shape)
        for kind in _kinds(leaf)
    ]


def _buffer_column(spark: SparkSession, kind: str, aggregate: Any) -> Column:
    """The partial aggregate of one buffer over raw rows (see :func:`buffer_frame`)."""
    function = aggregate.aggregateFunction()
    if kind in ("count", "sum", "min", "max"):
        return jvm.column(spark, aggregate)
    arguments = [jvm.column(spark, child) for child in jvm.children(function)]
    condition = jvm.column(spark, aggregate.filter().get()) if aggregate.filter().isDefined() else None

    def where(value: Column, *not_null: Column) -> Column:
        """``value`` for rows that pass the FILTER clause and have every ``not_null`` set, else NULL."""
        tests = [c for c in (condition, *[n.isNotNull() for n in not_null]) if c is not None]
        return F.when(reduce(lambda a, b: a & b, tests), value) if tests else value

    if kind == "avg_sum":
        decimal = str(function.dataType().typeName()).startswith("decimal")
        return F.sum(where(arguments[0] if decimal else arguments[0].cast("double")))
    if kind == "avg_count":
        return F.count(where(arguments[0]))
    if kind in ("max_by", "min_by"):
        # Rows whose ordering is NULL never win, as in Spark's MaxBy/MinBy. Among equal orderings
        # the greater (max_by) / smaller (min_by) value wins; Spark's own pick is arbitrary there.
        value, ordering = arguments
        extreme = F.max if kind == "max_by" else F.min
        return extreme(where(F.struct(ordering.alias("o"), value.alias("v")), ordering))
    if kind == "collect_list":  # NULLs are skipped, as collect_list skips them
        return F.collect_list(where(arguments[0]))
    # count_distinct: the distinct tuples whose every argument is non-NULL, as COUNT(DISTINCT) counts
    values = arguments[0] if len(arguments) == 1 else F.struct(*arguments)
    return F.collect_set(where(values, *arguments))


def buffer_frame(spark: SparkSession, shape: Shape, child: DataFrame) -> DataFrame:
    """``child`` aggregated per key into buffers: ``__k0.., __b<i>_<j>_<kind>..``."""
    keys = [c.alias(KEY.format(i)) for i, c in enumerate(key_columns(spark, shape))]
    leaves = {(index, j): leaf for index, j, leaf in _leaves(shape)}
    columns = [
        _buffer_column(spark, buf.kind, leaves[(buf.output, buf.leaf)]).alias(buf.column)
        for buf in buffers_of(shape)
    ]
    grouped = child.groupBy(*keys) if keys else child.groupBy()
    return grouped.agg(*columns) if columns else child.select(*keys).distinct()


_MERGE: dict[str, Any] = {
    "count": F.sum,
    "sum": F.sum,
    "avg_sum": F.sum,
    "avg_count": F.sum,
    "min": F.min,
    "max": F.max,
    "min_by": F.min,
    "max_by": F.max,
    "count_distinct": lambda c: F.array_distinct(F.flatten(F.collect_list(c))),
    "collect_list": lambda c: F.flatten(F.collect_list(c)),  # in some order: sorted above
}


def merge_buffers(shape: Shape, frames: DataFrame) -> DataFrame:
    """Re-aggregate buffer rows of the same keys (state rows ∪ partial rows) into one row per key."""
    n_keys = len(shape.keys)
    keys = [KEY.format(i) for i in range(n_keys)]
    types = dict(frames.dtypes)
    merged = []
    for buf in buffers_of(shape):
        column = _MERGE[buf.kind](F.col(buf.column))
        if _MERGE[buf.kind] is F.sum:  # sums widen (a decimal sum gains 10 digits): back to its type
            column = column.cast(types[buf.column])
        merged.append(column.alias(buf.column))
    grouped = frames.groupBy(*keys) if keys else frames.groupBy()
    return grouped.agg(*merged) if merged else frames.select(*keys).distinct()


def _leaf_value(buf: Buffer, leaf: Any) -> Column:
    """The value of one aggregate function call from its merged buffer column(s)."""
    if buf.kind == "count":
        return F.coalesce(F.col(buf.column), F.lit(0))
    if buf.kind == "count_distinct":
        return F.coalesce(F.size(F.col(buf.column)), F.lit(0)).cast("long")
    if buf.kind in ("max_by", "min_by"):
        return F.col(buf.column).getField("v")
    if buf.kind != "avg_sum":
        return F.col(buf.column)
    result_type = leaf.aggregateFunction().dataType()
    total, count = F.col(buf.column), F.col(f"__b{buf.output}_{buf.leaf}_avg_count")
    if str(result_type.typeName()).startswith("decimal"):
        value = (total / count.cast("decimal(20,0)")).cast(str(result_type.simpleString()))
    else:
        value = total / count.cast("double")
    return F.when(count > 0, value)


def _substitute(spark: SparkSession, expr: Any, grouping: list[Any], keys: list[Any], leaves: Any) -> Any:
    """``expr`` (an aggregate output) with each aggregate function call replaced by the next of
    ``leaves`` and each grouping expression by its key attribute (same pre-order as
    ``aggregate_leaves``)."""
    if jvm.class_name(expr) == "AggregateExpression":
        return next(leaves)
    for index, key in enumerate(grouping):
        if expr.semanticEquals(key):
            return keys[index]
    kids = jvm.children(expr)
    if not kids:
        return expr
    return jvm.with_children(spark, expr, [_substitute(spark, k, grouping, keys, leaves) for k in kids])


def finish_from_buffers(spark: SparkSession, shape: Shape, buffers: DataFrame) -> DataFrame:
    """The query's output rows from buffer rows: each aggregate function call's value rebuilt from
    its buffers, each aggregate output computed over them with its original attribute id, then
    the nodes above the aggregate applied unchanged."""
    jv = spark._jvm
    grouping = jvm.seq(shape.core.groupingExpressions())
    leaves = {(index, j): leaf for index, j, leaf in _leaves(shape)}
    values = [
        _leaf_value(buf, leaves[(buf.output, buf.leaf)]).alias(f"__a{buf.output}_{buf.leaf}")
        for buf in buffers_of(shape)
        if buf.kind != "avg_count"
    ]
    keys = [F.col(KEY.format(i)) for i in range(len(grouping))]
    values_plan = jvm.analyzed(buffers.select(*keys, *values))
    attributes = {str(a.name()): a for a in jvm.seq(values_plan.output())}
    key_attributes = [attributes[KEY.format(i)] for i in range(len(grouping))]
    nil = jvm.to_scala_seq(spark, [])
    aliases = []
    pairs = zip(jvm.seq(shape.core.output()), jvm.seq(shape.core.aggregateExpressions()), strict=True)
    for index, (attr, expr) in enumerate(pairs):
        key_index = _key_of(expr, grouping)
        if key_index is not None:
            new = key_attributes[key_index]
        else:
            calls = iter(attributes[f"__a{index}_{j}"] for j in range(len(leaves)) if (index, j) in leaves)
            new = _substitute(spark, unaliased(expr), grouping, key_attributes, calls)
        aliases.append(
            jv.org.apache.spark.sql.catalyst.expressions.Alias(  # type: ignore[union-attr]
                new, attr.name(), attr.exprId(), nil, jv.scala.Option.empty(), nil
            )
        )  # type: ignore[union-attr]
    core = jv.org.apache.spark.sql.catalyst.plans.logical.Project(  # type: ignore[union-attr]
        jvm.to_scala_seq(spark, aliases), values_plan
    )
    return jvm.dataframe(spark, rebuild(spark, shape, core))
