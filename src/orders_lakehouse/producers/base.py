"""The interface every producer implements."""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, Self


@dataclass
class ProducerStats:
    """What a producer has done so far: messages handed to it, confirmed, failed, bytes, units."""

    sent: int = 0
    delivered: int = 0
    failed: int = 0
    bytes: int = 0
    batches: int = 0  # files written, or flushes confirmed


class Producer(Protocol):
    """Sends raw messages; ``flush`` returns only when everything sent so far is durable/confirmed."""

    stats: ProducerStats
    description: str

    def send(self, key: str | None, value: bytes) -> None:
        """Queue one message (may write or deliver a batch on the way)."""

    def flush(self) -> None:
        """Make everything sent so far durable (files renamed in) or confirmed (broker acks); raise if not."""

    def close(self) -> None:
        """Flush and release resources."""

    def __enter__(self) -> Self: ...

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None: ...
