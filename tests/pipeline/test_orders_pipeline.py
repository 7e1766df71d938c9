"""The orders pipeline through localdlt on the fixtures: update 1, an incremental update 2 with a
new file, then a full refresh — every table exactly, and the event log's expectation counts.

The tests of this module run in order on one storage folder (module-scoped fixture).
"""

from __future__ import annotations

from collections import Counter

import pytest
from pyspark.sql import functions as F

from orders_lakehouse.contract import bad_events
from orders_lakehouse.transforms.rules import silver_event_rules

from pipeline_support import PipelineRun, assert_tables

pytestmark = pytest.mark.slow

RULES = list(silver_event_rules())
STATE: dict[str, str] = {}


def _rule_failures(kinds: list[str]) -> Counter:
    by_kind = {k.kind: k.failed_rules for k in bad_events.kinds()}
    return Counter(rule for kind in kinds for rule in by_kind[kind])


def _assert_ok(result) -> None:
    failed = {f.name: f.error for f in result.failed_flows()}
    assert result.status == "COMPLETED" and not failed, failed


def test_update_1_reproduces_the_expected_tables(pipeline_run: PipelineRun) -> None:
    pipeline_run.land(1)
    result = pipeline_run.update()
    _assert_ok(result)
    STATE["update_1"] = result.update_id
    assert_tables(pipeline_run, 1)
    assert pipeline_run.table("bronze_order_events").count() == 53
    quarantine = pipeline_run.table("silver_order_events_quarantine")
    got = Counter(tuple(r["failed_rules"]) for r in quarantine.select("failed_rules").collect())
    assert got == Counter(k.failed_rules for k in bad_events.kinds())
    assert quarantine.filter(F.col("raw_payload").isNull()).count() == 0


def test_update_1_event_log_expectation_counts(pipeline_run: PipelineRun) -> None:
    update_id = STATE["update_1"]
    counts = pipeline_run.expectations(update_id)
    failures = _rule_failures(list(bad_events.kind_names()))
    entering = 20 + 32  # valid events after the dedup + every bad line
    for rule in RULES:
        assert counts[("silver_order_events", rule)] == (entering - failures[rule], failures[rule]), rule
    assert counts[("silver_order_events_quarantine", "fails_a_silver_rule")] == (32, 21)
    assert counts[("silver_order_status_transitions", "legal_status_transition")] == (18, 2)
    assert counts[("fact_orders", "order_has_created_event")] == (6, 0)
    dropped = pipeline_run.dropped(update_id)
    assert (dropped["silver_order_events"], dropped["silver_order_events_quarantine"]) == (32, 21)


def test_update_2_is_incremental(pipeline_run: PipelineRun) -> None:
    pipeline_run.land(2)
    result = pipeline_run.update()
    _assert_ok(result)
    assert_tables(pipeline_run, 2)
    assert pipeline_run.table("bronze_order_events").count() == 58
    assert pipeline_run.table("silver_order_events_quarantine").count() == 33
    counts = pipeline_run.expectations(result.update_id)
    # only the new rows enter the streaming flows: 3 new valid events (the redelivered one is
    # dropped by the dedup before the expectations) and one invalid_uf event
    assert counts[("silver_order_events", "customer_state_is_uf")] == (3, 1)
    assert counts[("silver_order_events", "event_id_is_uuid")] == (4, 0)
    assert counts[("silver_order_events_quarantine", "fails_a_silver_rule")] == (1, 4)
    # materialized views are recomputed over everything
    assert counts[("silver_order_status_transitions", "legal_status_transition")] == (21, 2)


def test_full_refresh_gives_the_same_tables(pipeline_run: PipelineRun) -> None:
    result = pipeline_run.update(full_refresh=True)
    _assert_ok(result)
    assert_tables(pipeline_run, 2)
    assert pipeline_run.table("bronze_order_events").count() == 58
    assert pipeline_run.table("silver_order_events_quarantine").count() == 33
