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
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from localdlt.definitions import (
    FOREACH_BATCH_FORMAT,
    Dataset,
    DatasetKind,
    EventHook,
    Expectation,
    ExpectationAction,
    Flow,
    QueryFunction,
    SourceLocation,
)
from localdlt.errors import InvalidArgumentError, UnknownDatasetError
from localdlt.reads import active_resolver, strip_live
from localdlt.registry import active_registry

_PACKAGE_DIR = str(Path(__file__).resolve().parent)
_EXPECTATIONS_ATTR = "__localdlt_expectations__"


def _location_of(func: Callable[..., Any]) -> SourceLocation:
    code = getattr(func, "__code__", None)
    if code is None:
        return _caller_location()
    return SourceLocation(code.co_filename, code.co_firstlineno)


def _caller_location() -> SourceLocation | None:
    """The first frame outside this package: the line of the user's call."""
    frame = sys._getframe(1)
    while frame is not None:
        if not str(Path(frame.f_code.co_filename).resolve()).startswith(_PACKAGE_DIR):
            return SourceLocation(frame.f_code.co_filename, frame.f_lineno)
        frame = frame.f_back  # type: ignore[assignment]
    return None


def _check_str(value: Any, argument: str, *, optional: bool = True) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str) or not value:
        raise InvalidArgumentError(
            f"argument '{argument}' must be a non-empty str, got {type(value).__name__}",
            params={"argument": argument, "type": type(value).__name__},
            location=_caller_location(),
        )


