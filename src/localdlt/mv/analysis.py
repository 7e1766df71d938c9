"""What a materialized view's query is, read from its analysed logical plan.

The shapes localdlt can maintain, all over ONE Delta source:

* ``ROW_WISE``: projections, filters, ``explode`` (``Generate``) — each output row comes from one
  input row, so new input rows give exactly the new output rows;
* ``AGGREGATE``: a ``GROUP BY`` at the top over a row-wise child, with only row-wise operators
  above it (projections, filters, ``explode``/``stack``: each output row comes from one group, so
  a group's rows are replaced together); ``decomposable`` when every aggregate function call in
  its outputs (also inside expressions such as ``to_date(min(t))``) merges from partial results
  (count/sum/min/max/avg/``count_if``, ``max_by``/``min_by`` of an orderable value,
  ``count(DISTINCT ...)``, ``collect_list`` whose list is sorted by ``sort_array``; see
  :mod:`localdlt.mv.rewrite` for their buffers), otherwise touched groups are recomputed;
* ``WINDOW``: window functions at the top with ``PARTITION BY`` (touched partitions recomputed).

Anything else is ``OTHER`` and carries the issue that blocks incrementalization, named with
Databricks' issue types and the blocking operator or expression.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pyspark.sql.types import (
    ArrayType,
    CalendarIntervalType,
    DataType,
    MapType,
    StructType,
    VariantType,
    _parse_datatype_json_string,
)

from localdlt.mv import jvm
from localdlt.mv.issues import Issue, IssueType, not_deterministic, not_incrementalizable

ROW_WISE = "ROW_WISE"
AGGREGATE = "AGGREGATE"
WINDOW = "WINDOW"
OTHER = "OTHER"

_PASS_THROUGH = {"Project", "Filter", "SubqueryAlias"}
# ``explain`` reads each dataset as an empty DataFrame aliased with this prefix + its name.
SOURCE_MARKER = "__localdlt_source__"
_ROW_WISE_NODES = _PASS_THROUGH | {"Generate"}
# Nodes allowed above an aggregate / window core: each of their output rows comes from one row
# of the core, so the rows of one group (partition) are still replaced together.
_TOP_NODES = _ROW_WISE_NODES
_MERGEABLE = {"Count", "CountIf", "Sum", "Min", "Max", "Average", "MaxBy", "MinBy", "CollectList"}
# max_by / min_by keep ``max(struct(ordering, value))``: the value must be orderable too.
_BY_VALUE = {"MaxBy", "MinBy"}
_TIME_FUNCTIONS = {
    "CurrentTimestamp",
    "CurrentDate",
    "Now",
    "LocalTimestamp",
    "CurrentTimeZone",
    "CurrentBatchTimestamp",
    "CurrentTime",
}


@dataclass
class Shape:
    """The analysed query: its shape, its Delta source and what blocks each technique."""

    kind: str
    plan: Any
    top: list[Any] = field(default_factory=list)
    core: Any = None
    source_paths: list[str] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    merge_issues: list[Issue] = field(default_factory=list)
    key_columns: list[str] | None = None
    output_columns: list[str] = field(default_factory=list)
    all_sources: list[str] = field(default_factory=list)
    untracked: list[str] = field(default_factory=list)

    @property
    def decomposable(self) -> bool:
        """An aggregate whose every aggregate function merges from partial results."""
        return self.kind == AGGREGATE and not self.merge_issues

    @property
    def keys(self) -> list[Any]:
        """Grouping expressions (aggregate) or partition expressions (window)."""
        if self.kind == AGGREGATE:
            return jvm.seq(self.core.groupingExpressions())
        if self.kind == WINDOW:
            return jvm.seq(self.core.partitionSpec())
        return []


def _norm_path(path: str) -> str:
    return path.removeprefix("file:").rstrip("/")


def _determinism_issues(plan: Any) -> list[Issue]:
    issues: list[Issue] = []
    stack = [plan]
    while stack:
        node = stack.pop()
        stack.extend(jvm.children(node))
        for expr in jvm.node_expressions(node):
            for sub in jvm.walk_expressions(expr):
                name = jvm.class_name(sub)
                if name in _TIME_FUNCTIONS:
                    issues.append(not_deterministic("TIME_FUNCTION", expression_name=str(sub.prettyName())))
                elif not sub.deterministic() and all(c.deterministic() for c in jvm.children(sub)):
                    sub_type = "USER_DEFINED_FUNCTION" if "UDF" in name else "NON_DETERMINISTIC_EXPRESSION"
                    issues.append(not_deterministic(sub_type, expression_name=_pretty(sub)))
    return list(dict.fromkeys(issues))


def _delta_paths(node: Any) -> list[str]:
    """Paths of a Delta relation (its file index is Delta's), else []."""
    try:
        index = jvm.class_name(node.relation().location())
    except Exception:  # noqa: BLE001 - not a file relation
        return []
    return [_norm_path(p) for p in jvm.relation_paths(node)] if index.startswith("Tahoe") else []


def _marked_source(node: Any) -> str | None:
    """``dataset:<name>`` for a stand-in source read by ``explain``, else None."""
    if jvm.class_name(node) != "SubqueryAlias":
        return None
    alias = str(node.alias())
    return "dataset:" + alias[len(SOURCE_MARKER) :] if alias.startswith(SOURCE_MARKER) else None


def _leaves(plan: Any) -> tuple[list[str], list[str]]:
    """Delta paths read anywhere in the plan, and the names of other (untracked) leaf nodes."""
    paths: list[str] = []
    untracked: list[str] = []
    stack = [plan]
    while stack:
        node = stack.pop()
        marked = _marked_source(node)
        if marked is not None:
            paths.append(marked)
            continue
        kids = jvm.children(node)
        stack.extend(kids)
        if kids:
            continue
        name = jvm.class_name(node)
        found = _delta_paths(node) if name == "LogicalRelation" else []
        if found:
            paths.extend(found)
        elif name not in ("LocalRelation", "OneRowRelation", "Range"):
            untracked.append(name)
    return paths, untracked


def _pretty(expr: Any) -> str:
    try:
        return str(expr.prettyName())
    except Exception:  # noqa: BLE001 - not every expression has one
        return jvm.class_name(expr)


def _row_wise(node: Any, paths: list[str]) -> Issue | None:
    """None when ``node`` is row-wise over file relations (their paths appended), else the issue."""
    name = jvm.class_name(node)
    marked = _marked_source(node)
    if marked is not None:
        paths.append(marked)
        return None
    if name in _ROW_WISE_NODES:
        return _row_wise(jvm.children(node)[0], paths)
    if name == "LogicalRelation":
        found = _delta_paths(node)
        if not found:
            return Issue(IssueType.INPUT_NOT_IN_DELTA, operator_name=name)
        paths.extend(found)
        return None
    if name == "LocalRelation":
        return None  # constant rows in the query itself: nothing to track
    if name == "Aggregate":
        return not_incrementalizable("AGGREGATE_NOT_TOP_NODE", operator_name=name)
    if name == "Window":
        return not_incrementalizable("WINDOW_FUNCTION_NOT_TOP_LEVEL", operator_name=name)
    if name == "Join":
        join_type = str(node.joinType().toString())
        return not_incrementalizable(
            "OPERATOR_NOT_SUPPORTED",
            operator_name=name,
            join_type=f"JOIN_TYPE_{join_type.upper().replace(' ', '_')}",
        )
    return not_incrementalizable("OPERATOR_NOT_SUPPORTED", operator_name=name)


def unaliased(expr: Any) -> Any:
    """``expr`` without its top ``Alias``."""
    return expr.child() if jvm.class_name(expr) == "Alias" else expr


def aggregate_leaves(expr: Any, grouping: list[Any]) -> list[Any]:
    """The aggregate function calls (``AggregateExpression``) an aggregate output is computed
    from, in pre-order; grouping expressions it reads are not descended into. ``to_date(min(t))``
    has one leaf, ``min(t)``; the output is rebuilt from the leaves' merged partial results."""
    if jvm.class_name(expr) == "AggregateExpression":
        return [expr]
    if any(expr.semanticEquals(key) for key in grouping):
        return []
    return [leaf for child in jvm.children(expr) for leaf in aggregate_leaves(child, grouping)]


def _sorted_calls(expr: Any) -> list[Any]:
    """The aggregate calls directly under ``sort_array`` in ``expr``: their order does not show."""
    return [
        kid
        for sub in jvm.walk_expressions(expr)
        if jvm.class_name(sub) == "SortArray"
        for kid in jvm.children(sub)[:1]
        if jvm.class_name(kid) == "AggregateExpression"
    ]


def _aggregate_merge_issues(aggregate: Any) -> list[Issue]:
    grouping = jvm.seq(aggregate.groupingExpressions())
    issues: list[Issue] = []
    for expr in jvm.seq(aggregate.aggregateExpressions()):
        if _key_of(expr, grouping) is not None:
            continue
        sorted_calls = _sorted_calls(unaliased(expr))
        for leaf in aggregate_leaves(unaliased(expr), grouping):
            function = leaf.aggregateFunction()
            name = jvm.class_name(function)
            if leaf.isDistinct() and name != "Count":
                issues.append(
                    not_incrementalizable("AGGREGATE_WITH_DISTINCT", expression_name=_pretty(function))
                )
            elif (
                name not in _MERGEABLE
                or (name in _BY_VALUE and not _orderable(function))
                # a list's order is that of the rows read: merged lists equal a recompute's only sorted
                or (name == "CollectList" and not any(leaf.semanticEquals(c) for c in sorted_calls))
            ):
                issues.append(
                    not_incrementalizable(
                        "AGGREGATE_WITH_UNSUPPORTED_EXPRESSION", expression_name=_pretty(function)
                    )
                )
    return issues


def _orderable(by_function: Any) -> bool:
    """Whether the value of a ``max_by`` / ``min_by`` call can be compared (Spark's
    ``RowOrdering.isOrderable``: no map, variant or interval anywhere in its type)."""
    value_type = _parse_datatype_json_string(jvm.children(by_function)[0].dataType().json())
    return _orderable_type(value_type)


def _orderable_type(data_type: DataType) -> bool:
    if isinstance(data_type, (MapType, VariantType, CalendarIntervalType)):
        return False
    if isinstance(data_type, ArrayType):
        return _orderable_type(data_type.elementType)
    if isinstance(data_type, StructType):
        return all(_orderable_type(f.dataType) for f in data_type.fields)
    return True


def _key_of(expr: Any, grouping: list[Any]) -> int | None:
    """Index of the grouping expression that ``expr`` (an aggregate output) just passes on."""
    candidate = unaliased(expr)
    for index, key in enumerate(grouping):
        if candidate.semanticEquals(key):
            return index
    return None


def _trace_to_output(top: list[Any], core: Any, key_attrs: list[Any]) -> list[str] | None:
    """Output column names carrying the core's key attributes through the nodes above, or None."""
    current = list(key_attrs)
    for node in reversed(top):
        if jvm.class_name(node) != "Project":
            # Filter / Generate / SubqueryAlias pass their child's attributes on (a Generate may
            # drop some: then the key is not an output column).
            outputs = jvm.seq(node.output())
            if not all(any(o.exprId().equals(a.exprId()) for o in outputs) for a in current):
                return None
            continue
        following = []
        for attr in current:
            found = None
            for item in jvm.seq(node.projectList()):
                source = item.child() if jvm.class_name(item) == "Alias" else item
                if jvm.class_name(source) == "AttributeReference" and source.exprId().equals(attr.exprId()):
                    found = item.toAttribute()
                    break
            if found is None:
                return None
            following.append(found)
        current = following
    return [str(attr.name()) for attr in current]


def _core_keys(core: Any) -> list[Any] | None:
    """The core node's output attributes that are its keys (None when a key is not output)."""
    name = jvm.class_name(core)
    if name == "Aggregate":
        grouping = jvm.seq(core.groupingExpressions())
        found: dict[int, Any] = {}
        for expr in jvm.seq(core.aggregateExpressions()):
            index = _key_of(expr, grouping)
            if index is not None and index not in found:
                found[index] = expr.toAttribute()
        return [found[i] for i in range(len(grouping))] if len(found) == len(grouping) else None
    keys = jvm.seq(core.partitionSpec())
    if not all(jvm.class_name(k) == "AttributeReference" for k in keys):
        return None
    return keys


def analyse(plan: Any) -> Shape:
    """The :class:`Shape` of an analysed plan (see the module docstring)."""
    shape = _analyse(plan)
    shape.all_sources, shape.untracked = _leaves(plan)
    shape.all_sources = list(dict.fromkeys(shape.all_sources))
    return shape


def _analyse(plan: Any) -> Shape:
    output = [str(a.name()) for a in jvm.seq(plan.output())]
    issues = _determinism_issues(plan)
    top: list[Any] = []
    node = plan
    while jvm.class_name(node) in _TOP_NODES:
        top.append(node)
        node = jvm.children(node)[0]
    paths: list[str] = []
    name = jvm.class_name(node)
    if name in ("Aggregate", "Window"):
        blocker = _row_wise(jvm.children(node)[0], paths)
        kind = AGGREGATE if name == "Aggregate" else WINDOW
        shape = Shape(kind, plan, top, node, paths, issues, output_columns=output)
        # Every structural blocker is named (a global window over an aggregate has two).
        blockers = [blocker] if blocker is not None else []
        if kind == WINDOW and not jvm.seq(node.partitionSpec()):
            blockers.insert(
                0, not_incrementalizable("WINDOW_FUNCTION_WITHOUT_PARTITION_BY", operator_name=name)
            )
        if blockers:
            shape.kind, shape.issues = OTHER, [*issues, *blockers]
            return shape
        if kind == AGGREGATE:
            shape.merge_issues = _aggregate_merge_issues(node)
        keys = _core_keys(node)
        shape.key_columns = _trace_to_output(top, node, keys) if keys is not None else None
        if shape.key_columns is None and (kind == WINDOW or jvm.seq(node.groupingExpressions())):
            shape.issues.append(
                not_incrementalizable(
                    "OPERATOR_NOT_SUPPORTED",
                    operator_name="Project",
                    detail="the grouping/partition keys are not columns of the output",
                )
            )
        _check_single_source(shape)
        return shape
    blocker = _row_wise(plan, paths)
    shape = Shape(
        ROW_WISE if blocker is None else OTHER, plan, top, None, paths, issues, output_columns=output
    )
    if blocker is not None:
        shape.issues.append(blocker)
    else:
        _check_single_source(shape)
    return shape


def _check_single_source(shape: Shape) -> None:
    if len(set(shape.source_paths)) > 1 or len(shape.source_paths) != len(set(shape.source_paths)):
        shape.issues.append(
            not_incrementalizable(
                "OPERATOR_NOT_SUPPORTED", operator_name="Union", detail="more than one source relation"
            )
        )
