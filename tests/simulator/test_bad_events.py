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
    if datetime.fromisoformat(event["event_time"].replace("Z", "+00:00")) > datetime.now(timezone.utc) + timedelta(minutes=5):
        return "event time in the future"
    return ""


@pytest.mark.parametrize("kind", bad.LOCAL_KINDS, ids=lambda k: k.name)
def test_each_local_kind_renders_a_bad_message(kind: bad.BadKind, mixed_run, validator: Draft202012Validator) -> None:
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
