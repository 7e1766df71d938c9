"""The bad events the simulator injects: the contract's catalog, with what injection needs to know.

There is one catalog of bad input, ``orders_lakehouse.contract.bad_events`` (written with the
fixtures, each kind with the Silver rules it must fail). This module only adds, per kind, whether
``--bad-rate`` injects it by default, and picks kinds by name for the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orders_lakehouse.contract import bad_events

QUARANTINE = "quarantine"  # lands in Bronze, then in silver_order_events_quarantine

# Not injected unless asked for by name: a 1 MiB message is above Kafka's and Event Hubs' default
# maximum message size, so the producer would reject it before the pipeline sees it.
NOT_BY_DEFAULT = frozenset({"huge_payload"})


@dataclass(frozen=True)
class BadKind:
    """One kind of bad input of the contract's catalog, as the simulator injects it."""

    name: str
    description: str
    failed_rules: tuple[str, ...]  # the Silver rules it must fail (the catalog's expected fate)
    default: bool = True  # injected by --bad-rate unless kinds are named
    fate: str = QUARANTINE

    def render(self, event: dict[str, Any]) -> bytes:
        """The raw message of this kind built from a valid ``order_created`` event."""
        return bad_events.render(event, self.name)


def catalog() -> dict[str, BadKind]:
    """Every kind of the contract's catalog by name, in catalog order."""
    return {
        k.kind: BadKind(k.kind, k.description, k.failed_rules, default=k.kind not in NOT_BY_DEFAULT)
        for k in bad_events.kinds()
    }


def select(names: list[str] | None = None) -> tuple[BadKind, ...]:
    """The kinds to inject: those named (error naming the unknown ones), else every default kind."""
    kinds = catalog()
    if not names:
        return tuple(kind for kind in kinds.values() if kind.default)
    unknown = sorted(set(names) - set(kinds))
    if unknown:
        raise ValueError(
            f"--bad-kinds: unknown kind(s) {', '.join(unknown)}; known: {', '.join(sorted(kinds))}"
        )
    return tuple(kinds[name] for name in names)
