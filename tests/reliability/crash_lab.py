"""Run ``localdlt run`` as a real process, kill it with SIGKILL at chosen moments, and record what
each kill interrupted.

A kill is timed by watching the storage folder (no hooks in the runtime): a new ``offsets/N`` file
of a flow (a micro-batch has started), a new Delta commit of a streaming table (a batch is in the
table, its checkpoint commit not yet written), or a new ``offsets/N`` of a CDC flow (its MERGE is
running). After the kill the on-disk state says what was in flight; :func:`in_flight` classifies it.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from storage_probe import StorageProbe, delta_versions

log = logging.getLogger(__name__)

LOCALDLT = Path(sys.executable).parent / "localdlt"
# The states a kill must hit at least once across a loop.
BATCH_NOT_COMMITTED = "batch started, nothing committed"
DELTA_WITHOUT_CHECKPOINT = "Delta commit without its checkpoint commit"
CDC_MERGE = "CDC MERGE in flight"
STATES = (BATCH_NOT_COMMITTED, DELTA_WITHOUT_CHECKPOINT, CDC_MERGE)


# The streaming table the small scenario pipelines start from: every JSON event landed in the
# folder of the pipeline setting ``test.landing`` (``event_id``, ``amount``). Each scenario appends
# its own datasets to it.
EVENTS_BRONZE = (
    "import dlt\n\n"
    '@dlt.table(comment="every landed event")\n'
    "def events_bronze():\n"
    '    return (spark.readStream.format("cloudFiles").option("cloudFiles.format", "json")\n'
    '            .schema("event_id STRING, amount INT").load(spark.conf.get("test.landing")))\n'
)


def start_localdlt(
    paths: Sequence[Path],
    storage: Path,
    conf: Mapping[str, str],
    *,
    log_file: Path,
    continuous: bool = True,
    extra: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> subprocess.Popen:
    """``localdlt run PATHS --storage STORAGE --conf K=V...`` in its own process group (so a kill
    takes its JVM too); stdout and stderr go to ``log_file`` (appended)."""
    command = [str(LOCALDLT), "run", *map(str, paths), "--storage", str(storage), "--quiet"]
    for key, value in conf.items():
        command += ["--conf", f"{key}={value}"]
    if continuous:
        command += ["--continuous", "--duration", "3600"]
    command += list(extra)
    out = log_file.open("a")
    out.write(f"\n=== {' '.join(command)}\n")
    out.flush()
    return subprocess.Popen(
        command,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, **(env or {})},  # JAVA_TOOL_OPTIONS (C1 only): tests/conftest.py
    )


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILL the process and everything in its group (the JVM, Python workers)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=60)


@dataclass
class Kill:
    """One kill: how it was timed, and what the storage held right after it."""

    number: int
    trigger: str
    seconds_alive: float
    states: list[str] = field(default_factory=list)
    flows_in_flight: dict[str, str] = field(default_factory=dict)


class KillTimer:
    """Waits, polling the storage folder every few milliseconds, for the moment to kill."""

    POLL = 0.01

    def __init__(
        self, storage: Path, streaming_flows: Sequence[str], cdc_flows: Sequence[str], rng: random.Random
    ) -> None:
        self.probe = StorageProbe(storage)
        self.streaming_flows = list(streaming_flows)
        self.cdc_flows = list(cdc_flows)
        self.rng = rng

    def _planned(self, flows: Sequence[str]) -> dict[str, set[int]]:
        return {flow: self.probe.offsets(flow) for flow in flows}

    def wait(self, trigger: str, process: subprocess.Popen, timeout: float) -> bool:
        """Block until ``trigger`` fires (True) or the process ends / ``timeout`` passes (False).

        Triggers: ``new-batch`` (a streaming flow writes a new ``offsets/N``), ``delta-commit`` (a
        new txn commit lands in a streaming table), ``cdc-batch`` (a CDC flow starts a batch, then
        a random 0-1.5 s into its MERGE), ``random`` (a random moment 3-20 s on).
        """
        deadline = time.monotonic() + timeout
        if trigger == "random":
            end = time.monotonic() + self.rng.uniform(3, 20)
            while time.monotonic() < end:
                if process.poll() is not None:
                    return False
                time.sleep(0.05)
            return True
        flows = self.cdc_flows if trigger == "cdc-batch" else self.streaming_flows
        seen_offsets = self._planned(flows)
        seen_versions = {flow: delta_versions(self.probe.tables / flow) for flow in flows}
        while time.monotonic() < deadline:
            if process.poll() is not None:
                return False
            for flow in flows:
                if trigger == "delta-commit":
                    versions = delta_versions(self.probe.tables / flow)
                    if versions - seen_versions[flow]:
                        return True
                    continue
                planned = self.probe.offsets(flow)
                fresh = planned - seen_offsets[flow]
                if fresh and max(fresh) not in self.probe.commits(flow):
                    if trigger == "cdc-batch":
                        time.sleep(self.rng.uniform(0.0, 1.5))
                    return True
                seen_offsets[flow] = planned
            time.sleep(self.POLL)
        return False

    def classify(self, cdc_flows: Sequence[str]) -> tuple[list[str], dict[str, str]]:
        """What the storage says was in flight at the kill: per flow with a batch planned but not
        committed, whether its Delta commit is already in the table."""
        states: set[str] = set()
        per_flow: dict[str, str] = {}
        for flow in self.streaming_flows:
            batch = self.probe.in_flight(flow)
            if batch is None:
                continue
            written = any(c.txn_version == batch for c in self.probe.flow_commits(flow, flow))
            state = DELTA_WITHOUT_CHECKPOINT if written else BATCH_NOT_COMMITTED
            states.add(state)
            if flow in cdc_flows and not written:
                states.add(CDC_MERGE)
            per_flow[flow] = f"batch {batch}: {state}"
        return sorted(states), per_flow


def wait_until(
    condition: Callable[[], bool], timeout: float, what: str, process: subprocess.Popen | None = None
) -> None:
    """Poll ``condition`` until true; raise AssertionError naming ``what`` on timeout or when
    ``process`` ends first."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process is not None and process.poll() is not None:
            raise AssertionError(f"localdlt exited ({process.returncode}) while waiting for {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.2)
