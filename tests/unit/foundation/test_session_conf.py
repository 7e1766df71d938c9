"""The session factory's configuration, checked without starting Spark."""

from pathlib import Path

import pytest

from localdlt.session import MissingJarsError, SessionSettings, find_jars_dir, session_conf


def test_conf_hands_spark_the_cached_jar_files_and_delta() -> None:
    conf = session_conf(SessionSettings(testing=True, shuffle_partitions=3))
    jar_files = conf["spark.jars"].split(",")
    assert all(Path(jar).is_file() for jar in jar_files)
    assert "spark.jars.packages" not in conf
    assert conf["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"
    assert conf["spark.sql.shuffle.partitions"] == "3"
    assert conf["spark.ui.enabled"] == "false"


def test_extra_conf_wins(tmp_path: Path) -> None:
    conf = session_conf(SessionSettings(extra_conf={"spark.ui.enabled": "true"}, warehouse_dir=tmp_path))
    assert conf["spark.ui.enabled"] == "true"
    assert conf["spark.sql.warehouse.dir"] == str(tmp_path)


def test_missing_jars_says_run_setup(tmp_path: Path) -> None:
    with pytest.raises(MissingJarsError, match=r"no Spark jars in .*empty: run `make setup`"):
        find_jars_dir(tmp_path / "empty")


def test_python_workers_use_the_drivers_interpreter(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.delenv("PYSPARK_PYTHON", raising=False)
    assert session_conf(SessionSettings())["spark.pyspark.python"] == sys.executable
    monkeypatch.setenv("PYSPARK_PYTHON", "/opt/python/bin/python3")
    assert session_conf(SessionSettings())["spark.pyspark.python"] == "/opt/python/bin/python3"


def test_file_listing_runs_as_many_tasks_as_shuffle_partitions() -> None:
    """VACUUM's file listing would otherwise schedule Spark's default 10000 tasks."""
    conf = session_conf(SessionSettings(shuffle_partitions=3))
    assert conf["spark.sql.sources.parallelPartitionDiscovery.parallelism"] == "3"


def test_only_test_sessions_run_without_code_generation() -> None:
    """Test sessions neither fuse operators into generated code nor generate their expressions'
    code (interpreted); production sessions keep Spark's defaults for both."""
    testing = session_conf(SessionSettings(testing=True))
    assert testing["spark.sql.codegen.wholeStage"] == "false"
    assert testing["spark.sql.codegen.factoryMode"] == "NO_CODEGEN"
    production = session_conf(SessionSettings())
    assert "spark.sql.codegen.wholeStage" not in production
    assert "spark.sql.codegen.factoryMode" not in production


def test_only_test_sessions_skip_pyspark_call_site_capture() -> None:
    """PySpark sends each DataFrame call's Python call site to the JVM (several py4j round trips
    per call) unless told not to: test sessions are; production keeps the error contexts."""
    key = "spark.python.sql.dataFrameDebugging.enabled"
    assert session_conf(SessionSettings(testing=True))[key] == "false"
    assert key not in session_conf(SessionSettings())


def test_only_test_sessions_compile_with_c1_and_a_code_cache_that_holds_it() -> None:
    """C1-only JIT in test sessions, with the code cache it needs (48 MB filled up and disabled the
    compiler); production sessions keep the JVM's default tiered compilation."""
    testing = session_conf(SessionSettings(testing=True))["spark.driver.extraJavaOptions"].split()
    assert testing[-2:] == ["-XX:TieredStopAtLevel=1", "-XX:ReservedCodeCacheSize=256m"]
    assert testing[0].startswith("-Dlog4j2.configurationFile=")
    production = session_conf(SessionSettings())["spark.driver.extraJavaOptions"]
    assert "TieredStopAtLevel" not in production and "ReservedCodeCacheSize" not in production
