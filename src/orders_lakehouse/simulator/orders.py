"""Orders and their events, shaped by the event contract v1 (``contract/order_event.v1.schema.json``).

An ``Order`` is drawn once at creation (customer, channel, items, amounts, payment, carrier);
``event_for`` renders the contract event of one lifecycle step of it. All randomness comes from
the ``random.Random`` passed in, so a seed reproduces everything, ids included.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from orders_lakehouse.simulator import brazil, lifecycle
from orders_lakehouse.simulator.catalog import random_product

SCHEMA_VERSION = 1
CHANNELS = ("app", "web", "marketplace", "store")
CHANNEL_WEIGHTS = (45, 30, 20, 5)
PAYMENT_METHODS = ("pix", "credit_card", "boleto", "debit_card")
PAYMENT_WEIGHTS = (40, 40, 12, 8)
FREE_SHIPPING_FROM = Decimal("199.00")


def random_uuid(rng: random.Random) -> str:
    """A version-4 UUID drawn from ``rng`` (``uuid.uuid4`` would ignore the seed)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def rfc3339(moment: datetime) -> str:
    """UTC, microseconds, ``Z`` suffix: ``2026-11-29T07:00:00.000001Z``."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Customer:
    """A customer of the store; the same customer may come back for more orders."""

    customer_id: str
    name: str
    email: str
    document: str
    city: str
    state: str

    def as_json(self) -> dict[str, str]:
        return dict(self.__dict__)


def random_customer(rng: random.Random, number: int) -> Customer:
    """A new customer with a valid CPF, a city in a weighted UF, a name and e-mail."""
    state, city = brazil.random_location(rng)
    name, email = brazil.random_person(rng)
    return Customer(f"CUST-{number:07d}", name, email, brazil.random_cpf(rng), city, state)


@dataclass
class Order:
    """One order: what was bought and how it is paid and shipped. ``status`` follows the lifecycle."""

    order_id: str
    customer: Customer
    channel: str
    items: list[dict[str, Any]]
    subtotal: Decimal
    discount: Decimal
    shipping_fee: Decimal
    payment_method: str
    installments: int
    carrier: str
    created_at: datetime
    status: str = lifecycle.CREATED
    tracking_code: str | None = None
    history: list[str] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        """total = subtotal − discount + shipping, exactly (Decimal, centavos)."""
        return self.subtotal - self.discount + self.shipping_fee

    @property
    def promised_date(self) -> str:
        """Promised delivery date: a week after creation for Correios PAC, five days otherwise."""
        days = 7 if self.carrier == "Correios PAC" else 5
        return (self.created_at + timedelta(days=days)).date().isoformat()


def _installments(method: str, total: Decimal, rng: random.Random) -> int:
    """Parcelamento: only credit cards split, more often on big tickets, at most 12 (24 rarely)."""
    if method != "credit_card" or total < 100:
        return 1
    if rng.random() < 0.4:
        return 1
    most = 24 if total > 3000 and rng.random() < 0.1 else 12
    return rng.randint(2, most)


def random_order(rng: random.Random, order_id: str, customer: Customer, created_at: datetime) -> Order:
    """Draw an order: 1–4 lines, a discount now and then, free shipping above R$ 199."""
    items = []
    for _ in range(rng.choices((1, 2, 3, 4), weights=(55, 28, 12, 5))[0]):
        product = random_product(rng)
        quantity = rng.choices((1, 2, 3), weights=(80, 15, 5))[0]
        items.append(
            {"sku": product.sku, "name": product.name, "quantity": quantity, "unit_price": product.price(rng)}
        )
    subtotal = sum((item["unit_price"] * item["quantity"] for item in items), Decimal("0.00"))
    discount = (
        brazil.brl(subtotal * Decimal(rng.choice((5, 10, 15))) / 100)
        if rng.random() < 0.25
        else Decimal("0.00")
    )
    shipping_fee = (
        Decimal("0.00")
        if subtotal >= FREE_SHIPPING_FROM
        else brazil.brl(rng.choice(("9.90", "14.90", "19.90", "29.90")))
    )
    channel = rng.choices(CHANNELS, weights=CHANNEL_WEIGHTS)[0]
    method = rng.choices(PAYMENT_METHODS, weights=PAYMENT_WEIGHTS)[0]
    return Order(
        order_id=order_id,
        customer=customer,
        channel=channel,
        items=items,
        subtotal=subtotal,
        discount=discount,
        shipping_fee=shipping_fee,
        payment_method=method,
        installments=_installments(method, subtotal - discount + shipping_fee, rng),
        carrier=brazil.CARRIERS[rng.randrange(len(brazil.CARRIERS))]
        if channel != "store"
        else "Retirada na loja",
        created_at=created_at,
    )


def _money(value: Decimal) -> float:
    # JSON numbers; float(Decimal("123.45")) prints back as 123.45, so no binary noise reaches the wire.
    return float(value)


def event_for(
    order: Order, status: str, at: datetime, rng: random.Random, cancel_reason: str | None = None
) -> dict[str, Any]:
    """The contract event saying ``order`` reached ``status`` at ``at``.

    Every event carries the customer and channel (the pipeline can key dimensions on any event);
    ``order_created`` carries items, amounts, payment and promised shipping; payment events the
    payment; shipping events the carrier and tracking code; cancellations their reason.
    """
    event: dict[str, Any] = {
        "event_id": random_uuid(rng),
        "event_type": f"order_{status}",
        "event_time": rfc3339(at),
        "schema_version": SCHEMA_VERSION,
        "order_id": order.order_id,
        "customer": order.customer.as_json(),
        "channel": order.channel,
    }
    amounts = {
        "subtotal": _money(order.subtotal),
        "discount": _money(order.discount),
        "shipping": _money(order.shipping_fee),
        "total": _money(order.total),
        "currency": "BRL",
    }
    payment_status = {
        lifecycle.CREATED: "pending",
        lifecycle.PAID: "approved",
        lifecycle.PAYMENT_FAILED: "declined",
    }
    if status == lifecycle.CREATED:
        event["items"] = [{**item, "unit_price": _money(item["unit_price"])} for item in order.items]
        event["amounts"] = amounts
        event["shipping"] = {"carrier": order.carrier, "promised_date": order.promised_date}
    if status in payment_status:
        event["payment"] = {
            "method": order.payment_method,
            "installments": order.installments,
            "status": payment_status[status],
        }
    if status == lifecycle.PAID:
        event["amounts"] = amounts
    if status in (lifecycle.SHIPPED, lifecycle.DELIVERED):
        if order.tracking_code is None:
            letters = "ABCDEFGHJKLMNOPQRSTUVWXYZ"
            order.tracking_code = f"{rng.choice(letters)}{rng.choice(letters)}{rng.randrange(10**8, 10**9)}BR"
        event["shipping"] = {
            "carrier": order.carrier,
            "tracking_code": order.tracking_code,
            "promised_date": order.promised_date,
        }
    if status == lifecycle.CANCELLED:
        event["cancel_reason"] = cancel_reason or "desistência do cliente"
    return event
