"""What PySpark's call-site capture costs code that builds plans, and what test sessions save.

    python -m bench call_sites        # ~1 min on 2 cores

PySpark wraps every DataFrame, Column and ``functions`` call to send its Python call site to the
JVM for error messages, unless ``spark.python.sql.dataFrameDebugging.enabled`` is false (test
sessions: ``SessionSettings(testing=True)``). The setting is static and PySpark caches it at its first
call, so this bench switches PySpark's cached value in one test session, round by round
(interleaved; the first two rounds are warm-up), and builds — without running — the plan of one
SCD1 micro-batch with ``ignore_null_updates`` over a 20-column source (``localdlt.cdc.scd1``, the
orders pipeline's ``silver_orders`` shape). Per build: py4j round trips, wall seconds, CPU seconds
(JVM and Python). Writes ``bench/results/call_sites-<when>.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from py4j.clientserver import ClientServerConnection
from pyspark.errors import utils as pyspark_errors
from pyspark.sql import SparkSession
from pyspark.sql.types import StringType, StructField, StructType, TimestampType
from rich.console import Console
from rich.table import Table

from bench.session import process_cpu_seconds, spark_and_folder
from localdlt.cdc import scd1
from localdlt.cdc.columns import empty_frame, resolve_columns
from localdlt.session import SessionSettings

RESULTS = Path(__file__).parent / "results"
WARM_UP = 2
SOURCE = StructType(
    [StructField("order_id", StringType()), StructField("event_time", TimestampType())]
    + [StructField(f"field_{i:02d}", StringType()) for i in range(18)]
)


class RoundTrips:
    """Counts py4j round trips (PySpark's gateway, pinned thread mode) while installed."""

    def __init__(self) -> None:
        self.count = 0
        self._send = ClientServerConnection.send_command

    def __enter__(self) -> RoundTrips:
        send = self._send

        def counted(connection: ClientServerConnection, command: str) -> str:
            self.count += 1
            return send(connection, command)

        ClientServerConnection.send_command = counted  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        ClientServerConnection.send_command = self._send  # type: ignore[method-assign]


def build_plan(spark: SparkSession) -> None:
    """The SCD1 plan of one batch against its state, built but not run."""
    cols = resolve_columns(
        spark, SOURCE, keys=["order_id"], sequence_by="event_time", scd_type=1, ignore_null_updates=True
    )
    prepared = empty_frame(spark, SOURCE).selectExpr(
        *[f"`{c}`" for c in cols.columns],
        "event_time AS __seq",
        "false AS __is_delete",
        "false AS __is_truncate",
    )
    state = empty_frame(spark, scd1.state_schema(cols))
    scd1.plan_changes(prepared, state, cols, datetime.now(timezone.utc) - timedelta(days=2))


def run(spark: SparkSession, rounds: int) -> dict[str, dict[str, float]]:
    """Per setting (capture on / off), the medians of ``rounds`` interleaved builds after warm-up."""
    samples: dict[str, list[tuple[int, float, float]]] = {"capture on": [], "capture off": []}
    cached = pyspark_errors._enable_debugging_cache
    try:
        for _ in range(rounds):
            for label in samples:
                pyspark_errors._enable_debugging_cache = label == "capture on"
                cpu_before, started = process_cpu_seconds(spark), time.perf_counter()
                with RoundTrips() as trips:
                    build_plan(spark)
                samples[label].append(
                    (trips.count, time.perf_counter() - started, process_cpu_seconds(spark) - cpu_before)
                )
    finally:
        pyspark_errors._enable_debugging_cache = cached
    return {
        label: {
            "py4j_calls": statistics.median(s[0] for s in kept[WARM_UP:] or kept),
            "wall_s": round(statistics.median(s[1] for s in kept[WARM_UP:] or kept), 3),
            "cpu_s": round(statistics.median(s[2] for s in kept[WARM_UP:] or kept), 3),
        }
        for label, kept in samples.items()
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench_call_sites", description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    settings = SessionSettings(app_name="bench-call-sites", testing=True, shuffle_partitions=2)
    with spark_and_folder(settings, "call-sites-") as (spark, _):
        results = run(spark, args.rounds)
    table = Table(title="one SCD1 batch plan built, 20 columns, ignore_null_updates (medians)")
    for column in ("PySpark call sites", "py4j round trips", "wall s", "CPU s"):
        table.add_column(column, justify="left" if column == "PySpark call sites" else "right")
    for label, figures in results.items():
        table.add_row(
            label, f"{figures['py4j_calls']:g}", f"{figures['wall_s']:.3f}", f"{figures['cpu_s']:.3f}"
        )
    Console(width=110).print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    when = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    summary = {"bench": "call_sites", "rounds": args.rounds, "results": results}
    (args.out / f"call_sites-{when}.json").write_text(json.dumps(summary, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
