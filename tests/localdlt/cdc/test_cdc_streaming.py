"""The way the runtime calls the engine: a Delta change table read as a stream, each
micro-batch handed to ``CdcWriter.write_batch`` by ``foreachBatch`` with ``availableNow``;
a crash in the middle of a batch and a restart from the checkpoint lose and duplicate nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from cdc_support import CHANGE_SCHEMA, read_rows

from localdlt.cdc import CdcSpec, CdcWriter

ORDER = ("id", "__START_AT")


def _run(spark, source: str, checkpoint: str, handler) -> None:
    query = (
        spark.readStream.format("delta")
        .option("maxFilesPerTrigger", 1)
        .load(source)
        .writeStream.foreachBatch(handler)
        .option("checkpointLocation", checkpoint)
        .trigger(availableNow=True)
        .start()
    )
    query.awaitTermination()


def _append(spark, source: str, rows) -> None:
    spark.createDataFrame(rows, CHANGE_SCHEMA).coalesce(1).write.format("delta").mode("append").save(source)


def test_foreach_batch_restart_in_the_middle(spark, tmp_path: Path):
    source, checkpoint = str(tmp_path / "changes"), str(tmp_path / "checkpoint")
    spec = CdcSpec(
        target="hist",
        source="changes",
        keys=("id",),
        sequence_by="ts",
        apply_as_deletes="op = 'D'",
        except_column_list=("op", "ts"),
        stored_as_scd_type=2,
    )
    writer = CdcWriter(spark, spec, str(tmp_path / "hist"), str(tmp_path / "state"), app_id="query-1")
    _append(spark, source, [(1, "ann", "rio", 1, "U"), (2, "bob", "sp", 1, "U")])
    _run(spark, source, checkpoint, lambda df, batch_id: writer.write_batch(df, batch_id))
    assert read_rows(spark, writer.table_path, ORDER) == [
        (1, "ann", "rio", 1, None),
        (2, "bob", "sp", 1, None),
    ]

    # Second update: two files (two micro-batches); the second one crashes after the CDC write,
    # before the checkpoint commits it, so the restarted query replays it.
    _append(spark, source, [(1, "ann", "sp", 3, "U"), (2, None, None, 2, "D")])
    _append(spark, source, [(1, "ann", "rio", 2, "U"), (3, "cy", "bh", 4, "U")])
    crashed: list[int] = []

    def crash_once(df, batch_id):
        writer.write_batch(df, batch_id)
        if batch_id == 2 and not crashed:
            crashed.append(batch_id)
            raise RuntimeError("driver killed after the write, before the commit")

    with pytest.raises(Exception, match="driver killed"):
        _run(spark, source, checkpoint, crash_once)
    restarted = CdcWriter(spark, spec, writer.table_path, writer.state_path, app_id="query-1")
    metrics = []
    _run(spark, source, checkpoint, lambda df, batch_id: metrics.append(restarted.write_batch(df, batch_id)))
    assert [(m.batch_id, m.skipped) for m in metrics] == [(2, True)]
    assert read_rows(spark, writer.table_path, ORDER) == [
        (1, "ann", "rio", 1, 3),
        (1, "ann", "sp", 3, None),
        (2, "bob", "sp", 1, 2),
        (3, "cy", "bh", 4, None),
    ]
