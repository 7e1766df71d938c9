"""The few py4j moves the planner needs on Spark's analysed logical plans (classic Spark only).

Plans and expressions are read as Catalyst objects (``nodeName``, ``children``, ``sql``) and
turned back into DataFrames / Columns without re-parsing any SQL text, so attribute ids and
types stay exactly those of the user's query.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession

JavaObject = Any


def analyzed(df: DataFrame) -> JavaObject:
    """The analysed logical plan of ``df``."""
    return df._jdf.queryExecution().analyzed()


def normalised(df: DataFrame) -> JavaObject:
    """The analysed plan of ``df`` with ``DISTINCT`` / ``dropDuplicates()`` written as the
    ``GROUP BY`` they are (Spark's own optimizer rules, attribute ids kept), so that the planner
    sees one aggregate shape."""
    rules = df.sparkSession._jvm.org.apache.spark.sql.catalyst.optimizer  # type: ignore[union-attr]
    plan = rules.ReplaceDistinctWithAggregate.apply(analyzed(df))
    return rules.ReplaceDeduplicateWithAggregate.apply(plan)


def seq(items: Sequence[Any]) -> list[Any]:
    """A Python list of a Scala ``Seq`` (``items`` is the Scala object)."""
    return [items.apply(i) for i in range(items.size())]  # type: ignore[attr-defined]


def children(node: JavaObject) -> list[JavaObject]:
    """Child plans (or child expressions) of a Catalyst tree node."""
    return seq(node.children())


def class_name(node: JavaObject) -> str:
    """Simple class name (``Aggregate``, ``Count``, ...)."""
    return str(node.getClass().getSimpleName())


def walk_expressions(expr: JavaObject) -> Iterator[JavaObject]:
    """``expr`` and every expression under it, depth first."""
    yield expr
    for child in children(expr):
        yield from walk_expressions(child)


def node_expressions(node: JavaObject) -> list[JavaObject]:
    """The expressions held by one plan node (project list, condition, aggregates, ...)."""
    return seq(node.expressions())


def to_scala_seq(spark: SparkSession, items: Sequence[Any]) -> JavaObject:
    """A Scala immutable ``Seq`` of ``items``."""
    jvm = spark._jvm
    java_list = jvm.java.util.ArrayList()  # type: ignore[union-attr]
    for item in items:
        java_list.add(item)
    return jvm.scala.jdk.javaapi.CollectionConverters.asScala(java_list).toList()  # type: ignore[union-attr]


def with_children(spark: SparkSession, node: JavaObject, new_children: Sequence[JavaObject]) -> JavaObject:
    """``node`` with its children replaced (attribute ids untouched)."""
    return node.withNewChildren(to_scala_seq(spark, new_children).toIndexedSeq())


def dataframe(spark: SparkSession, plan: JavaObject) -> DataFrame:
    """A DataFrame over an (already analysed) logical plan."""
    jdf = spark._jvm.org.apache.spark.sql.classic.Dataset.ofRows(spark._jsparkSession, plan)  # type: ignore[union-attr]
    return DataFrame(jdf, spark)


def column(spark: SparkSession, expr: JavaObject) -> Column:
    """A Column over a resolved Catalyst expression (valid on DataFrames that carry its attributes)."""
    jvm = spark._jvm
    node = jvm.org.apache.spark.sql.classic.ExpressionColumnNode.apply(expr)  # type: ignore[union-attr]
    return Column(jvm.org.apache.spark.sql.Column(node))  # type: ignore[union-attr]


def relation_paths(node: JavaObject) -> list[str]:
    """Root paths of a file-based relation (a Delta table read by path), else []."""
    try:
        location = node.relation().location()
        return [str(p.toString()) for p in seq(location.rootPaths())]
    except Exception:  # noqa: BLE001 - not a file relation
        return []


def plan_fingerprint(plan: JavaObject) -> str:
    """A text that changes when the query's meaning changes (attribute ids normalised)."""
    return str(plan.canonicalized().toString())
