"""spark.sql inside query functions (localdlt.sql_reads) on a real session, with a resolver that
serves two small Delta tables: which names resolve, LIVE. rewriting, errors, temp views restored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from localdlt.errors import InvalidArgumentError, UnknownDatasetError
from localdlt.sql_reads import parse_relations, sql
from session_views import temporary_views


class _Resolver:
    """Serves datasets ``a`` and ``b`` (Delta folders); records what was asked."""

    def __init__(self, spark: Any, root: Path) -> None:
        self.spark, self.root, self.asked = spark, root, []

    def read_dataset(
        self, name: str, *, streaming: bool, explicit: bool, options: dict[str, str] | None = None
    ):
        self.asked.append((name, streaming, explicit, options))
        if name not in ("a", "b"):
            if explicit:
                raise UnknownDatasetError.for_name(name, ["a", "b"], reader="f", location=None)
            return None
        reader = self.spark.readStream if streaming else self.spark.read
        return reader.format("delta").load(str(self.root / name))

    def cloud_files(self, path: str, options: dict[str, str], schema: Any) -> Any:
        raise AssertionError("not used")


@pytest.fixture
def resolver(spark, tmp_path: Path) -> _Resolver:
    spark.createDataFrame([(1, "x"), (2, "y")], "k INT, v STRING").write.format("delta").save(
        str(tmp_path / "a")
    )
    spark.createDataFrame([(2, 20)], "k INT, n INT").write.format("delta").save(str(tmp_path / "b"))
    return _Resolver(spark, tmp_path)


def test_datasets_in_joins_subqueries_and_ctes_resolve_and_live_is_rewritten(spark, resolver) -> None:
    df = sql(
        spark,
        resolver,
        "WITH c AS (SELECT * FROM LIVE.b) "
        "SELECT a.k, a.v, c.n FROM a JOIN c ON a.k = c.k WHERE a.k IN (SELECT k FROM b)",
    )
    assert [tuple(r) for r in df.collect()] == [(2, "y", 20)]
    # One read per dataset and statement (the CTE name c is not a dataset).
    assert sorted((name, streaming) for name, streaming, _, _ in resolver.asked) == [
        ("a", False),
        ("b", False),
    ]
    assert not temporary_views(spark) & {"a", "b"}


def test_stream_reads_are_streaming_and_other_names_stay_with_the_catalog(spark, resolver) -> None:
    df = sql(spark, resolver, "SELECT k FROM STREAM(a) WHERE k > {low}", low=1)
    assert df.isStreaming
    relations, ctes = parse_relations(spark, "WITH c AS (SELECT 1) SELECT * FROM c, main.default.t, STREAM x")
    assert [(r.parts, r.streaming) for r in relations] == [
        (("c",), False),
        (("main", "default", "t"), False),
        (("x",), True),
    ] and ctes == {"c"}


def test_errors_name_the_dataset(spark, resolver) -> None:
    with pytest.raises(UnknownDatasetError, match="did you mean"):
        sql(spark, resolver, "SELECT * FROM LIVE.aa")
    with pytest.raises(InvalidArgumentError, match="dataset 'a' both with and without STREAM"):
        sql(spark, resolver, "SELECT * FROM STREAM(a) JOIN a USING (k)")


def test_a_users_temporary_view_of_the_same_name_is_restored(spark, resolver) -> None:
    spark.createDataFrame([(9,)], "z INT").createOrReplaceTempView("a")
    try:
        assert [tuple(r) for r in sql(spark, resolver, "SELECT count(*) FROM a").collect()] == [(2,)]
        assert [tuple(r) for r in spark.sql("SELECT * FROM a").collect()] == [(9,)]
    finally:
        spark.catalog.dropTempView("a")
