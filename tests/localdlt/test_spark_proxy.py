"""The ``spark`` global of pipeline files, against a recording stand-in session (no Spark)."""

from __future__ import annotations

from typing import Any

import pytest

from localdlt.dbutils import DBUtils, secret_env_var
from localdlt.errors import MissingSecretError
from localdlt.reads import resolving
from localdlt.spark_proxy import SparkProxy


class _Recorder:
    """Records the reader calls a SparkSession would receive."""

    def __init__(self, calls: list[tuple[str, Any]]) -> None:
        self.calls = calls

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, args or kwargs))
            return self

        return call


class _FakeConf:
    def get(self, key: str, default: Any = None) -> Any:
        return {"spark.sql.shuffle.partitions": "2"}.get(key, default)


class _FakeSession:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.conf = _FakeConf()

    @property
    def readStream(self) -> _Recorder:  # noqa: N802
        return _Recorder(self.calls)

    @property
    def read(self) -> _Recorder:
        return _Recorder(self.calls)

    def sql(self, query: str, args: Any = None) -> Any:
        self.calls.append(("sql", (query, args)))
        return "sql-frame"


def test_kafka_reads_get_the_unshaded_jaas_class() -> None:
    session = _FakeSession()
    proxy = SparkProxy(session, {})  # type: ignore[arg-type]
    jaas = (
        "kafkashaded.org.apache.kafka.common.security.plain.PlainLoginModule required "
        'username="$ConnectionString";'
    )
    proxy.readStream.format("kafka").option("kafka.sasl.jaas.config", jaas).option("subscribe", "t").load()
    options = dict(next(args for name, args in session.calls if name == "options"))
    assert options["kafka.sasl.jaas.config"] == (
        'org.apache.kafka.common.security.plain.PlainLoginModule required username="$ConnectionString";'
    )
    assert options["subscribe"] == "t"


def test_conf_get_sees_the_pipeline_configuration_first() -> None:
    proxy = SparkProxy(_FakeSession(), {"orders.source": "kafka"})  # type: ignore[arg-type]
    assert proxy.conf.get("orders.source") == "kafka"
    assert proxy.conf.get("spark.sql.shuffle.partitions") == "2"
    assert proxy.conf.get("orders.missing", "files") == "files"


def test_table_reads_go_to_the_resolver_with_live_prefix_and_options() -> None:
    seen: list[tuple[str, bool, bool, dict[str, str] | None]] = []

    class Resolver:
        def read_dataset(
            self, name: str, *, streaming: bool, explicit: bool, options: dict[str, str] | None = None
        ):
            seen.append((name, streaming, explicit, options))
            return "frame"

        def cloud_files(self, path: str, options: dict[str, str], schema: Any) -> Any:
            seen.append((path, True, True, options))
            return "cloud"

    proxy = SparkProxy(_FakeSession(), {})  # type: ignore[arg-type]
    with resolving(Resolver()):
        assert proxy.readStream.option("skipChangeCommits", True).table("LIVE.orders") == "frame"
        assert proxy.read.table("dim") == "frame"
        assert (
            proxy.readStream.format("cloudFiles").option("cloudFiles.format", "json").load("/in") == "cloud"
        )
    assert seen == [
        ("orders", True, True, {"skipChangeCommits": "true"}),
        ("dim", False, False, {}),
        ("/in", True, True, {"cloudFiles.format": "json"}),
    ]


def test_secrets_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert secret_env_var("orders", "pii-salt") == "LOCALDLT_SECRET_ORDERS_PII_SALT"
    monkeypatch.setenv("LOCALDLT_SECRET_ORDERS_PII_SALT", "s3cret")
    assert DBUtils().secrets.get("orders", "pii-salt") == "s3cret"
    monkeypatch.delenv("LOCALDLT_SECRET_ORDERS_PII_SALT")
    with pytest.raises(MissingSecretError) as info:
        DBUtils().secrets.get("orders", "pii-salt")
    assert (
        "s3cret" not in str(info.value) and info.value.params["env_var"] == "LOCALDLT_SECRET_ORDERS_PII_SALT"
    )


def test_sql_outside_a_query_function_is_the_sessions_own() -> None:
    session = _FakeSession()
    proxy = SparkProxy(session, {})  # type: ignore[arg-type]
    assert proxy.sql("SELECT * FROM t WHERE k = :k", {"k": 1}) == "sql-frame"
    assert session.calls == [("sql", ("SELECT * FROM t WHERE k = :k", {"k": 1}))]
