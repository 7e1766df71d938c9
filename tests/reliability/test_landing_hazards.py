"""Whatever lands in the landing folder has a defined fate — a Bronze row, a quarantine row naming
its rule, a WARN event — and never a crash loop (docs/RELIABILITY.md, "Landing-folder hazards").

The real orders pipeline (files source) runs three triggered updates in this process:

1. next to a normal file: an empty file, one line of 50 MiB, a line of Latin-1 (non-UTF-8) bytes,
   a directory named like a data file (holding a normal file), a file with no read permission,
   and a file being written by a non-atomic producer (its last line cut in the middle);
2. after the partial file is completed, an ingested file is modified, another deleted, and a
   batch is planned over a file that is deleted before it is read (the checkpoint says so, as
   after a crash between planning and reading);
3. nothing new: the update runs clean (no crash loop).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from fault_ledger import Record, record
from orders_lakehouse.simulator.engine import Simulator, SimulatorConfig

pytestmark = [pytest.mark.reliability, pytest.mark.slow, pytest.mark.timeout(3600)]

REPO_ROOT = Path(__file__).resolve().parents[2]
PIPELINE = REPO_ROOT / "pipelines" / "orders"
HUGE_BYTES = 50 * 1024 * 1024
HAZARD_TABLES = ["bronze_order_events", "silver_order_events", "silver_order_events_quarantine"]


def _valid_lines(count: int, seed: int) -> list[bytes]:
    simulator = Simulator(SimulatorConfig(seed=seed, rate=1000.0))
    return [m.value for _, m in zip(range(count), simulator.messages())]


def _write(path: Path, lines: list[bytes], *, newline_at_end: bool = True) -> None:
    path.write_bytes(b"\n".join(lines) + (b"\n" if newline_at_end else b""))


def _update(spark: SparkSession, storage: Path, landing: Path):  # noqa: ANN202 - UpdateResult
    from localdlt.runner import run_update

    return run_update(
        [PIPELINE],
        storage,
        spark=spark,
        root_path=REPO_ROOT,
        refresh=HAZARD_TABLES,
        configuration={"orders.source": "files", "orders.landing_path": str(landing)},
    )


def _bronze_by_file(spark: SparkSession, storage: Path) -> Counter:
    bronze = spark.read.format("delta").load(str(storage / "tables" / "bronze_order_events"))
    return Counter(Path(r[0]).name for r in bronze.select("_source_file").collect())


def _quarantine_rules(spark: SparkSession, storage: Path) -> Counter:
    quarantine = spark.read.format("delta").load(str(storage / "tables" / "silver_order_events_quarantine"))
    return Counter(rule for r in quarantine.select("failed_rules").collect() for rule in r[0])


def _warnings(spark: SparkSession, storage: Path, update_id: str) -> list[str]:
    events = spark.read.format("delta").load(str(storage / "system" / "events"))
    rows = events.where(f"level = 'WARN' AND origin.update_id = '{update_id}'").select("message").collect()
    return sorted(r[0] for r in rows)


@pytest.fixture()
def salt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCALDLT_SECRET_ORDERS_PII_SALT", "hazard-salt")


def test_landing_hazards_each_have_their_fate(spark: SparkSession, tmp_path: Path, salt: None) -> None:
    landing, storage = tmp_path / "landing", tmp_path / "storage"
    landing.mkdir()
    good = _valid_lines(30, seed=41)
    _write(landing / "a-normal.json", good[:10])
    _write(landing / "b-to-be-modified.json", good[10:14])
    _write(landing / "c-to-be-deleted.json", good[14:17])
    (landing / "d-empty.json").write_bytes(b"")
    (landing / "e-huge.json").write_bytes(b'{"event_id":"' + b"x" * (HUGE_BYTES - 15) + b'"}\n')
    latin1 = json.loads(good[17])
    latin1["customer"]["city"] = "São Paulo"
    (landing / "f-latin1.json").write_bytes(json.dumps(latin1, ensure_ascii=False).encode("latin-1") + b"\n")
    (landing / "g-directory.json").mkdir()
    _write(landing / "g-directory.json" / "inner.json", good[18:19])
    _write(landing / "h-no-read-permission.json", good[19:20])
    os.chmod(landing / "h-no-read-permission.json", 0)
    partial_head, partial_rest = good[20:23], good[23:26]
    half = len(partial_rest[0]) // 2
    _write(landing / "i-partial.json", [*partial_head, partial_rest[0][:half]], newline_at_end=False)

    first = _update(spark, storage, landing)
    assert [(f.name, f.error) for f in first.failed_flows()] == []
    by_file = _bronze_by_file(spark, storage)
    # Fates of the first update, file by file (see docs/RELIABILITY.md).
    assert by_file == Counter(
        {
            "a-normal.json": 10,
            "b-to-be-modified.json": 4,
            "c-to-be-deleted.json": 3,
            "e-huge.json": 1,
            "f-latin1.json": 1,  # nothing from g-directory.json/: see the WARN event
            "h-no-read-permission.json": 1 if os.geteuid() == 0 else 0,
            "i-partial.json": 4,  # three whole lines + the cut one
        }
    )
    warnings = _warnings(spark, storage, first.update_id)
    assert any("g-directory.json" in w and "folder inside the landing folder" in w for w in warnings), (
        warnings
    )
    rules = _quarantine_rules(spark, storage)
    assert rules["payload_within_size_limit"] == 1
    assert rules["payload_is_valid_utf8"] == 1
    assert rules["payload_is_json_object"] == 1  # the cut line (the 50 MiB line is a JSON object)

    # Update 2: the producer finishes the partial file, an ingested file changes, another goes.
    with (landing / "i-partial.json").open("ab") as out:
        out.write(partial_rest[0][half:] + b"\n" + b"\n".join(partial_rest[1:]) + b"\n")
    with (landing / "b-to-be-modified.json").open("ab") as out:
        out.write(good[26] + b"\n")
    (landing / "c-to-be-deleted.json").unlink()
    _write(landing / "j-next.json", good[27:30])
    second = _update(spark, storage, landing)
    assert [(f.name, f.error) for f in second.failed_flows()] == []
    by_file = _bronze_by_file(spark, storage)
    assert by_file["j-next.json"] == 3
    assert (
        by_file["i-partial.json"] == 4
        and by_file["b-to-be-modified.json"] == 4
        and by_file["c-to-be-deleted.json"] == 3
    )
    warnings = _warnings(spark, storage, second.update_id)
    assert any("i-partial.json" in w and "has changed" in w for w in warnings), warnings
    assert any("b-to-be-modified.json" in w and "has changed" in w for w in warnings), warnings

    third = _update(spark, storage, landing)
    assert [(f.name, f.error) for f in third.failed_flows()] == []
    assert _bronze_by_file(spark, storage) == by_file
    record(Record("landing-folder hazards", faults=10, survived=10))
