"""The ``dlt`` module of a pipeline run: Databricks' documented Python API, same names,
parameter names and defaults (https://docs.databricks.com/aws/dlt-ref/dlt-python-ref-table and
the sibling pages for view, append_flow, create_streaming_table, apply_changes, create_sink,
expectations). The decorators record frozen definitions and return the function unchanged.

Example (inside a file run by ``localdlt run``)::

    import dlt

    @dlt.table(comment="raw orders")
    @dlt.expect_or_drop("has_id", "order_id IS NOT NULL")
    def bronze():
        return spark.readStream.format("cloudFiles").option("cloudFiles.format", "json").load(path)
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any

from localdlt import api_expectations, api_sinks
from localdlt.api_args import caller_location, check_dict, check_list, check_str, location_of
from localdlt.api_expectations import pending_expectations
from localdlt.definitions import Dataset, DatasetKind, Expectation, ExpectationAction, Flow, QueryFunction
from localdlt.errors import InvalidArgumentError, UnknownDatasetError
from localdlt.reads import active_resolver, strip_live
from localdlt.registry import active_registry


def _extra(**kwargs: Any) -> dict[str, Any]:
    """Parameters with no local meaning, recorded when given (not their defaults)."""
    return {key: value for key, value in kwargs.items() if value not in (None, False)}


def _dataset_decorator(query_function: QueryFunction | None, make: Callable[[QueryFunction], None]) -> Any:
    """Support ``@dec``, ``@dec()`` and ``@dec(name=...)``; return the function unchanged."""

    def apply(func: QueryFunction) -> QueryFunction:
        if not callable(func):
            raise InvalidArgumentError(
                f"a dataset decorator must decorate a function, got {type(func).__name__}",
                params={"argument": "query_function", "type": type(func).__name__},
                location=caller_location(),
            )
        make(func)
        return func

    if query_function is not None:
        return apply(query_function)
    return apply


def _register_with_flow(dataset: Dataset, func: QueryFunction, spark_conf: dict[str, str]) -> None:
    registry = active_registry()
    registry.register_dataset(dataset)
    registry.register_flow(
        Flow(
            name=dataset.name,
            target=dataset.name,
            query_function=func,
            location=dataset.location,
            expectations=(),
            spark_conf=spark_conf,
        )
    )


def table(
    query_function: QueryFunction | None = None,
    name: str | None = None,
    comment: str | None = None,
    spark_conf: dict[str, str] | None = None,
    table_properties: dict[str, str] | None = None,
    partition_cols: list[str] | None = None,
    path: str | None = None,
    schema: Any = None,
    temporary: bool = False,
    cluster_by: list[str] | None = None,
    row_filter: str | None = None,
    *,
    cluster_by_auto: bool = False,
    private: bool | None = None,
) -> Any:
    """Define a table: a streaming table over a streaming DataFrame, a materialized view over a
    batch DataFrame (decided when the query is analysed). Works with and without parentheses.

    Parameters in the order of Databricks' ``databricks-dlt`` package, then the ones its pages
    added since (keyword-only). ``table_properties``, ``partition_cols``, ``schema``, ``comment``
    and ``cluster_by`` (liquid clustering) apply to the Delta table; ``cluster_by_auto``,
    ``row_filter``, ``temporary``, ``private``, ``path`` are recorded only.
    """
    return _table_like(
        DatasetKind.TABLE,
        query_function,
        name=name,
        comment=comment,
        spark_conf=spark_conf,
        table_properties=table_properties,
        path=path,
        partition_cols=partition_cols,
        schema=schema,
        cluster_by=cluster_by,
        extra=_extra(
            cluster_by_auto=cluster_by_auto,
            cluster_by=cluster_by,
            row_filter=row_filter,
            temporary=temporary,
            private=private,
            path=path,
        ),
    )


def materialized_view(
    query_function: QueryFunction | None = None,
    *,
    name: str | None = None,
    comment: str | None = None,
    spark_conf: dict[str, str] | None = None,
    table_properties: dict[str, str] | None = None,
    path: str | None = None,
    partition_cols: list[str] | None = None,
    cluster_by_auto: bool = False,
    cluster_by: list[str] | None = None,
    schema: Any = None,
    row_filter: str | None = None,
    private: bool | None = None,
    refresh_policy: str | None = None,
) -> Any:
    """Define a materialized view (batch query, refreshed on every update: incrementally where its
    plan allows, as chosen by ``localdlt.mv`` and ``refresh_policy``; always equal to a recompute)."""
    return _table_like(
        DatasetKind.MATERIALIZED_VIEW,
        query_function,
        name=name,
        comment=comment,
        spark_conf=spark_conf,
        table_properties=table_properties,
        path=path,
        partition_cols=partition_cols,
        schema=schema,
        cluster_by=cluster_by,
        extra=_extra(
            cluster_by_auto=cluster_by_auto,
            cluster_by=cluster_by,
            row_filter=row_filter,
            private=private,
            path=path,
            refresh_policy=refresh_policy,
        ),
    )


def _table_like(
    kind: DatasetKind,
    query_function: QueryFunction | None,
    *,
    name: str | None,
    comment: str | None,
    spark_conf: dict[str, str] | None,
    table_properties: dict[str, str] | None,
    path: str | None,
    partition_cols: list[str] | None,
    schema: Any,
    cluster_by: list[str] | None,
    extra: dict[str, Any],
) -> Any:
    check_str(name, "name")
    check_str(comment, "comment")
    conf = check_dict(spark_conf, "spark_conf")
    props = {key: str(value) for key, value in check_dict(table_properties, "table_properties").items()}
    cols = check_list(partition_cols, "partition_cols")
    clustering = check_list(cluster_by, "cluster_by")

    def make(func: QueryFunction) -> None:
        location = location_of(func)
        dataset = Dataset(
            name=name or func.__name__,
            kind=kind,
            location=location,
            comment=comment,
            table_properties=props,
            partition_cols=cols,
            schema=schema,
            path=path,
            spark_conf=conf,
            expectations=pending_expectations(func),
            cluster_by=clustering,
            extra=extra,
        )
        _register_with_flow(dataset, func, conf)

    return _dataset_decorator(query_function, make)


def view(
    query_function: QueryFunction | None = None,
    name: str | None = None,
    comment: str | None = None,
    spark_conf: dict[str, str] | None = None,
) -> Any:
    """Define a view: computed when read by other datasets, never stored."""
    check_str(name, "name")
    check_str(comment, "comment")
    conf = check_dict(spark_conf, "spark_conf")

    def make(func: QueryFunction) -> None:
        dataset = Dataset(
            name=name or func.__name__,
            kind=DatasetKind.VIEW,
            location=location_of(func),
            comment=comment,
            spark_conf=conf,
            expectations=pending_expectations(func),
        )
        _register_with_flow(dataset, func, conf)

    return _dataset_decorator(query_function, make)


def create_streaming_table(
    name: str,
    comment: str | None = None,
    spark_conf: dict[str, str] | None = None,
    table_properties: dict[str, str] | None = None,
    partition_cols: list[str] | None = None,
    path: str | None = None,
    schema: Any = None,
    expect_all: dict[str, str] | None = None,
    expect_all_or_drop: dict[str, str] | None = None,
    expect_all_or_fail: dict[str, str] | None = None,
    cluster_by: list[str] | None = None,
    row_filter: str | None = None,
    *,
    cluster_by_auto: bool = False,
    private: bool | None = None,
) -> None:
    """Declare a streaming table that append flows or CDC flows write into."""
    check_str(name, "name", optional=False)
    check_str(comment, "comment")
    expectations: list[Expectation] = []
    for argument, rules, action in (
        ("expect_all", expect_all, ExpectationAction.WARN),
        ("expect_all_or_drop", expect_all_or_drop, ExpectationAction.DROP),
        ("expect_all_or_fail", expect_all_or_fail, ExpectationAction.FAIL),
    ):
        for rule_name, constraint in check_dict(rules, argument).items():
            expectations.append(Expectation(rule_name, constraint, action))
    active_registry().register_dataset(
        Dataset(
            name=name,
            kind=DatasetKind.STREAMING_TABLE,
            location=caller_location(),
            comment=comment,
            table_properties={k: str(v) for k, v in check_dict(table_properties, "table_properties").items()},
            partition_cols=check_list(partition_cols, "partition_cols"),
            schema=schema,
            path=path,
            spark_conf=check_dict(spark_conf, "spark_conf"),
            expectations=tuple(expectations),
            cluster_by=check_list(cluster_by, "cluster_by"),
            extra=_extra(
                cluster_by_auto=cluster_by_auto,
                cluster_by=cluster_by,
                row_filter=row_filter,
                private=private,
                path=path,
            ),
        )
    )


def append_flow(
    name: str | None = None,
    target: str | None = None,
    comment: str | None = None,
    spark_conf: dict[str, str] | None = None,
    once: bool = False,
) -> Callable[[QueryFunction], QueryFunction]:
    """Add a flow appending the decorated query's rows into ``target`` (a streaming table or a
    sink). ``once=True``: a batch query run once (again only after a full refresh)."""
    check_str(target, "target", optional=False)
    check_str(name, "name")
    conf = check_dict(spark_conf, "spark_conf")

    def apply(func: QueryFunction) -> QueryFunction:
        active_registry().register_flow(
            Flow(
                name=name or func.__name__,
                target=target,
                query_function=func,
                location=location_of(func),
                expectations=pending_expectations(func),
                once=bool(once),
                spark_conf=conf,
                comment=comment,
                implicit=False,
            )
        )
        return func

    return apply


def _read(name: str, *, streaming: bool) -> Any:
    check_str(name, "name", optional=False)
    resolver = active_resolver()
    if resolver is None:
        raise InvalidArgumentError(
            f"dlt.read{'_stream' if streaming else ''}('{name}') can only be called inside a query function",
            params={"argument": "name", "dataset": name},
            location=caller_location(),
        )
    result = resolver.read_dataset(strip_live(name), streaming=streaming, explicit=True)
    if result is None:  # pragma: no cover - explicit reads always resolve or raise
        raise UnknownDatasetError.for_name(name, (), reader=None, location=caller_location())
    return result


def read(name: str) -> Any:
    """Batch read of pipeline dataset ``name`` (``LIVE.`` prefix allowed)."""
    return _read(name, streaming=False)


def read_stream(name: str) -> Any:
    """Streaming read of pipeline dataset ``name`` (``LIVE.`` prefix allowed)."""
    return _read(name, streaming=True)


readStream = read_stream  # noqa: N816 - the package's alias, the very same function


def _deprecated(replacement: Callable[..., Any], old_name: str) -> Callable[..., Any]:
    """``old_name``: warns as Databricks' package does, then calls ``replacement`` (same signature)."""

    @functools.wraps(replacement)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        warnings.warn(
            f"Function {old_name} has been deprecated. Please use {replacement.__name__} instead.",
            stacklevel=2,
        )
        return replacement(*args, **kwargs)

    wrapper.__name__ = old_name
    return wrapper


create_target_table = _deprecated(create_streaming_table, "create_target_table")
create_streaming_live_table = _deprecated(create_streaming_table, "create_streaming_live_table")
create_view = _deprecated(view, "create_view")
create_table = _deprecated(table, "create_table")


def enable_local_execution() -> None:
    """Kept for code written against Databricks' stub package (which raises unless this is
    called); localdlt always executes, so this does nothing."""


# The expectation decorators, sinks and hooks live in modules of their own; this module is the
# ``dlt`` namespace, so they are its attributes too. (Assigned here rather than imported at the
# top: the table decorators' ``expect_all*`` parameters would shadow the imported names.)
expect = api_expectations.expect
expect_or_drop = api_expectations.expect_or_drop
expect_or_fail = api_expectations.expect_or_fail
expect_all = api_expectations.expect_all
expect_all_or_drop = api_expectations.expect_all_or_drop
expect_all_or_fail = api_expectations.expect_all_or_fail
create_sink = api_sinks.create_sink
foreach_batch_sink = api_sinks.foreach_batch_sink
on_event_hook = api_sinks.on_event_hook
