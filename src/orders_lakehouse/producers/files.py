"""Atomic JSON-lines file producer: a watched folder only ever sees whole files.

Each batch is written to a staging folder OUTSIDE the landing folder (a file listing of the
landing folder — Spark's file source, Auto Loader — must never pick up a half-written file or a
``.tmp`` name), flushed and fsynced, then moved in with ``os.replace``, which is atomic on one
filesystem (the recipe of Spark's own ``FileStreamStressSuite``). The staging folder therefore
has to be on the same filesystem as the landing folder; that is checked up front.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from pathlib import Path
from types import TracebackType
from typing import Self

from orders_lakehouse.producers.base import ProducerStats

log = logging.getLogger(__name__)


class AtomicFileProducer:
    """Buffers messages as lines and lands them as files, atomically.

    A batch is landed when it holds ``batch_size`` messages, when its first message is older than
    ``max_batch_seconds`` (checked on each send), and on ``flush``/``close``.

    Example::

        with AtomicFileProducer(Path("landing")) as producer:
            producer.send("ORD-1", b'{"event_id": "..."}')
    """

    def __init__(
        self,
        landing: Path,
        *,
        staging: Path | None = None,
        batch_size: int = 500,
        max_batch_seconds: float = 1.0,
        fsync: bool = True,
        prefix: str = "orders",
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.landing = Path(landing)
        self.staging = Path(staging) if staging else self.landing.parent / f".{self.landing.name}.staging"
        self.landing.mkdir(parents=True, exist_ok=True)
        self.staging.mkdir(parents=True, exist_ok=True)
        if self.staging.resolve().is_relative_to(self.landing.resolve()):
            raise ValueError(
                f"staging: {self.staging} is inside the landing folder {self.landing}; it must be outside"
            )
        if os.stat(self.staging).st_dev != os.stat(self.landing).st_dev:
            raise ValueError(
                f"staging: {self.staging} is not on the landing folder's filesystem, so a rename would not "
                "be atomic"
            )
        self.batch_size = batch_size
        self.max_batch_seconds = max_batch_seconds
        self.fsync = fsync
        self.prefix = prefix
        self.stats = ProducerStats()
        self.description = f"files → {self.landing}"
        self._lines: list[bytes] = []
        self._first_at = 0.0
        self._run = uuid.uuid4().hex[:8]  # two producers on one folder never pick the same name

    def send(self, key: str | None, value: bytes) -> None:
        """Add one message as a line (the key is not stored: the payload carries the order id)."""
        if not self._lines:
            self._first_at = time.monotonic()
        self._lines.append(value)
        self.stats.sent += 1
        if len(self._lines) >= self.batch_size or time.monotonic() - self._first_at >= self.max_batch_seconds:
            self.flush()

    def flush(self) -> None:
        """Land the buffered lines as one file (nothing happens when the buffer is empty)."""
        if not self._lines:
            return
        payload = b"\n".join(self._lines) + b"\n"
        # Names sort by creation time; Spark's file source orders by modification time anyway.
        name = f"{self.prefix}-{time.time_ns():020d}-{self._run}-{self.stats.batches:06d}.json"
        temporary = self.staging / f"{name}.{uuid.uuid4().hex}.tmp"
        with open(temporary, "wb") as stream:
            stream.write(payload)
            if self.fsync:
                stream.flush()
                os.fsync(stream.fileno())  # the content is on disk before the name appears
        os.replace(temporary, self.landing / name)
        self.stats.delivered += len(self._lines)
        self.stats.bytes += len(payload)
        self.stats.batches += 1
        log.debug("landed %s (%d messages)", name, len(self._lines))
        self._lines = []

    def close(self) -> None:
        """Land what is buffered."""
        self.flush()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
