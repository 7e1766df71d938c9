"""The plain PySpark process the update bench compares against: start a JVM, read JSON-lines
order events, append them to one Delta table, exit.

    python -m bench.plain_append LANDING_FILE_OR_DIR... --table DIR

Same session factory as localdlt (same jars and settings), so the difference is the pipeline's own
cost. Prints one JSON line: ``{"startup_s", "work_s", "rows"}``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from pyspark.sql import functions as F

from localdlt.session import SessionSettings, build_session
from orders_lakehouse.contract.spark_schema import order_event_schema


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.plain_append")
    parser.add_argument("sources", nargs="+", help="JSON-lines files or folders")
    parser.add_argument("--table", required=True, help="Delta table folder to append to")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    spark = build_session(SessionSettings(app_name="bench-plain-append"))
    ready = time.perf_counter()
    events = spark.read.text(args.sources).select(
        F.from_json("value", order_event_schema()).alias("e"), "value"
    )
    events.select("e.*", F.col("value").alias("raw_payload")).write.format("delta").mode("append").save(
        args.table
    )
    done = time.perf_counter()
    rows = spark.read.format("delta").load(args.table).count()
    spark.stop()
    print(json.dumps({"startup_s": ready - started, "work_s": done - ready, "rows": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
