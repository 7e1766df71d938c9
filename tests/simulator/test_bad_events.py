"""Every bad kind really is bad: it breaks the contract or a rule the pipeline checks."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from jsonschema import Draft202012Validator

from orders_lakehouse.simulator import bad, brazil
from orders_lakehouse.simulator.engine import BAD


def why_bad(value: bytes, validator: Draft202012Validator) -> str:
    """The first reason ``value`` must not reach Silver ('' when it looks valid)."""
    if len(value) >= 1_000_000:
        return "payload of 1 MB or more"
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        return "not UTF-8"
    try:
        event = json.loads(text)
    except json.JSONDecodeError:
        return "not JSON"
    if not isinstance(event, dict):
        return "not an object"
    errors = list(validator.iter_errors(event))
    if errors:
        return f"contract: {errors[0].message}"
    if not brazil.cpf_is_valid(event["customer"].get("document", "")):
        return "CPF check digits"
    a = event.get("amounts", {})
    if {"subtotal", "discount", "shipping", "total"} <= set(a) and Decimal(str(a["total"])) != (
        Decimal(str(a["subtotal"])) - Decimal(str(a["discount"])) + Decimal(str(a["shipping"]))
    ):
        return "total does not add up"
    if any(Decimal(str(i.get("unit_price", 0))) * i.get("quantity", 1) > 1_000_000 for i in event.get("items", [])):
        return "absurd amount"
    if datetime.fromisoformat(event["event_time"].replace("Z", "+00:00")) > datetime.now(timezone.utc) + timedelta(minutes=5):
        return "event time in the future"
    return ""


@pytest.mark.parametrize("kind", [*bad.LOCAL_KINDS, *bad.catalog().values()], ids=lambda k: k.name)
def test_each_kind_renders_a_bad_message(kind: bad.BadKind, mixed_run, validator: Draft202012Validator) -> None:
    """Local kinds and the catalog in use (the pipeline's, when it is in the tree)."""
    simulator, messages = mixed_run
    base = next(json.loads(m.value) for m in messages if m.event_type == "order_created")
    base["event_time"] = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # "now", so only the kind makes it future
    assert why_bad(json.dumps(base).encode(), validator) == ""  # the base is valid
    assert why_bad(kind.render(base, random.Random(1)), validator) != ""


def test_injected_bad_messages_are_recorded_with_their_kind(mixed_run) -> None:
    simulator, messages = mixed_run
    injected = [(m.index, m.bad_kind) for m in messages if m.category == BAD]
    assert [(b["index"], b["kind"]) for b in simulator.truth.bad_events] == injected
    assert {kind for _, kind in injected} <= {k.name for k in bad.select()}
    assert "huge_payload" not in {kind for _, kind in injected}  # opt-in only


def test_the_pipeline_catalog_is_used_with_its_expected_rules_when_present() -> None:
    try:
        from orders_lakehouse.contract import bad_events
    except ImportError:
        pytest.skip("the pipeline's bad-event catalog is not in this tree")
    catalog = bad.catalog()
    assert sorted(catalog) == sorted(bad_events.kind_names())
    assert {name: kind.failed_rules for name, kind in catalog.items()} == {k.kind: k.failed_rules for k in bad_events.kinds()}
    assert [k.name for k in catalog.values() if not k.default] == ["huge_payload"]
