"""The session factory sends the JVM's log lines to a file when asked (the demo's terminal shows
only its live view), checked without starting Spark."""

from pathlib import Path

import pytest

from localdlt.session import (
    LOG4J2_FILE_PROPERTIES,
    LOG4J2_PROPERTIES,
    SPARK_LOG_ENV,
    SessionSettings,
    session_conf,
)


def test_spark_log_switches_log4j2_to_the_file_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SPARK_LOG_ENV, raising=False)
    assert session_conf(SessionSettings())["spark.driver.extraJavaOptions"] == (
        f"-Dlog4j2.configurationFile={LOG4J2_PROPERTIES}"
    )
    target = tmp_path / "out" / "spark.log"
    options = session_conf(SessionSettings(spark_log=target))["spark.driver.extraJavaOptions"]
    assert options == f"-Dlog4j2.configurationFile={LOG4J2_FILE_PROPERTIES} -Dlocaldlt.spark.log={target}"
    assert target.parent.is_dir()  # log4j2 does not create the folder
    monkeypatch.setenv(SPARK_LOG_ENV, str(target))
    assert session_conf(SessionSettings())["spark.driver.extraJavaOptions"] == options


def test_the_file_configuration_writes_only_to_that_file_with_the_same_levels() -> None:
    lines = LOG4J2_FILE_PROPERTIES.read_text().splitlines()
    assert "appender.file.fileName = ${sys:localdlt.spark.log}" in lines
    assert not any(line.startswith("appender.console") for line in lines)
    levels = {line for line in LOG4J2_PROPERTIES.read_text().splitlines() if line.startswith("logger.")}
    assert levels <= set(lines)  # the same quieted loggers as on the terminal
