"""A batch replayed after a kill, whose write is skipped because it was already done, still runs its
plan: a stateful flow (``dropDuplicatesWithinWatermark``, as Silver's) must commit its state for
the batch, or Spark 4.1 fails the query with ``STATE_STORE_COMMIT_VALIDATION_FAILED`` at every
restart (found by the kill -9 loop of the orders pipeline).

The two states a kill leaves are reproduced on disk exactly (no timing): the batch written and
marked done but without Spark's ``commits/N`` (the kill came between localdlt's mark and Spark's
commit), and the batch in Delta but neither marked nor committed (the kill came right after the
Delta commit). Each time the next update must succeed, with every event id exactly once.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from fault_ledger import Record, record
from layer_checks import missing_events

pytestmark = [pytest.mark.reliability, pytest.mark.slow, pytest.mark.timeout(1800)]

PIPELINE = """
import dlt

@dlt.table
def events_bronze():
    return (spark.readStream.format("cloudFiles").option("cloudFiles.format", "json")
            .schema("event_id STRING, event_time TIMESTAMP, amount INT")
            .load(spark.conf.get("test.landing")))

@dlt.table
def events_silver():
    return (dlt.read_stream("events_bronze").withWatermark("event_time", "10 minutes")
            .dropDuplicatesWithinWatermark(["event_id"]))
