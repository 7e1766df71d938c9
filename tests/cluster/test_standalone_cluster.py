"""The session factory runs the same code on a Spark standalone cluster (master + worker on loopback).

The cluster gets its own driver process (one SparkContext per process): the test starts a
master and a worker from pyspark's own ``spark-class`` and runs a small Delta job against
``spark://127.0.0.1:<port>`` in a subprocess, through ``build_session`` and ``LOCALDLT_MASTER``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pyspark
import pytest

from orders_lakehouse.devstack.kafka_broker import free_port, is_listening

SPARK_CLASS = Path(pyspark.__file__).parent / "bin" / "spark-class"

pytestmark = pytest.mark.slow  # a master, a worker and a driver JVM of its own

DRIVER_SCRIPT = """
import sys
from localdlt.session import SessionSettings, build_session
spark = build_session(SessionSettings(app_name="cluster-test", testing=True))
path = sys.argv[1]
spark.range(0, 1000, numPartitions=4).selectExpr("id", "id % 7 AS bucket").write.format("delta").save(path)
total = spark.read.format("delta").load(path).groupBy("bucket").count().orderBy("bucket").collect()
executors = spark.sparkContext._jsc.sc().getExecutorMemoryStatus().size()
print("MASTER", spark.sparkContext.master)
print("COUNTS", [row["count"] for row in total])
print("EXECUTOR_JVMS", executors)
spark.stop()
"""


def _wait_listening(port: int, process: subprocess.Popen, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not is_listening(port):
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"{what} did not start on port {port}")
        time.sleep(0.3)


@pytest.fixture(scope="module")
def standalone_master(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Spark standalone master and one worker (1 core, 1 GiB) on loopback."""
    logs = tmp_path_factory.mktemp("spark-cluster")
    env = {**os.environ, "SPARK_HOME": str(SPARK_CLASS.parent.parent), "SPARK_LOCAL_IP": "127.0.0.1",
           "PYSPARK_PYTHON": sys.executable, "SPARK_WORKER_DIR": str(logs / "work")}  # fmt: skip
    master_port, worker_port = free_port(), free_port()
    master = subprocess.Popen(
        [str(SPARK_CLASS), "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
         "--port", str(master_port), "--webui-port", str(free_port())],
        stdout=(logs / "master.log").open("w"), stderr=subprocess.STDOUT, env=env,
    )  # fmt: skip
    _wait_listening(master_port, master, "Spark master")
    url = f"spark://127.0.0.1:{master_port}"
    worker = subprocess.Popen(
        [str(SPARK_CLASS), "org.apache.spark.deploy.worker.Worker", url, "--host", "127.0.0.1",
         "--port", str(worker_port), "--webui-port", str(free_port()), "--cores", "1", "--memory", "1g"],
        stdout=(logs / "worker.log").open("w"), stderr=subprocess.STDOUT, env=env,
    )  # fmt: skip
    _wait_listening(worker_port, worker, "Spark worker")
    yield url
    for process in (worker, master):
        process.terminate()
        process.wait(timeout=30)


def test_delta_job_runs_on_standalone_cluster_through_the_session_factory(
    standalone_master: str, tmp_path: Path
) -> None:
    env = {**os.environ, "LOCALDLT_MASTER": standalone_master, "PYSPARK_PYTHON": sys.executable}
    result = subprocess.run(
        [sys.executable, "-c", DRIVER_SCRIPT, str(tmp_path / "table")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines() if line.split(" ", 1)[0].isupper())
    assert lines["MASTER"] == standalone_master
    # 1000 ids over 7 buckets: 0..5 get 143 each, bucket 6 gets 142.
    assert lines["COUNTS"] == str([143, 143, 143, 143, 143, 143, 142])
    assert int(lines["EXECUTOR_JVMS"]) == 2  # the driver and the worker's executor
