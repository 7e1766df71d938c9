"""Throughput of the cloudFiles emulation vs the plain open-source file source, same files.

Run::

    .venv/bin/python bench/bench_cloud_files.py            # 200,000 events in 40 files
    .venv/bin/python bench/bench_cloud_files.py --rows 50000 --repeat 1

Each variant drains the landing folder once with ``trigger(availableNow=True)`` into the ``noop``
sink (every column is computed, nothing is written), on a fresh checkpoint; the best of
``--repeat`` runs is kept, both in wall time and in CPU time of the driver JVM (local mode runs
every task there; CPU time stays comparable when other work shares the cores). Variants:

* ``plain``   — ``spark.readStream.format("json").schema(S)``: the open-source baseline.
* ``given``   — ``read_cloud_files`` with schema S and no ``rescuedDataColumn``: should be the
  plain reader itself (nothing to pay).
* ``rescue``  — ``read_cloud_files`` with schema S and ``rescuedDataColumn``: text lines +
  ``from_json`` + key check; what Bronze pays for ``_rescued_data``.
* ``inferred``— ``read_cloud_files`` without a schema (strings, as Auto Loader infers by default).

One in ``--unknown-every`` events carries an extra field and so takes the rescue path's slow branch.
Prints one line per variant (events/s, events per CPU-second) and the ratios to ``plain``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession

from bench.session import jvm_cpu_seconds
from localdlt.session import SessionSettings, build_session
from localdlt.sources.cloud_files import read_cloud_files

log = logging.getLogger("bench.cloud_files")

SCHEMA = (
    "event_id STRING, event_type STRING, event_time STRING, schema_version INT, order_id STRING, "
    "customer STRUCT<customer_id: STRING, name: STRING, email: STRING, city: STRING, state: STRING>, "
    "channel STRING, items ARRAY<STRUCT<sku: STRING, name: STRING, quantity: INT, unit_price: DOUBLE>>, "
    "amounts STRUCT<subtotal: DOUBLE, discount: DOUBLE, shipping: DOUBLE, total: DOUBLE, currency: STRING>, "
    "payment STRUCT<method: STRING, installments: INT, status: STRING>"
)


def _event(rng: random.Random, extra: bool) -> dict[str, object]:
    quantity = rng.randint(1, 3)
    price = round(rng.uniform(5, 500), 2)
    event: dict[str, object] = {
        "event_id": str(uuid.UUID(int=rng.getrandbits(128))),
        "event_type": rng.choice(["order_created", "order_paid", "order_shipped"]),
        "event_time": f"2026-11-29T10:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}-03:00",
        "schema_version": 1,
        "order_id": f"ord-{rng.randint(1, 10**9)}",
        "customer": {
            "customer_id": f"c-{rng.randint(1, 10**6)}",
            "name": "Maria Silva",
            "email": "maria@example.com",
            "city": rng.choice(["Recife", "Natal", "Salvador"]),
            "state": rng.choice(["PE", "RN", "BA"]),
        },
        "channel": rng.choice(["app", "web", "marketplace", "store"]),
        "items": [
            {"sku": f"sku-{rng.randint(1, 999)}", "name": "Item", "quantity": quantity, "unit_price": price}
        ],
        "amounts": {
            "subtotal": quantity * price,
            "discount": 0.0,
            "shipping": 9.9,
            "total": quantity * price + 9.9,
            "currency": "BRL",
        },
        "payment": {"method": "pix", "installments": 1, "status": "approved"},
    }
    if extra:
        event["coupon"] = "WELCOME10"
    return event


def write_landing(folder: Path, rows: int, files: int, unknown_every: int) -> int:
    """Write ``rows`` JSON-lines events into ``files`` files; returns the bytes written."""
    rng = random.Random(42)
    folder.mkdir(parents=True, exist_ok=True)
    per_file = rows // files
    total = 0
    for index in range(files):
        lines = [
            json.dumps(_event(rng, unknown_every > 0 and (index * per_file + n) % unknown_every == 0))
            for n in range(per_file)
        ]
        text = "\n".join(lines) + "\n"
        (folder / f"part-{index:04d}.json").write_text(text, encoding="utf-8")
        total += len(text)
    return total


def _jvm_cpu_or_none(spark: SparkSession) -> float | None:
    """The driver JVM's CPU seconds so far; None where ``/proc`` is not available."""
    try:
        return jvm_cpu_seconds(spark)
    except OSError:
        return None


