"""kill -9 of ``localdlt run --continuous`` (the orders pipeline) at the moments that matter, while
the real simulator produces to files or to the real Kafka broker; every restart resumes.

Proof that the kills land mid-write: after each kill the storage is read for what was in flight
(``crash_lab.STATES``), and every state must be hit at least once. After the loop and a draining
triggered update, against the producer's ground truth: Bronze = every payload sent, once; Silver =
every valid event id, once; the quarantine = exactly the bad messages (rule by rule); the
simulator's reconciliation (``silver_orders``, ``fact_orders``) matches; every table — SCD1, SCD2
and Gold included — equals an uninterrupted recompute of the same input; and every committed batch
of every streaming flow has exactly one ``flow_progress`` event with its row count.

``RELIABILITY_KILLS`` (default 10) sets the number of kills per loop.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from crash_lab import STATES
from fault_ledger import Record, record
from kill_loop import STREAMING_FLOWS, LoopOutcome, Production, kill_loop, reference_run, simulator
from layer_checks import layer_counts, missing_events, table_differences

pytestmark = [pytest.mark.reliability, pytest.mark.slow, pytest.mark.timeout(5400)]

KILLS = int(os.environ.get("RELIABILITY_KILLS", "10"))
RATE = 25.0  # messages per second while the loop runs
COMPARED = (
    "silver_order_events",
    "silver_order_events_quarantine",
    "silver_orders",
    "silver_order_status_history",
    "fact_orders",
    "dim_customer",
    "dim_product",
    "gold_status_funnel",
    "gold_payment_health",
    "gold_sales_per_minute",
    "gold_top_products",
    "gold_fulfillment_sla",
)


def _check_and_record(
    spark: SparkSession, scenario: str, outcome: LoopOutcome, storage: Path, reference: Path, log_file: Path
) -> None:
    tables = storage / "tables"
    counts = layer_counts(spark, tables, outcome.sent, outcome.truth)
    audit = missing_events(spark, storage, STREAMING_FLOWS)
    differences = table_differences(spark, tables, reference / "tables", COMPARED)
    ok = (
        outcome.drain_returncode == 0
        and not counts.total_lost
        and not counts.total_duplicated
        and not counts.mismatches
        and not audit.missing
        and not audit.duplicated
        and not differences
        and outcome.states_hit >= set(STATES)
    )
    record(
        Record(
            scenario,
            faults=len(outcome.kills),
            survived=len(outcome.kills) if ok else 0,
            lost=counts.total_lost,
            duplicated=counts.total_duplicated + len(audit.duplicated),
            events_missing=len(audit.missing),
            details={
                "messages": outcome.truth["messages"],
                "valid_events": outcome.truth["valid_events"],
                "bad_messages": outcome.truth["bad_messages"],
                "seconds": outcome.seconds,
                "batches_audited": audit.batches,
                "kills": [
                    {"trigger": k.trigger, "alive_s": k.seconds_alive, "in_flight": k.flows_in_flight}
                    for k in outcome.kills
                ],
                "states_hit": sorted(outcome.states_hit),
            },
        )
    )
    assert outcome.drain_returncode == 0, f"the draining update failed; log: {log_file}"
    assert outcome.states_hit >= set(STATES), (
        f"states never hit: {set(STATES) - outcome.states_hit}; "
        f"kills: {[k.flows_in_flight for k in outcome.kills]}"
    )
    assert (counts.lost, counts.duplicated) == (
        {k: 0 for k in counts.lost},
        {k: 0 for k in counts.duplicated},
    )
    assert counts.mismatches == []
    assert (audit.missing, audit.duplicated) == ([], [])
    assert differences == {}


def test_kill_9_loop_with_files(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    from orders_lakehouse.producers.files import AtomicFileProducer

    landing, storage, log_file = tmp_path / "landing", tmp_path / "storage", tmp_path / "localdlt.log"
    conf = {
        "orders.source": "files",
        "orders.landing_path": str(landing),
        "pipelines.trigger.interval": "1 second",
    }
    producer = AtomicFileProducer(
        landing, staging=tmp_path / "staging", batch_size=200, max_batch_seconds=1.0
    )
    production = Production(simulator(seed=13, rate=RATE), producer, RATE)
    outcome = kill_loop(
        storage, conf, production, kills=KILLS, max_kills=KILLS + 8, seed=13, log_file=log_file
    )
    assert reference_run(tmp_path / "reference", conf, log_file) == 0, (
        f"reference run failed; log: {log_file}"
    )
    # The test session's own JVM starts only now: during the loop the machine is the runtime's.
    spark = request.getfixturevalue("spark")
    _check_and_record(spark, "kill -9 loop, files", outcome, storage, tmp_path / "reference", log_file)


@pytest.mark.kafka
def test_kill_9_loop_with_kafka(request: pytest.FixtureRequest, kafka: str, tmp_path: Path) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    from orders_lakehouse.producers.kafka import KafkaProducer, local_target

    topic = f"orders-kill-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": kafka})
    for future in admin.create_topics([NewTopic(topic, 2, 1)]).values():
        future.result(timeout=30)
    storage, log_file = tmp_path / "storage", tmp_path / "localdlt.log"
    conf = {
        "orders.source": "kafka",
        "orders.kafka.bootstrap_servers": kafka,
        "orders.kafka.topic": topic,
        "pipelines.trigger.interval": "1 second",
    }
    with KafkaProducer(local_target(kafka, topic)) as producer:
        production = Production(simulator(seed=17, rate=RATE), producer, RATE)
        outcome = kill_loop(
            storage, conf, production, kills=KILLS, max_kills=KILLS + 8, seed=17, log_file=log_file
        )
    assert reference_run(tmp_path / "reference", conf, log_file) == 0, (
        f"reference run failed; log: {log_file}"
    )
    spark = request.getfixturevalue("spark")
    _check_and_record(spark, "kill -9 loop, Kafka", outcome, storage, tmp_path / "reference", log_file)
