"""The Kafka broker goes away under ``localdlt run pipelines/orders --continuous``: for 30 s in the
middle of the stream (SIGKILL, then a restart on the same data), then for good.

The real simulator produces through the project's ``KafkaProducer`` (librdkafka, idempotent,
``acks=all``: it queues and retries while the broker is away; ``flush`` raises unless the broker
acknowledged every message). The broker is a KRaft broker of the test's own, killed with SIGKILL
(a crash, not a clean shutdown) and started again with ``start(config, fresh=False)``.

One pipeline process serves both scenarios (one start of the orders pipeline takes minutes on a
loaded 2-core machine), updating only Bronze, Silver and the quarantine (``--refresh``):

1. outage of 30 s: the continuous run must still be running afterwards and reach, against what
   the producer got acknowledgements for, every payload once in Bronze, every valid event id once
   in Silver, every bad message once in the quarantine;
2. then the broker is killed for good: the run must exit non-zero within ``NEVER_RETURNS_BOUND``
   seconds naming the failed Kafka flow, and the tables must still hold exactly the same rows.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from crash_lab import kill_group, start_localdlt, wait_until
from fault_ledger import Record, record
from kill_loop import PIPELINE, SALT_ENV, START_TIMEOUT, Production, simulator
from layer_checks import LayerCounts, layer_counts
from orders_lakehouse.devstack import kafka_broker
from storage_probe import StorageProbe

pytestmark = [pytest.mark.reliability, pytest.mark.slow, pytest.mark.kafka, pytest.mark.timeout(3600)]

RATE = 25.0  # messages per second
OUTAGE_SECONDS = 30
AFTER_OUTAGE_SECONDS = 10  # production goes on this long after the restart
NEVER_RETURNS_BOUND = 600  # seconds: a run whose broker is gone must give up, non-zero, within this
# What the run prints when it gives up (Spark's Kafka source: 3 offset fetches of 60 s each, ~191 s).
GAVE_UP = (
    "flow 'bronze_order_events' FAILED: StreamingQueryException: org.apache.kafka.common.errors."
    "TimeoutException: Timed out waiting for a node assignment."
)
LAYERS = ("bronze_order_events", "silver_order_events", "silver_order_events_quarantine")


def _crash(config: kafka_broker.BrokerConfig) -> None:
    """SIGKILL the broker (a crash: no clean shutdown, no log flush)."""
    os.kill(int(config.pid_file.read_text()), signal.SIGKILL)
    wait_until(lambda: not kafka_broker.is_listening(config.port), 60, "the broker to go away")
    config.pid_file.unlink(missing_ok=True)


def _committed_rows(probe: StorageProbe, table: str) -> int:
    """Rows appended to ``table`` by streaming batches (the Delta log's ``numOutputRows``; no Spark)."""
    return sum(c.rows for c in probe.txn_commits(table))


def _checked(spark: SparkSession, storage: Path, sent: list[bytes], truth: dict) -> LayerCounts:
    counts = layer_counts(spark, storage / "tables", sent, truth)
    # silver_orders / fact_orders exist (created empty) but are not updated here (--refresh): the
    # reconciliation lines of Bronze, Silver and the quarantine are the ones that must match.
    counts.mismatches = [m for m in counts.mismatches if m[0].startswith(("Bronze", "Silver", "quarantine"))]
    return counts


def _exact(counts: LayerCounts) -> bool:
    return not counts.total_lost and not counts.total_duplicated and not counts.mismatches


def test_broker_outage_of_30_seconds_then_for_good(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    from orders_lakehouse.producers.kafka import KafkaProducer, create_topic, local_target

    config = kafka_broker.BrokerConfig(port=kafka_broker.free_port(), state_dir=tmp_path / "broker")
    request.addfinalizer(lambda: kafka_broker.stop(config))  # also when the set-up below fails
    bootstrap = kafka_broker.start(config)
    topic = create_topic(bootstrap, f"orders-outage-{uuid.uuid4().hex[:8]}")
    storage, log_file = tmp_path / "storage", tmp_path / "localdlt.log"
    conf = {
        "orders.source": "kafka",
        "orders.kafka.bootstrap_servers": bootstrap,
        "orders.kafka.topic": topic,
        "pipelines.trigger.interval": "1 second",
    }
    probe = StorageProbe(storage)
    producer = KafkaProducer(local_target(bootstrap, topic))
    production = Production(simulator(seed=23, rate=RATE), producer, RATE)
    production.start()
    started = time.monotonic()
    run = start_localdlt(
        [PIPELINE], storage, conf, log_file=log_file, env=SALT_ENV, extra=["--refresh", ",".join(LAYERS)]
    )
    try:
        wait_until(
            lambda: all(_committed_rows(probe, t) for t in LAYERS[:2]),
            START_TIMEOUT,
            "Bronze and Silver to commit their first rows",
            run,
        )
        before_outage = _committed_rows(probe, LAYERS[0])
        _crash(config)
        time.sleep(OUTAGE_SECONDS)
        kafka_broker.start(config, fresh=False)
        time.sleep(AFTER_OUTAGE_SECONDS)
        truth = production.finish()
        producer.flush()  # every message acknowledged by the broker, or DeliveryError
        sent = list(production.sent)
        wait_until(
            lambda: (
                _committed_rows(probe, LAYERS[0]) >= truth["messages"]
                and _committed_rows(probe, LAYERS[1]) >= truth["valid_events"]
                and _committed_rows(probe, LAYERS[2]) >= truth["bad_messages"]
            ),
            900,
            f"all {truth['messages']} messages in Bronze, Silver and the quarantine",
            run,
        )
        outage_seconds = round(time.monotonic() - started, 1)
        survived_outage = run.poll() is None
        # The test's own JVM starts only now: until here the machine is the runtime's.
        spark = request.getfixturevalue("spark")
        after_outage = _checked(spark, storage, sent, truth)
        record(
            Record(
                "Kafka broker down 30 s (SIGKILL, restart with its data)",
                faults=1,
                survived=int(survived_outage and _exact(after_outage)),
                lost=after_outage.total_lost,
                duplicated=after_outage.total_duplicated,
                details={
                    "messages": truth["messages"],
                    "valid_events": truth["valid_events"],
                    "bad_messages": truth["bad_messages"],
                    "bronze_rows_before_outage": before_outage,
                    "seconds": outage_seconds,
                },
            )
        )

        _crash(config)
        gone_at = time.monotonic()
        code = run.wait(timeout=NEVER_RETURNS_BOUND) if survived_outage else run.returncode
        gave_up_after = round(time.monotonic() - gone_at, 1)
    finally:
        if run.poll() is None:
            kill_group(run)
        kafka_broker.stop(config)
        producer.close()
    output = log_file.read_text()
    # The give-up names where the broker was expected and which topic was read.
    named = f"no Kafka broker answered at bootstrap servers {bootstrap} (subscribe {topic})"
    after_loss = _checked(spark, storage, sent, truth)
    record(
        Record(
            "Kafka broker never returns",
            faults=1,
            survived=int(code != 0 and GAVE_UP in output and named in output and _exact(after_loss)),
            lost=after_loss.total_lost,
            duplicated=after_loss.total_duplicated,
            details={"seconds_to_give_up": gave_up_after, "exit_code": code},
        )
    )
    assert survived_outage, f"localdlt exited ({run.returncode}) during the outage; log: {log_file}"
    assert (after_outage.lost, after_outage.duplicated, after_outage.mismatches) == (
        {k: 0 for k in after_outage.lost},
        {k: 0 for k in after_outage.duplicated},
        [],
    )
    assert code == 1, output[-3000:]
    assert GAVE_UP in output, output[-3000:]
    assert named in output, output[-3000:]
    assert (after_loss.lost, after_loss.duplicated, after_loss.mismatches) == (
        {k: 0 for k in after_loss.lost},
        {k: 0 for k in after_loss.duplicated},
        [],
    )
