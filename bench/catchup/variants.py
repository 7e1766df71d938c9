"""One variant of the catch-up benchmark per process: prints one JSON line with its figures.

    python -m bench.catchup.variants plain|localdlt LANDING STORAGE

``plain`` is a hand-written Structured Streaming job doing the same work as the pipeline in
``bench/catchup/transformations`` (Bronze append, Silver filtered append, Gold recomputed);
``localdlt`` runs those very files through the local runtime.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from pyspark.sql import functions as F

from localdlt.session import SessionSettings, build_session

PIPELINE = Path(__file__).parent / "transformations"
SCHEMA = "event_id string, order_id string, channel string, state string, total double, event_time string"


def run_plain(spark, landing: str, storage: Path) -> None:
    """The hand-written twin of the pipeline: three queries, same order, same triggers."""
    tables, checkpoints = storage / "tables", storage / "checkpoints"
    (
        spark.readStream.schema(SCHEMA).json(landing)
        .writeStream.format("delta").option("checkpointLocation", str(checkpoints / "bench_bronze"))
        .trigger(availableNow=True).start(str(tables / "bench_bronze")).awaitTermination()
    )  # fmt: skip
    (
        spark.readStream.format("delta").load(str(tables / "bench_bronze"))
        .where("total >= 0 AND channel IS NOT NULL")
        .select("event_id", "order_id", "channel", "state",
                F.col("total").cast("decimal(18,2)").alias("total"),
                F.to_timestamp("event_time").alias("event_time"))
        .writeStream.format("delta").option("checkpointLocation", str(checkpoints / "bench_silver"))
        .trigger(availableNow=True).start(str(tables / "bench_silver")).awaitTermination()
    )  # fmt: skip
    (
        spark.read.format("delta").load(str(tables / "bench_silver"))
        .groupBy("channel", "state").agg(F.count("*").alias("orders"), F.sum("total").alias("revenue"))
        .write.format("delta").mode("overwrite").save(str(tables / "bench_gold"))
    )  # fmt: skip


def run_localdlt(spark, landing: str, storage: Path) -> None:
    """The pipeline files through localdlt's in-process API."""
    from localdlt.runner import run_update

    result = run_update([PIPELINE], storage, spark=spark, configuration={"bench.landing_path": landing})
    if not result.ok:
        raise SystemExit(f"localdlt update failed: {result.failed_flows()}")


def main(argv: list[str]) -> int:
    variant, landing, storage = argv[0], argv[1], Path(argv[2])
    started = time.perf_counter()
    spark = build_session(
        SessionSettings(app_name=f"bench-{variant}", extra_conf={"spark.ui.enabled": "false"})
    )
    spark.conf.set("bench.landing_path", landing)
    ready = time.perf_counter()
    {"plain": run_plain, "localdlt": run_localdlt}[variant](spark, landing, storage)
    done = time.perf_counter()
    silver = spark.read.format("delta").load(str(storage / "tables" / "bench_silver")).count()
    gold_orders = (
        spark.read.format("delta")
        .load(str(storage / "tables" / "bench_gold"))
        .agg(F.sum("orders"))
        .first()[0]
    )
    spark.stop()
    print(json.dumps({"variant": variant, "startup_s": ready - started, "update_s": done - ready,
                      "silver_rows": silver, "gold_orders": gold_orders}))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
