"""Fixtures for the simulator tests: the contract validator and a small seeded run."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from orders_lakehouse.simulator import bad
from orders_lakehouse.simulator.engine import Message, Simulator, SimulatorConfig

CONTRACT = (
    Path(__file__).resolve().parents[2]
    / "src"
    / "orders_lakehouse"
    / "contract"
    / "order_event.v1.schema.json"
)
START = datetime(2026, 11, 29, 7, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="session")
def validator() -> Draft202012Validator:
    """The contract v1 validator, formats checked."""
    schema = json.loads(CONTRACT.read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def take(n: int, **overrides: object) -> tuple[Simulator, list[Message]]:
    """Take exactly ``n`` messages from a seeded simulator starting at ``START``."""
    config = {"seed": 42, "start_time": START, "rate": 100.0, **overrides}
    simulator = Simulator(SimulatorConfig(**config))  # type: ignore[arg-type]
    messages = simulator.messages()
    return simulator, [next(messages) for _ in range(n)]


@pytest.fixture(scope="session")
def simulate() -> Callable[..., tuple[Simulator, list[Message]]]:
    """``simulate(n, **config)``: exactly ``n`` messages of a seeded simulator starting at ``START``."""
    return take


@pytest.fixture(scope="session")
def start() -> datetime:
    """The simulated clock's start in these tests."""
    return START


@pytest.fixture(scope="module")
def mixed_run() -> tuple[Simulator, list[Message]]:
    """3,000 messages with every imperfection on: 3% bad, 2% duplicates, 5% late."""
    return take(
        3000, time_scale=36000.0, bad_rate=0.03, duplicate_rate=0.02, late_rate=0.05, bad_kinds=bad.select()
    )
