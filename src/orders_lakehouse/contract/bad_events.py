"""The catalog of bad inputs: kinds, their expected fate, and a renderer.

The catalog (``bad_events.catalog.yaml``, next to this module) lists every kind with the Silver
rules it must fail; :func:`render` turns a valid event into the bad payload of one kind, as the
bytes a producer would send (one line, no newline). The simulator uses it to inject bad events.

Example::

    from orders_lakehouse.contract import bad_events
    for kind in bad_events.kinds():
        payload: bytes = bad_events.render(valid_event, kind.kind)
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

CATALOG_RESOURCE = "bad_events.catalog.yaml"
HUGE_PAYLOAD_BYTES = 1_048_576

Event = dict[str, Any]


@dataclass(frozen=True)
class BadEventKind:
    """One kind of bad input and its expected fate (the Silver rules it fails)."""

    kind: str
    description: str
    failed_rules: tuple[str, ...]


class UnknownBadEventKind(KeyError):
    """``render`` was given a kind that is not in the catalog."""


@lru_cache(maxsize=1)
def kinds() -> tuple[BadEventKind, ...]:
    """Every kind in the catalog, in catalog order."""
    text = resources.files(__package__).joinpath(CATALOG_RESOURCE).read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    return tuple(
        BadEventKind(entry["kind"], entry["description"], tuple(entry["failed_rules"]))
        for entry in data["kinds"]
    )


def kind_names() -> tuple[str, ...]:
    """The names of every kind, in catalog order."""
    return tuple(k.kind for k in kinds())


def _dumps(event: Event) -> bytes:
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _edit(change: Callable[[Event], None]) -> Callable[[Event], bytes]:
    def render(event: Event) -> bytes:
        bad = copy.deepcopy(event)
        change(bad)
        return _dumps(bad)

    return render


def _set(path: str, value: Any) -> Callable[[Event], None]:
    def change(event: Event) -> None:
        *parents, leaf = path.split(".")
        node = event
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value

    return change


def _drop(field: str) -> Callable[[Event], None]:
    return lambda event: event.pop(field, None)


def _recompute_total(event: Event) -> None:
    amounts = event["amounts"]
    amounts["total"] = round(amounts["subtotal"] - amounts["discount"] + amounts["shipping"], 2)


def _negative_discount(event: Event) -> None:
    event["amounts"]["discount"] = -5.0
    _recompute_total(event)


def _absurd_price(event: Event) -> None:
    for item in event["items"]:
        item["unit_price"] = 5_000_000.0
    event["amounts"]["subtotal"] = round(sum(i["quantity"] * i["unit_price"] for i in event["items"]), 2)
    _recompute_total(event)


def _wrong_total(event: Event) -> None:
    event["amounts"]["total"] = round(event["amounts"]["total"] + 10.0, 2)


def _cancel_without_reason(event: Event) -> None:
    event["event_type"] = "order_cancelled"
    event.pop("cancel_reason", None)


def _non_utf8(event: Event) -> bytes:
    marker = "@@NAME@@"
    bad = copy.deepcopy(event)
    bad.setdefault("customer", {})["name"] = marker
    return _dumps(bad).replace(marker.encode(), "João".encode("latin-1"))


def _huge(event: Event) -> bytes:
    bad = copy.deepcopy(event)
    bad["padding"] = "x" * HUGE_PAYLOAD_BYTES
    return _dumps(bad)


def _first_half(event: Event) -> bytes:
    """The first half of the event's bytes, cut back to a character boundary: a cut inside a
    multi-byte character would also make the line invalid UTF-8, a second fault the kind does not
    declare."""
    data = _dumps(event)
    cut = len(data) // 2
    while cut and data[cut] & 0xC0 == 0x80:  # a UTF-8 continuation byte
        cut -= 1
    return data[:cut]


def _first_item_quantity(event: Event) -> None:
    event["items"][0]["quantity"] = "two"


_RENDERERS: dict[str, Callable[[Event], bytes]] = {
    "malformed_json": lambda e: _dumps(e).replace(b'"event_type":', b'"event_type" ', 1),
    "truncated_line": _first_half,
    "blank_line": lambda e: b"",
    "json_null": lambda e: b"null",
    "json_array": lambda e: b"[" + _dumps(e) + b"]",
    "non_utf8_bytes": _non_utf8,
    "huge_payload": _huge,
    "wrong_type_quantity": _edit(_first_item_quantity),
    "wrong_type_total": _edit(lambda e: e["amounts"].__setitem__("total", f"{e['amounts']['total']:.2f}")),
    "wrong_type_schema_version": _edit(_set("schema_version", "1")),
    "missing_event_id": _edit(_drop("event_id")),
    "invalid_event_id": _edit(_set("event_id", "not-a-uuid")),
    "missing_order_id": _edit(_drop("order_id")),
    "missing_customer": _edit(_drop("customer")),
    "unknown_event_type": _edit(_set("event_type", "order_refunded")),
    "missing_event_time": _edit(_drop("event_time")),
    "event_time_without_offset": _edit(lambda e: e.__setitem__("event_time", e["event_time"][:19])),
    "future_event_time": _edit(_set("event_time", "2099-01-01T00:00:00Z")),
    "wrong_schema_version": _edit(_set("schema_version", 2)),
    "negative_amount": _edit(_negative_discount),
    "absurd_amount": _edit(_absurd_price),
    "totals_do_not_add_up": _edit(_wrong_total),
    "invalid_cpf": _edit(_set("customer.document", "123.456.789-00")),
    "invalid_uf": _edit(_set("customer.state", "XX")),
    "invalid_email": _edit(_set("customer.email", "joao.example.com")),
    "created_without_items": _edit(_set("items", [])),
    "unknown_channel": _edit(_set("channel", "telegram")),
    "unknown_payment_method": _edit(_set("payment.method", "bitcoin")),
    "installments_out_of_range": _edit(_set("payment.installments", 36)),
    "wrong_currency": _edit(_set("amounts.currency", "USD")),
    "cancelled_without_reason": _edit(_cancel_without_reason),
    "invalid_promised_date": _edit(_set("shipping.promised_date", "next week")),
}


def render(valid_event: Event, kind: str) -> bytes:
    """The bad payload of ``kind`` built from ``valid_event`` (an ``order_created`` event with
    items, amounts, payment and shipping), as UTF-8 (or deliberately not) bytes without newline.

    Raises ``UnknownBadEventKind`` for a kind not in the catalog.
    """
    if kind not in kind_names() or kind not in _RENDERERS:
        raise UnknownBadEventKind(f"unknown bad event kind {kind!r}; known: {', '.join(kind_names())}")
    return _RENDERERS[kind](valid_event)


def renderer_names() -> tuple[str, ...]:
    """Kinds that have a renderer (the tests check this equals the catalog)."""
    return tuple(_RENDERERS)
