"""Helpers for localdlt tests: write small pipeline files and JSON-lines landing folders."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def write_pipeline(tmp_path: Path) -> Callable[..., Path]:
    """Write ``{filename: source}`` (dedented) into a fresh pipeline folder and return it.

    Minimal example::

        folder = write_pipeline({"t.py": "import dlt\\n@dlt.table\\ndef t(): ..."})
    """
    counter = iter(range(1000))

    def write(files: dict[str, str]) -> Path:
        folder = tmp_path / f"pipeline{next(counter)}"
        folder.mkdir()
        for name, source in files.items():
            (folder / name).write_text(textwrap.dedent(source))
        return folder

    return write


@pytest.fixture
def landing(tmp_path: Path) -> Callable[..., Path]:
    """Write rows as a JSON-lines file into a landing folder (created on first use)."""

    def write(folder: str, filename: str, rows: Iterable[dict[str, Any]]) -> Path:
        target = tmp_path / folder
        target.mkdir(exist_ok=True)
        tmp = target / f".{filename}.tmp"
        tmp.write_text("".join(json.dumps(row) + "\n" for row in rows))
        tmp.rename(target / filename)  # atomic, as producers do
        return target

    return write


def _rows(spark: Any, path: Path, *columns: str) -> list[tuple[Any, ...]]:
    df = spark.read.format("delta").load(str(path))
    return sorted(
        (tuple(r) for r in df.select(*columns).collect()), key=lambda t: tuple((v is None, v) for v in t)
    )


def _events(spark: Any, storage: Path, event_type: str | None = None) -> list[Any]:
    df = spark.read.format("delta").load(str(storage / "system" / "events"))
    if event_type:
        df = df.filter(df.event_type == event_type)
    return df.orderBy("sequence.control_plane_seq_no").collect()


@pytest.fixture
def rows(spark: Any) -> Callable[..., list[tuple[Any, ...]]]:
    """``rows(path, *columns)``: the rows of the Delta table at ``path`` as sorted tuples."""
    return lambda path, *columns: _rows(spark, path, *columns)


@pytest.fixture
def events(spark: Any) -> Callable[..., list[Any]]:
    """``events(storage, event_type=None)``: event log rows in sequence order."""
    return lambda storage, event_type=None: _events(spark, storage, event_type)
