"""Helpers for the emulated-source tests: landing files written atomically, streams drained once."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pyspark.sql import DataFrame, Row


@dataclass
class Drained:
    """What one ``availableNow`` run produced: rows and the number of non-empty micro-batches."""

    rows: list[Row] = field(default_factory=list)
    batches: int = 0


def land(folder: Path, name: str, text: str, *, mtime: int | None = None) -> Path:
    """Write ``text`` to ``folder/name`` the way producers do (temp file + rename), optionally with
    a fixed modification time (seconds) so that the source's ordering is deterministic."""
    folder.mkdir(parents=True, exist_ok=True)
    staging = folder.parent / f".staging-{name}"
    staging.write_text(text, encoding="utf-8")
    if mtime is not None:
        os.utime(staging, (mtime, mtime))
    target = folder / name
    os.replace(staging, target)
    return target


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    """The landing folder of one test."""
    folder = tmp_path / "landing"
    folder.mkdir()
    return folder


@pytest.fixture
def drain() -> Callable[[DataFrame, Path], Drained]:
    """Run ``frame`` once with ``trigger(availableNow=True)`` against ``checkpoint``; collect rows."""

    def run(frame: DataFrame, checkpoint: Path) -> Drained:
        result = Drained()

        def collect(batch: DataFrame, _batch_id: int) -> None:
            rows = batch.collect()
            if rows:
                result.batches += 1
                result.rows.extend(rows)

        query = (
            frame.writeStream.foreachBatch(collect)
            .option("checkpointLocation", str(checkpoint))
            .trigger(availableNow=True)
            .start()
        )
        query.awaitTermination()
        return result

    return run


@pytest.fixture
def land_file() -> Callable[..., Path]:
    """:func:`land`, for tests (conftest modules are not imported by name)."""
    return land
