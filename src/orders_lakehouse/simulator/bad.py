"""Deliberately bad events: the kinds the simulator can inject and how each is rendered.

The pipeline's own catalog (``orders_lakehouse.contract.bad_events``, written with the fixtures)
is the reference: when it is importable, ``catalog()`` is that catalog, with each kind's expected
failed rules. The local catalog below is the fallback for a tree without it (the simulator is
usable on its own). A kind maps a valid event (a dict) to the raw message bytes.
"""

from __future__ import annotations

import copy
import importlib
import json
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

log = logging.getLogger(__name__)

QUARANTINE = "quarantine"  # lands in Bronze, then in silver_order_events_quarantine
Render = Callable[[dict[str, Any], random.Random], bytes]


@dataclass(frozen=True)
class BadKind:
    """One kind of bad input: its name, what is wrong, how to render it, where it must end up."""

    name: str
    description: str
    render: Render
    fate: str = QUARANTINE
    default: bool = True  # injected by --bad-rate unless asked for by name (big or transport-specific ones are not)
    failed_rules: tuple[str, ...] = ()  # the Silver rules it must fail (known when the pipeline's catalog says so)


def _dumps(event: Any) -> bytes:
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()


def _edit(change: Callable[[dict[str, Any], random.Random], None]) -> Render:
    """A renderer that changes a deep copy of the event, then serialises it."""

    def render(event: dict[str, Any], rng: random.Random) -> bytes:
        bad = copy.deepcopy(event)
        change(bad, rng)
        return _dumps(bad)

    return render


def _shift_time(event: dict[str, Any], days: int) -> str:
    moment = datetime.fromisoformat(event["event_time"].replace("Z", "+00:00")) + timedelta(days=days)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _flip_cpf(event: dict[str, Any], rng: random.Random) -> None:
    digits = "".join(c for c in event["customer"]["document"] if c.isdigit())
    event["customer"]["document"] = digits[:10] + str((int(digits[10]) + 1 + rng.randrange(8)) % 10)


def _set(path: str, value: Any) -> Callable[[dict[str, Any], random.Random], None]:
    """Set ``a.b.c`` (list index allowed) to ``value``."""

    def change(event: dict[str, Any], _: random.Random) -> None:
        *parents, leaf = path.split(".")
        target: Any = event
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[int(leaf) if leaf.isdigit() else leaf] = value

    return change


def _delete(path: str) -> Callable[[dict[str, Any], random.Random], None]:
    def change(event: dict[str, Any], _: random.Random) -> None:
        *parents, leaf = path.split(".")
        target: Any = event
        for part in parents:
            target = target[part]
        del target[leaf]

    return change


def _total_mismatch(event: dict[str, Any], rng: random.Random) -> None:
    event["amounts"]["total"] = round(event["amounts"]["total"] + rng.choice((1.0, 10.0, 0.5)), 2)


def _negative_amount(event: dict[str, Any], _: random.Random) -> None:
    amounts = event["amounts"]
    amounts["discount"] = -10.0
    amounts["total"] = round(amounts["subtotal"] + 10.0 + amounts["shipping"], 2)  # adds up: only the sign is wrong


def _cancel_without_reason(event: dict[str, Any], _: random.Random) -> None:
    event["event_type"] = "order_cancelled"
    event.pop("cancel_reason", None)


def _non_utf8(event: dict[str, Any], _: random.Random) -> bytes:
    text = _dumps(event)
    # Latin-1 bytes where UTF-8 was promised: "São" as S\xe3o, the classic mis-encoded export.
    return text.replace("\"customer\":{".encode(), b"\"customer\":{\"note\":\"S\xe3o Paulo\",", 1)


