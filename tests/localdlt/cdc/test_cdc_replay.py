"""Idempotence on restart: replaying a batch id after a crash — with everything written, or
with the target written and the state not — gives no duplicates and loses nothing, and the
MERGE is really skipped by Delta (no new table version)."""

from __future__ import annotations

import pytest
from cdc_support import changes, read_rows
from delta.tables import DeltaTable

import localdlt.cdc.writer as writer_module

ORDER = ("id", "__START_AT")


def _version(spark, path: str) -> int:
    return DeltaTable.forPath(spark, path).history(1).first()["version"]


class Crash(RuntimeError):
    """The simulated crash."""


def test_scd1_replay_skips_and_completes_state(spark, make_writer, monkeypatch):
    w = make_writer()
    w.write_batch(changes(spark, [(1, "ann", "rio", 1, "U"), (2, "bob", "sp", 1, "U")]), 0)
    batch1 = [(1, "ann", "bh", 2, "U"), (2, None, None, 3, "D")]
    w.write_batch(changes(spark, batch1), 1)
    table_version = _version(spark, w.table_path)
    # Replay of a completed batch: Delta skips the MERGE (no new commit), rows unchanged.
    again = w.write_batch(changes(spark, batch1), 1)
    assert again.skipped is True
    assert _version(spark, w.table_path) == table_version
    assert read_rows(spark, w.table_path) == [(1, "ann", "bh", 2)]

    # Crash after the target MERGE of batch 2, before the state MERGE.
    real_merge = writer_module.idempotent_merge

    def crashing_merge(session, builder, app_id, version):
        if app_id.endswith("/state"):
            raise Crash("killed between the two commits")
        return real_merge(session, builder, app_id, version)

    batch2 = [(3, "cy", "poa", 4, "U"), (1, None, None, 6, "D")]
    monkeypatch.setattr(writer_module, "idempotent_merge", crashing_merge)
    with pytest.raises(Crash):
        w.write_batch(changes(spark, batch2), 2)
    monkeypatch.setattr(writer_module, "idempotent_merge", real_merge)
    assert read_rows(spark, w.table_path) == [(3, "cy", "poa", 4)]
    # The restarted query replays batch 2: target skipped, state completed from the same plan.
    replay = w.write_batch(changes(spark, batch2), 2)
    assert replay.skipped is True
    assert read_rows(spark, w.table_path) == [(3, "cy", "poa", 4)]
    # Proof that the state got batch 2: late events older than its changes are ignored
    # (key 1's tombstone at 6, key 3's sequence 4).
    m3 = w.write_batch(changes(spark, [(1, "late", "x", 5, "U"), (3, "old", "x", 3, "U")]), 3)
    assert (m3.ignored, m3.num_output_rows) == (2, 0)
    assert read_rows(spark, w.table_path) == [(3, "cy", "poa", 4)]


def test_scd2_replay_no_duplicate_or_lost_versions(spark, make_writer, monkeypatch):
    w = make_writer(stored_as_scd_type=2, except_column_list=["op", "ts"])
    batch0 = [(1, "ann", "rio", 1, "U"), (1, "ann", "sp", 3, "U")]
    w.write_batch(changes(spark, batch0), 0)
    assert w.write_batch(changes(spark, batch0), 0).skipped is True
    assert read_rows(spark, w.table_path, ORDER) == [(1, "ann", "rio", 1, 3), (1, "ann", "sp", 3, None)]

    real_append = writer_module.idempotent_append

    def crashing_append(frame, path, app_id, version):
        raise Crash("killed after the target MERGE")

    batch1 = [(1, "ann", "bh", 5, "U")]
    monkeypatch.setattr(writer_module, "idempotent_append", crashing_append)
    with pytest.raises(Crash):
        w.write_batch(changes(spark, batch1), 1)
    monkeypatch.setattr(writer_module, "idempotent_append", real_append)
    expected = [(1, "ann", "rio", 1, 3), (1, "ann", "sp", 3, 5), (1, "ann", "bh", 5, None)]
    assert read_rows(spark, w.table_path, ORDER) == expected
    assert w.write_batch(changes(spark, batch1), 1).skipped is True
    assert read_rows(spark, w.table_path, ORDER) == expected
    # The change log has batch 1's event: a late event at 4 is linked between 3 and 5.
    w.write_batch(changes(spark, [(1, "ann", "poa", 4, "U")]), 2)
    assert read_rows(spark, w.table_path, ORDER) == [
        (1, "ann", "rio", 1, 3),
        (1, "ann", "sp", 3, 4),
        (1, "ann", "poa", 4, 5),
        (1, "ann", "bh", 5, None),
    ]
