"""End to end: simulator → real local Kafka → localdlt running pipelines/orders → Bronze/Silver/Gold.

The reconciliation is exact: every message one Bronze row, every valid event once in Silver
(duplicates removed), every injected bad message in quarantine, and each order's current status
in silver_orders and in Gold's fact_orders equal to the simulator's own record.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from pyspark.sql import SparkSession

from localdlt.runner import run_update
from orders_lakehouse.devstack.demo import PIPELINE_DIR, REPO_ROOT
from orders_lakehouse.devstack.reconcile import reconcile
from orders_lakehouse.producers.kafka import KafkaProducer, create_topic, local_target
from orders_lakehouse.simulator import bad
from orders_lakehouse.simulator.engine import Simulator, SimulatorConfig
from orders_lakehouse.simulator.runner import run

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

MESSAGES = 400
CADENCE = 20.0  # simulated messages per second: 400 messages = 20 simulated seconds


def test_simulator_to_kafka_to_localdlt_reconciles_exactly(
    spark: SparkSession, kafka: str, tmp_path, orders_pipeline, production_codegen
) -> None:
    topic = create_topic(kafka, f"orders-e2e-{uuid.uuid4().hex[:8]}")
    # The simulated history ends now: no event is "in the future" for the pipeline's time rule.
    start = datetime.now(timezone.utc) - timedelta(seconds=MESSAGES / CADENCE)
    simulator = Simulator(
        SimulatorConfig(
            seed=20261129,
            start_time=start,
            rate=CADENCE,
            time_scale=36000.0,  # whole lifecycles within 20 s
            bad_rate=0.05,
            duplicate_rate=0.03,
            late_rate=0.05,
            bad_kinds=bad.select(),
        )
    )
    with KafkaProducer(local_target(kafka, topic)) as producer:
        run(simulator, producer, limit=MESSAGES, rate=None)
    truth = simulator.truth.as_json()
    # The run exercises what it claims to: every imperfection and every final status is present.
    assert truth["messages"] == MESSAGES
    assert truth["duplicate_messages"] and truth["bad_messages"] and truth["late_events"]
    assert set(truth["status_counts"]) == {
        "created",
        "paid",
        "payment_failed",
        "shipped",
        "delivered",
        "cancelled",
    }

    # The session factory switches Catalyst's constraint propagation off: on Silver's rule set it
    # ran the 1 GB driver out of heap (OutOfMemoryError in getAllValidConstraints).
    assert spark.conf.get("spark.sql.constraintPropagation.enabled") == "false"
    result = run_update(
        [PIPELINE_DIR],
        tmp_path / "storage",
        spark=spark,
        configuration={
            "orders.source": "kafka",
            "orders.kafka.bootstrap_servers": kafka,
            "orders.kafka.topic": topic,
        },
        root_path=REPO_ROOT,
    )
    assert [(f.name, f.error) for f in result.failed_flows()] == []
    assert result.ok

    checks = reconcile(spark, tmp_path / "storage" / "tables", truth)
    assert [(c.name, c.expected, c.actual) for c in checks if not c.ok] == []
    assert [c.name for c in checks] == [
        "Bronze rows = messages sent",
        "Silver rows = valid events (duplicates removed)",
        "Silver event ids = the valid events' ids",
        "quarantine rows = bad messages injected",
        "quarantine failed_rules = the catalog's, kind by kind",
        "orders whose current status differs from the simulator's",
        "orders in silver_orders",
        "Gold fact_orders: current status per order = simulator's",
        "Gold fact_orders: sum of order totals (BRL)",
    ]
