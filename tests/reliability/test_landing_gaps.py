"""Landing files a batch cannot read: one deleted after the file source planned it into a batch, one
without read permission for the runtime's (non-root) user. Each has one documented fate
(docs/RELIABILITY.md, section 4): the batch goes on without the file, a WARN event names it, and
no update fails — not the next one either (no crash loop).

The deleted file: a crash between planning and reading is reproduced on disk exactly as Spark
leaves it — batch N's file list in the source log (``sources/0/N``) and its ``offsets/N``, no
``commits/N`` — then the file is deleted and the next update replays batch N.

The unreadable file: ``localdlt run`` runs as user ``nobody`` (``setpriv``; the test runs as root,
and root reads every file whatever its mode), on folders that user may write.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from crash_lab import EVENTS_BRONZE, LOCALDLT
from fault_ledger import Record, record
from layer_checks import missing_events

pytestmark = [pytest.mark.reliability, pytest.mark.slow, pytest.mark.timeout(1800)]

PIPELINE = EVENTS_BRONZE
NOBODY = 65534
FLOW = "events_bronze"


def _pipeline(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "events.py").write_text(PIPELINE)
    return folder


def _land(landing: Path, name: str, index: int, events: int = 100) -> Path:
    landing.mkdir(parents=True, exist_ok=True)
    staging = landing.parent / f".{name}.tmp"
    staging.write_text(
        "".join(json.dumps({"event_id": f"{index}-{n}", "amount": n}) + "\n" for n in range(events))
    )
    return staging.replace(landing / name)


def _cli(spark: SparkSession, *argv: str) -> int:
    from localdlt.cli import main

    return main(list(argv), spark=spark)


def _event_ids(spark: SparkSession, storage: Path) -> list[str]:
    bronze = spark.read.format("delta").load(str(storage / "tables" / FLOW))
    return sorted(r[0] for r in bronze.select("event_id").collect())


def _expected_ids(*indexes: int) -> list[str]:
    return sorted(f"{i}-{n}" for i in indexes for n in range(100))


def _warnings(spark: SparkSession, storage: Path) -> list[str]:
    events = spark.read.format("delta").load(str(storage / "system" / "events"))
    return sorted(r[0] for r in events.where("level = 'WARN'").select("message").collect())


def _audit_and_record(spark: SparkSession, storage: Path, scenario: str) -> None:
    """Every committed batch has its one ``flow_progress`` event; the fault goes into the ledger."""
    audit = missing_events(spark, storage, [FLOW])
    record(
        Record(
            scenario,
            faults=1,
            survived=int(not audit.missing and not audit.duplicated),
            events_missing=len(audit.missing),
            duplicated=len(audit.duplicated),
        )
    )
    assert (audit.missing, audit.duplicated) == ([], [])


def _plan_batch_as_a_crash_leaves_it(checkpoint: Path, files: list[Path]) -> int:
    """Write what Spark writes when it plans the next batch of a file source (its file list, then
    ``offsets/N``), as if the process died right after: returns N."""
    batch = max(int(p.name) for p in (checkpoint / "offsets").iterdir() if p.name.isdigit()) + 1
    version, metadata, *_ = (checkpoint / "offsets" / str(batch - 1)).read_text().split("\n")
    entries = [
        json.dumps({"path": f.as_uri(), "timestamp": f.stat().st_mtime_ns // 1_000_000, "batchId": batch})
        for f in files
    ]
    (checkpoint / "sources" / "0" / str(batch)).write_text("\n".join(["v1", *entries]))
    (checkpoint / "offsets" / str(batch)).write_text(
        "\n".join([version, metadata, json.dumps({"logOffset": batch})])
    )
    return batch


def test_file_deleted_after_its_batch_was_planned(
    spark: SparkSession, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pipeline, landing, storage = _pipeline(tmp_path / "pipeline"), tmp_path / "landing", tmp_path / "storage"
    argv = ["run", str(pipeline), "--storage", str(storage), "--quiet", "--conf", f"test.landing={landing}"]
    _land(landing, "events-0.json", 0)
    assert _cli(spark, *argv) == 0
    checkpoint = storage / "checkpoints" / FLOW
    doomed = _land(landing, "events-1.json", 1)
    batch = _plan_batch_as_a_crash_leaves_it(checkpoint, [doomed])
    doomed.unlink()
    _land(landing, "events-2.json", 2)

    # The batch goes on without the file (Spark drops a planned file that is gone when it resolves
    # the batch, saying so only in its own log); a WARN event names it.
    assert _cli(spark, *argv) == 0, capsys.readouterr().err[-3000:]
    assert (checkpoint / "commits" / str(batch)).exists()
    assert _event_ids(spark, storage) == _expected_ids(0, 2)
    gone = [w for w in _warnings(spark, storage) if str(doomed) in w]
    assert gone == [
        f"Flow '{FLOW}': file '{doomed}' was planned into a batch and deleted before that batch committed; "
        "the batch goes on without it (what it had not read from the file is not ingested)"
    ]
    # The next update: nothing new, no failure, no second warning.
    assert _cli(spark, *argv) == 0
    assert _event_ids(spark, storage) == _expected_ids(0, 2)
    assert [w for w in _warnings(spark, storage) if str(doomed) in w] == gone
    _audit_and_record(spark, storage, "landing file deleted after its batch was planned")


@pytest.fixture()
def shared_folder() -> Iterator[Path]:
    """A folder user ``nobody`` can reach (pytest's tmp_path is under a root-only folder)."""
    folder = Path(tempfile.mkdtemp(prefix="localdlt-nobody-", dir="/tmp"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _as_nobody(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    os.chown(folder, NOBODY, NOBODY)
    return folder


def _run_as_nobody(pipeline: Path, storage: Path, landing: Path, home: Path, log: Path) -> int:
    command = [
        "setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
        str(LOCALDLT), "run", str(pipeline), "--storage", str(storage), "--quiet",
        "--conf", f"test.landing={landing}",
    ]  # fmt: skip
    env = {**os.environ, "HOME": str(home), "TMPDIR": str(home)}
    with log.open("a") as out:
        return subprocess.run(
            command, cwd=home, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=900
        ).returncode


def test_file_without_read_permission_as_a_non_root_user(spark: SparkSession, shared_folder: Path) -> None:
    if os.geteuid() != 0:
        pytest.fail("this scenario switches to user nobody with setpriv: run make reliability as root")
    pipeline = _pipeline(shared_folder / "pipeline")
    landing, storage = shared_folder / "landing", _as_nobody(shared_folder / "storage")
    home, log = _as_nobody(shared_folder / "home"), shared_folder / "localdlt.log"
    _land(landing, "events-0.json", 0)
    secret = _land(landing, "events-1.json", 1)
    secret.chmod(0o600)  # root's file: user nobody may not read it
    code = _run_as_nobody(pipeline, storage, landing, home, log)
    assert code == 0, log.read_text()[-3000:]
    assert _event_ids(spark, storage) == _expected_ids(0)
    unreadable = [w for w in _warnings(spark, storage) if str(secret) in w]
    assert unreadable == [
        f"Flow '{FLOW}': file '{secret}' cannot be read by this process's user (permission denied); the "
        "batch that lists it goes on without it and it is not read again: make it readable and land it "
        "under a new name"
    ]

    # The documented remedy: readable, landed again under a new name.
    secret.chmod(0o644)
    shutil.copy(secret, landing / "events-1-again.json")
    code = _run_as_nobody(pipeline, storage, landing, home, log)
    assert code == 0, log.read_text()[-3000:]
    assert _event_ids(spark, storage) == _expected_ids(0, 1)
    assert [w for w in _warnings(spark, storage) if str(secret) in w] == unreadable
    _audit_and_record(spark, storage, "landing file without read permission (user nobody)")
