"""Delivery state in a small SQLite database: exactly one deliverer sends each alert.

One row per alert that a deliverer has touched::

    alert_id TEXT PRIMARY KEY, status TEXT ('claimed' | 'delivered' | 'dead'),
    owner TEXT, claimed_at REAL, attempts INTEGER, http_status INTEGER, reason TEXT, updated_at TEXT

A deliverer **claims** an alert (an atomic ``INSERT ... ON CONFLICT DO UPDATE ... WHERE`` inside
SQLite's write lock) before sending it, so two deliverers running at once never both send it.
A claim left by a crashed deliverer is taken over after ``lease_seconds`` (longer than one send
with all its retries), which is where at-least-once remains: the receiver drops that rare repeat by
the ``Idempotency-Key``. ``dead`` is the dead letter: a permanent refusal for that alert, listed
by ``orders-lakehouse alerts dead-letters`` and put back by ``orders-lakehouse alerts retry``.
Writes are durable: WAL with ``synchronous=FULL``, and the folder is fsynced when the database
file is created.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS alert_delivery (
    alert_id    TEXT PRIMARY KEY,
    status      TEXT NOT NULL CHECK (status IN ('claimed', 'delivered', 'dead')),
    owner       TEXT,
    claimed_at  REAL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    http_status INTEGER,
    reason      TEXT,
    updated_at  TEXT NOT NULL
)
"""
LEGACY_JSON = "alert-delivery.json"  # the JSON state file of earlier versions, imported once


