"""The ledger of injected faults: every reliability scenario records what it did to the system and
what it found afterwards, and ``make reliability`` prints one line summing them up::

    faults=N survived=N lost=0 duplicated=0 events_missing=0

``faults`` counts injected faults (one kill -9, one broker outage, one hazardous landing file, one
full disk...), ``survived`` those after which the system ended in the exact expected state.
``lost`` / ``duplicated`` are rows missing / in excess in any layer against the producer's ground
truth, ``events_missing`` committed batches without their ``flow_progress`` event (or with wrong
row counts). The records of the run are also written as JSON for docs/RELIABILITY.md: each
process (pytest-xdist worker, or the one pytest process) its own ``ledger-<worker>.json`` in
``RELIABILITY_LEDGER_DIR`` (default ``.cache/reliability``), merged by the controller at the end
into ``ledger.json``.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DIR = REPO_ROOT / ".cache" / "reliability"


def ledger_dir() -> Path:
    """Where this run's ledger files go."""
    return Path(os.environ.get("RELIABILITY_LEDGER_DIR", DEFAULT_DIR))


def _own_file() -> Path:
    return ledger_dir() / f"ledger-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}.json"


@dataclass
class Record:
    """One scenario's outcome."""

    scenario: str
    faults: int
    survived: int
    lost: int = 0
    duplicated: int = 0
    events_missing: int = 0
    details: dict[str, Any] = field(default_factory=dict)


_RECORDS: list[Record] = []
_LOCK = threading.Lock()


def record(entry: Record) -> None:
    """Add one scenario's outcome (called by the test before its assertions, so a failing
    scenario still shows in the summary with what it found)."""
    with _LOCK:
        _RECORDS.append(entry)
        path = _own_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps([asdict(r) for r in _RECORDS], indent=1, default=str))


def clear() -> None:
    """Remove the ledger files of an earlier run (called once, by the controlling process)."""
    for file in ledger_dir().glob("ledger*.json"):
        file.unlink()


def collected() -> list[Record]:
    """Every record of this run, from every process's ledger file; also written, merged, to
    ``ledger.json``."""
    entries = [
        Record(**item)
        for file in sorted(ledger_dir().glob("ledger-*.json"))
        for item in json.loads(file.read_text())
    ]
    if entries:
        (ledger_dir() / "ledger.json").write_text(json.dumps([asdict(r) for r in entries], indent=1))
    return entries


def records() -> list[Record]:
    """What was recorded in this process."""
    with _LOCK:
        return list(_RECORDS)


def summary_line(entries: list[Record]) -> str:
    """The one-line summary of ``entries``."""
    total = {
        key: sum(getattr(r, key) for r in entries)
        for key in ("faults", "survived", "lost", "duplicated", "events_missing")
    }
    return " ".join(f"{key}={value}" for key, value in total.items())
