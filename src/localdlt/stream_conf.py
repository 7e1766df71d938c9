"""The Spark conf a streaming flow starts with, decided from its analysed plan when the pipeline is
planned (the dataset's and the flow's ``spark_conf`` override it).

**No-data micro-batches.** After a micro-batch that moved the watermark, Spark runs one more batch
without input (``spark.sql.streaming.noDataMicroBatches.enabled``) so that stateful operators can
act on the new watermark: windowed aggregations and outer joins emit their final rows, deduplication
evicts old keys. For a flow whose only stateful operators are deduplications that batch writes
nothing: it evicts state, which the flow's next data batch does as well. Yet localdlt pays it in
full — a planned and executed micro-batch, an empty Delta commit, its event — after every data batch
of the orders Silver flow (1.5–3.5 s of each small update; ``bench/bench_warm.py``). Such flows
start with no-data batches off; any other stateful plan, or an operator this module does not know,
keeps Spark's default.

**State partitions.** A stateful stream keeps one state store per shuffle partition, for good: the
number is written into its checkpoint by the first batch. Each store is loaded, written and
maintained on every micro-batch, and each partition writes its own Parquet file to the target.
localdlt's session default (twice the cores, at least 8) suits batch work, where adaptive query
execution coalesces partitions; streaming queries run without it. So a stateful flow whose
checkpoint is new starts with no more partitions than the session has cores (measured on the
orders Silver flow, warm, 1,000 events: a micro-batch of 2.2-2.9 s with 8 partitions, 1.5-1.9 s with
one; ``bench/RESULTS.md``). A session set to fewer keeps its number.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession

from localdlt.mv import jvm

NO_DATA_BATCHES_KEY = "spark.sql.streaming.noDataMicroBatches.enabled"
SHUFFLE_PARTITIONS_KEY = "spark.sql.shuffle.partitions"
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
    stateful operators are deduplications, and at most one state partition per core when it has
    any operator that is not known to be stateless; nothing for a stateless plan."""
    names = {jvm.class_name(node) for node in _nodes(jvm.analyzed(df))}
    conf: dict[str, str] = {}
    if names - STATELESS:
        conf[SHUFFLE_PARTITIONS_KEY] = str(state_partitions(df.sparkSession))
    if names & EVICTION_ONLY and names <= EVICTION_ONLY | STATELESS:
        conf[NO_DATA_BATCHES_KEY] = "false"
    return conf


def state_partitions(spark: SparkSession) -> int:
    """The session's shuffle partitions, capped at its cores (``defaultParallelism``: the local
    master's threads, or a cluster's executor cores)."""
    configured = int(spark.conf.get(SHUFFLE_PARTITIONS_KEY, "200"))
    return max(1, min(configured, spark.sparkContext.defaultParallelism))


def _nodes(plan: jvm.JavaObject) -> list[jvm.JavaObject]:
    """Every node of a logical plan, the root first."""
    found = [plan]
    for child in jvm.children(plan):
        found.extend(_nodes(child))
    return found
