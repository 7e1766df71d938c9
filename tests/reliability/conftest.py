"""Reliability scenarios: the fault ledger's one-line summary at the end of the run (also when the
scenarios ran in pytest-xdist workers: each writes its own ledger file, the controller sums them)."""

from __future__ import annotations

import os

import pytest

from fault_ledger import clear, collected, summary_line

_STARTED: list[bool] = []  # this process cleared the ledger: the files read at the end are this run's


def pytest_sessionstart(session: pytest.Session) -> None:
    """Forget the ledger of an earlier run (once: in the controller, or the only process)."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        clear()
        _STARTED.append(True)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print ``faults=N survived=N lost=0 duplicated=0 events_missing=0`` when scenarios ran."""
    entries = collected() if _STARTED else []
    if entries:
        terminalreporter.write_line(summary_line(entries))
        for entry in entries:
            terminalreporter.write_line(
                f"  {entry.scenario}: faults={entry.faults} survived={entry.survived} lost={entry.lost} "
                f"duplicated={entry.duplicated} events_missing={entry.events_missing}"
            )


# The longest scenario files first, so that pytest-xdist (``make reliability``: two workers, one
# file each at a time) does not start a long one last; the others keep their collection order.
LONGEST_FIRST = (
    "test_kill_loop.py",
    "test_kill_loop_kafka.py",
    "test_broker_outage.py",
    "test_cluster_pipeline.py",
    "test_landing_hazards.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Order the scenario files (see :data:`LONGEST_FIRST`); a stable sort."""
    rank = {name: index for index, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))
