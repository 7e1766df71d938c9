"""Updates: append flows from two sources into one table, once flows, restarts and a simulated
crash without duplicates, refresh and full refresh selections, the storage lock."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from localdlt import storage as layout_mod
from localdlt.errors import ConcurrentUpdateError
from localdlt.runner import run_update

APPEND_PIPELINE = """
import dlt

dlt.create_streaming_table("all_events", comment="two sources and a backfill")

@dlt.append_flow(target="all_events")
def from_a():
    return spark.readStream.schema("id INT, src STRING").json(spark.conf.get("test.a"))

@dlt.append_flow(target="all_events")
def from_b():
    return spark.readStream.schema("id INT, src STRING").json(spark.conf.get("test.b"))

@dlt.append_flow(target="all_events", once=True)
def backfill():
    return spark.createDataFrame([(0, "old")], "id INT, src STRING")
"""


def test_append_flows_once_flow_restart_and_crash_replay(
    spark, tmp_path: Path, write_pipeline, landing, rows
) -> None:
    a = landing("a", "1.json", [{"id": 1, "src": "a"}])
    b = landing("b", "1.json", [{"id": 2, "src": "b"}])
    pipeline = write_pipeline({"p.py": APPEND_PIPELINE})
    storage = tmp_path / "storage"
    conf = {"test.a": str(a), "test.b": str(b)}
    table = storage / "tables" / "all_events"

    first = run_update([pipeline], storage, spark=spark, configuration=conf)
    assert first.ok and rows(table, "id", "src") == [(0, "old"), (1, "a"), (2, "b")]
    assert {n: f.rows_written for n, f in first.flows.items()} == {"from_a": 1, "from_b": 1, "backfill": 1}

    landing("a", "2.json", [{"id": 3, "src": "a"}])
    landing("b", "2.json", [{"id": 4, "src": "b"}])
    second = run_update([pipeline], storage, spark=spark, configuration=conf)
    assert rows(table, "id", "src") == [(0, "old"), (1, "a"), (2, "b"), (3, "a"), (4, "b")]
    assert {n: f.rows_written for n, f in second.flows.items()} == {"from_a": 1, "from_b": 1, "backfill": 0}

    # Crash after the Delta commit of batch 1, before Spark committed it: drop the commit-log
    # entry. from_a also loses localdlt's own batch marker (the worst case: Delta's txnVersion
    # alone must skip the replay); from_b keeps it (replay skipped before writing, no metrics).
    for flow in ("from_a", "from_b"):
        (storage / "checkpoints" / flow / "commits" / "1").unlink()
        (storage / "checkpoints" / flow / "commits" / ".1.crc").unlink(missing_ok=True)
    (storage / "checkpoints" / "from_a" / layout_mod.LAST_BATCH_FILE).unlink()
    third = run_update([pipeline], storage, spark=spark, configuration=conf)
    assert third.ok
    assert rows(table, "id", "src") == [(0, "old"), (1, "a"), (2, "b"), (3, "a"), (4, "b")]
    assert third.flows["from_b"].rows_written == 0


MEDALLION = """
import dlt
from pyspark.sql import functions as F

@dlt.table
def bronze():
    return spark.readStream.schema("id INT, amount INT").json(spark.conf.get("test.landing"))

@dlt.table(partition_cols=["even"], table_properties={"quality": "silver"})
def silver():
    return spark.readStream.table("bronze").withColumn("even", F.col("id") % 2 == 0)

@dlt.table
def gold():
    return spark.read.table("silver").groupBy("even").agg(F.sum("amount").alias("total"))
"""


def test_refresh_and_full_refresh_selections(
    spark, tmp_path: Path, write_pipeline, landing, rows, events
) -> None:
    folder = landing("in", "1.json", [{"id": 1, "amount": 10}, {"id": 2, "amount": 20}])
    pipeline = write_pipeline({"p.py": MEDALLION})
    storage = tmp_path / "storage"
    conf = {"test.landing": str(folder)}
    assert run_update([pipeline], storage, spark=spark, configuration=conf).ok
    assert rows(storage / "tables" / "gold", "even", "total") == [(False, 10), (True, 20)]
    detail = spark.sql(f"DESCRIBE DETAIL delta.`{storage / 'tables' / 'silver'}`").first()
    assert detail["partitionColumns"] == ["even"] and detail["properties"]["quality"] == "silver"

    landing("in", "2.json", [{"id": 3, "amount": 5}])
    only_gold = run_update([pipeline], storage, spark=spark, configuration=conf, refresh=["gold"])
    assert {n: f.status for n, f in only_gold.flows.items()} == {
        "bronze": "EXCLUDED",
        "silver": "EXCLUDED",
        "gold": "COMPLETED",
    }
    assert rows(storage / "tables" / "bronze", "id") == [(1,), (2,)]

    silver_reset = run_update([pipeline], storage, spark=spark, configuration=conf, full_refresh=["silver"])
    assert silver_reset.ok
    assert rows(storage / "tables" / "bronze", "id") == [(1,), (2,), (3,)]
    assert rows(storage / "tables" / "silver", "id") == [(1,), (2,), (3,)]  # rebuilt, no duplicates
    assert rows(storage / "tables" / "gold", "even", "total") == [(False, 15), (True, 20)]
    created = json.loads(events(storage, "create_update")[-1]["details"])["create_update"]
    assert (created["full_refresh"], created["full_refresh_selection"]) == (False, ["silver"])

    everything = run_update([pipeline], storage, spark=spark, configuration=conf, full_refresh=True)
    assert {n: f.rows_written for n, f in everything.flows.items()} == {"bronze": 3, "silver": 3, "gold": 2}
    assert rows(storage / "tables" / "silver", "id") == [(1,), (2,), (3,)]
    assert (
        json.loads(events(storage, "create_update")[-1]["details"])["create_update"]["full_refresh"] is True
    )


def test_second_update_on_the_same_storage_fails_fast(spark, tmp_path: Path, write_pipeline) -> None:
    layout = layout_mod.Layout(tmp_path / "storage")
    with layout_mod.update_lock(layout), pytest.raises(ConcurrentUpdateError) as info:
        run_update([write_pipeline({"p.py": MEDALLION})], layout.root, spark=spark)
    assert info.value.params["storage"] == str(layout.root.resolve()) or info.value.params["storage"] == str(
        layout.root
    )
    assert "another localdlt update is running" in str(info.value)
