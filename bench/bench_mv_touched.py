"""What an incremental refresh of ``fact_orders`` costs when the new events touch existing orders,
not only new ones (``bench_mv_growth`` appends events of new orders only).

    python -m bench mv_touched
    python -m bench.bench_mv_touched --size 5000000 --new-rows 2000

Over a Silver-shaped Delta table of ``--size`` rows (``bench_mv_growth.silver_rows``: five events per
order), ``fact_orders`` is computed once (a complete recompute, which leaves the per-order buffers
and the view spread over every file by the aggregate's hash partitioning), then three updates of
``--new-rows`` events each are refreshed forced-incremental (``cost_model=None``), in this order:

1. events of new orders only (the growth bench's case: an append, no MERGE);
2. half of new orders, half more events of the orders update 1 created (recent orders: their rows
   sit in the files the last refresh wrote);
3. half of new orders, half more events of orders from the middle of the history (rows in every
   file: the MERGE rewrites every file of the buffers and of the view).

Prints each update's technique and seconds and writes ``bench/results/mv_touched.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from bench.session import spark_and_folder
from bench.bench_mv_growth import RESULTS, silver_rows
from localdlt import deltalog
from localdlt.mv import refresh as mv
from localdlt.session import SessionSettings
from orders_lakehouse.transforms import star

START = 1_790_000_000


def _more_events(spark: SparkSession, first_id: int, count: int, tag: str) -> DataFrame:
    """Events of the orders of ids ``first_id..``, under new event ids (``tag`` prefixed)."""
    return silver_rows(spark, count, first_id, START).withColumn("event_id", F.concat(F.lit(tag), "event_id"))


def run(spark: SparkSession, root: Path, size: int, new_rows: int) -> list[dict[str, object]]:
    """The three updates above, each with its technique and seconds."""
    source = root / "silver"
    history = silver_rows(spark, size, 0, START).write.format("delta")
    history.option("delta.enableChangeDataFeed", "true").save(str(source))

    def refresh() -> mv.Outcome:
        version = deltalog.latest_version(source)
        query = star.fact_orders(spark.read.format("delta").option("versionAsOf", version).load(str(source)))
        return mv.refresh(
            spark,
            mv.Request(
                flow="fact_orders",
                dataset="fact_orders",
                query=query,
                target=root / "fact_orders",
                state_dir=root / "state",
                source_versions={str(source): version},
                source_names={str(source): "silver_order_events"},
                cost_model=None,
            ),
        )

    refresh()
    half = new_rows // 2
    updates = {
        "new orders only": lambda: silver_rows(spark, new_rows, size, START),
        "half on the orders the last update created": lambda: silver_rows(
            spark, half, size + new_rows, START
        ).unionByName(_more_events(spark, size, new_rows - half, "r")),
        "half on orders from the middle of the history": lambda: silver_rows(
            spark, half, size + new_rows + half, START
        ).unionByName(_more_events(spark, size // 2, new_rows - half, "m")),
    }
    out = []
    for name, rows in updates.items():
        rows().write.format("delta").mode("append").save(str(source))
        started = time.perf_counter()
        outcome = refresh()
        seconds = round(time.perf_counter() - started, 2)
        out.append({"update": name, "technique": outcome.technique.short, "seconds": seconds})
        print(f"{size:,} rows, {name}: {outcome.technique.short} {seconds} s")
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench_mv_touched", description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=5_000_000)
    parser.add_argument("--new-rows", type=int, default=2_000)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    with spark_and_folder(SessionSettings(app_name="bench-mv-touched"), "mv-touched-") as (spark, root):
        updates = run(spark, root, args.size, args.new_rows)
    args.out.mkdir(parents=True, exist_ok=True)
    summary = {"bench": "mv_touched", "rows": args.size, "new_rows": args.new_rows, "updates": updates}
    (args.out / "mv_touched.json").write_text(json.dumps(summary, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
