"""Growth of a materialized-view refresh with history: Gold's views over a Silver-shaped Delta
table of 50,000 and of 5,000,000 rows, each receiving the same 2,000 new rows.

    python -m bench mv_growth
    python -m bench.bench_mv_growth --sizes 50000 5000000 --new-rows 2000

First, a warm-up round over ``--warmup`` rows (default 10,000), run exactly as below and not
reported: the first size measured would otherwise pay the JVM's warm-up (class loading and JIT
compilation of every refresh path), which flatters the ratio of the larger size to it.

For each history size, in one process and one session: the Silver-shaped table (and a quarantine
of 1% of its size) is written directly (no pipeline); each public view's full recompute (its
reference query, what the pipeline ran before it was made incremental: ``kpis.top_products`` and
``alerts.order_alerts`` over the history) is timed; every view, private parts included, is
refreshed once by ``localdlt.mv`` (first computation), 2,000 rows (and 20 quarantined) are
appended and the incremental refresh is timed, a public view's time including its private parts
(``gold_top_products``: ``gold_order_items`` → ``gold_product_sales`` → the ranking;
``gold_order_alerts``: its four per-rule parts and the union). That refresh forces the incremental
path (the cost model off, ``localdlt.mv.costModel=false``): the growth ratio is the incremental
path's. Then 2,000 more rows (and 20 quarantined) are appended and every view is refreshed under
``refresh_policy`` AUTO with the cost model on (:mod:`localdlt.mv.cost`), timed the same way, with
the technique the model chose. Reported per view: techniques and seconds of each; the ratio of the
larger history to the smaller (target ≤ 1.3x, forced incremental). Writes
``bench/results/mv_growth.json`` and a PNG plot of update time against history size
(``bench/results/mv_growth.png``).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from bench.session import spark_and_folder
from localdlt import deltalog
from localdlt.mv import refresh as mv
from localdlt.mv.cost import MEASURED, CostModel
from localdlt.session import SessionSettings
from orders_lakehouse.transforms import alerts, kpis, star

RESULTS = Path(__file__).parent / "results"
SILVER, QUARANTINE = "silver_order_events", "silver_order_events_quarantine"
LIMITS = alerts.AlertThresholds()


@dataclass(frozen=True)
class View:
    """A view of the pipeline: ``query`` over ``inputs`` (Silver, the quarantine or views above);
    ``part_of``: the public view whose refresh a private part belongs to; ``full`` over
    ``full_inputs``: the public view's reference query timed as today's recompute (default: the
    view's own query)."""

    inputs: tuple[str, ...]
    query: Callable[..., DataFrame]
    part_of: str | None = None
    full: Callable[..., DataFrame] | None = None
    full_inputs: tuple[str, ...] = ()


# In the pipeline's order: every view after the ones it reads.
VIEWS: dict[str, View] = {
    "gold_payment_health": View((SILVER,), kpis.payment_health),
    "gold_sales_per_minute": View((SILVER,), kpis.sales_per_minute),
    "dim_customer": View((SILVER,), star.dim_customer),
    "dim_product": View((SILVER,), star.dim_product),
    "fact_orders": View((SILVER,), star.fact_orders),
    "gold_order_items": View((SILVER,), kpis.order_items, part_of="gold_top_products"),
    "gold_product_sales": View(("gold_order_items",), kpis.product_sales, part_of="gold_top_products"),
    "gold_top_products": View(
        ("gold_product_sales",), kpis.rank_products, full=kpis.top_products, full_inputs=(SILVER,)
    ),
    "gold_payment_failure_alerts": View(
        ("gold_payment_health",),
        lambda health: alerts.payment_failure_alerts(health, LIMITS.payment_failure_rate),
        part_of="gold_order_alerts",
    ),
    "gold_sla_breach_alerts": View(
        ("fact_orders",),
        lambda fact: alerts.sla_alerts_by_order(fact, LIMITS.sla_hours),
        part_of="gold_order_alerts",
    ),
    "gold_order_activity": View(
        (SILVER,),
        lambda events: alerts.activity_buckets(events, LIMITS.silence_minutes),
        part_of="gold_order_alerts",
    ),
    "gold_quarantined_rows": View((QUARANTINE,), alerts.quarantined_rows, part_of="gold_order_alerts"),
    "gold_order_alerts": View(
        (
            "gold_payment_failure_alerts",
            "gold_order_activity",
            "gold_sla_breach_alerts",
            "gold_quarantined_rows",
        ),
        lambda payments, buckets, sla, quarantined: alerts.order_alerts_from_parts(
            payments, buckets, sla, quarantined, LIMITS
        ),
        full=lambda events, quarantine, health, fact: alerts.order_alerts(
            events, quarantine, health, fact, LIMITS
        ),
        full_inputs=(SILVER, QUARANTINE, "gold_payment_health", "fact_orders"),
    ),
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
        (F.col("id") % 12 + 1).cast("int").alias("installments"),
        ((F.col("id") % 50000) / 100 + 5).cast("decimal(18,2)").alias("subtotal"),
        F.lit(0).cast("decimal(18,2)").alias("discount"),
        F.lit(0).cast("decimal(18,2)").alias("shipping_amount"),
        ((F.col("id") % 50000) / 100 + 5).cast("decimal(18,2)").alias("total"),
        F.when(F.col("id") % 6 == 0, F.array(item)).alias("items"),
        F.lit("Correios").alias("carrier"),
        F.to_date(F.timestamp_seconds(F.lit(start_seconds) + F.col("id") / 10 + 5 * 86400)).alias(
            "promised_date"
        ),
    )


def quarantine_rows(spark: SparkSession, count: int, first_id: int) -> DataFrame:
    """``count`` quarantine-shaped rows (the columns the alert's count reads do not matter)."""
    return spark.range(first_id, first_id + count).select(
        F.format_string("q-%012d", "id").alias("event_id"),
        F.array(F.lit("event_id_is_uuid")).alias("failed_rules"),
    )


def _timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def run_size(spark: SparkSession, root: Path, size: int, new_rows: int) -> dict[str, object]:
    """Full-recompute and incremental refresh times of every public view over ``size`` rows."""
    tables = {SILVER: root / f"silver_{size}", QUARANTINE: root / f"quarantine_{size}"}
    tables.update({name: root / f"{name}_{size}" for name in VIEWS})
    for frame, name in (
        (silver_rows(spark, size, 0, 1_790_000_000), SILVER),
        (quarantine_rows(spark, size // 100, 0), QUARANTINE),
    ):
        frame.write.format("delta").option("delta.enableChangeDataFeed", "true").save(str(tables[name]))
    out: dict[str, object] = {"rows": size, "views": {}}
    views: dict[str, dict[str, object]] = out["views"]  # type: ignore[assignment]

    def read(name: str) -> tuple[DataFrame, int]:
        version = deltalog.latest_version(tables[name])
        return spark.read.format("delta").option("versionAsOf", version).load(str(tables[name])), version

    def refresh(name: str, model: CostModel | None = None) -> mv.Outcome:
        view = VIEWS[name]
        inputs = [read(i) for i in view.inputs]
        return mv.refresh(
            spark,
            mv.Request(
                flow=name,
                dataset=name,
                query=view.query(*[frame for frame, _ in inputs]),
                target=tables[name],
                state_dir=root / f"state_{name}_{size}",
                source_versions={str(tables[i]): v for i, (_, v) in zip(view.inputs, inputs, strict=True)},
                source_names={str(tables[i]): i for i in view.inputs},
                cost_model=model,
            ),
        )

    for name, view in VIEWS.items():
        if view.part_of is None:
            full_query = view.full or view.query
            frames = [read(i)[0] for i in (view.full_inputs or view.inputs)]
            full = _timed(
                lambda q=full_query, f=frames, n=name: (
                    q(*f).write.format("delta").mode("overwrite").save(str(root / f"full_{n}_{size}"))
                )
            )
            views[name] = {
                "full_recompute_s": round(full, 2), "incremental_s": 0.0, "techniques": {},
                "auto_s": 0.0, "auto_techniques": {},
            }
        refresh(name)  # first computation (and aggregate state)

    def append_new_rows(first: int) -> None:
        silver_rows(spark, new_rows, first, 1_790_000_000 + first // 10).write.format("delta").mode(
            "append"
        ).save(str(tables[SILVER]))
        quarantine_rows(spark, new_rows // 100, first // 100).write.format("delta").mode("append").save(
            str(tables[QUARANTINE])
        )

    def refresh_all(model: CostModel | None, seconds_key: str, techniques_key: str) -> None:
        for name, view in VIEWS.items():
            owner = views[view.part_of or name]
            outcome = None

            def timed_refresh(n: str = name) -> None:
                nonlocal outcome
                outcome = refresh(n, model)

            seconds = _timed(timed_refresh)
            owner[seconds_key] = round(owner[seconds_key] + seconds, 2)  # type: ignore[operator]
            owner[techniques_key][name] = outcome.technique.short  # type: ignore[index, union-attr]

    append_new_rows(size)
    refresh_all(None, "incremental_s", "techniques")  # the incremental path, forced
    append_new_rows(size + new_rows)
    refresh_all(MEASURED, "auto_s", "auto_techniques")  # AUTO: the cost model chooses
    for key in ("full_recompute_s", "incremental_s", "auto_s"):
        out[key] = round(sum(v[key] for v in views.values()), 2)  # type: ignore[misc]
    return out


def plot(results: list[dict[str, object]], path: Path) -> None:
    """Update time against history size, full recompute vs incremental, one line each."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [r["rows"] for r in results]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(sizes, [r["full_recompute_s"] for r in results], marker="o", label="full recompute (today)")
    ax.plot(sizes, [r["incremental_s"] for r in results], marker="o", label="incremental refresh (forced)")
    ax.plot(sizes, [r["auto_s"] for r in results], marker="o", label="AUTO (cost model)")
    ax.set_xscale("log")
    ax.set_xlabel("rows of history in silver_order_events")
    ax.set_ylabel("seconds to refresh the Gold views")
    ax.set_title("Gold refresh after 2,000 new rows (public views and their parts)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def _techniques(name: str, techniques: dict[str, str]) -> str:
    """``gold_order_items GENERIC_AGGREGATE, COMPLETE_RECOMPUTE``: the parts named, the view not."""
    return ", ".join(f"{n} {t}" if n != name else t for n, t in techniques.items())


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench_mv_growth", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50_000, 5_000_000])
    parser.add_argument("--new-rows", type=int, default=2_000)
    parser.add_argument(
        "--warmup", type=int, default=10_000, help="rows of the unreported warm-up round (0: none)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    with spark_and_folder(SessionSettings(app_name="bench-mv-growth"), "mv-growth-") as (spark, root):
        if args.warmup:
            warmup = run_size(spark, root, args.warmup, args.new_rows)
            print(f"warm-up, {args.warmup:,} rows (not reported): incremental {warmup['incremental_s']} s")
        results = [run_size(spark, root, size, args.new_rows) for size in args.sizes]
    smallest, largest = results[0], results[-1]
    summary = {
        "bench": "mv_growth",
        "new_rows": args.new_rows,
        "warmup_rows": args.warmup,
        "results": results,
        "incremental_ratio": round(largest["incremental_s"] / smallest["incremental_s"], 2),  # type: ignore[operator]
        "full_recompute_ratio": round(largest["full_recompute_s"] / smallest["full_recompute_s"], 2),  # type: ignore[operator]
        "auto_ratio": round(largest["auto_s"] / smallest["auto_s"], 2),  # type: ignore[operator]
        "target_ratio": 1.3,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "mv_growth.json").write_text(json.dumps(summary, indent=1) + "\n")
    plot(results, args.out / "mv_growth.png")
    for result in results:
        print(
            f"{result['rows']:>10,} rows: full recompute {result['full_recompute_s']} s, "
            f"incremental (forced) {result['incremental_s']} s, AUTO {result['auto_s']} s"
        )
        for name, view in result["views"].items():  # type: ignore[union-attr]
            print(
                f"    {name:<24} full {view['full_recompute_s']:>7} s   "
                f"incremental {view['incremental_s']:>7} s ({_techniques(name, view['techniques'])})   "
                f"AUTO {view['auto_s']:>7} s ({_techniques(name, view['auto_techniques'])})"
            )
    print(
        f"ratio {largest['rows']:,} / {smallest['rows']:,} rows: incremental (forced) "
        f"{summary['incremental_ratio']}x (target <= 1.3x), "
        f"full recompute {summary['full_recompute_ratio']}x, AUTO {summary['auto_ratio']}x"
    )
    return 0 if summary["incremental_ratio"] <= 1.3 else 1


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
