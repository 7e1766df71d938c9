"""The orders pipeline on a Spark standalone cluster (a master and two workers on loopback, started
from the installed pyspark) gives the same tables as local mode, also when a worker and its
executor are killed in the middle of the run (the lost tasks run again on the other worker).

Same input for both runs: the simulator's messages landed as files once. Each run is a real
``localdlt run`` process (``--master spark://...`` for the cluster one).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyspark
import pytest
from expected_tables import DERIVED_TABLES

from orders_lakehouse.devstack.kafka_broker import free_port, is_listening
from orders_lakehouse.producers.files import AtomicFileProducer
from orders_lakehouse.simulator import bad
from orders_lakehouse.simulator.engine import Simulator, SimulatorConfig
from orders_lakehouse.simulator.runner import run as run_simulator

pytestmark = [pytest.mark.reliability, pytest.mark.slow, pytest.mark.timeout(1800)]

REPO_ROOT = Path(__file__).resolve().parents[2]
PIPELINE = REPO_ROOT / "pipelines" / "orders"
LOCALDLT = Path(sys.executable).parent / "localdlt"
SPARK_CLASS = Path(pyspark.__file__).parent / "bin" / "spark-class"
MESSAGES = 600
COMPARED = ("bronze_order_events", *DERIVED_TABLES)


class Cluster:
    """A standalone master and its workers, each a JVM of its own."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.env = {**os.environ, "SPARK_HOME": str(SPARK_CLASS.parent.parent), "SPARK_LOCAL_IP": "127.0.0.1",
                    "PYSPARK_PYTHON": sys.executable}  # fmt: skip
        self.master_port = free_port()
        self.url = f"spark://127.0.0.1:{self.master_port}"
        self.processes: list[subprocess.Popen] = []
        self.workers: list[subprocess.Popen] = []

    def _start(self, name: str, *args: str) -> subprocess.Popen:
        process = subprocess.Popen(
            [str(SPARK_CLASS), *args],
            stdout=(self.logs / f"{name}.log").open("w"),
            stderr=subprocess.STDOUT,
            env={**self.env, "SPARK_WORKER_DIR": str(self.logs / name)},
        )
        self.processes.append(process)
        return process

    def start(self, workers: int) -> None:
        master = self._start(
            "master",
            "org.apache.spark.deploy.master.Master",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.master_port),
            "--webui-port",
            str(free_port()),
        )
        _wait_listening(self.master_port, master, "Spark master")
        for index in range(workers):
            port = free_port()
            worker = self._start(
                f"worker{index}",
                "org.apache.spark.deploy.worker.Worker",
                self.url,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--webui-port",
                str(free_port()),
                "--cores",
                "1",
                "--memory",
                "1g",
            )
            _wait_listening(port, worker, f"Spark worker {index}")
            self.workers.append(worker)

    def kill_worker(self, index: int) -> list[int]:
        """SIGKILL worker ``index`` and its executor JVMs; returns the pids killed."""
        worker = self.workers[index]
        children = subprocess.run(
            ["pgrep", "-P", str(worker.pid)], capture_output=True, text=True
        ).stdout.split()
        pids = [worker.pid, *map(int, children)]
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return pids

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()


def _wait_listening(port: int, process: subprocess.Popen, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not is_listening(port):
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"{what} did not start on port {port}")
        time.sleep(0.3)


@pytest.fixture()
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    cluster = Cluster(tmp_path)
    cluster.start(workers=2)
    yield cluster
    cluster.stop()


def _land(landing: Path, staging: Path) -> None:
    start = datetime.now(timezone.utc) - timedelta(seconds=MESSAGES / 20.0)
    simulator = Simulator(
        SimulatorConfig(
            seed=5,
            start_time=start,
            rate=20.0,
            time_scale=36000.0,
            bad_rate=0.05,
            duplicate_rate=0.03,
            late_rate=0.05,
            bad_kinds=bad.select(),
        )
    )
    with AtomicFileProducer(landing, staging=staging, batch_size=60) as producer:
        run_simulator(simulator, producer, limit=MESSAGES, rate=None)


def _localdlt(storage: Path, landing: Path, log: Path, *extra: str) -> subprocess.Popen:
    command = [
        str(LOCALDLT),
        "run",
        str(PIPELINE),
        "--storage",
        str(storage),
        "--quiet",
        "--conf",
        "orders.source=files",
        "--conf",
        f"orders.landing_path={landing}",
        *extra,
    ]
    return subprocess.Popen(
        command,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        env={
            **os.environ,
            "LOCALDLT_SECRET_ORDERS_PII_SALT": "cluster-salt",
            "PYSPARK_PYTHON": sys.executable,
        },
    )


def test_cluster_gives_the_local_tables_and_survives_a_killed_worker(
    cluster: Cluster, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    landing = tmp_path / "landing"
    _land(landing, tmp_path / "staging")
    # One run at a time: the machine has two cores, and the cluster run must have them.
    local = _localdlt(tmp_path / "local", landing, tmp_path / "local.log")
    assert local.wait(timeout=1500) == 0, (tmp_path / "local.log").read_text()[-3000:]

    on_cluster = _localdlt(tmp_path / "cluster", landing, tmp_path / "cluster.log", "--master", cluster.url)
    killed: list[int] = []

    def kill_when_running() -> None:
        # Once Silver committed its first batch (version 0 is the empty table), the CDC flows and
        # every Gold view are still to come: the rest of the run has one executor left.
        log_dir = tmp_path / "cluster" / "tables" / "silver_order_events" / "_delta_log"
        while on_cluster.poll() is None and not killed:
            if log_dir.is_dir() and any(
                p.name.endswith(".json") and p.name != f"{0:020d}.json" for p in log_dir.iterdir()
            ):
                killed.extend(cluster.kill_worker(0))
                return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_when_running, daemon=True)
    killer.start()
    code = on_cluster.wait(timeout=1500)
    killer.join(timeout=10)
    assert code == 0, (tmp_path / "cluster.log").read_text()[-3000:]

    # The ledger and the table comparison live with the reliability scenarios (one module each,
    # shared: the one-line summary of `make reliability` counts this scenario too).
    reliability = str(REPO_ROOT / "tests" / "reliability")
    if reliability not in sys.path:
        sys.path.insert(0, reliability)
    from fault_ledger import Record, record
    from layer_checks import table_differences

    spark = request.getfixturevalue("spark")
    bronze = spark.read.format("delta").load(str(tmp_path / "local" / "tables" / "bronze_order_events"))
    differences = table_differences(
        spark, tmp_path / "cluster" / "tables", tmp_path / "local" / "tables", COMPARED
    )
    master_log = (tmp_path / "master.log").read_text()
    noticed = "Removing worker" in master_log or "disassociated" in master_log
    record(
        Record(
            "standalone cluster, one worker killed",
            faults=1 if killed else 0,
            survived=1 if killed and noticed and not differences else 0,
            details={"killed_pids": killed, "messages": MESSAGES},
        )
    )
    assert killed, "the worker was never killed: the cluster run ended before Silver's first commit"
    assert noticed, f"the master never saw the worker go: {master_log[-2000:]}"
    assert bronze.count() == MESSAGES
    assert differences == {}
