"""The kill -9 loop: ``localdlt run --continuous`` of the orders pipeline, killed with SIGKILL again
and again while the real simulator produces, restarted each time, then drained and checked.

The kills are timed on the storage folder (see ``crash_lab``), rotating through the moments that
matter: a micro-batch just planned, a Delta commit just landed (its checkpoint commit not yet
written), a CDC flow's MERGE running, and a random moment. After each kill the on-disk state
records what was in flight; the loop goes on (up to ``max_kills``) until every state of
``crash_lab.STATES`` was hit at least once.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from crash_lab import CDC_MERGE, STATES, Kill, KillTimer, kill_group, start_localdlt, wait_until
from orders_lakehouse.producers.base import Producer
from orders_lakehouse.simulator import bad
from orders_lakehouse.simulator.engine import Simulator, SimulatorConfig
from orders_lakehouse.simulator.runner import run as run_simulator

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
PIPELINE = REPO_ROOT / "pipelines" / "orders"
SALT_ENV = {"LOCALDLT_SECRET_ORDERS_PII_SALT": "reliability-salt"}
STREAMING_FLOWS = (
    "bronze_order_events",
    "silver_order_events",
    "silver_order_events_quarantine",
    "silver_orders",
    "silver_order_status_history",
)
CDC_FLOWS = ("silver_orders", "silver_order_status_history")
TRIGGERS = ("new-batch", "delta-commit", "cdc-batch", "random")
# Which trigger to repeat for a state not yet hit.
TRIGGER_FOR = {
    "batch started, nothing committed": "new-batch",
    "Delta commit without its checkpoint commit": "delta-commit",
    CDC_MERGE: "cdc-batch",
}
# A restart: JVM, pipeline load, every stream started (minutes on a crowded 2-core box).
START_TIMEOUT = 1200.0


@dataclass
class Production:
    """The simulator producing in a thread; ``sent`` holds every payload handed to the producer."""

    simulator: Simulator
    producer: Producer
    rate: float
    sent: list[bytes] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    error: list[BaseException] = field(default_factory=list)
    thread: threading.Thread | None = None

    def start(self) -> None:
        def work() -> None:
            try:
                self.simulator.start_at(datetime.now(timezone.utc))
                run_simulator(
                    self.simulator,
                    self.producer,
                    limit=None,
                    rate=self.rate,
                    stop=self.stop,
                    on_message=lambda m: self.sent.append(m.value),
                )
            except BaseException as exc:  # noqa: BLE001 - re-raised by finish()
                self.error.append(exc)

        self.thread = threading.Thread(target=work, name="simulator", daemon=True)
        self.thread.start()

    def finish(self) -> dict[str, Any]:
        """Stop producing (everything sent is landed / acknowledged) and return the ground truth."""
        self.stop.set()
        assert self.thread is not None
        self.thread.join(timeout=120)
        if self.error:
            raise self.error[0]
        return self.simulator.truth.as_json()


def simulator(seed: int, rate: float) -> Simulator:
    """The orders application with every imperfection: bad, duplicate and late messages."""
    return Simulator(
        SimulatorConfig(
            seed=seed,
            rate=rate,
            time_scale=3600.0,
            bad_rate=0.03,
            duplicate_rate=0.02,
            late_rate=0.03,
            bad_kinds=bad.select(),
        )
    )


@dataclass
class LoopOutcome:
    kills: list[Kill]
    states_hit: set[str]
    truth: dict[str, Any]
    sent: list[bytes]
    drain_returncode: int
    reference_returncode: int
    seconds: float


def kill_loop(
    storage: Path,
    conf: Mapping[str, str],
    production: Production,
    *,
    kills: int,
    max_kills: int,
    seed: int,
    log_file: Path,
    reference: Path,
    reference_log: Path,
    restart_hook: Callable[[int], None] | None = None,
) -> LoopOutcome:
    """Run the loop (see the module docstring), then the draining update and the uninterrupted
    recompute on ``reference``; returns what was killed, the ground truth and both exit codes."""
    rng = random.Random(seed)
    started = time.monotonic()
    timer = KillTimer(storage, STREAMING_FLOWS, CDC_FLOWS, rng)
    done: list[Kill] = []
    hit: set[str] = set()
    production.start()  # a file source plans no batch before there is something to read
    process = start_localdlt([PIPELINE], storage, conf, log_file=log_file, env=SALT_ENV)
    try:
        wait_until(
            lambda: all(timer.probe.offsets(f) for f in STREAMING_FLOWS),
            START_TIMEOUT,
            "every streaming flow's first batch",
            process,
        )
        while len(done) < max_kills:
            missing = [s for s in STATES if s not in hit]
            if len(done) >= kills and not missing:
                break
            trigger = TRIGGERS[len(done) % len(TRIGGERS)] if len(done) < kills else TRIGGER_FOR[missing[0]]
            born = time.monotonic()
            if not timer.wait(trigger, process, timeout=START_TIMEOUT):
                raise AssertionError(
                    f"kill {len(done) + 1} ({trigger}): localdlt exited "
                    f"({process.returncode}) or the moment never came; log: {log_file}"
                )
            kill_group(process)
            kill = Kill(len(done) + 1, trigger, round(time.monotonic() - born, 1))
            states, per_flow = timer.classify(CDC_FLOWS)
            kill.states, kill.flows_in_flight = states, per_flow
            hit.update(states)
            done.append(kill)
            log.info(
                "kill %d (%s) after %.1fs: %s", kill.number, trigger, kill.seconds_alive, per_flow or "idle"
            )
            if restart_hook is not None:
                restart_hook(kill.number)
            process = start_localdlt([PIPELINE], storage, conf, log_file=log_file, env=SALT_ENV)
    finally:
        if process.poll() is None:
            kill_group(process)
    truth = production.finish()
    # Drain: one triggered update reads everything that was sent and refreshes every view. Beside it
    # (its own storage, the same input read only), the uninterrupted recompute the tables are
    # compared with: one triggered update on fresh storage.
    drain = start_localdlt([PIPELINE], storage, conf, log_file=log_file, env=SALT_ENV, continuous=False)
    recompute = start_localdlt(
        [PIPELINE], reference, conf, log_file=reference_log, env=SALT_ENV, continuous=False
    )
    drained, recomputed = drain.wait(timeout=900), recompute.wait(timeout=900)
    return LoopOutcome(
        done, hit, truth, list(production.sent), drained, recomputed, round(time.monotonic() - started, 1)
    )
