"""Storage faults: a second runtime on the same storage, a full disk, a corrupted checkpoint file.

A small pipeline (a streaming table over JSON files, a materialized view over it) runs through the
``localdlt`` command line in this process (``cli.main(argv, spark=...)``); the competing runtime of
the first scenario is a real second process. The full disk is a size-limited tmpfs mounted for the
test (root can mount one; the test fails, saying so, when the mount is refused).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from crash_lab import EVENTS_BRONZE, start_localdlt, wait_until
from fault_ledger import Record, record
from layer_checks import missing_events
from storage_probe import StorageProbe

pytestmark = [pytest.mark.reliability, pytest.mark.slow, pytest.mark.timeout(2400)]

PIPELINE = EVENTS_BRONZE + """
@dlt.table(comment="one row: how many events")
def events_total():
    return dlt.read("events_bronze").groupBy().count()
"""


def _pipeline(tmp_path: Path) -> Path:
    folder = tmp_path / "pipeline"
    folder.mkdir()
    (folder / "events.py").write_text(PIPELINE)
    return folder


def _land(landing: Path, index: int, events: int = 100) -> None:
    landing.mkdir(parents=True, exist_ok=True)
    staging = landing.parent / f".{index}.tmp"
    staging.write_text(
        "".join(json.dumps({"event_id": f"{index}-{n}", "amount": n}) + "\n" for n in range(events))
    )
    staging.replace(landing / f"events-{index:03d}.json")


def _cli(spark: SparkSession, *argv: str) -> int:
    from localdlt.cli import main

    return main(list(argv), spark=spark)


def _bronze(spark: SparkSession, storage: Path) -> tuple[int, int]:
    df = spark.read.format("delta").load(str(storage / "tables" / "events_bronze"))
    return df.count(), df.select("event_id").distinct().count()


def _delta_logs_parse(storage: Path) -> list[str]:
    """Every Delta commit file under ``storage`` that is not valid JSON lines (expected: none)."""
    broken = []
    for file in storage.rglob("_delta_log/*.json"):
        try:
            [json.loads(line) for line in file.read_text().splitlines() if line.strip()]
        except ValueError:
            broken.append(str(file))
    return broken


def test_second_runtime_on_the_same_storage_fails_fast(
    spark: SparkSession, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pipeline, landing, storage = _pipeline(tmp_path), tmp_path / "landing", tmp_path / "storage"
    _land(landing, 0)
    first = start_localdlt(
        [pipeline], storage, {"test.landing": str(landing)}, log_file=tmp_path / "first.log"
    )
    try:
        wait_until(
            lambda: bool(StorageProbe(storage).commits("events_bronze")),
            600,
            "the first runtime's first batch",
            first,
        )
        code = _cli(
            spark,
            "run",
            str(pipeline),
            "--storage",
            str(storage),
            "--quiet",
            "--conf",
            f"test.landing={landing}",
        )
        second_error = capsys.readouterr().err
        assert first.poll() is None, "the first runtime must still be running"
    finally:
        first.terminate()  # SIGTERM: a clean stop
        first_code = first.wait(timeout=300)
    assert code == 4 and "another localdlt update is running on storage" in second_error, second_error
    assert f"pid {first.pid}" in second_error
    assert first_code == 0, (tmp_path / "first.log").read_text()[-3000:]
    assert _bronze(spark, storage) == (100, 100)
    record(Record("second runtime on the same storage", faults=1, survived=1))


@pytest.fixture()
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 96 MiB tmpfs, unmounted after the test."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=96m", "tmpfs", str(mount)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.fail(
            f"cannot mount a size-limited tmpfs at {mount} ({done.stderr.strip()}): the full-disk scenario "
            "needs root (or CAP_SYS_ADMIN); run make reliability as root or in a privileged container"
        )
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(disk: Path) -> Path:
    """Fill ``disk`` to the last byte with a ballast file (unbuffered writes: nothing is left to
    flush, and fail, at close)."""
    ballast = disk / "ballast"
    descriptor = os.open(ballast, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        for size in (1 << 20, 4096, 1):
            try:
                while True:
                    os.write(descriptor, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(descriptor)
    return ballast


def test_full_disk_fails_clearly_and_the_next_run_resumes(
    spark: SparkSession, tmp_path: Path, small_disk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pipeline, landing, storage = _pipeline(tmp_path), tmp_path / "landing", small_disk / "storage"
    argv = ["run", str(pipeline), "--storage", str(storage), "--quiet", "--conf", f"test.landing={landing}"]
    _land(landing, 0)
    _land(landing, 1)
    assert _cli(spark, *argv) == 0
    assert _bronze(spark, storage) == (200, 200)

    ballast = _fill(small_disk)
    _land(landing, 2)
    _land(landing, 3)
    code = _cli(spark, *argv)
    error = capsys.readouterr().err
    assert code != 0
    assert "No space left on device" in error, error[-3000:]

    ballast.unlink()  # space returns
    _land(landing, 4)
    assert _cli(spark, *argv) == 0, capsys.readouterr().err[-3000:]
    assert _bronze(spark, storage) == (500, 500)
    assert _delta_logs_parse(storage) == []
    total = spark.read.format("delta").load(str(storage / "tables" / "events_total")).first()[0]
    assert total == 500
    audit = missing_events(spark, storage, ["events_bronze"])
    record(
        Record(
            "full disk", faults=1, survived=1 if not audit.missing else 0, events_missing=len(audit.missing)
        )
    )
    assert audit.missing == []


def test_corrupted_checkpoint_names_the_file_and_the_fix(
    spark: SparkSession, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pipeline, landing, storage = _pipeline(tmp_path), tmp_path / "landing", tmp_path / "storage"
    argv = ["run", str(pipeline), "--storage", str(storage), "--quiet", "--conf", f"test.landing={landing}"]
    _land(landing, 0)
    assert _cli(spark, *argv) == 0
    probe = StorageProbe(storage)
    latest = max(probe.offsets("events_bronze"))
    corrupted = storage / "checkpoints" / "events_bronze" / "offsets" / str(latest)
    corrupted.write_bytes(b"\x00\x17garbage, not an offset log\n")
    _land(landing, 1)
    code = _cli(spark, *argv)
    error = capsys.readouterr().err
    assert code != 0
    assert str(corrupted) in error and "--full-refresh events_bronze" in error, error[-3000:]

    assert _cli(spark, *argv, "--full-refresh", "events_bronze") == 0
    assert _bronze(spark, storage) == (200, 200)
    record(Record("corrupted checkpoint file", faults=1, survived=1))
