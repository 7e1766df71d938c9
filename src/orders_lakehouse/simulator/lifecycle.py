"""The order lifecycle as a state machine: which event may follow which, how likely, how long after.

```
created ──► paid ──► shipped ──► delivered
   │  └──► payment_failed ──► paid (retry with another attempt)
   │              │
   └──────────────┴──► cancelled ◄── (from paid and shipped too)
```

Probabilities and delays are "business" values (what a Brazilian e-commerce sees: Pix is paid in
minutes, boleto in a day or two, delivery in days). The simulator divides delays by its time scale
so that a whole lifecycle fits in a demo.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

CREATED, PAID, PAYMENT_FAILED, SHIPPED, DELIVERED, CANCELLED = (
    "created",
    "paid",
    "payment_failed",
    "shipped",
    "delivered",
    "cancelled",
)
STATUSES = (CREATED, PAID, PAYMENT_FAILED, SHIPPED, DELIVERED, CANCELLED)
TERMINAL = frozenset({DELIVERED, CANCELLED})

# Which statuses may follow which: the legal transitions. Tests check every simulated order
# against this table; it is also what the pipeline's transition rule should accept.
ALLOWED: dict[str, frozenset[str]] = {
    CREATED: frozenset({PAID, PAYMENT_FAILED, CANCELLED}),
    PAYMENT_FAILED: frozenset({PAID, CANCELLED}),
    PAID: frozenset({SHIPPED, CANCELLED}),
    SHIPPED: frozenset({DELIVERED, CANCELLED}),
    DELIVERED: frozenset(),
    CANCELLED: frozenset(),
}

MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0


@dataclass(frozen=True)
class Delay:
    """A log-normal delay: median in seconds and spread (sigma of the log); never below ``floor``."""

    median: float
    sigma: float = 0.6
    floor: float = 1.0

    def draw(self, rng: random.Random) -> float:
        return max(self.floor, rng.lognormvariate(math.log(self.median), self.sigma))


# Payment time depends on the method: Pix and cards settle in minutes, boleto in a day or two.
PAYMENT_DELAY = {
    "pix": Delay(2 * MINUTE, 0.8, 10.0),
    "credit_card": Delay(40.0, 0.7, 3.0),
    "debit_card": Delay(30.0, 0.7, 3.0),
    "boleto": Delay(1 * DAY, 0.5, HOUR),
}
# Declines: credit cards fail most (fraud checks, limits), Pix almost never.
PAYMENT_FAILURE = {"pix": 0.03, "credit_card": 0.15, "debit_card": 0.10, "boleto": 0.20}

CANCEL_REASONS = {
    CREATED: ("desistência do cliente", "pedido duplicado", "endereço inválido"),
    PAYMENT_FAILED: ("pagamento não aprovado", "boleto vencido"),
    PAID: ("desistência do cliente", "produto sem estoque", "suspeita de fraude"),
    SHIPPED: ("extravio na transportadora", "recusado na entrega"),
}


@dataclass(frozen=True)
class Step:
    """The next thing that happens to an order: the new status and the business delay before it."""

    status: str
    delay: float
    cancel_reason: str | None = None


def next_step(status: str, payment_method: str, rng: random.Random) -> Step | None:
    """Draw what happens next to an order in ``status`` (None: nothing more will happen).

    The draw uses ``rng`` only, so a seeded generator gives the same lifecycle every time.
    """
    roll = rng.random()
    if status == CREATED:
        failure = PAYMENT_FAILURE[payment_method]
        if roll < 0.05:
            return Step(CANCELLED, Delay(30 * MINUTE).draw(rng), rng.choice(CANCEL_REASONS[CREATED]))
        if roll < 0.05 + failure:
            return Step(PAYMENT_FAILED, PAYMENT_DELAY[payment_method].draw(rng))
        return Step(PAID, PAYMENT_DELAY[payment_method].draw(rng))
    if status == PAYMENT_FAILED:
        if roll < 0.30:  # the customer retries and it goes through
            return Step(PAID, Delay(10 * MINUTE).draw(rng))
        if roll < 0.90:
            return Step(CANCELLED, Delay(1 * HOUR).draw(rng), rng.choice(CANCEL_REASONS[PAYMENT_FAILED]))
        return None  # abandoned: stays payment_failed
    if status == PAID:
        if roll < 0.06:
            return Step(CANCELLED, Delay(6 * HOUR).draw(rng), rng.choice(CANCEL_REASONS[PAID]))
        return Step(SHIPPED, Delay(1 * DAY, 0.5, HOUR).draw(rng))
    if status == SHIPPED:
        if roll < 0.03:
            return Step(CANCELLED, Delay(2 * DAY).draw(rng), rng.choice(CANCEL_REASONS[SHIPPED]))
        return Step(DELIVERED, Delay(3 * DAY, 0.5, 6 * HOUR).draw(rng))
    return None
