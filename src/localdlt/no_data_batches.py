"""Which streaming flows can run without Spark's no-data micro-batches.

After a micro-batch that moved the watermark, Spark runs one more batch without input
(``spark.sql.streaming.noDataMicroBatches.enabled``) so that stateful operators can act on the new
watermark: windowed aggregations and outer joins emit their final rows, deduplication evicts old
keys. For a flow whose only stateful operators are deduplications that batch writes nothing: it
evicts state, which the flow's next data batch does as well. Yet localdlt pays it in full — a
planned and executed micro-batch, an empty Delta commit, its event — after every data batch of
the orders Silver flow (1.5–3.5 s of each small update; ``bench/bench_warm.py``). Such flows
start with no-data batches off; any other stateful plan, or an operator this module does not
know, keeps Spark's default.
"""

from __future__ import annotations

from pyspark.sql import DataFrame

from localdlt.mv import jvm

NO_DATA_BATCHES_KEY = "spark.sql.streaming.noDataMicroBatches.enabled"
# Stateful operators whose no-data batch only evicts state (no row is emitted by it).
EVICTION_ONLY = frozenset({"Deduplicate", "DeduplicateWithinWatermark"})
# Stateless operators of an analysed streaming plan. Anything else (aggregates, joins, windows,
# (flat)mapGroupsWithState, transformWithState, ...) may emit rows on a watermark move.
STATELESS = frozenset(
    {
        "Project",
        "Filter",
        "Union",
        "EventTimeWatermark",
        "SubqueryAlias",
        "View",
        "Generate",
        "Sample",
        "Repartition",
        "RepartitionByExpression",
        "CollectMetrics",
        "StreamingRelation",
        "StreamingRelationV2",
        "StreamingExecutionRelation",
        "LogicalRelation",
        "LocalRelation",
        "DeserializeToObject",
        "SerializeFromObject",
        "MapElements",
        "MapPartitions",
        "MapInPandas",
        "PythonMapInArrow",
        "MapInArrow",
    }
)


def stream_conf(df: DataFrame) -> dict[str, str]:
    """The Spark conf a streaming flow over ``df`` starts with: no-data batches off when its only
    stateful operators are deduplications, nothing otherwise (Spark's default)."""
    names = {jvm.class_name(node) for node in _nodes(jvm.analyzed(df))}
    if names & EVICTION_ONLY and names <= EVICTION_ONLY | STATELESS:
        return {NO_DATA_BATCHES_KEY: "false"}
    return {}


def _nodes(plan: jvm.JavaObject) -> list[jvm.JavaObject]:
    """Every node of a logical plan, the root first."""
    found = [plan]
    for child in jvm.children(plan):
        found.extend(_nodes(child))
    return found
