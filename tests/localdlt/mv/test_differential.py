"""Differential test: after every random change to a Delta source, each materialized view
refreshed incrementally equals a fresh recompute of its query, row for row.

A seeded generator (bounded, fast) drives appends with late events, updates, deletes, empty
commits and idle steps; values and grouping keys include NULLs. The views cover every technique
(no-op, append-only, group aggregate merge, touched groups, touched window partitions, complete
recompute — here for row-wise views over sources with updates; joins are covered by
test_planning.py), aggregates whose outputs are expressions over aggregate calls, a global
aggregate under an explode (dim_date's shape), an aggregate keyed by an exploded array's element
(gold_product_sales' shape), and a DISTINCT refreshed by appending only the pairs it has not
seen; the test also checks which technique each step got.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from localdlt import deltalog
from localdlt.mv import refresh as mv
from localdlt.mv.issues import Technique

SCHEMA = "id int, k string, v int, amount decimal(10,2), ts timestamp, tags array<string>"
KEYS = ("a", "b", "c", None)
START = datetime(2026, 1, 1, 12, 0, 0)


def _views(spark: SparkSession) -> dict[str, object]:
    return {
        # row-wise: filter, projection, explode
        "rows": lambda d: d.filter(F.col("v").isNull() | (F.col("v") > 2)).select(
            "id", "k", (F.col("v") * 2).alias("v2"), F.explode_outer("tags").alias("tag")
        ),
        # decomposable aggregate with FILTER, avg and a column computed above the aggregate
        "sums": lambda d: (
            d.groupBy("k", F.date_trunc("hour", "ts").alias("hour"))
            .agg(
                F.count("*").alias("n"),
                F.sum("v").alias("total"),
                F.min("v").alias("lo"),
                F.max("ts").alias("last"),
                F.avg("amount").alias("avg_amount"),
                F.avg("v").alias("avg_v"),
                F.expr("count(*) FILTER (WHERE v > 5)").alias("big"),
                # expressions over aggregates (and over a grouping key) inside the aggregation
                (F.sum("v") * 2 + F.count("*")).alias("mixed"),
                F.concat_ws("-", "k", F.max("id").cast("string")).alias("label"),
            )
            .withColumn("mean", F.col("total") / F.col("n"))
        ),
        # DISTINCT: an update only appends the pairs never seen
        "pairs": lambda d: d.select("k", "v").distinct(),
        # dim_date's shape: a global aggregate (no keys) whose outputs are expressions over
        # aggregate calls, under a filter and an explode
        "overall": lambda d: (
            d.agg(
                F.count("v").alias("n"),
                F.sum("amount").alias("amount"),
                F.date_trunc("hour", F.min("ts")).alias("lo"),
                F.date_trunc("hour", F.max("ts")).alias("hi"),
            )
            .filter(F.col("lo").isNotNull())
            .select(F.explode(F.sequence("lo", "hi", F.expr("INTERVAL 1 HOUR"))).alias("hour"), "n", "amount")
        ),
        # decomposable: max_by / min_by (with FILTER, NULL values and NULL orderings, a struct
        # ordering as the star schema's tie-break), distinct counts (one and two arguments), a
        # sorted collect_list, count_if
        "latest": lambda d: d.groupBy("k").agg(
            F.expr("max_by(v, ts)").alias("last_v"),
            F.expr("min_by(amount, ts) FILTER (WHERE v > 3)").alias("first_amount"),
            F.expr("max_by(tags, struct(date_trunc('hour', ts), id)) FILTER (WHERE tags IS NOT NULL)")
            .alias("last_tags"),
            F.expr("min_by(id, if(v IS NULL, NULL, ts))").alias("first_valued_id"),  # NULL orderings
            F.expr("count(DISTINCT v)").alias("values"),
            F.expr("count(DISTINCT v, amount) FILTER (WHERE id % 2 = 0)").alias("pairs"),
            (F.expr("max_by(id, ts)") + F.countDistinct("tags")).alias("mixed"),
            # a sorted list (gold_order_items' shape) and count_if
            F.sort_array(F.collect_list(F.when(F.col("v") > 2, F.struct("ts", "tags")))).alias("list"),
            F.expr("count_if(v > 5)").alias("big"),
        ),
        # not decomposable: an exact percentile (distinct counts and max_by are)
        "distinct": lambda d: d.groupBy("k").agg(
            F.countDistinct("v").alias("values"),
            F.expr("percentile(v, 0.5)").alias("median"),
            F.expr("max_by(id, ts)").alias("latest_id"),
        ),
        # gold_product_sales' shape: grouped by an element of an exploded array: the touched keys
        # come from exploding the changed rows (pre-images of updates and deletes included) and
        # the recompute restricts the exploded source to them
        "per_tag": lambda d: (
            d.filter(F.col("v").isNull() | (F.col("v") != 4))
            .select("id", "k", "ts", "v", F.explode("tags").alias("tag"))
            .groupBy("tag")
            .agg(
                F.countDistinct("k").alias("keys"),
                F.expr("max_by(id, ts)").alias("latest_id"),
                F.sum("v").alias("v"),
            )
        ),
        # window partitioned by a key
        "ranked": lambda d: d.select(
            "id",
            "k",
            "ts",
            F.row_number().over(Window.partitionBy("k").orderBy("ts", "id")).alias("rn"),
            F.lag("v").over(Window.partitionBy("k").orderBy("ts", "id")).alias("previous_v"),
        ),
    }


def _row(rng: random.Random, next_id: int, *, late: bool) -> tuple[object, ...]:
    minutes = rng.randint(-300, -60) if late else rng.randint(0, 240)
    value = rng.choice([None, rng.randint(0, 9)])
    amount = rng.choice([None, f"{rng.randint(0, 9999) / 100:.2f}"])
    tags = rng.choice([None, [], ["x"], ["x", "y"]])
    from decimal import Decimal

    return (
        next_id,
        rng.choice(KEYS),
        value,
        Decimal(amount) if amount else None,
        START + timedelta(minutes=minutes, seconds=next_id),  # unique: no ties for max_by
        tags,
    )


def _sorted(rows: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
    return sorted(rows, key=lambda r: tuple((v is None, str(v)) for v in r))


@pytest.fixture
def source(spark: SparkSession, tmp_path: Path) -> Path:
    path = tmp_path / "source"
    rng = random.Random(7)
    rows = [_row(rng, i, late=False) for i in range(12)]
    (
        spark.createDataFrame(rows, SCHEMA)
        .write.format("delta")
        .option("delta.enableChangeDataFeed", "true")
        .save(str(path))
    )
    return path


def _refresh_all(
    spark: SparkSession, views: dict[str, object], source: Path, root: Path
) -> dict[str, Technique]:
    return {name: _refresh(spark, name, query, source, root) for name, query in views.items()}


def _refresh(spark: SparkSession, name: str, query: object, source: Path, root: Path) -> Technique:
    version = deltalog.latest_version(source)
    df: DataFrame = query(spark.read.format("delta").option("versionAsOf", version).load(str(source)))  # type: ignore[operator]
    request = mv.Request(
        flow=name,
        dataset=name,
        query=df,
        target=root / "tables" / name,
        state_dir=root / "state" / name,
        source_versions={str(source): version},
        source_names={str(source): "source"},
        cost_model=None,  # every technique under test, on a tiny source the cost model would recompute
    )
    outcome = mv.refresh(spark, request)
    got = [tuple(r) for r in spark.read.format("delta").load(str(root / "tables" / name)).collect()]
    expected = [tuple(r) for r in df.collect()]
    assert _sorted(got) == _sorted(expected), f"{name} after {outcome.technique.short}"
    return outcome.technique


# step kind -> technique expected per view
APPEND = {
    "rows": Technique.APPEND_ONLY,
    "sums": Technique.GROUP_AGGREGATE,
    "overall": Technique.GROUP_AGGREGATE,
    "latest": Technique.GROUP_AGGREGATE,
    "distinct": Technique.GENERIC_AGGREGATE,
    "per_tag": Technique.GROUP_AGGREGATE,
    "ranked": Technique.WINDOW_FUNCTION,
    "pairs": Technique.GROUP_AGGREGATE,
}
CHANGE = {
    **APPEND,
    "rows": Technique.COMPLETE_RECOMPUTE,
    "sums": Technique.GENERIC_AGGREGATE,
    "overall": Technique.GENERIC_AGGREGATE,
    "pairs": Technique.GENERIC_AGGREGATE,
    "latest": Technique.GENERIC_AGGREGATE,
    "per_tag": Technique.GENERIC_AGGREGATE,
}
IDLE = dict.fromkeys(APPEND, Technique.NO_OP)



def test_incremental_refreshes_equal_recomputes(spark: SparkSession, source: Path, tmp_path: Path) -> None:
    views = _views(spark)
    root = tmp_path / "mv"
    first = _refresh_all(spark, views, source, root)
    assert set(first.values()) == {Technique.COMPLETE_RECOMPUTE}
    rng = random.Random(2026)
    table = DeltaTable.forPath(spark, str(source))
    next_id = 100
    seen: Counter[Technique] = Counter()
    steps = ["append", "idle", "new_groups", "append", "update", "delete", "empty"]
    new_group = None
    for step in steps:
        before = deltalog.latest_version(source)
        latest = deltalog.latest_version(root / "tables" / "latest")
        if step in ("append", "new_groups"):
            rows = [_row(rng, next_id + i, late=i % 2 == 0) for i in range(rng.randint(2, 4))]
            rows[0] = (*rows[0][:2], 42, *rows[0][3:])  # a value never seen: a new (k, v) pair
            if step == "new_groups":  # keys never seen: the groups' rows are appended, not merged
                new_group = f"new-{next_id}"
                rows = [(r[0], new_group, *r[2:]) for r in rows]
            elif new_group is not None:  # a group first appended, now merged with its stored buffers
                rows[-1] = (rows[-1][0], new_group, *rows[-1][2:])
            next_id += len(rows)
            spark.createDataFrame(rows, SCHEMA).write.format("delta").mode("append").save(str(source))
            expected = APPEND
        elif step == "empty":
            spark.createDataFrame([], SCHEMA).write.format("delta").mode("append").save(str(source))
            expected = APPEND
        elif step == "update":
            key = rng.choice(["a", "b"])
            table.update(F.col("k") == key, {"v": F.coalesce(F.col("v"), F.lit(0)) + 3, "k": F.lit(None)})
            expected = CHANGE
        elif step == "delete":
            table.delete(F.col("v").isNull() | (F.col("id") % 3 == 0))
            expected = CHANGE
        else:
            expected = IDLE
        if deltalog.latest_version(source) == before:
            expected = IDLE  # Delta made no commit (nothing matched, or an empty append)
        pairs = deltalog.latest_version(root / "tables" / "pairs")
        chosen = _refresh_all(spark, views, source, root)
        differing = {k: (v.short, expected[k].short) for k, v in chosen.items() if v != expected[k]}
        assert chosen == expected, (step, differing)
        seen.update(chosen.values())
        if step in ("append", "new_groups"):  # new pairs were only appended: readers stay append-only
            assert _appends_only(root / "tables" / "pairs", after_version=pairs)
        # a merge of stored groups rewrites rows; groups never seen are appended
        assert _appends_only(root / "tables" / "latest", after_version=latest) == (step == "new_groups")
    assert set(seen) == set(Technique), seen


def _appends_only(table: Path, after_version: int) -> bool:
    """Every commit of ``table`` after ``after_version`` only adds files, and there is one."""
    logs = [log for log in (table / "_delta_log").glob("*.json") if int(log.stem) > after_version]
    actions = [json.loads(line) for log in logs for line in log.read_text().splitlines() if line.strip()]
    return bool(logs) and not any("remove" in action for action in actions)
