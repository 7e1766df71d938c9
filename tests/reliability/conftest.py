"""Reliability scenarios: the fault ledger's one-line summary at the end of the run."""

from __future__ import annotations

import pytest

from fault_ledger import records, summary_line


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print ``faults=N survived=N lost=0 duplicated=0 events_missing=0`` when scenarios ran."""
    entries = records()
    if entries:
        terminalreporter.write_line(summary_line(entries))
