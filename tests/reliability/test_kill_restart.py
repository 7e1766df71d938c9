"""kill -9 at arbitrary moments of a continuous localdlt run, then restart: every layer ends up
with every event exactly once.

A real ``localdlt run --continuous`` process (its own JVM) runs the three-dataset catch-up
pipeline of ``bench/catchup`` (Bronze streaming table ← JSON files, Silver streaming table with
rules, Gold materialized view) while files keep landing. It is SIGKILLed at pseudo-random moments
(seeded: reproducible) and restarted each time; a final triggered update drains what is left.
Then Bronze holds every landed event once, Silver every valid one once, Gold counts Silver.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

REPO_ROOT = Path(__file__).resolve().parents[2]
PIPELINE = REPO_ROOT / "bench" / "catchup" / "transformations"
LOCALDLT = Path(sys.executable).parent / "localdlt"

pytestmark = pytest.mark.slow


def _land(landing: Path, index: int, rng: random.Random) -> tuple[int, int]:
    """Land one file atomically; return (events, valid events)."""
    lines, valid = [], 0
    for n in range(50):
        total = -1.0 if rng.random() < 0.1 else round(rng.uniform(5, 500), 2)
        valid += total >= 0
        lines.append(json.dumps({"event_id": f"{index:04d}-{n:03d}", "order_id": f"o-{index}", "channel": "app",
                                 "state": "SP", "total": total, "event_time": "2026-11-29T10:00:00Z"}))  # fmt: skip
    staging = landing.parent / f".staging-{index}"
    staging.write_text("\n".join(lines) + "\n")
    os.replace(staging, landing / f"part-{index:04d}.json")
    return len(lines), valid


def _localdlt(storage: Path, landing: Path, *extra: str) -> subprocess.Popen:
    command = [str(LOCALDLT), "run", str(PIPELINE), "--storage", str(storage), "--quiet",
               "--conf", f"bench.landing_path={landing}", "--conf", "pipelines.trigger.interval=1 second", *extra]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)


def _wait_for_table(path: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not (path / "_delta_log").is_dir():
        if time.monotonic() > deadline:
            pytest.fail(f"{path} never appeared")
        time.sleep(0.5)


def test_kill_9_during_continuous_run_loses_and_duplicates_nothing(spark: SparkSession, tmp_path: Path) -> None:
    rng = random.Random(20261129)
    landing, storage = tmp_path / "landing", tmp_path / "storage"
    landing.mkdir()
    landed, valid, index = 0, 0, 0
    for _ in range(3):
        events, good = _land(landing, index, rng)
        landed, valid, index = landed + events, valid + good, index + 1

    kills = 0
    for _round in range(3):
        process = _localdlt(storage, landing, "--continuous", "--duration", "600")
        _wait_for_table(storage / "tables" / "bench_bronze")
        # Keep landing files while the streams run, then kill at a random moment.
        for _ in range(rng.randint(2, 4)):
            events, good = _land(landing, index, rng)
            landed, valid, index = landed + events, valid + good, index + 1
            time.sleep(rng.uniform(0.2, 1.5))
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        kills += 1

    final = _localdlt(storage, landing)
    _, stderr = final.communicate(timeout=600)
    assert final.returncode == 0, stderr[-2000:]

    tables = storage / "tables"
    bronze = spark.read.format("delta").load(str(tables / "bench_bronze"))
    silver = spark.read.format("delta").load(str(tables / "bench_silver"))
    gold = spark.read.format("delta").load(str(tables / "bench_gold"))
    assert kills == 3
    assert (bronze.count(), bronze.select("event_id").distinct().count()) == (landed, landed)
    assert (silver.count(), silver.select("event_id").distinct().count()) == (valid, valid)
    assert gold.agg({"orders": "sum"}).first()[0] == valid
