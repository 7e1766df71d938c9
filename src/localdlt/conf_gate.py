"""Keep one flow's ``spark_conf`` from leaking into the flows running beside it.

A flow's ``spark_conf`` is set on the shared session while its query is built and started (a
streaming query then runs on Spark's own clone of the session, conf included) or, for a batch
flow, while it runs. When flows of a triggered update run concurrently, a flow that sets conf
holds the gate exclusively for that window; every other flow holds it shared for its own window,
so no flow is planned or executed under another flow's settings. Flows without ``spark_conf``
never wait for each other.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class ConfGate:
    """A readers-writer lock, re-entrant per thread (a nested hold is free)."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._shared = 0
        self._exclusive = False
        self._held = threading.local()

    @contextmanager
    def hold(self, *, exclusive: bool) -> Iterator[None]:
        """Hold the gate for the block: ``exclusive`` when the flow changes the session's conf."""
        if getattr(self._held, "depth", 0):
            self._held.depth += 1
            try:
                yield
            finally:
                self._held.depth -= 1
            return
        with self._condition:
            if exclusive:
                self._condition.wait_for(lambda: not self._exclusive and self._shared == 0)
                self._exclusive = True
            else:
                self._condition.wait_for(lambda: not self._exclusive)
                self._shared += 1
        self._held.depth = 1
        try:
            yield
        finally:
            self._held.depth = 0
            with self._condition:
                if exclusive:
                    self._exclusive = False
                else:
                    self._shared -= 1
                self._condition.notify_all()
