"""The one Spark session factory used by the runtime, the demo, the tests and the benchmarks.

Delta Lake's SQL extension and catalog, the jars resolved at set-up (``spark.jars``, no
resolution at session start), ``local[*]`` unless a master URL is given (any Spark master
works: ``spark://host:7077``, ``k8s://...``), quiet logs.

Example::

    from localdlt.session import SessionSettings, build_session
    spark = build_session(SessionSettings(app_name="demo"))
    spark.range(3).write.format("delta").save("/tmp/t")
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

JARS_DIR_ENV = "LOCALDLT_JARS_DIR"
MASTER_ENV = "LOCALDLT_MASTER"
_DEFAULT_JARS_SUBDIR = Path(".cache") / "jars" / "spark"
SPARK_LOG_ENV = "LOCALDLT_SPARK_LOG"
LOG4J2_PROPERTIES = Path(__file__).with_name("log4j2.properties")
LOG4J2_FILE_PROPERTIES = Path(__file__).with_name("log4j2-file.properties")


# Test sessions: JIT compilation with C1 only. A test run executes thousands of short, different
# queries; C2's optimising compiles were ~30% of the JVM's CPU (per-thread CPU of one orders-pipeline
# update 1 + 2: C2 compiler threads 70 of 228 s) and are rarely paid back. C1-only lowers the
# default code cache to 48 MB, which filled up and disabled the compiler ("CodeCache is full"),
# hence 256 MB. Measured side by side: 254 -> 181 CPU s for those two updates.
TESTING_JVM_OPTIONS = " -XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=256m"


class MissingJarsError(RuntimeError):
    """The Spark jars folder is missing: set-up has not run."""


@dataclass(frozen=True)
class SessionSettings:
    """What a session needs; every field has a sensible local default.

    ``testing=True`` trades throughput for start-up speed: one shuffle partition per core,
    no UI, small Delta snapshot partitions, no code generation (expressions are interpreted; in
    Spark 4.1 ``spark.catalog.listTables()`` and ``listFunctions()`` then fail, SQL's ``SHOW
    TABLES`` works), a C1-only JIT, and no Python call sites in DataFrame error contexts.
    ``spark_log`` (or ``$LOCALDLT_SPARK_LOG``) sends the JVM's log lines (Spark, Delta, Kafka
    client) to that file instead of the terminal.
    """

    app_name: str = "localdlt"
    master: str | None = None
    jars_dir: Path | None = None
    testing: bool = False
    shuffle_partitions: int | None = None
    warehouse_dir: Path | None = None
    extra_conf: dict[str, str] = field(default_factory=dict)
    spark_log: Path | None = None


def find_jars_dir(explicit: Path | None = None) -> Path:
    """The folder of resolved Spark jars: ``explicit``, ``$LOCALDLT_JARS_DIR``, or ``.cache/jars/spark``
    in the current directory or the checkout this package lives in."""
    if explicit is not None:
        candidates = [Path(explicit)]
    elif os.environ.get(JARS_DIR_ENV):
        candidates = [Path(os.environ[JARS_DIR_ENV])]
    else:
        candidates = [Path.cwd() / _DEFAULT_JARS_SUBDIR]
        candidates += [parent / _DEFAULT_JARS_SUBDIR for parent in Path(__file__).resolve().parents]
    for candidate in candidates:
        if any(candidate.glob("*.jar")):
            return candidate
    raise MissingJarsError(f"no Spark jars in {candidates[0]}: run `make setup` (or set {JARS_DIR_ENV})")


def session_conf(settings: SessionSettings) -> dict[str, str]:
    """The Spark configuration a session built from ``settings`` gets (pure; handy in tests)."""
    jars = sorted(str(path) for path in find_jars_dir(settings.jars_dir).glob("*.jar"))
    cores = os.cpu_count() or 2
    partitions = settings.shuffle_partitions or (cores if settings.testing else max(8, cores * 2))
    conf = {
        "spark.jars": ",".join(jars),
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.sql.shuffle.partitions": str(partitions),
        "spark.sql.session.timeZone": "UTC",
        # Local mode runs everything in the driver JVM; Spark's default 1 GiB is tight for wide
        # pipelines (many rules) plus Delta log replay. Applies when the JVM starts.
        "spark.driver.memory": os.environ.get("LOCALDLT_DRIVER_MEMORY", "2g"),
        # Python workers run the driver's interpreter (the project's .venv, where UDFs' imports
        # live) unless PYSPARK_PYTHON says otherwise (a cluster whose nodes keep Python elsewhere).
        "spark.pyspark.python": os.environ.get("PYSPARK_PYTHON", sys.executable),
        # Streaming queries stop quickly and do not linger between tests or at Ctrl-C.
        "spark.sql.streaming.stopTimeout": "30s",
        "spark.ui.enabled": "false" if settings.testing else "true",
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.extraJavaOptions": _log_options(settings.spark_log or os.environ.get(SPARK_LOG_ENV))
        + (TESTING_JVM_OPTIONS if settings.testing else ""),
        # Pipelines with many expectations build wide filter plans: constraint propagation then
        # grows combinatorially during planning (measured: OutOfMemoryError in
        # getAllValidConstraints on the orders Silver flow with a 1 GiB driver). It only infers
        # extra filters; turning it off changes no result.
        "spark.sql.constraintPropagation.enabled": "false",
        # Delta reads its log with few tasks: on small tables the default (50) is pure overhead.
        "spark.databricks.delta.snapshotPartitions": "2",
        # Delta VACUUM lists the table's files through Spark's parallel partition discovery with
        # this many tasks (default 10000: thousands of empty tasks per VACUUM). As many as the
        # shuffle partitions; measured: tests/localdlt/test_maintenance.py 208 s -> 54 s.
        "spark.sql.sources.parallelPartitionDiscovery.parallelism": str(partitions),
        # Independent flows of a triggered update run concurrently, each in a scheduler pool of
        # its own: FAIR shares the cores between them instead of one flow's job queueing the
        # others' behind all its tasks (FIFO).
        "spark.scheduler.mode": "FAIR",
    }
    if settings.testing:
        conf.update(
            {
                "spark.default.parallelism": str(cores),
                "spark.sql.adaptive.enabled": "false",
                "spark.rdd.compress": "false",
                # A test run executes thousands of queries: keep the status store's plan history short.
                "spark.sql.ui.retainedExecutions": "20",
                "spark.ui.retainedJobs": "50",
                "spark.ui.retainedStages": "50",
                "spark.databricks.delta.properties.defaults.checkpointInterval": "100",
                # Test data is a few rows per query but thousands of queries: compiling generated
                # Java (Janino) was ~31% of the JVM's CPU samples, not paid back on so few rows.
                # Without whole-stage codegen operators run one by one, same results.
                # The demo, the CLI and `localdlt run` keep the default (code generation).
                "spark.sql.codegen.wholeStage": "false",
                # ...and each operator's projections, predicates and orderings are interpreted, not
                # generated: every task of every query built them again (generating the Java
                # source, stripping its comments with regexes to look it up in the compiled-class
                # cache, compiling on a miss), 37% of the JVM's CPU samples in the MV differential
                # test. Measured: that test 160 -> 96 s alone; the whole suite 16:37 -> 11:56.
                # Spark 4.1's interpreted encoders cannot build catalog.Table / catalog.Function
                # (EXPRESSION_DECODING_FAILED): in these sessions spark.catalog.listTables() and
                # listFunctions() fail; SHOW TABLES and SHOW FUNCTIONS work.
                "spark.sql.codegen.factoryMode": "NO_CODEGEN",
                # PySpark wraps every DataFrame, Column and functions call to send its Python call
                # site to the JVM for error messages: the active session, a class look-up, a conf
                # read, set and clear, all py4j round trips. `python -m bench call_sites`: building
                # one SCD1 batch plan of 20 columns takes 20,620 round trips and 3.43 s with it,
                # 6,104 and 1.33 s without. Errors then lack only the "DataFrame" call-site context.
                "spark.python.sql.dataFrameDebugging.enabled": "false",
            }
        )
    if settings.warehouse_dir is not None:
        conf["spark.sql.warehouse.dir"] = str(settings.warehouse_dir)
    conf.update(settings.extra_conf)
    return conf


def _log_options(spark_log: Path | str | None) -> str:
    """JVM options choosing the log4j2 configuration: the terminal, or the file ``spark_log``."""
    if not spark_log:
        return f"-Dlog4j2.configurationFile={LOG4J2_PROPERTIES}"
    Path(spark_log).parent.mkdir(parents=True, exist_ok=True)
    target = Path(spark_log).resolve()
    return f"-Dlog4j2.configurationFile={LOG4J2_FILE_PROPERTIES} -Dlocaldlt.spark.log={target}"


def build_session(settings: SessionSettings | None = None) -> SparkSession:
    """Build (or return the already active) SparkSession with Delta and the cached jars.

    The master is ``settings.master``, else ``$LOCALDLT_MASTER``, else ``local[*]``.
    """
    settings = settings or SessionSettings()
    master = settings.master or os.environ.get(MASTER_ENV) or "local[*]"
    builder = SparkSession.builder.appName(settings.app_name).master(master)
    for key, value in session_conf(settings).items():
        builder = builder.config(key, value)
    with _jvm_ignoring_sigterm():
        spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    log.info("Spark %s session on %s", spark.version, master)
    return spark


@contextmanager
def _jvm_ignoring_sigterm() -> Iterator[None]:
    """Start the JVM with SIGTERM ignored, as PySpark starts it with SIGINT ignored.

    A SIGTERM sent to the whole process group (``timeout``, systemd's default ``KillMode``, a
    shell killing a job) would otherwise reach the JVM too, whose shutdown hooks stop Spark under
    the running update: its flows fail with ``Connection refused`` instead of stopping cleanly
    through the Python handler (``localdlt run``). HotSpot leaves a signal that was ignored when
    it started ignored. The JVM still ends with this process: PySpark's gateway exits when its
    stdin closes.

    SIGTERM is also blocked here while the JVM starts: on Linux a blocked signal stays pending
    even when ignored, so a SIGTERM that arrives meanwhile reaches the restored handler after.
    Only the main thread can change signal handling; elsewhere the JVM starts as it did.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
