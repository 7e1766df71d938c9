"""`make demo`: until the orders pipeline lands, the smoke pipeline (JSON files → Delta, streaming).

It says so when it runs. The orders pipeline issue replaces this with the simulator, localdlt in
continuous mode and the dashboard.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
import uuid
from pathlib import Path

from localdlt.session import SessionSettings, build_session

log = logging.getLogger(__name__)


def land_events(landing: Path, count: int) -> None:
    """Write ``count`` small order events as one JSON-lines file, atomically (temp name, rename)."""
    staging = landing.parent / f".staging-{uuid.uuid4()}"
    lines = [json.dumps({"event_id": str(uuid.uuid4()), "order_id": f"o-{i}", "total": i * 10.0}) for i in range(count)]
    staging.write_text("\n".join(lines) + "\n")
    os.replace(staging, landing / f"events-{time.time_ns()}.json")


def main(argv: list[str] | None = None) -> int:
    """Run the smoke pipeline for a few rounds and print the Delta row count after each."""
    parser = argparse.ArgumentParser(prog="make demo")
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--source", default="files", choices=["files"])
    parser.add_argument("--output", type=Path, default=Path("demo-output"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    print("orders pipeline not landed yet: running the smoke pipeline (JSON files -> Delta, streaming)")
    landing, table, checkpoint = (args.output / name for name in ("landing", "bronze", "checkpoint"))
    landing.mkdir(parents=True, exist_ok=True)
    spark = build_session(SessionSettings(app_name="orders-lakehouse-demo"))
    deadline = time.monotonic() + args.duration
    while time.monotonic() < deadline:
        land_events(landing, 100)
        (
            spark.readStream.schema("event_id string, order_id string, total double")
            .json(str(landing))
            .writeStream.format("delta")
            .option("checkpointLocation", str(checkpoint))
            .trigger(availableNow=True)
            .start(str(table))
            .awaitTermination()
        )
        print(f"rows in {table}: {spark.read.format('delta').load(str(table)).count()}")
    spark.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
