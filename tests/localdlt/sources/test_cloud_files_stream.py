"""Streaming behaviour of the Auto Loader emulation across micro-batches and restarts."""

from __future__ import annotations

import os
from pathlib import Path

from pyspark.sql import SparkSession

from localdlt.sources.cloud_files import read_cloud_files

JSON = {"cloudFiles.format": "json"}


def test_max_files_per_trigger_sets_the_batch_size(
    spark: SparkSession, landing: Path, tmp_path: Path, drain, land_file
) -> None:
    for i in range(3):
        land_file(landing, f"{i}.json", f'{{"id": {i}}}\n{{"id": {i + 10}}}\n', mtime=1_700_000_000 + i)
    frame = read_cloud_files(
        spark,
        str(landing),
        {**JSON, "cloudFiles.maxFilesPerTrigger": "1"},
        "id INT",
        state_dir=tmp_path / "s",
    )
    drained = drain(frame, tmp_path / "cp")
    assert drained.batches == 3
    assert sorted(drained.rows) == [(0,), (1,), (2,), (10,), (11,), (12,)]


def test_default_batch_takes_every_file_up_to_1000(
    spark: SparkSession, landing: Path, tmp_path: Path, drain, land_file
) -> None:
    for i in range(3):
        land_file(landing, f"{i}.json", f'{{"id": {i}}}\n', mtime=1_700_000_000 + i)
    drained = drain(
        read_cloud_files(spark, str(landing), JSON, "id INT", state_dir=tmp_path / "s"), tmp_path / "cp"
    )
    assert (drained.batches, sorted(drained.rows)) == (1, [(0,), (1,), (2,)])


def test_include_existing_files_false_skips_them_across_restarts(
    spark: SparkSession, landing: Path, tmp_path: Path, drain, land_file
) -> None:
    options = {**JSON, "cloudFiles.includeExistingFiles": "false"}
    land_file(landing, "old file.json", '{"id": 1}\n', mtime=1_700_000_000)
    first = drain(
        read_cloud_files(spark, str(landing), options, "id INT", state_dir=tmp_path / "s"), tmp_path / "cp"
    )
    assert first.rows == []

    land_file(landing, "new.json", '{"id": 2}\n', mtime=1_700_000_100)
    # A restart: the query function runs again with the same state folder and checkpoint.
    second = drain(
        read_cloud_files(spark, str(landing), options, "id INT", state_dir=tmp_path / "s"), tmp_path / "cp"
    )
    assert second.rows == [(2,)]

    # Only the first start counts (as on Databricks): switching the option later changes nothing,
    # and a new checkpoint with the same state still skips the files of the first start.
    land_file(landing, "newer.json", '{"id": 3}\n', mtime=1_700_000_200)
    third = drain(
        read_cloud_files(spark, str(landing), JSON, "id INT", state_dir=tmp_path / "s"), tmp_path / "cp2"
    )
    assert sorted(third.rows) == [(2,), (3,)]


def test_changed_file_is_reported_once_and_not_reingested(
    spark: SparkSession, landing: Path, tmp_path: Path, drain, land_file
) -> None:
    changed: list[str] = []
    target = land_file(landing, "a.json", '{"id": 1}\n', mtime=1_700_000_000)

    def read():
        return read_cloud_files(
            spark, str(landing), JSON, "id INT", state_dir=tmp_path / "s", on_changed_file=changed.append
        )

    assert drain(read(), tmp_path / "cp").rows == [(1,)]
    assert changed == []

    # The producer rewrites the file in place (new size and time) and lands a new one.
    land_file(landing, "a.json", '{"id": 1}\n{"id": 99}\n', mtime=1_700_000_050)
    land_file(landing, "b.json", '{"id": 2}\n', mtime=1_700_000_100)
    # The runtime's planning pass opens the source without a callback first: it must not
    # swallow the change before the execution pass (which has the callback) sees it.
    read_cloud_files(spark, str(landing), JSON, "id INT", state_dir=tmp_path / "s")
    second = drain(read(), tmp_path / "cp")
    assert changed == [str(target)]
    assert second.rows == [(2,)]  # the changed file's new content is not ingested (as on Databricks)

    third = drain(read(), tmp_path / "cp")
    assert (changed, third.rows) == ([str(target)], [])  # once per change

    os.utime(target, (1_700_000_900, 1_700_000_900))  # touched again: a new change
    drain(read(), tmp_path / "cp")
    assert changed == [str(target), str(target)]


def test_inferred_schema_is_kept_across_restarts(
    spark: SparkSession, landing: Path, tmp_path: Path, drain, land_file
) -> None:
    land_file(landing, "a.json", '{"id": 1}\n', mtime=1_700_000_000)
    first = read_cloud_files(spark, str(landing), JSON, None, state_dir=tmp_path / "s")
    assert drain(first, tmp_path / "cp").rows == [("1", None)]

    # A producer adds a field: the restart keeps the first schema and rescues the new field.
    land_file(landing, "b.json", '{"id": 2, "channel": "app"}\n', mtime=1_700_000_100)
    second = read_cloud_files(spark, str(landing), JSON, None, state_dir=tmp_path / "s")
    assert second.columns == ["id", "_rescued_data"]
    path = f"file:{landing / 'b.json'}"
    assert drain(second, tmp_path / "cp").rows == [("2", f'{{"channel":"app","_file_path":"{path}"}}')]


def test_exactly_once_into_delta_across_restarts(
    spark: SparkSession, landing: Path, tmp_path: Path, land_file
) -> None:
    table, checkpoint = str(tmp_path / "bronze"), tmp_path / "cp"

    def update() -> None:
        frame = read_cloud_files(spark, str(landing), JSON, None, state_dir=tmp_path / "s")
        (
            frame.writeStream.format("delta")
            .option("checkpointLocation", str(checkpoint))
            .trigger(availableNow=True)
            .start(table)
            .awaitTermination()
        )

    land_file(landing, "a.json", '{"id": 1}\n{"id": 2}\n', mtime=1_700_000_000)
    update()
    # A crash after the Delta commit but before the stream's own commit: on restart the batch is
    # replayed and the Delta sink skips it (idempotent per batch id); the new file comes next.
    last = max(int(p.name) for p in (checkpoint / "commits").iterdir() if p.name.isdigit())
    for name in (str(last), f".{last}.crc"):
        (checkpoint / "commits" / name).unlink(missing_ok=True)
    land_file(landing, "b.json", '{"id": 3}\n', mtime=1_700_000_100)
    update()

    rows = spark.read.format("delta").load(table).collect()
    assert sorted(r.id for r in rows) == ["1", "2", "3"]
    assert all(r._rescued_data is None for r in rows)
