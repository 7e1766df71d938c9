"""The simulator: a deterministic stream of messages on a simulated clock, and its ground truth.

Message ``i`` is due at ``start_time + i / rate`` (the simulated clock); its ``event_time`` is the
clock at the moment the event happens, so a seed and a start time reproduce every byte, ids and
timestamps included, whatever the wall clock does. Pacing against the wall clock is the runner's
job, not this module's.

Each slot of the clock yields exactly one message, chosen in this order:

1. with probability ``bad_rate`` a deliberately bad message (rendered from a throw-away order's
   valid event, so it never changes a real order's status);
2. with probability ``duplicate_rate`` a byte-identical copy of a recent valid message;
3. a late message whose release time has come (an event held back, its event_time unchanged);
4. the next lifecycle step of an order that is due (held back as late with ``late_rate``);
5. otherwise a new order.
"""

from __future__ import annotations

import heapq
import json
import random
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from orders_lakehouse.simulator import lifecycle
from orders_lakehouse.simulator.bad import BadKind
from orders_lakehouse.simulator.orders import (
    Customer,
    Order,
    event_for,
    random_customer,
    random_order,
    random_uuid,
)

VALID, DUPLICATE, BAD = "valid", "duplicate", "bad"


@dataclass(frozen=True)
class SimulatorConfig:
    """What to simulate. ``rate`` is messages per simulated second (the clock's cadence)."""

    seed: int | None = None
    start_time: datetime | None = None  # default: now (UTC) when the simulator is built
    rate: float = 50.0
    time_scale: float = 3600.0  # business seconds per simulated second: 1 day of lifecycle in 24 s
    bad_rate: float = 0.0
    duplicate_rate: float = 0.0
    late_rate: float = 0.0
    late_seconds: tuple[float, float] = (5.0, 120.0)  # how far behind a late message arrives (simulated)
    bad_kinds: tuple[BadKind, ...] = ()
    returning_customers: float = 0.3  # share of orders placed by an existing customer

    def __post_init__(self) -> None:
        if self.rate <= 0:
            raise ValueError(f"rate must be > 0 messages per simulated second, got {self.rate}")
        for name in ("bad_rate", "duplicate_rate", "late_rate", "returning_customers"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be within [0, 1], got {getattr(self, name)}")
        if self.bad_rate + self.duplicate_rate > 1:
            raise ValueError("bad_rate + duplicate_rate must not exceed 1")
        if self.bad_rate > 0 and not self.bad_kinds:
            raise ValueError("bad_rate > 0 needs at least one kind in bad_kinds")
        if self.start_time is not None and self.start_time.tzinfo is None:
            raise ValueError("start_time must carry a time zone (e.g. 2026-11-29T07:00:00Z)")


@dataclass(frozen=True)
class Message:
    """One message to send: key (the order id when there is one), raw value, and what it is."""

    index: int
    key: str | None
    value: bytes
    category: str  # valid | duplicate | bad
    event_id: str | None
    order_id: str | None
    event_type: str | None
    event_time: str | None
    scheduled_at: datetime  # the simulated clock when it is sent
    late_seconds: float = 0.0
    bad_kind: str | None = None
    failed_rules: tuple[str, ...] = ()  # bad messages: the Silver rules the catalog says they fail
    total: str | None = None  # on order_created: the order's total in BRL (for reconciling Gold revenue)


@dataclass
class GroundTruth:
    """What the simulator sent, for reconciliation: every count a test or the demo compares."""

    seed: int | None
    start_time: str
    messages: int = 0
    valid_events: int = 0
    events_by_type: Counter[str] = field(default_factory=Counter)
    orders: dict[str, dict[str, str]] = field(default_factory=dict)  # order_id -> {status, event_time}
    bad_events: list[dict[str, Any]] = field(default_factory=list)
    duplicates: list[dict[str, Any]] = field(default_factory=list)
    late_events: list[dict[str, Any]] = field(default_factory=list)
    valid_event_ids: list[str] = field(default_factory=list)

    def record(self, message: Message) -> None:
        """Account for one sent message."""
        self.messages += 1
        if message.category == BAD:
            self.bad_events.append(
                {
                    "index": message.index,
                    "kind": message.bad_kind,
                    "event_id": message.event_id,
                    "order_id": message.order_id,
                    "failed_rules": list(message.failed_rules),
                }
            )
            return
        if message.category == DUPLICATE:
            self.duplicates.append({"index": message.index, "event_id": message.event_id})
            return
        self.valid_events += 1
        assert message.event_type and message.order_id and message.event_time and message.event_id
        self.valid_event_ids.append(message.event_id)
        self.events_by_type[message.event_type] += 1
        if message.late_seconds:
            self.late_events.append(
                {
                    "index": message.index,
                    "event_id": message.event_id,
                    "late_seconds": round(message.late_seconds, 6),
                }
            )
        # Current status = the event with the latest event_time (what SCD1 sequenced by event time keeps).
        current = self.orders.setdefault(message.order_id, {"status": "", "event_time": ""})
        if message.event_time > current["event_time"]:
            current.update(status=message.event_type.removeprefix("order_"), event_time=message.event_time)
        if message.total is not None:
            current["total"] = message.total

    def status_by_order(self) -> dict[str, str]:
        """order_id -> the simulator's own final status."""
        return {order_id: state["status"] for order_id, state in self.orders.items()}

    def as_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "start_time": self.start_time,
            "messages": self.messages,
            "valid_events": self.valid_events,
            "duplicate_messages": len(self.duplicates),
            "bad_messages": len(self.bad_events),
            "late_events": len(self.late_events),
            "events_by_type": dict(sorted(self.events_by_type.items())),
            "bad_by_kind": dict(sorted(Counter(b["kind"] for b in self.bad_events).items())),
            "status_counts": dict(sorted(Counter(s["status"] for s in self.orders.values()).items())),
            "orders": self.orders,
            "bad_events": self.bad_events,
            "duplicates": self.duplicates,
            "late": self.late_events,
            "valid_event_ids": self.valid_event_ids,
        }

    def write(self, path: Path) -> None:
        """Write the record as JSON (temp file + rename, so a reader never sees half of it)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_name(f".{path.name}.tmp")
        staging.write_text(json.dumps(self.as_json(), indent=1, ensure_ascii=False))
        staging.replace(path)


def _encode(event: dict[str, Any]) -> bytes:
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()


class Simulator:
    """The orders application: yields messages forever (take as many as you need) and keeps the truth."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        start = config.start_time or datetime.now(timezone.utc).replace(microsecond=0)
        self.start_time = start.astimezone(timezone.utc)
        self.truth = GroundTruth(
            seed=config.seed, start_time=self.start_time.isoformat().replace("+00:00", "Z")
        )
        self._step = 1.0 / config.rate
        self._customers: list[Customer] = []
        self._orders = 0
        self._pending: list[tuple[float, int, str, lifecycle.Step]] = []  # (due, tiebreak, order_id, step)
        self._live: dict[str, Order] = {}
        self._held: list[tuple[float, int, Message]] = []  # late messages: (release, tiebreak, message)
        self._recent: deque[Message] = deque(maxlen=200)  # candidates for duplicates
        self._sequence = 0

    def start_at(self, moment: datetime) -> None:
        """Move the clock's start (only before the first message), e.g. to when sending really begins."""
        if self.truth.messages:
            raise RuntimeError("start_at: the simulator has already sent messages")
        if self.config.start_time is None:  # an explicit start time (reproducible run) is kept
            self.start_time = moment.astimezone(timezone.utc)
            self.truth.start_time = self.start_time.isoformat().replace("+00:00", "Z")

    def clock(self, index: int) -> datetime:
        """The simulated time of slot ``index``."""
        return self.start_time + timedelta(seconds=index * self._step)

    def messages(self) -> Iterator[Message]:
        """Message after message, one per slot of the simulated clock, each recorded in ``truth``."""
        index = 0
        while True:
            message = self._next(index)
            self.truth.record(message)
            if message.category == VALID:
                self._recent.append(message)
            yield message
            index += 1

    # -- one slot ---------------------------------------------------------------------------------

    def _next(self, index: int) -> Message:
        now = self.clock(index)
        seconds = index * self._step
        roll = self.rng.random()
        if roll < self.config.bad_rate:
            return self._bad(index, now)
        if roll < self.config.bad_rate + self.config.duplicate_rate and self._recent:
            original = self._recent[self.rng.randrange(len(self._recent))]
            return Message(
                index,
                original.key,
                original.value,
                DUPLICATE,
                original.event_id,
                original.order_id,
                original.event_type,
                original.event_time,
                now,
            )
        if self._held and self._held[0][0] <= seconds:
            _, _, held = heapq.heappop(self._held)
            return Message(
                **{
                    **held.__dict__,
                    "index": index,
                    "scheduled_at": now,
                    "late_seconds": (now - held.scheduled_at).total_seconds(),
                }
            )
        while self._pending and self._pending[0][0] <= seconds:
            _, _, order_id, step = heapq.heappop(self._pending)
            message = self._advance(index, now, seconds, self._live[order_id], step)
            if self.config.late_rate and self.rng.random() < self.config.late_rate:
                low, high = self.config.late_seconds
                self._hold(message, seconds + self.rng.uniform(low, high))
                continue  # this slot still needs a message
            return message
        return self._create(index, now, seconds)

    def _tiebreak(self) -> int:
        self._sequence += 1
        return self._sequence

    def _hold(self, message: Message, release: float) -> None:
        heapq.heappush(self._held, (release, self._tiebreak(), message))

    def _schedule(self, order: Order, seconds: float) -> None:
        step = lifecycle.next_step(order.status, order.payment_method, self.rng)
        if step is None:
            del self._live[order.order_id]
            return
        due = seconds + step.delay / self.config.time_scale
        heapq.heappush(self._pending, (due, self._tiebreak(), order.order_id, step))

    def _new_order(self, now: datetime) -> Order:
        if self._customers and self.rng.random() < self.config.returning_customers:
            customer = self._customers[self.rng.randrange(len(self._customers))]
        else:
            customer = random_customer(self.rng, len(self._customers) + 1)
            self._customers.append(customer)
        self._orders += 1
        order_id = f"ORD-{random_uuid(self.rng)[:8].upper()}-{self._orders:06d}"
        return random_order(self.rng, order_id, customer, now)

    def _valid(self, index: int, now: datetime, event: dict[str, Any]) -> Message:
        return Message(
            index,
            event["order_id"],
            _encode(event),
            VALID,
            event["event_id"],
            event["order_id"],
            event["event_type"],
            event["event_time"],
            now,
        )

    def _create(self, index: int, now: datetime, seconds: float) -> Message:
        order = self._new_order(now)
        self._live[order.order_id] = order
        order.history.append(lifecycle.CREATED)
        message = self._valid(index, now, event_for(order, lifecycle.CREATED, now, self.rng))
        self._schedule(order, seconds)
        return replace(message, total=str(order.total))

    def _advance(
        self, index: int, now: datetime, seconds: float, order: Order, step: lifecycle.Step
    ) -> Message:
        assert step.status in lifecycle.ALLOWED[order.status], (order.status, step.status)
        order.status = step.status
        order.history.append(step.status)
        message = self._valid(index, now, event_for(order, step.status, now, self.rng, step.cancel_reason))
        self._schedule(order, seconds)
        return message

    def _bad(self, index: int, now: datetime) -> Message:
        kind = self.config.bad_kinds[self.rng.randrange(len(self.config.bad_kinds))]
        base = event_for(self._new_order(now), lifecycle.CREATED, now, self.rng)  # a throw-away order
        value = kind.render(base)
        event_id = base["event_id"] if base["event_id"].encode() in value else None
        order_id = base["order_id"] if base["order_id"].encode() in value else None
        return Message(
            index,
            order_id,
            value,
            BAD,
            event_id,
            order_id,
            None,
            None,
            now,
            bad_kind=kind.name,
            failed_rules=kind.failed_rules,
        )
