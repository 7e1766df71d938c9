"""The orders pipeline through localdlt on the fixtures: update 1, an incremental update 2 with a
new file, then a full refresh — every table exactly, and the event log's expectation counts.

Each test asks for the update it checks (``update_1``, ``update_2``, ``full_refresh``: fixtures in
pipeline_support.py that run the updates in sequence once and capture each one's result), so
every test passes alone and in any order.
"""

from __future__ import annotations

from collections import Counter

import pytest
from pipeline_support import Stage

from orders_lakehouse.contract import bad_events
from orders_lakehouse.transforms.rules import silver_event_rules

pytestmark = pytest.mark.slow

RULES = list(silver_event_rules())


def _rule_failures(kinds: list[str]) -> Counter:
    by_kind = {k.kind: k.failed_rules for k in bad_events.kinds()}
    return Counter(rule for kind in kinds for rule in by_kind[kind])


def test_update_1_reproduces_the_expected_tables(update_1: Stage) -> None:
    update_1.assert_tables(1)
    assert update_1.counts["bronze_order_events"] == 53
    assert update_1.quarantined_rules == Counter(k.failed_rules for k in bad_events.kinds())
    assert update_1.quarantined_without_payload == 0


def test_update_1_event_log_expectation_counts(update_1: Stage) -> None:
    counts = update_1.expectations
    failures = _rule_failures(list(bad_events.kind_names()))
    entering = 20 + 32  # valid events after the dedup + every bad line
    for rule in RULES:
        assert counts[("silver_order_events", rule)] == (entering - failures[rule], failures[rule]), rule
    assert counts[("silver_order_events_quarantine", "fails_a_silver_rule")] == (32, 21)
    assert counts[("silver_order_status_transitions", "legal_status_transition")] == (18, 2)
    assert counts[("fact_orders", "order_has_created_event")] == (6, 0)
    dropped = update_1.dropped
    assert (dropped["silver_order_events"], dropped["silver_order_events_quarantine"]) == (32, 21)


def test_update_2_is_incremental(update_2: Stage) -> None:
    update_2.assert_tables(2)
    assert update_2.counts["bronze_order_events"] == 58
    assert update_2.counts["silver_order_events_quarantine"] == 33
    counts = update_2.expectations
    # only the new rows enter the streaming flows: 3 new valid events (the redelivered one is
    # dropped by the dedup before the expectations) and one invalid_uf event
    assert counts[("silver_order_events", "customer_state_is_uf")] == (3, 1)
    assert counts[("silver_order_events", "event_id_is_uuid")] == (4, 0)
    assert counts[("silver_order_events_quarantine", "fails_a_silver_rule")] == (1, 4)
    # materialized views are recomputed over everything
    assert counts[("silver_order_status_transitions", "legal_status_transition")] == (21, 2)


def test_full_refresh_gives_the_same_tables(full_refresh: Stage) -> None:
    full_refresh.assert_tables(2)
    assert full_refresh.counts["bronze_order_events"] == 58
    assert full_refresh.counts["silver_order_events_quarantine"] == 33