def drain(spark: SparkSession, frame: DataFrame, checkpoint: Path) -> tuple[float, float | None]:
    """Wall and JVM CPU seconds to drain ``frame`` into the noop sink with availableNow, on a
    fresh checkpoint."""
    shutil.rmtree(checkpoint, ignore_errors=True)
    cpu_before = _jvm_cpu_or_none(spark)
    started = time.perf_counter()
    frame.writeStream.format("noop").option("checkpointLocation", str(checkpoint)).trigger(
        availableNow=True
    ).start().awaitTermination()
    wall = time.perf_counter() - started
    cpu_after = _jvm_cpu_or_none(spark)
    cpu = cpu_after - cpu_before if cpu_before is not None and cpu_after is not None else None
    return wall, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000, help="events to land (default 200000)")
    parser.add_argument("--files", type=int, default=40, help="files to spread them over (default 40)")
    parser.add_argument(
        "--repeat", type=int, default=2, help="runs per variant; the best is kept (default 2)"
    )
    parser.add_argument("--unknown-every", type=int, default=100, help="1 in N events has an unknown field")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    spark: SparkSession = build_session(SessionSettings(app_name="bench-cloud-files"))
    work = Path(tempfile.mkdtemp(prefix="bench-cloud-files-"))
    try:
        landing = work / "landing"
        size = write_landing(landing, args.rows, args.files, args.unknown_every)
        rows = (args.rows // args.files) * args.files
        opts = {"cloudFiles.format": "json"}
        variants: dict[str, Callable[[int], DataFrame]] = {
            "plain": lambda _i: spark.readStream.format("json").schema(SCHEMA).load(str(landing)),
            "given": lambda i: read_cloud_files(
                spark, str(landing), opts, SCHEMA, state_dir=work / f"s-given-{i}"
            ),
            "rescue": lambda i: read_cloud_files(
                spark,
                str(landing),
                {**opts, "rescuedDataColumn": "_rescued_data"},
                SCHEMA,
                state_dir=work / f"s-rescue-{i}",
            ),
            "inferred": lambda i: read_cloud_files(
                spark, str(landing), opts, None, state_dir=work / f"s-inferred-{i}"
            ),
        }
        # Warm-up (JIT, class loading) so that the first variant is not penalised.
        drain(spark, variants["rescue"](-1), work / "cp-warmup")
        wall: dict[str, float] = {}
        cpu: dict[str, float] = {}
        for attempt in range(args.repeat):
            for name, make in variants.items():
                seconds, cpu_seconds = drain(spark, make(attempt), work / f"cp-{name}")
                wall[name] = min(wall.get(name, float("inf")), seconds)
                if cpu_seconds is not None:
                    cpu[name] = min(cpu.get(name, float("inf")), cpu_seconds)
        print(
            f"cloudFiles emulation benchmark: {rows:,} events, {args.files} files, {size / 1e6:.1f} MB, "
            f"1 in {args.unknown_every} with an unknown field, Spark {spark.version}, "
            f"{os.cpu_count()} cores, best of {args.repeat}"
        )
        for name in variants:
            line = (
                f"  {name:<9} wall {rows / wall[name]:>9,.0f} events/s ({wall[name]:6.2f} s, "
                f"ratio to plain {wall['plain'] / wall[name]:4.2f})"
            )
            if name in cpu:
                line += (
                    f"  cpu {rows / cpu[name]:>9,.0f} events/cpu-s ({cpu[name]:6.2f} cpu-s, "
                    f"ratio to plain {cpu['plain'] / cpu[name]:4.2f})"
                )
            print(line)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        spark.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
