"""The floor under every flow: what one Delta operation costs on a few rows, whatever the data.

    python -m bench floors                      # ~1 min on 2 cores
    python -m bench.bench_floors --testing      # with the test suite's session settings

A materialized view over 50 rows still takes about a second to refresh, and the test suite runs
thousands of such operations: this bench shows where that floor is. On ``--rows`` rows (default
50, checkpointed first so no operation pays for computing them) it times, side by side and
interleaved over ``--rounds`` rounds (the first two are warm-up and left out of the medians):

- a Parquet overwrite (Spark's own floor for a write);
- a plain Delta append (an incremental view's new rows, without localdlt's log bookkeeping);
- a Delta overwrite with the change data feed on (``localdlt.mv.writers.overwrite``: a materialized
  view's complete recompute writes the same way);
- a Delta MERGE replacing five keys (``localdlt.mv.writers.replace_keys``);
- a Delta read and collect;
- an ``availableNow`` stream from a Delta table that got five new rows (not timed), into a Delta
  sink and into ``foreachBatch`` appending to Delta (how localdlt runs streaming tables);
- an empty Delta table created (a metadata-only commit: how a pipeline update sets its tables up).

Each operation runs under its own Spark job group (a stream's micro-batches under the query's run
id), so the table gives the Spark jobs it started and their summed run time beside the wall time:
the difference is driver work (analysis, planning, the Delta transaction and log). It also gives
the CPU seconds the operation used, the JVM's (``/proc``, Linux) plus this Python process's:
``python -m bench suite_floor`` multiplies them by the commits a test run made. Writes
``bench/results/floors-<when>.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import LongType, StructField, StructType
from rich.console import Console
from rich.table import Table

from bench.session import process_cpu_seconds, spark_and_folder
from localdlt.mv import writers
from localdlt.session import SessionSettings

RESULTS = Path(__file__).parent / "results"
WARM_UP = 2  # rounds left out of the medians


@dataclass(frozen=True)
class Operation:
    """One timed operation; ``prepare`` runs before it, untimed. ``run`` returns the run id of the
    streaming query it started, if any (Spark runs the micro-batches' jobs under that job group)."""

    name: str
    run: Callable[[], str | None]
    prepare: Callable[[], None] | None = None


class JobCounter:
    """Spark jobs started under a job group, and their summed wall time (submission → completion),
    read from the status store once the operation has returned."""

    def __init__(self, spark: SparkSession) -> None:
        self.context = spark.sparkContext
        self.store = self.context._jsc.sc().statusStore()
        self.spark = spark

    def measure(self, group: str, operation: Operation) -> tuple[float, int, float, float]:
        """Run ``operation`` under job group ``group`` (one per measurement): its wall seconds, its
        Spark jobs, their seconds, the CPU seconds used meanwhile."""
        if operation.prepare is not None:
            operation.prepare()
        self.context.setJobGroup(group, group)
        cpu_before = process_cpu_seconds(self.spark)
        started = time.perf_counter()
        stream_group = operation.run()
        wall = time.perf_counter() - started
        cpu = process_cpu_seconds(self.spark) - cpu_before
        tracker = self.context.statusTracker()
        jobs = list(tracker.getJobIdsForGroup(group))
        if stream_group is not None:
            jobs += tracker.getJobIdsForGroup(stream_group)
        return wall, len(jobs), sum(self._seconds(job) for job in jobs), cpu

    def _seconds(self, job_id: int) -> float:
        data = self.store.job(job_id)
        submitted, completed = data.submissionTime(), data.completionTime()
        if not (submitted.isDefined() and completed.isDefined()):
            return 0.0
        return (completed.get().getTime() - submitted.get().getTime()) / 1000


def _stream(spark: SparkSession, root: Path, sink: str) -> Callable[[], str]:
    """An ``availableNow`` stream of ``root/stream_source`` into a Delta sink (``sink='delta'``) or a
    ``foreachBatch`` appending to Delta; returns the query's run id once it has ended."""

    def run() -> str:
        writer = (
            spark.readStream.format("delta")
            .load(str(root / "stream_source"))
            .writeStream.option("checkpointLocation", str(root / f"checkpoint_{sink}"))
            .trigger(availableNow=True)
        )
        if sink == "delta":
            query = writer.format("delta").start(str(root / "stream_delta"))
        else:
            target = str(root / "stream_batch")
            query = writer.foreachBatch(
                lambda batch, _: batch.write.format("delta").mode("append").save(target)
            ).start()
        query.awaitTermination()
        return str(query.runId)

    return run


def operations(spark: SparkSession, root: Path, rows: DataFrame) -> list[Operation]:
    """The operations of the module docstring, each ready to run again on the same tables."""
    for name in ("append", "merge", "read", "stream_source"):
        rows.write.format("delta").mode("overwrite").save(str(root / name))
    keys = rows.select("id").limit(5).localCheckpoint()
    new_rows = rows.limit(5).localCheckpoint()

    def parquet_overwrite() -> None:
        rows.write.mode("overwrite").parquet(str(root / "parquet"))

    def delta_append() -> None:
        rows.write.format("delta").mode("append").save(str(root / "append"))

    def delta_overwrite() -> None:
        writers.overwrite(rows, root / "overwrite", change_feed=True)

    def delta_merge() -> None:
        writers.replace_keys(spark, root / "merge", new_rows, keys, ["id"])

    def delta_read() -> None:
        spark.read.format("delta").load(str(root / "read")).collect()

    def new_source_rows() -> None:
        new_rows.write.format("delta").mode("append").save(str(root / "stream_source"))

    created = [0]

    def delta_create() -> None:
        created[0] += 1
        table = DeltaTable.createIfNotExists(spark).location(str(root / f"created_{created[0]}"))
        table.addColumns(StructType([StructField("id", LongType())])).execute()

    return [
        Operation("Parquet overwrite", parquet_overwrite),
        Operation("Delta append", delta_append),
        Operation("Delta overwrite, change data feed on", delta_overwrite),
        Operation("Delta MERGE replacing 5 keys", delta_merge),
        Operation("Delta read + collect", delta_read),
        Operation("stream availableNow → Delta sink", _stream(spark, root, "delta"), prepare=new_source_rows),
        Operation(
            "stream availableNow → foreachBatch append",
            _stream(spark, root, "batch"),
            prepare=new_source_rows,
        ),
        Operation("Delta CREATE TABLE, metadata only", delta_create),
    ]


def run(spark: SparkSession, root: Path, row_count: int, rounds: int) -> list[dict[str, object]]:
    """Every operation ``rounds`` times, interleaved; per operation the medians after warm-up."""
    rows = spark.range(row_count).selectExpr("id", "CAST(id AS STRING) AS name", "id * 1.5 AS amount")
    rows = rows.localCheckpoint()
    counter = JobCounter(spark)
    ops = operations(spark, root, rows)
    samples: list[list[tuple[float, int, float, float]]] = [[] for _ in ops]
    for round_number in range(rounds):
        for index, operation in enumerate(ops):
            samples[index].append(counter.measure(f"floors-{round_number}-{index}", operation))
    out = []
    for operation, measured in zip(ops, samples):
        kept = measured[WARM_UP:] or measured
        out.append(
            {
                "operation": operation.name,
                "median_s": round(statistics.median(m[0] for m in kept), 3),
                "spark_jobs": statistics.median(m[1] for m in kept),
                "median_job_s": round(statistics.median(m[2] for m in kept), 3),
                "median_cpu_s": round(statistics.median(m[3] for m in kept), 3),
                "samples_s": [round(m[0], 3) for m in measured],
            }
        )
    return out


def _print(results: list[dict[str, object]], label: str, row_count: int) -> None:
    table = Table(title=f"one operation on {row_count} rows ({label} session; medians)")
    for column in ("operation", "wall s", "Spark jobs", "in jobs s", "driver s", "CPU s"):
        table.add_column(column, justify="left" if column == "operation" else "right")
    for result in results:
        wall, in_jobs = float(result["median_s"]), float(result["median_job_s"])
        table.add_row(
            str(result["operation"]),
            f"{wall:.3f}",
            f"{result['spark_jobs']:g}",
            f"{in_jobs:.3f}",
            f"{max(wall - in_jobs, 0):.3f}",
            f"{float(result['median_cpu_s']):.3f}",
        )
    Console(width=120).print(table)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench_floors", description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--testing", action="store_true", help="the test suite's session settings")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    label = "test-suite" if args.testing else "production"
    settings = SessionSettings(app_name="bench-floors", testing=args.testing, shuffle_partitions=2)
    with spark_and_folder(settings, "floors-") as (spark, root):
        results = run(spark, root, args.rows, args.rounds)
    _print(results, label, args.rows)
    args.out.mkdir(parents=True, exist_ok=True)
    when = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    summary = {
        "bench": "floors",
        "settings": label,
        "rows": args.rows,
        "rounds": args.rounds,
        "operations": results,
    }
    (args.out / f"floors-{when}.json").write_text(json.dumps(summary, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
