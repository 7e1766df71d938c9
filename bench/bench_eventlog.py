"""The event log's flush cost: one update's worth of flushes into a growing event log.

    python -m bench eventlog [--flushes 60] [--events 20]

A fresh session (the same factory as ``localdlt run``), an :class:`~localdlt.eventlog.EventLog` on
a temporary storage, then ``--flushes`` times: ``--events`` events emitted and one flush, timed,
with the Spark jobs each flush started counted (the status tracker of its job group) and the
driver JVM's CPU seconds. Writes ``bench/results/eventlog-<time>.json``; prints the median and
the p90 of a flush, jobs per flush and CPU per flush.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench.session import jvm_cpu_seconds
from localdlt.eventlog import EventLog, Origin, read_events
from localdlt.session import SessionSettings, build_session

RESULTS = Path(__file__).parent / "results"


def measure(flushes: int, events: int) -> dict[str, Any]:
    """Time ``flushes`` flushes of ``events`` events each; return the figures."""
    spark = build_session(SessionSettings(app_name="bench-eventlog"))
    work = Path(tempfile.mkdtemp(prefix="bench-eventlog-"))
    tracker = spark.sparkContext.statusTracker()
    try:
        log = EventLog(spark, work / "system" / "events", pipeline_id="bench", pipeline_name="bench",
                       update_id="00000000-0000-0000-0000-000000000001")
        seconds, jobs, jvm_cpu = [], [], []
        for flush in range(flushes):
            for number in range(events):
                log.emit("flow_progress", f"Flow 'f{number}' is RUNNING.",
                         {"flow_progress": {"status": "RUNNING", "metrics": {"num_output_rows": number}}},
                         origin=Origin(flow_name=f"f{number}", dataset_name=f"f{number}", batch_id=flush),
                         level="METRICS")
            group = f"eventlog-flush-{flush}"
            spark.sparkContext.setJobGroup(group, "event log flush")
            cpu = jvm_cpu_seconds(spark)
            started = time.perf_counter()
            log.flush()
            seconds.append(time.perf_counter() - started)
            jvm_cpu.append(jvm_cpu_seconds(spark) - cpu)
            jobs.append(len(tracker.getJobIdsForGroup(group)))
        spark.sparkContext.setJobGroup("check", "check")
        written = read_events(spark, work).count()
        if written != flushes * events:
            raise RuntimeError(f"the event log holds {written} events, {flushes * events} were emitted")
        return {
            "flushes": flushes, "events_per_flush": events, "events_written": written,
            "flush_s_median": round(statistics.median(seconds), 4),
            "flush_s_p90": round(sorted(seconds)[int(0.9 * (len(seconds) - 1))], 4),
            "flush_s_total": round(sum(seconds), 3),
            "flush_s_first": round(seconds[0], 4),
            "jobs_per_flush_median": statistics.median(jobs),
            "jobs_total": sum(jobs),
            "jvm_cpu_s_per_flush_median": round(statistics.median(jvm_cpu), 4),
            "jvm_cpu_s_total": round(sum(jvm_cpu), 3),
            "load_average": os.getloadavg(),
        }
    finally:
        spark.stop()
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_eventlog", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--flushes", type=int, default=60, help="flushes (a 5-minute update flushes ~60 times)"
    )
    parser.add_argument("--events", type=int, default=20, help="events emitted before each flush")
    args = parser.parse_args(argv)
    figures = {"bench": "eventlog", **measure(args.flushes, args.events)}
    RESULTS.mkdir(exist_ok=True)
    when = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"eventlog-{when}.json").write_text(json.dumps(figures, indent=2))
    print(f"event log: {figures['flushes']} flushes of {figures['events_per_flush']} events: "
          f"median {figures['flush_s_median']} s, p90 {figures['flush_s_p90']} s, total "
          f"{figures['flush_s_total']} s; Spark jobs per flush {figures['jobs_per_flush_median']}; "
          f"driver JVM CPU per flush {figures['jvm_cpu_s_per_flush_median']} s; "
          f"load {', '.join(f'{x:.1f}' for x in figures['load_average'])}")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
