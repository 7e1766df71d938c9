"""The SparkSession and scratch folder a benchmark runs in."""

from __future__ import annotations

import os
import resource
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pyspark.sql import SparkSession

from localdlt.session import SessionSettings, build_session


@contextmanager
def spark_and_folder(settings: SessionSettings, prefix: str) -> Iterator[tuple[SparkSession, Path]]:
    """A SparkSession built from ``settings`` and an empty temporary folder; both are gone after."""
    spark = build_session(settings)
    root = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield spark, root
    finally:
        shutil.rmtree(root, ignore_errors=True)
        spark.stop()


def jvm_cpu_seconds(spark: SparkSession) -> float:
    """CPU seconds the driver JVM has used so far (user + system), from ``/proc/<pid>/stat`` (Linux;
    ``OSError`` elsewhere). In local mode every task runs there; CPU time, unlike wall time, stays
    meaningful on a machine whose cores are shared with other work."""
    pid = spark.sparkContext._gateway.proc.pid  # PySpark started the JVM as a child process
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # Fields 14 and 15 of stat (utime, stime), counted after the ")" that ends the command name.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(spark: SparkSession) -> float:
    """CPU seconds the driver JVM and this Python process have used so far (user + system)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return jvm_cpu_seconds(spark) + usage.ru_utime + usage.ru_stime
