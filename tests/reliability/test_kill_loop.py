"""kill -9 of ``localdlt run --continuous`` (the orders pipeline) at the moments that matter, while
the real simulator produces to files or to the real Kafka broker; every restart resumes.

Proof that the kills land mid-write: after each kill the storage is read for what was in flight
(``crash_lab.STATES``), and every state must be hit at least once. After the loop and a draining
triggered update, against the producer's ground truth: Bronze = every payload sent, once; Silver =
every valid event id, once; the quarantine = exactly the bad messages (rule by rule); the
simulator's reconciliation (``silver_orders``, ``fact_orders``) matches; every table — SCD1, SCD2
and Gold included — equals an uninterrupted recompute of the same input; and every committed batch
of every streaming flow has exactly one ``flow_progress`` event with its row count, and every
refresh commit of every materialized view its METRICS event.

``RELIABILITY_KILLS`` (default 10) sets the number of kills per loop.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kill_loop import Production, simulator
from kill_loop_checks import RATE, kill_loop_then_check

pytestmark = [pytest.mark.reliability, pytest.mark.slow, pytest.mark.timeout(5400)]


def test_kill_9_loop_with_files(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    from orders_lakehouse.producers.files import AtomicFileProducer

    landing = tmp_path / "landing"
    conf = {
        "orders.source": "files",
        "orders.landing_path": str(landing),
        "pipelines.trigger.interval": "1 second",
    }
    producer = AtomicFileProducer(
        landing, staging=tmp_path / "staging", batch_size=200, max_batch_seconds=1.0
    )
    production = Production(simulator(seed=13, rate=RATE), producer, RATE)
    kill_loop_then_check(request, "kill -9 loop, files", tmp_path, conf, production, seed=13)