"""
FLOWS = ["events_bronze", "events_silver"]
START = datetime(2026, 12, 2, 9, 0, tzinfo=timezone.utc)


def _land(landing: Path, index: int) -> None:
    """100 events, the last 10 of them sent twice (a producer's retries)."""
    lines = [
        json.dumps(
            {
                "event_id": f"{index}-{n}",
                "event_time": (START + timedelta(seconds=100 * index + n)).isoformat(),
                "amount": n,
            }
        )
        for n in [*range(100), *range(90, 100)]
    ]
    staging = landing.parent / f".{index}.tmp"
    staging.write_text("\n".join(lines) + "\n")
    staging.replace(landing / f"events-{index}.json")


def _cli(spark: SparkSession, *argv: str) -> int:
    from localdlt.cli import main

    return main(list(argv), spark=spark)


def _forget_last_commit(checkpoint: Path) -> int:
    """Remove Spark's last ``commits/N`` (and its checksum file) as a kill before it was written
    leaves the checkpoint; returns N."""
    last = max(int(p.name) for p in (checkpoint / "commits").iterdir() if p.name.isdigit())
    (checkpoint / "commits" / str(last)).unlink()
    (checkpoint / "commits" / f".{last}.crc").unlink(missing_ok=True)
    return last


def _silver_ids(spark: SparkSession, storage: Path) -> list[str]:
    silver = spark.read.format("delta").load(str(storage / "tables" / "events_silver"))
    return sorted(r[0] for r in silver.select("event_id").collect())


def _expected(*indexes: int) -> list[str]:
    return sorted(f"{i}-{n}" for i in indexes for n in range(100))


def test_replayed_batches_of_a_stateful_flow_commit_their_state(
    spark: SparkSession, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pipeline, landing, storage = tmp_path / "pipeline", tmp_path / "landing", tmp_path / "storage"
    pipeline.mkdir()
    landing.mkdir()
    (pipeline / "p.py").write_text(PIPELINE)
    argv = ["run", str(pipeline), "--storage", str(storage), "--quiet", "--conf", f"test.landing={landing}"]
    checkpoint = storage / "checkpoints" / "events_silver"
    _land(landing, 0)
    assert _cli(spark, *argv) == 0, capsys.readouterr().err[-3000:]
    assert _silver_ids(spark, storage) == _expected(0)

    # Killed after localdlt marked the batch written, before Spark's commit: no commits/N.
    _forget_last_commit(checkpoint)
    _land(landing, 1)
    marked = _cli(spark, *argv)
    marked_error = capsys.readouterr().err
    marked_ids = _silver_ids(spark, storage)

    # Killed right after the Delta commit: neither marked nor committed.
    last = _forget_last_commit(checkpoint)
    (checkpoint / "localdlt_last_batch").write_text(str(last - 1))
    _land(landing, 2)
    in_delta = _cli(spark, *argv)
    in_delta_error = capsys.readouterr().err
    audit = missing_events(spark, storage, FLOWS)
    ids = _silver_ids(spark, storage)
    record(
        Record(
            "replayed batch of a stateful flow (written, then killed before Spark's commit)",
            faults=2,
            survived=int(marked == 0) + int(in_delta == 0 and ids == _expected(0, 1, 2)),
            lost=len(set(_expected(0, 1, 2)) - set(ids)),
            duplicated=len(ids) - len(set(ids)) + len(audit.duplicated),
            events_missing=len(audit.missing),
        )
    )
    assert marked == 0, marked_error[-3000:]
    assert marked_ids == _expected(0, 1)
    assert in_delta == 0, in_delta_error[-3000:]
    assert ids == _expected(0, 1, 2)
    assert (audit.missing, audit.duplicated) == ([], [])


KAFKA_PIPELINE = """
import dlt

@dlt.table
def events_bronze():
    return (spark.readStream.format("kafka")
            .option("kafka.bootstrap.servers", spark.conf.get("test.bootstrap"))
            .option("subscribe", spark.conf.get("test.topic")).option("startingOffsets", "earliest").load()
            .selectExpr("CAST(value AS STRING) AS event_id", "partition", "offset"))
"""


def _produce(bootstrap: str, topic: str, index: int) -> None:
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for n in range(100):
        producer.produce(topic, f"{index}-{n}".encode())
    assert producer.flush(30) == 0, "the broker did not acknowledge every message"


@pytest.mark.kafka
def test_replayed_kafka_batches_are_read_again(
    spark: SparkSession, kafka: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same two kill states for a flow reading Kafka: the replayed batch is read and the next
    update succeeds. Spark 4.1.1's Kafka source fails the progress report of a replayed batch (a
    NullPointerException in ``KafkaMicroBatchStream.metrics``, found by the Kafka kill -9 loop);
    without ``localdlt.flows.replay`` the second and third updates here exit 1 with it."""
    from orders_lakehouse.producers.kafka import create_topic

    topic = create_topic(kafka, f"replay-{uuid.uuid4().hex[:8]}")
    pipeline, storage = tmp_path / "pipeline", tmp_path / "storage"
    pipeline.mkdir()
    (pipeline / "p.py").write_text(KAFKA_PIPELINE)
    argv = ["run", str(pipeline), "--storage", str(storage), "--quiet",
            "--conf", f"test.bootstrap={kafka}", "--conf", f"test.topic={topic}"]  # fmt: skip
    checkpoint = storage / "checkpoints" / "events_bronze"
    for index in range(3):
        if index == 1:  # written and marked, no commits/N
            _forget_last_commit(checkpoint)
        if index == 2:  # in Delta only
            last = _forget_last_commit(checkpoint)
            (checkpoint / "localdlt_last_batch").write_text(str(last - 1))
        _produce(kafka, topic, index)
        assert _cli(spark, *argv) == 0, capsys.readouterr().err[-3000:]
    bronze = spark.read.format("delta").load(str(storage / "tables" / "events_bronze"))
    ids = sorted(r[0] for r in bronze.select("event_id").collect())
    audit = missing_events(spark, storage, ["events_bronze"])
    record(
        Record(
            "replayed Kafka batch (written, then killed before Spark's commit)",
            faults=2,
            survived=2 if ids == _expected(0, 1, 2) else 0,
            lost=len(set(_expected(0, 1, 2)) - set(ids)),
            duplicated=len(ids) - len(set(ids)) + len(audit.duplicated),
            events_missing=len(audit.missing),
        )
    )
    assert ids == _expected(0, 1, 2)
    assert (audit.missing, audit.duplicated) == ([], [])
