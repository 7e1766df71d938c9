"""Growth of a materialized-view refresh with history: Gold's views over a Silver-shaped Delta
table of 50,000 and of 5,000,000 rows, each receiving the same 2,000 new rows.

    python -m bench mv_growth
    python -m bench.bench_mv_growth --sizes 50000 5000000 --new-rows 2000

For each history size, in one process and one session: the Silver-shaped table is written
directly (no pipeline); today's refresh (a full recompute of every view, overwrite) is timed;
then each view is refreshed once by ``localdlt.mv`` (first computation), 2,000 rows are appended
and the incremental refresh is timed. Reported per view: technique and seconds; the ratio of the
larger history to the smaller (target ≤ 1.3x). Writes ``bench/results/mv_growth.json`` and a PNG
plot of update time against history size (``bench/results/mv_growth.png``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from localdlt import deltalog
from localdlt.mv import refresh as mv
from localdlt.session import SessionSettings, build_session
from orders_lakehouse.transforms import kpis, star

RESULTS = Path(__file__).parent / "results"
VIEWS: dict[str, Callable[[DataFrame], DataFrame]] = {
    "gold_payment_health": kpis.payment_health,
    "gold_sales_per_minute": kpis.sales_per_minute,
    "dim_customer": star.dim_customer,
    "dim_product": star.dim_product,
}
STATUSES = ["created", "paid", "payment_failed", "shipped", "delivered", "cancelled"]


def silver_rows(spark: SparkSession, count: int, first_id: int, start_seconds: int) -> DataFrame:
    """``count`` Silver-shaped events (ids from ``first_id``), one every 0.1 s of event time."""
    statuses = F.array(*[F.lit(s) for s in STATUSES])
    item = F.struct(
        F.concat(F.lit("sku-"), (F.col("id") % 500).cast("string")).alias("sku"),
        F.concat(F.lit("product "), (F.col("id") % 500).cast("string")).alias("name"),
        (F.col("id") % 3 + 1).cast("int").alias("quantity"),
        ((F.col("id") % 9000) / 100 + 1).cast("decimal(18,2)").alias("unit_price"),
    )
    return spark.range(first_id, first_id + count).select(
        F.format_string("e-%012d", "id").alias("event_id"),
        F.format_string("o-%010d", (F.col("id") / 5).cast("long")).alias("order_id"),
        statuses[(F.col("id") % 6).cast("int")].alias("status"),
        F.timestamp_seconds(F.lit(start_seconds) + F.col("id") / 10).alias("event_time"),
        F.format_string("c-%07d", (F.col("id") / 40).cast("long")).alias("customer_id"),
        F.sha2(F.col("id").cast("string"), 256).alias("customer_email_hash"),
        F.lit("***.***.***-**").alias("customer_document_masked"),
        F.lit("Sao Paulo").alias("customer_city"),
        F.array(*[F.lit(s) for s in ("SP", "RJ", "MG", "BA")])[(F.col("id") % 4).cast("int")].alias(
            "customer_state"
        ),
        F.array(*[F.lit(c) for c in ("app", "web", "store")])[(F.col("id") % 3).cast("int")].alias("channel"),
        F.array(*[F.lit(m) for m in ("pix", "credit_card", "boleto")])[(F.col("id") % 3).cast("int")].alias(
            "payment_method"
        ),
        ((F.col("id") % 50000) / 100 + 5).cast("decimal(18,2)").alias("total"),
        F.when(F.col("id") % 6 == 0, F.array(item)).alias("items"),
    )


def _timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def run_size(spark: SparkSession, root: Path, size: int, new_rows: int) -> dict[str, object]:
    """Full-recompute and incremental refresh times of every view over ``size`` rows."""
    source = root / f"silver_{size}"
    silver_rows(spark, size, 0, 1_790_000_000).write.format("delta").option(
        "delta.enableChangeDataFeed", "true"
    ).save(str(source))
    out: dict[str, object] = {"rows": size, "views": {}}
    views: dict[str, dict[str, object]] = out["views"]  # type: ignore[assignment]

    def query(name: str, version: int) -> DataFrame:
        return VIEWS[name](spark.read.format("delta").option("versionAsOf", version).load(str(source)))

    def request(name: str, version: int) -> mv.Request:
        return mv.Request(
            flow=name,
            dataset=name,
            query=query(name, version),
            target=root / f"{name}_{size}",
            state_dir=root / f"state_{name}_{size}",
            source_versions={str(source): version},
            source_names={str(source): "silver_order_events"},
        )

    version = deltalog.latest_version(source)
    for name in VIEWS:
        full = _timed(
            lambda n=name: (
                query(n, version).write.format("delta").mode("overwrite").save(str(root / f"full_{n}_{size}"))
            )
        )
        mv.refresh(spark, request(name, version))  # first computation (and aggregate state)
        views[name] = {"full_recompute_s": round(full, 2)}
    silver_rows(spark, new_rows, size, 1_790_000_000 + size // 10).write.format("delta").mode("append").save(
        str(source)
    )
    version = deltalog.latest_version(source)
    for name in VIEWS:
        outcome = None

        def incremental(n: str = name) -> None:
            nonlocal outcome
            outcome = mv.refresh(spark, request(n, version))

        seconds = _timed(incremental)
        views[name].update(technique=outcome.technique.short, incremental_s=round(seconds, 2))  # type: ignore[union-attr]
    out["full_recompute_s"] = round(sum(v["full_recompute_s"] for v in views.values()), 2)  # type: ignore[misc]
    out["incremental_s"] = round(sum(v["incremental_s"] for v in views.values()), 2)  # type: ignore[misc]
    return out


def plot(results: list[dict[str, object]], path: Path) -> None:
    """Update time against history size, full recompute vs incremental, one line each."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [r["rows"] for r in results]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(sizes, [r["full_recompute_s"] for r in results], marker="o", label="full recompute (today)")
    ax.plot(sizes, [r["incremental_s"] for r in results], marker="o", label="incremental refresh")
    ax.set_xscale("log")
    ax.set_xlabel("rows of history in silver_order_events")
    ax.set_ylabel("seconds to refresh the Gold views")
    ax.set_title("Gold refresh after 2,000 new rows")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench_mv_growth", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50_000, 5_000_000])
    parser.add_argument("--new-rows", type=int, default=2_000)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    spark = build_session(SessionSettings(app_name="bench-mv-growth"))
    root = Path(tempfile.mkdtemp(prefix="mv-growth-"))
    try:
        results = [run_size(spark, root, size, args.new_rows) for size in args.sizes]
    finally:
        shutil.rmtree(root, ignore_errors=True)
        spark.stop()
    smallest, largest = results[0], results[-1]
    summary = {
        "bench": "mv_growth",
        "new_rows": args.new_rows,
        "results": results,
        "incremental_ratio": round(largest["incremental_s"] / smallest["incremental_s"], 2),  # type: ignore[operator]
        "full_recompute_ratio": round(largest["full_recompute_s"] / smallest["full_recompute_s"], 2),  # type: ignore[operator]
        "target_ratio": 1.3,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "mv_growth.json").write_text(json.dumps(summary, indent=1) + "\n")
    plot(results, args.out / "mv_growth.png")
    for result in results:
        print(
            f"{result['rows']:>10,} rows: full recompute {result['full_recompute_s']} s, "
            f"incremental {result['incremental_s']} s"
        )
        for name, view in result["views"].items():  # type: ignore[union-attr]
            print(
                f"    {name:<24} {view['technique']:<18} full {view['full_recompute_s']:>7} s   "
                f"incremental {view['incremental_s']:>7} s"
            )
    print(
        f"ratio {largest['rows']:,} / {smallest['rows']:,} rows: incremental {summary['incremental_ratio']}x "
        f"(target <= 1.3x), full recompute {summary['full_recompute_ratio']}x"
    )
    return 0 if summary["incremental_ratio"] <= 1.3 else 1


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
