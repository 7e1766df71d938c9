"""Simulator properties: contract validity, lifecycle order, amounts, determinism, counts, imperfections."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from jsonschema import Draft202012Validator

from orders_lakehouse.simulator import bad, brazil, lifecycle
from orders_lakehouse.simulator.engine import BAD, DUPLICATE, VALID, SimulatorConfig


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_every_valid_and_duplicate_message_satisfies_the_contract(
    mixed_run, validator: Draft202012Validator
) -> None:
    _, messages = mixed_run
    good = [m for m in messages if m.category != BAD]
    errors = {m.index: [e.message for e in validator.iter_errors(json.loads(m.value))] for m in good}
    assert {index: e for index, e in errors.items() if e} == {}
    # And the rules the schema cannot express: CPF check digits, money adding up.
    for message in good:
        event = json.loads(message.value)
        assert brazil.cpf_is_valid(event["customer"]["document"]), event["customer"]["document"]
        if "amounts" in event:
            a = {k: Decimal(str(v)) for k, v in event["amounts"].items() if k != "currency"}
            assert a["total"] == a["subtotal"] - a["discount"] + a["shipping"], event["amounts"]
        if "items" in event:
            assert Decimal(str(event["amounts"]["subtotal"])) == sum(
                Decimal(str(i["unit_price"])) * i["quantity"] for i in event["items"]
            )


def test_every_event_type_and_payment_method_appears(mixed_run) -> None:
    simulator, messages = mixed_run
    events = [json.loads(m.value) for m in messages if m.category == VALID]
    assert {e["event_type"] for e in events} == {f"order_{s}" for s in lifecycle.STATUSES}
    assert {e["payment"]["method"] for e in events if "payment" in e} == {
        "pix",
        "credit_card",
        "debit_card",
        "boleto",
    }
    installments = {e["payment"]["installments"] for e in events if "payment" in e}
    assert 1 in installments and max(installments) > 1
    assert all(e["amounts"]["currency"] == "BRL" for e in events if "amounts" in e)


def test_lifecycle_follows_the_state_machine_for_every_order(simulate) -> None:
    _, messages = simulate(4000, time_scale=36000.0, late_rate=0.0, duplicate_rate=0.0)
    by_order: dict[str, list[str]] = defaultdict(list)
    for m in sorted(messages, key=lambda m: (m.event_time, m.index)):
        by_order[m.order_id].append(m.event_type.removeprefix("order_"))
    illegal = {}
    for order_id, statuses in by_order.items():
        path = list(zip(["(start)", *statuses], statuses))
        if statuses[0] != lifecycle.CREATED or any(b not in lifecycle.ALLOWED[a] for a, b in path[1:]):
            illegal[order_id] = statuses
    assert illegal == {}
    assert sum(statuses[-1] == lifecycle.DELIVERED for statuses in by_order.values()) > 0
    # Without late events, arrival order is event-time order.
    assert [m.event_time for m in messages] == sorted(m.event_time for m in messages)


def test_late_events_arrive_after_later_events_and_keep_their_event_time(mixed_run) -> None:
    simulator, messages = mixed_run
    late = [m for m in messages if m.category == VALID and m.late_seconds]
    assert len(late) == len(simulator.truth.late_events) > 0
    for m in late:
        assert parse_time(m.event_time) == m.scheduled_at - timedelta(seconds=m.late_seconds)
        assert 5.0 <= m.late_seconds <= 120.0 + 1 / 100  # configured window, plus at most one slot
        assert m.event_type != "order_created"  # only follow-up events are delayed
    # Event-time order still follows the lifecycle, even though arrival order does not.
    by_order: dict[str, list[str]] = defaultdict(list)
    for m in sorted((m for m in messages if m.category == VALID), key=lambda m: m.event_time):
        by_order[m.order_id].append(m.event_type.removeprefix("order_"))
    reachable = {s: _reachable(s) for s in lifecycle.STATUSES}
    for statuses in by_order.values():
        assert all(b in reachable[a] for a, b in zip(statuses, statuses[1:])), statuses


def _reachable(status: str) -> set[str]:
    seen, todo = set(), [status]
    while todo:
        for nxt in lifecycle.ALLOWED[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_same_seed_same_messages_byte_for_byte(simulate) -> None:
    options = {"bad_rate": 0.05, "duplicate_rate": 0.02, "late_rate": 0.05, "bad_kinds": bad.select()}
    _, first = simulate(1500, **options)
    _, second = simulate(1500, **options)
    _, other_seed = simulate(1500, seed=43, **options)
    assert [m.value for m in first] == [m.value for m in second]
    assert [m.key for m in first] == [m.key for m in second]
    assert [m.value for m in first] != [m.value for m in other_seed]


def test_simulated_clock_gives_exactly_rate_messages_per_simulated_second(simulate, start) -> None:
    simulator, messages = simulate(1000, rate=25.0, late_rate=0.0)
    assert [m.scheduled_at for m in messages] == [start + timedelta(seconds=i / 25) for i in range(1000)]
    per_second = defaultdict(int)
    for m in messages:
        per_second[int((m.scheduled_at - start).total_seconds())] += 1
    assert set(per_second.values()) == {25}
    # A fresh (non-late, non-duplicate) event happens at the moment it is sent.
    assert all(parse_time(m.event_time) == m.scheduled_at for m in messages if m.category == VALID)


def test_counts_add_up_and_truth_matches_the_messages(mixed_run) -> None:
    simulator, messages = mixed_run
    truth = simulator.truth
    categories = [m.category for m in messages]
    assert truth.messages == len(messages) == 3000
    assert truth.valid_events == categories.count(VALID)
    assert len(truth.duplicates) == categories.count(DUPLICATE) > 0
    assert len(truth.bad_events) == categories.count(BAD) > 0
    assert truth.valid_events + len(truth.duplicates) + len(truth.bad_events) == 3000
    valid_ids = [m.event_id for m in messages if m.category == VALID]
    assert len(set(valid_ids)) == len(valid_ids)  # every valid event is unique...
    originals = {m.event_id: m.value for m in messages if m.category == VALID}
    for m in messages:
        if m.category == DUPLICATE:  # ...and a duplicate is a byte-identical re-send of one sent before
            assert originals[m.event_id] == m.value
    # Final status per order = the status of its latest event by event_time.
    latest: dict[str, tuple[str, str]] = {}
    for m in messages:
        if m.category == VALID and (m.order_id not in latest or m.event_time > latest[m.order_id][0]):
            latest[m.order_id] = (m.event_time, m.event_type.removeprefix("order_"))
    assert truth.status_by_order() == {order: status for order, (_, status) in latest.items()}
    # Bad messages belong to throw-away orders: they never touch a real order's status.
    assert not {b["order_id"] for b in truth.bad_events} & set(truth.orders)


def test_truth_is_written_as_json(tmp_path, mixed_run) -> None:
    simulator, _ = mixed_run
    path = tmp_path / "out" / "truth.json"
    simulator.truth.write(path)
    written = json.loads(path.read_text())
    assert written["messages"] == 3000
    assert written["valid_events"] + written["duplicate_messages"] + written["bad_messages"] == 3000
    assert sum(written["bad_by_kind"].values()) == written["bad_messages"]
    assert {o: s["status"] for o, s in written["orders"].items()} == simulator.truth.status_by_order()
    assert list(tmp_path.joinpath("out").iterdir()) == [path]  # no temp file left behind


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"rate": 0}, "rate must be > 0 messages per simulated second, got 0"),
        ({"bad_rate": 1.5}, "bad_rate must be within [0, 1], got 1.5"),
        ({"bad_rate": 0.1}, "bad_rate > 0 needs at least one kind in bad_kinds"),
        (
            {"start_time": datetime(2026, 1, 1)},
            "start_time must carry a time zone (e.g. 2026-11-29T07:00:00Z)",
        ),
    ],
)
def test_config_errors_name_the_argument(overrides: dict, message: str) -> None:
    with pytest.raises(ValueError) as error:
        SimulatorConfig(**overrides)
    assert str(error.value) == message


def test_unknown_bad_kind_is_named() -> None:
    with pytest.raises(ValueError, match=r"^--bad-kinds: unknown kind\(s\) nope; known: "):
        bad.select(["invalid_cpf", "nope"])
