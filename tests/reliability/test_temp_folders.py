"""The scratch folders localdlt makes (schema analysis, validate's source state) are gone when the
process ends — after a clean run, after a failed update and after a definition error — and those
of a process killed with SIGKILL are swept by the next start.

Each command runs as its own process with ``TMPDIR`` pointing at a fresh folder, which is then
checked for ``localdlt-*`` entries (Spark's own ``spark-*`` folders are Spark's business).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from crash_lab import LOCALDLT
from fault_ledger import Record, record

pytestmark = [pytest.mark.reliability, pytest.mark.slow, pytest.mark.timeout(2400)]

GOOD = """
import dlt

@dlt.table
def numbers():
    return (spark.readStream.format("cloudFiles").option("cloudFiles.format", "json")
            .schema("n INT").load(spark.conf.get("test.landing")))

@dlt.table
def doubled():
    return dlt.read_stream("numbers").selectExpr("n * 2 AS n")
"""
FAILS_AT_RUN_TIME = (
    GOOD
    + """
@dlt.table
@dlt.expect_or_fail("small", "n < 5")
def checked():
    return dlt.read_stream("numbers")
"""
)
BAD_DEFINITION = (
    GOOD
    + """
@dlt.table
def broken():
    return dlt.read("no_such_table")
"""
)


def _run(tmp_path: Path, name: str, source: str, *command: str) -> tuple[int, list[str]]:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "pipeline.py").write_text(source)
    landing = tmp_path / f"{name}-landing"
    landing.mkdir()
    (landing / "n.json").write_text("".join(json.dumps({"n": n}) + "\n" for n in range(10)))
    scratch = tmp_path / f"{name}-tmp"
    scratch.mkdir()
    argv = [str(LOCALDLT), *command, str(folder), "--conf", f"test.landing={landing}"]
    if command[0] == "run":
        argv += ["--storage", str(tmp_path / f"{name}-storage"), "--quiet"]
    done = subprocess.run(
        argv, env={**os.environ, "TMPDIR": str(scratch)}, capture_output=True, text=True, timeout=900
    )
    return done.returncode, sorted(p.name for p in scratch.iterdir() if p.name.startswith("localdlt-"))


def test_scratch_folders_are_removed_when_the_process_ends(tmp_path: Path) -> None:
    outcomes = {
        "validate": _run(tmp_path, "validate", GOOD, "validate"),
        "run": _run(tmp_path, "run", GOOD, "run"),
        "failing run": _run(tmp_path, "failing", FAILS_AT_RUN_TIME, "run"),
        "definition error": _run(tmp_path, "definition", BAD_DEFINITION, "run"),
    }
    left = {name: leftovers for name, (_, leftovers) in outcomes.items() if leftovers}
    record(Record("temporary folders", faults=2, survived=2 if not left else 0))
    assert {name: code for name, (code, _) in outcomes.items()} == {
        "validate": 0,
        "run": 0,
        "failing run": 1,
        "definition error": 3,
    }
    assert left == {}


def test_scratch_folders_of_a_killed_process_are_swept_at_the_next_start(tmp_path: Path) -> None:
    from localdlt.storage import scratch_dir

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    orphan = scratch / f"localdlt-schema-{int(dead.stdout)}-abc123"
    orphan.mkdir()
    mine = scratch_dir("schema", root=scratch)
    assert mine.is_dir() and not orphan.exists()
    record(Record("temporary folders of a killed process", faults=1, survived=1))