def _check_dict(value: Any, argument: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidArgumentError(
            f"argument '{argument}' must be a dict, got {type(value).__name__}",
            params={"argument": argument, "type": type(value).__name__},
            location=_caller_location(),
        )
    return dict(value)


def _check_list(value: Any, argument: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise InvalidArgumentError(
            f"argument '{argument}' must be a list of str, got {type(value).__name__}",
            params={"argument": argument, "type": type(value).__name__},
            location=_caller_location(),
        )
    return tuple(value)


def _pending_expectations(func: Callable[..., Any]) -> tuple[Expectation, ...]:
    # Expectation decorators sit below the dataset decorator, so they run first and leave their
    # rules on the function; listed top to bottom, as written.
    return tuple(reversed(getattr(func, _EXPECTATIONS_ATTR, ())))


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
                location=_caller_location(),
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
    _check_str(name, "name")
    _check_str(comment, "comment")
    conf = _check_dict(spark_conf, "spark_conf")
    props = {key: str(value) for key, value in _check_dict(table_properties, "table_properties").items()}
    cols = _check_list(partition_cols, "partition_cols")
    clustering = _check_list(cluster_by, "cluster_by")

    def make(func: QueryFunction) -> None:
        location = _location_of(func)
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
            expectations=_pending_expectations(func),
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
    _check_str(name, "name")
    _check_str(comment, "comment")
    conf = _check_dict(spark_conf, "spark_conf")

    def make(func: QueryFunction) -> None:
        dataset = Dataset(
            name=name or func.__name__,
            kind=DatasetKind.VIEW,
            location=_location_of(func),
            comment=comment,
            spark_conf=conf,
            expectations=_pending_expectations(func),
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
    _check_str(name, "name", optional=False)
    _check_str(comment, "comment")
    expectations: list[Expectation] = []
    for argument, rules, action in (
        ("expect_all", expect_all, ExpectationAction.WARN),
        ("expect_all_or_drop", expect_all_or_drop, ExpectationAction.DROP),
        ("expect_all_or_fail", expect_all_or_fail, ExpectationAction.FAIL),
    ):
        for rule_name, constraint in _check_dict(rules, argument).items():
            expectations.append(Expectation(rule_name, constraint, action))
    active_registry().register_dataset(
        Dataset(
            name=name,
            kind=DatasetKind.STREAMING_TABLE,
            location=_caller_location(),
            comment=comment,
            table_properties={
                k: str(v) for k, v in _check_dict(table_properties, "table_properties").items()
            },
            partition_cols=_check_list(partition_cols, "partition_cols"),
            schema=schema,
            path=path,
            spark_conf=_check_dict(spark_conf, "spark_conf"),
            expectations=tuple(expectations),
            cluster_by=_check_list(cluster_by, "cluster_by"),
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
    _check_str(target, "target", optional=False)
    _check_str(name, "name")
    conf = _check_dict(spark_conf, "spark_conf")

    def apply(func: QueryFunction) -> QueryFunction:
        active_registry().register_flow(
            Flow(
                name=name or func.__name__,
                target=target,
                query_function=func,
                location=_location_of(func),
                expectations=_pending_expectations(func),
                once=bool(once),
                spark_conf=conf,
                comment=comment,
                implicit=False,
            )
        )
        return func

    return apply


def _expectation_decorator(rules: list[Expectation]) -> Callable[[QueryFunction], QueryFunction]:
    def apply(func: QueryFunction) -> QueryFunction:
        existing = list(getattr(func, _EXPECTATIONS_ATTR, ()))
        # Stored bottom-up (decorators apply bottom-up); reversed when the dataset is built.
        existing.extend(reversed(rules))
        setattr(func, _EXPECTATIONS_ATTR, tuple(existing))
        return func

    return apply


def _one(name: str, inv: Any, action: ExpectationAction) -> Callable[[QueryFunction], QueryFunction]:
    _check_str(name, "name", optional=False)
    if inv is None:
        raise InvalidArgumentError(
            "argument 'inv' must be a SQL boolean expression or a Column",
            params={"argument": "inv"},
            location=_caller_location(),
        )
    return _expectation_decorator([Expectation(name, inv, action)])


def _all(expectations: dict[str, Any], action: ExpectationAction) -> Callable[[QueryFunction], QueryFunction]:
    rules = _check_dict(expectations, "expectations")
    return _expectation_decorator(
        [Expectation(name, constraint, action) for name, constraint in rules.items()]
    )


def expect(name: str, inv: Any) -> Callable[[QueryFunction], QueryFunction]:
    """Warn: count rows that do not meet ``inv`` (NULL counts as not met), keep them.

    ``name`` names the rule in the metrics; ``inv`` is a SQL boolean expression or a Column
    (the parameter names of Databricks' ``databricks-dlt`` package)."""
    return _one(name, inv, ExpectationAction.WARN)


def expect_or_drop(name: str, inv: Any) -> Callable[[QueryFunction], QueryFunction]:
    """Drop rows that do not meet ``inv`` before they are written.

    ``name`` names the rule in the metrics; ``inv`` is a SQL boolean expression or a Column
    (the parameter names of Databricks' ``databricks-dlt`` package)."""
    return _one(name, inv, ExpectationAction.DROP)


def expect_or_fail(name: str, inv: Any) -> Callable[[QueryFunction], QueryFunction]:
    """Fail the flow (nothing of the batch written) when a row does not meet ``inv``.

    ``name`` names the rule in the metrics; ``inv`` is a SQL boolean expression or a Column
    (the parameter names of Databricks' ``databricks-dlt`` package)."""
    return _one(name, inv, ExpectationAction.FAIL)


def expect_all(expectations: dict[str, Any]) -> Callable[[QueryFunction], QueryFunction]:
    """:func:`expect` for every ``{name: constraint}`` of the dict."""
    return _all(expectations, ExpectationAction.WARN)


def expect_all_or_drop(expectations: dict[str, Any]) -> Callable[[QueryFunction], QueryFunction]:
    """:func:`expect_or_drop` for every ``{name: constraint}`` of the dict."""
    return _all(expectations, ExpectationAction.DROP)


def expect_all_or_fail(expectations: dict[str, Any]) -> Callable[[QueryFunction], QueryFunction]:
    """:func:`expect_or_fail` for every ``{name: constraint}`` of the dict."""
    return _all(expectations, ExpectationAction.FAIL)


def _read(name: str, *, streaming: bool) -> Any:
    _check_str(name, "name", optional=False)
    resolver = active_resolver()
    if resolver is None:
        raise InvalidArgumentError(
            f"dlt.read{'_stream' if streaming else ''}('{name}') can only be called inside a query function",
            params={"argument": "name", "dataset": name},
            location=_caller_location(),
        )
    result = resolver.read_dataset(strip_live(name), streaming=streaming, explicit=True)
    if result is None:  # pragma: no cover - explicit reads always resolve or raise
        raise UnknownDatasetError.for_name(name, (), reader=None, location=_caller_location())
    return result


def read(name: str) -> Any:
    """Batch read of pipeline dataset ``name`` (``LIVE.`` prefix allowed)."""
    return _read(name, streaming=False)


def read_stream(name: str) -> Any:
    """Streaming read of pipeline dataset ``name`` (``LIVE.`` prefix allowed)."""
    return _read(name, streaming=True)


def create_sink(name: str, format: str, options: dict[str, str] | None = None) -> None:  # noqa: A002
    """Declare a sink (``delta`` with ``path`` or ``tableName``, or ``kafka``) for append flows.
    A full refresh never clears a sink."""
    _check_str(name, "name", optional=False)
    _check_str(format, "format", optional=False)
    opts = {key: str(value) for key, value in _check_dict(options, "options").items()}
    if format == "delta" and "path" not in opts and "tableName" not in opts:
        raise InvalidArgumentError(
            "argument 'options' of a delta sink needs 'path' or 'tableName'",
            params={"argument": "options", "sink": name},
            location=_caller_location(),
        )
    active_registry().register_dataset(
        Dataset(
            name=name,
            kind=DatasetKind.SINK,
            location=_caller_location(),
            sink_format=format,
            sink_options=opts,
        )
    )


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


def on_event_hook(
    user_event_hook_fn: Callable[[dict[str, Any]], Any] | None = None,
    max_allowable_consecutive_failures: int | None = None,
) -> Any:
    """Register a function called with every event of the update (a dict shaped like an event-log
    row) while the update runs. A hook that raises ``max_allowable_consecutive_failures + 1``
    times in a row is disabled for the rest of the update (``None``: never); each failure and the
    disabling are ``hook_progress`` events, which no hook sees. Works with and without parentheses."""
    if max_allowable_consecutive_failures is not None and (
        isinstance(max_allowable_consecutive_failures, bool)
        or not isinstance(max_allowable_consecutive_failures, int)
        or max_allowable_consecutive_failures < 0
    ):
        raise InvalidArgumentError(
            "argument 'max_allowable_consecutive_failures' must be an int >= 0 or None, "
            f"got {max_allowable_consecutive_failures!r}",
            params={"argument": "max_allowable_consecutive_failures"},
            location=_caller_location(),
        )

    def apply(func: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], Any]:
        if not callable(func):
            raise InvalidArgumentError(
                "@on_event_hook must decorate a function taking one argument (the event)",
                params={"argument": "user_event_hook_fn"},
                location=_caller_location(),
            )
        active_registry().register_hook(
            EventHook(
                name=func.__name__,
                function=func,
                max_allowable_consecutive_failures=(max_allowable_consecutive_failures),
                location=_location_of(func),
            )
        )
        return func

    if user_event_hook_fn is not None:
        return apply(user_event_hook_fn)
    return apply


def foreach_batch_sink(
    batch_handler: Callable[[Any, int], Any] | None = None, name: str | None = None
) -> Any:
    """Define a ForEachBatch sink: ``batch_handler(df, batch_id)`` is called with every micro-batch
    of the append flows that target the sink (``name``, default the handler's name). ``batch_id``
    0 is the start of the stream or of a full refresh; the handler owns what it writes."""
    _check_str(name, "name")

    def apply(func: Callable[[Any, int], Any]) -> Callable[[Any, int], Any]:
        if not callable(func):
            raise InvalidArgumentError(
                "@foreach_batch_sink must decorate a function (df, batch_id)",
                params={"argument": "batch_handler"},
                location=_caller_location(),
            )
        active_registry().register_dataset(
            Dataset(
                name=name or func.__name__,
                kind=DatasetKind.SINK,
                location=_location_of(func),
                sink_format=FOREACH_BATCH_FORMAT,
                sink_handler=func,
            )
        )
        return func

    if batch_handler is not None:
        return apply(batch_handler)
    return apply
