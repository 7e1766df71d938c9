"""Every bad kind really is bad: it breaks the contract or a rule the pipeline checks."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from orders_lakehouse.contract import bad_events
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
    if any(
        Decimal(str(i.get("unit_price", 0))) * i.get("quantity", 1) > 1_000_000
        for i in event.get("items", [])
    ):
        return "absurd amount"
    if datetime.fromisoformat(event["event_time"].replace("Z", "+00:00")) > datetime.now(
        timezone.utc
    ) + timedelta(minutes=5):
        return "event time in the future"
    return ""


CATALOG_YAML = Path(bad_events.__file__).with_name("bad_events.catalog.yaml")


def catalog_file() -> list[dict]:
    """The catalog as written in the YAML file (read here without the contract module's parser)."""
    return yaml.safe_load(CATALOG_YAML.read_text(encoding="utf-8"))["kinds"]


@pytest.mark.parametrize("kind", list(bad.catalog().values()), ids=lambda k: k.name)
def test_each_kind_renders_a_bad_message(
    kind: bad.BadKind, mixed_run, validator: Draft202012Validator
) -> None:
    """Judged independently of the catalog: the contract schema, the CPF check, the arithmetic."""
    simulator, messages = mixed_run
    base = next(json.loads(m.value) for m in messages if m.event_type == "order_created")
    base["event_time"] = datetime.now(timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ"
    )  # "now", so only the kind makes it future
    assert why_bad(json.dumps(base).encode(), validator) == ""  # the base is valid
    assert why_bad(kind.render(base), validator) != ""


def test_injected_bad_messages_are_recorded_with_their_kind(mixed_run) -> None:
    simulator, messages = mixed_run
    injected = [(m.index, m.bad_kind) for m in messages if m.category == BAD]
    assert [(b["index"], b["kind"]) for b in simulator.truth.bad_events] == injected
    assert {kind for _, kind in injected} <= {k.name for k in bad.select()}
    assert "huge_payload" not in {kind for _, kind in injected}  # opt-in only


def test_the_simulator_injects_the_contract_catalog_and_nothing_else(mixed_run) -> None:
    """One catalog: every kind of the YAML file, in its order, with its failed rules and the
    contract's renderer; only the 1 MiB payload is left out of the default injection."""
    written = catalog_file()
    catalog = bad.catalog()
    assert list(catalog) == [entry["kind"] for entry in written]
    assert len(catalog) == 32
    assert {name: k.failed_rules for name, k in catalog.items()} == {
        entry["kind"]: tuple(entry["failed_rules"]) for entry in written
    }
    assert [k.name for k in catalog.values() if not k.default] == ["huge_payload"]
    assert [k.name for k in bad.select()] == [
        entry["kind"] for entry in written if entry["kind"] != "huge_payload"
    ]
    simulator, messages = mixed_run
    base = next(json.loads(m.value) for m in messages if m.event_type == "order_created")
    for name, kind in catalog.items():
        assert kind.render(base) == bad_events.render(base, name)
    # Each injected message carries the failed rules the YAML file gives its kind.
    expected = {entry["kind"]: tuple(entry["failed_rules"]) for entry in written}
    injected = [m for m in messages if m.category == BAD]
    assert injected and all(m.failed_rules == expected[m.bad_kind] for m in injected)


def test_an_unknown_kind_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match=r"--bad-kinds: unknown kind\(s\) blank_message, non_utf8; known: "):
        bad.select(["blank_line", "blank_message", "non_utf8"])