@dataclass(frozen=True)
class DeadLetter:
    """An alert the endpoint refused for good."""

    alert_id: str
    http_status: int | None
    reason: str | None
    attempts: int
    at: str


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _fsync_dir(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class DeliveryState:
    """The delivery state of one database file (safe to share between processes).

    Example::

        state = DeliveryState(Path("/run/consumers/alert-delivery.sqlite"))
        if state.claim(["a1"], owner="host:123") == ["a1"]:
            ...send...
            state.mark_delivered(["a1"])
    """

    def __init__(self, path: Path, *, lease_seconds: float = 900.0) -> None:
        self.path = path
        self.lease_seconds = lease_seconds
        path.parent.mkdir(parents=True, exist_ok=True)
        created = not path.exists()
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(SCHEMA)
        if created:
            _fsync_dir(path.parent)  # the new file's directory entry survives a power cut
            self._import_legacy()

    @classmethod
    def load(cls, path: Path) -> DeliveryState:
        """The state at ``path`` (created empty when missing)."""
        return cls(path)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # One short connection per operation: nothing is held between rounds, and a second
        # process waits for SQLite's write lock (busy timeout) instead of failing.
        with closing(sqlite3.connect(self.path, timeout=30.0, isolation_level=None)) as db:
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA busy_timeout=30000")
            yield db

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")  # take the write lock now: claims are check-and-set
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    # --- reads ----------------------------------------------------------------------------
    def done_ids(self) -> set[str]:
        """Ids delivered or dead-lettered (no further attempt without ``retry``)."""
        with self._connect() as db:
            rows = db.execute("SELECT alert_id FROM alert_delivery WHERE status IN ('delivered', 'dead')")
            return {row[0] for row in rows}

    def is_done(self, alert_id: str) -> bool:
        """Whether ``alert_id`` needs no (further) delivery attempt."""
        return alert_id in self.done_ids()

    @property
    def delivered(self) -> dict[str, str]:
        """Delivered ids -> when."""
        with self._connect() as db:
            rows = db.execute("SELECT alert_id, updated_at FROM alert_delivery WHERE status = 'delivered'")
            return dict(rows.fetchall())

    def dead_letters(self) -> list[DeadLetter]:
        """The dead-lettered alerts, oldest first."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT alert_id, http_status, reason, attempts, updated_at FROM alert_delivery "
                "WHERE status = 'dead' ORDER BY updated_at, alert_id"
            ).fetchall()
        return [DeadLetter(*row) for row in rows]

    # --- writes ---------------------------------------------------------------------------
    def claim(self, alert_ids: Iterable[str], owner: str) -> list[str]:
        """Claim the ids nobody else holds (or whose claim's lease ran out); returns those claimed."""
        now = time.time()
        claimed = []
        with self._write() as db:
            for alert_id in alert_ids:
                cursor = db.execute(
                    "INSERT INTO alert_delivery (alert_id, status, owner, claimed_at, updated_at) "
                    "VALUES (?, 'claimed', ?, ?, ?) "
                    "ON CONFLICT (alert_id) DO UPDATE SET owner = excluded.owner, "
                    "claimed_at = excluded.claimed_at, updated_at = excluded.updated_at "
                    "WHERE alert_delivery.status = 'claimed' AND alert_delivery.claimed_at < ?",
                    (alert_id, owner, now, _now(), now - self.lease_seconds),
                )
                if cursor.rowcount == 1:
                    claimed.append(alert_id)
        return claimed

    def release(self, alert_ids: Iterable[str], owner: str) -> None:
        """Give up our claims (the alerts are pending again for the next round)."""
        with self._write() as db:
            db.executemany(
                "DELETE FROM alert_delivery WHERE alert_id = ? AND status = 'claimed' AND owner = ?",
                [(alert_id, owner) for alert_id in alert_ids],
            )

    def mark_delivered(self, alert_ids: Iterable[str], attempts: int = 1) -> None:
        """Record confirmed deliveries (committed and synced before returning)."""
        with self._write() as db:
            db.executemany(
                "INSERT INTO alert_delivery (alert_id, status, attempts, updated_at) "
                "VALUES (?, 'delivered', ?, ?) ON CONFLICT (alert_id) DO UPDATE SET status = 'delivered', "
                "owner = NULL, claimed_at = NULL, attempts = alert_delivery.attempts + excluded.attempts, "
                "updated_at = excluded.updated_at",
                [(alert_id, attempts, _now()) for alert_id in alert_ids],
            )

    def mark_rejected(self, alert_ids: Iterable[str], status: int, reason: str, attempts: int = 1) -> None:
        """Dead-letter ids the endpoint refused for good (kept with the status and reason)."""
        with self._write() as db:
            db.executemany(
                "INSERT INTO alert_delivery (alert_id, status, attempts, http_status, reason, updated_at) "
                "VALUES (?, 'dead', ?, ?, ?, ?) ON CONFLICT (alert_id) DO UPDATE SET status = 'dead', "
                "owner = NULL, claimed_at = NULL, attempts = alert_delivery.attempts + excluded.attempts, "
                "http_status = excluded.http_status, reason = excluded.reason, "
                "updated_at = excluded.updated_at",
                [(alert_id, attempts, status, reason[:500], _now()) for alert_id in alert_ids],
            )

    def retry(self, alert_ids: Iterable[str] | None = None) -> list[str]:
        """Put dead letters back to pending (all, or the given ids); returns the ids put back."""
        with self._write() as db:
            if alert_ids is None:
                ids = [
                    row[0] for row in db.execute("SELECT alert_id FROM alert_delivery WHERE status = 'dead'")
                ]
            else:
                wanted = list(alert_ids)
                ids = [
                    a
                    for a in wanted
                    if db.execute(
                        "SELECT 1 FROM alert_delivery WHERE alert_id = ? AND status = 'dead'", (a,)
                    ).fetchone()
                ]
            db.executemany("DELETE FROM alert_delivery WHERE alert_id = ?", [(a,) for a in ids])
        return ids

    def _import_legacy(self) -> None:
        legacy = self.path.parent / LEGACY_JSON
        if not legacy.exists():
            return
        data = json.loads(legacy.read_text(encoding="utf-8"))
        self.mark_delivered(list(data.get("delivered", {})), attempts=0)
        for alert_id, info in (data.get("rejected") or {}).items():
            self.mark_rejected([alert_id], int(info.get("status") or 0), str(info.get("reason") or ""), 0)
        log.info("imported the delivery state of %s", legacy.name)
