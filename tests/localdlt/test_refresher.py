"""The continuous refresher's order (no Spark): flows are plain names, the watch says which are
stale, and each refresh runs until the test lets it end, so every assertion is about which
refreshes run at a given step, never about time."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

from localdlt.refresher import Refresher, upstream_closure


class Harness:
    """A fake watch (stale = the names in ``changed``, consumed when reported) and a run
    function that blocks each refresh until :meth:`end` lets one of that flow end."""

    def __init__(
        self,
        names: list[str],
        waits: dict[str, set[str]],
        workers: int,
        intervals: dict[str, float] | None = None,
    ) -> None:
        self.flows = [SimpleNamespace(name=name) for name in names]
        self.changed: set[str] = set()
        self.log: list[tuple[str, str]] = []
        self.now = 0.0  # the refresher's clock, moved by the test
        self._gates = {name: threading.Semaphore(0) for name in names}
        self._lock = threading.Lock()
        self.refresher = Refresher(
            self.flows, waits, self, self._run, lambda _: True, workers,  # type: ignore[arg-type]
            intervals, clock=lambda: self.now,
        )

    def stale(self, flows: list[Any], *, due: bool) -> list[Any]:
        out = [planned for planned in flows if planned.name in self.changed or due]
        self.changed -= {planned.name for planned in out}
        return out

    def _run(self, planned: Any) -> None:
        with self._lock:
            self.log.append((planned.name, "start"))
        assert self._gates[planned.name].acquire(timeout=60), f"{planned.name} was never let end"
        with self._lock:
            self.log.append((planned.name, "end"))

    def end(self, name: str) -> None:
        """Let one refresh of ``name`` end and wait until it has."""
        assert name in self.refresher.running
        ended = self.log.count((name, "end"))
        self._gates[name].release()
        while self.log.count((name, "end")) == ended:
            self.refresher.wait()
        self.refresher.wait()  # the refresh has logged its end; its future is done just after
        self.refresher.poll()

    def let_all_end(self, times: int = 10) -> None:
        for gate in self._gates.values():
            for _ in range(times):
                gate.release()


def test_upstream_closure_follows_readers_of_readers() -> None:
    assert upstream_closure({"a": set(), "b": {"a"}, "c": {"b"}, "d": {"a", "c"}}) == {
        "a": frozenset(), "b": {"a"}, "c": {"a", "b"}, "d": {"a", "b", "c"}}


def test_a_reader_runs_as_soon_as_its_input_ends_beside_an_unrelated_slow_view() -> None:
    h = Harness(["slow", "fast", "down"], {"down": {"fast"}}, workers=2)
    h.changed = {"slow", "fast", "down"}
    h.refresher.poll()
    assert h.refresher.running == {"slow", "fast"}  # `down` waits for the input being refreshed
    h.end("fast")
    assert h.refresher.running == {"slow", "down"}  # no waiting for `slow`
    h.end("down")
    assert h.refresher.running == {"slow"}
    h.changed = {"slow"}  # a commit while `slow` refreshes: it is due again, not run twice at once
    h.refresher.poll()
    assert h.refresher.running == {"slow"}
    h.end("slow")
    assert h.refresher.running == {"slow"}  # its second refresh, after the first ended
    h.end("slow")
    assert h.refresher.running == set()
    h.refresher.close()


def test_an_input_that_is_always_stale_does_not_starve_its_reader() -> None:
    h = Harness(["up", "down"], {"down": {"up"}}, workers=1)
    h.changed = {"up", "down"}
    h.refresher.poll()
    assert h.refresher.running == {"up"}
    for _ in range(3):
        h.changed = {"up", "down"}  # `up`'s input committed again during its refresh
        h.end("up")
        assert h.refresher.running == {"down"}  # the reader gets the fresh data first
        h.end("down")
        assert h.refresher.running == {"up"}
    h.let_all_end()
    h.refresher.close()


def test_the_final_round_refreshes_every_input_before_its_readers() -> None:
    h = Harness(["up", "down", "other"], {"down": {"up"}}, workers=2)
    h.changed = {"up"}
    h.refresher.poll()
    h.changed = {"down"}
    h.end("up")
    assert h.refresher.running == {"down"}
    h.changed = {"up"}
    h.refresher.poll()
    assert h.refresher.running == {"up", "down"}  # `down` reads `up`'s last commit; `up` goes again
    h.end("down")
    h.end("up")
    assert h.refresher.running == set()
    h.log.clear()
    h.let_all_end()
    h.refresher.refresh_all()
    h.refresher.close()
    # `down` last started before `up`, yet in the final round it waits for `up`'s end (exact results).
    assert h.log.index(("up", "end")) < h.log.index(("down", "start"))
    assert sorted(name for name, kind in h.log if kind == "start") == ["down", "other", "up"]


def test_a_trigger_interval_spaces_the_starts_of_a_view_and_coalesces_its_commits() -> None:
    h = Harness(["hourly", "eager"], {}, workers=2, intervals={"hourly": 10.0})
    h.changed = {"hourly", "eager"}
    h.refresher.poll()
    assert h.refresher.running == {"hourly", "eager"}  # the first refresh is never held back
    h.end("hourly")
    h.end("eager")
    h.now = 4.0
    h.changed = {"hourly", "eager"}  # both inputs committed again
    h.refresher.poll()
    assert h.refresher.running == {"eager"}  # `hourly` started 4 s ago: it waits for its interval
    h.end("eager")
    h.now = 9.9
    h.changed = {"hourly"}  # one more commit meanwhile: still one refresh owed, not two
    h.refresher.poll()
    assert h.refresher.running == set()
    h.now = 10.0
    h.refresher.poll()
    assert h.refresher.running == {"hourly"}
    h.end("hourly")
    assert h.refresher.running == set()
    assert h.log.count(("hourly", "start")) == 2 and h.log.count(("eager", "start")) == 2
    h.refresher.close()


def test_the_final_round_does_not_wait_for_a_trigger_interval() -> None:
    h = Harness(["hourly"], {}, workers=1, intervals={"hourly": 3600.0})
    h.changed = {"hourly"}
    h.refresher.poll()
    h.end("hourly")
    h.now = 1.0
    h.let_all_end()
    h.refresher.refresh_all()  # the end of the update: every view once more, now
    assert h.log.count(("hourly", "start")) == 2
    h.refresher.close()