LOCAL_KINDS: tuple[BadKind, ...] = (
    BadKind("malformed_json", "not JSON: keys without quotes", lambda e, r: _dumps(e).replace(b'"event_id"', b"event_id", 1)),
    BadKind("truncated_line", "JSON cut in the middle", lambda e, r: _dumps(e)[: len(_dumps(e)) // 2]),
    BadKind("not_an_object", "a bare JSON scalar", lambda e, r: r.choice((b"42", b'"order_created"', b"null", b"[1,2,3]"))),
    BadKind("missing_event_id", "required event_id absent", _edit(_delete("event_id"))),
    BadKind("invalid_event_id", "event_id is not a UUID", _edit(_set("event_id", "not-a-uuid"))),
    BadKind("missing_order_id", "required order_id absent", _edit(_delete("order_id"))),
    BadKind("missing_customer_id", "customer without customer_id", _edit(_delete("customer.customer_id"))),
    BadKind("unknown_event_type", "event_type outside the enum", _edit(_set("event_type", "order_refunded"))),
    BadKind("wrong_schema_version", "schema_version is not 1", _edit(_set("schema_version", "one"))),
    BadKind("unparseable_event_time", "event_time not RFC 3339", _edit(_set("event_time", "29/11/2026 10:00"))),
    BadKind("future_event_time", "event_time a year ahead", _edit(lambda e, r: e.__setitem__("event_time", _shift_time(e, 365)))),
    BadKind("negative_amount", "a negative discount", _edit(_negative_amount)),
    BadKind("total_mismatch", "total != subtotal - discount + shipping", _edit(_total_mismatch)),
    BadKind("amount_as_text", "subtotal given as text", _edit(_set("amounts.subtotal", "N/A"))),
    BadKind("invalid_cpf", "CPF with wrong check digits", _edit(_flip_cpf)),
    BadKind("invalid_uf", "state is not a UF", _edit(_set("customer.state", "XX"))),
    BadKind("unknown_channel", "channel outside the enum", _edit(_set("channel", "telegram"))),
    BadKind("invalid_currency", "currency is not BRL", _edit(_set("amounts.currency", "USD"))),
    BadKind("quantity_as_text", "item quantity as text", _edit(_set("items.0.quantity", "two"))),
    BadKind("zero_quantity", "item quantity 0", _edit(_set("items.0.quantity", 0))),
    BadKind("installments_out_of_range", "36 installments", _edit(_set("payment.installments", 36))),
    BadKind("created_without_items", "order_created without items", _edit(_delete("items"))),
    BadKind("cancelled_without_reason", "order_cancelled without cancel_reason", _edit(_cancel_without_reason)),
    BadKind("non_utf8", "Latin-1 bytes inside the payload", _non_utf8),
    # Not injected by default: a 1 MB message exceeds Event Hubs' and the broker's default size
    # limits, and an empty message is not a line in a JSON-lines file.
    BadKind("huge_payload", "a 1 MB customer name", _edit(_set("customer.name", "A" * 1_000_000)), default=False),
    BadKind("blank_message", "an empty message", lambda e, r: b"", default=False),
)


# Kinds of the pipeline's catalog not injected by default: a 1 MiB message is above Kafka's and
# Event Hubs' default maximum message size, so the producer would reject it before the pipeline sees it.
NOT_BY_DEFAULT = frozenset({"huge_payload"})


def _adapt_pipeline_catalog() -> dict[str, BadKind]:
    """Kinds from ``orders_lakehouse.contract.bad_events`` (the pipeline's catalog) when it exists.

    That module offers ``kinds()`` (``kind``, ``description``, ``failed_rules``) and
    ``render(valid_event, kind) -> bytes``; each kind's fate is the quarantine with exactly its
    ``failed_rules``. An import or shape problem falls back to the local catalog (logged), so a
    changing catalog never breaks the simulator.
    """
    try:
        module = importlib.import_module("orders_lakehouse.contract.bad_events")
        entries = module.kinds()
        render = module.render
    except (ImportError, AttributeError, OSError, ValueError) as error:
        log.debug("pipeline bad-event catalog not usable (%s); using the local catalog", error)
        return {}
    adapted: dict[str, BadKind] = {}
    for entry in entries:

        def as_bytes(event: dict[str, Any], _rng: random.Random, _kind: str = entry.kind) -> bytes:
            out = render(event, _kind)
            return out.encode() if isinstance(out, str) else bytes(out)

        adapted[entry.kind] = BadKind(
            entry.kind,
            entry.description,
            as_bytes,
            QUARANTINE,
            default=entry.kind not in NOT_BY_DEFAULT,
            failed_rules=tuple(entry.failed_rules),
        )
    return adapted


def catalog() -> dict[str, BadKind]:
    """Every kind by name: the pipeline's catalog when it is there (its fates are the reference), else the local one."""
    return _adapt_pipeline_catalog() or {kind.name: kind for kind in LOCAL_KINDS}


def select(names: list[str] | None = None) -> tuple[BadKind, ...]:
    """The kinds to inject: those named (error naming the unknown ones), else every default kind."""
    kinds = catalog()
    if not names:
        return tuple(kind for kind in kinds.values() if kind.default)
    unknown = sorted(set(names) - set(kinds))
    if unknown:
        raise ValueError(f"--bad-kinds: unknown kind(s) {', '.join(unknown)}; known: {', '.join(sorted(kinds))}")
    return tuple(kinds[name] for name in names)
