"""Drive a simulator into a producer: how many messages, how fast, with a live progress display.

The simulator decides *what* each message is (on its simulated clock); the runner decides *when*
it is sent: ``rate`` messages per wall-clock second (slot ``i`` is sent ``i / rate`` seconds
after the start — a steady schedule, no drift), or as fast as possible when ``rate`` is None.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from orders_lakehouse.producers.base import Producer
from orders_lakehouse.simulator.engine import Message, Simulator

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunResult:
    """What a run sent and how long it took (wall clock)."""

    messages: int
    seconds: float
    stopped_early: bool

    @property
    def rate(self) -> float:
        """Measured messages per wall-clock second."""
        return self.messages / self.seconds if self.seconds > 0 else float("inf")


def run(
    simulator: Simulator,
    producer: Producer,
    *,
    limit: int | None,
    rate: float | None,
    stop: threading.Event | None = None,
    progress: bool = False,
    on_message: Callable[[Message], None] | None = None,
) -> RunResult:
    """Send ``limit`` messages (or until ``stop`` is set), paced at ``rate``/s, then flush the producer.

    The producer is flushed (delivery confirmed / files landed) before returning, also when ``stop``
    ends the run early; a delivery failure raises from here.
    """
    stop = stop or threading.Event()
    started = time.monotonic()
    sent = 0
    display = Progress(
        TextColumn("[bold]simulate[/] → " + producer.description),
        BarColumn(),
        MofNCompleteColumn() if limit else TextColumn("{task.completed} messages"),
        TextColumn("{task.fields[rate]:>8.0f} msg/s"),
        TimeElapsedColumn(),
        disable=not progress,
        transient=False,
    )
    with display:
        task = display.add_task("simulate", total=limit, rate=0.0)
        messages = simulator.messages()
        while limit is None or sent < limit:
            # Wait for this slot's time first, and only then take the message: the simulator
            # records a message in its ground truth when it hands it out, so a stop must come before.
            if rate:
                ahead = started + sent / rate - time.monotonic()
                if ahead > 0.002 and stop.wait(ahead):  # sleeping for less is all overhead
                    break
            if stop.is_set():
                break
            message = next(messages)
            producer.send(message.key, message.value)
            if on_message:
                on_message(message)
            sent += 1
            if sent % 200 == 0 or sent == limit:
                display.update(task, completed=sent, rate=sent / max(time.monotonic() - started, 1e-9))
        display.update(task, completed=sent, rate=sent / max(time.monotonic() - started, 1e-9))
        producer.flush()
    seconds = time.monotonic() - started
    log.info(
        "sent %d messages in %.2fs (%.0f/s) to %s",
        sent,
        seconds,
        sent / seconds if seconds else 0,
        producer.description,
    )
    return RunResult(sent, seconds, stopped_early=limit is not None and sent < limit)
