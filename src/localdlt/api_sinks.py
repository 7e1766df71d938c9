"""Sinks and hooks of the ``dlt`` / ``dp`` modules: ``create_sink``, ``foreach_batch_sink`` and
``on_event_hook``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from localdlt.api_args import caller_location, check_dict, check_str, location_of
from localdlt.definitions import FOREACH_BATCH_FORMAT, Dataset, DatasetKind, EventHook
from localdlt.errors import InvalidArgumentError
from localdlt.registry import active_registry


def create_sink(name: str, format: str, options: dict[str, str] | None = None) -> None:  # noqa: A002
    """Declare a sink (``delta`` with ``path`` or ``tableName``, or ``kafka``) for append flows.
    A full refresh never clears a sink."""
    check_str(name, "name", optional=False)
    check_str(format, "format", optional=False)
    opts = {key: str(value) for key, value in check_dict(options, "options").items()}
    if format == "delta" and "path" not in opts and "tableName" not in opts:
        raise InvalidArgumentError(
            "argument 'options' of a delta sink needs 'path' or 'tableName'",
            params={"argument": "options", "sink": name},
            location=caller_location(),
        )
    active_registry().register_dataset(
        Dataset(
            name=name,
            kind=DatasetKind.SINK,
            location=caller_location(),
            sink_format=format,
            sink_options=opts,
        )
    )


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
            location=caller_location(),
        )

    def apply(func: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], Any]:
        if not callable(func):
            raise InvalidArgumentError(
                "@on_event_hook must decorate a function taking one argument (the event)",
                params={"argument": "user_event_hook_fn"},
                location=caller_location(),
            )
        active_registry().register_hook(
            EventHook(
                name=func.__name__,
                function=func,
                max_allowable_consecutive_failures=(max_allowable_consecutive_failures),
                location=location_of(func),
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
    check_str(name, "name")

    def apply(func: Callable[[Any, int], Any]) -> Callable[[Any, int], Any]:
        if not callable(func):
            raise InvalidArgumentError(
                "@foreach_batch_sink must decorate a function (df, batch_id)",
                params={"argument": "batch_handler"},
                location=caller_location(),
            )
        active_registry().register_dataset(
            Dataset(
                name=name or func.__name__,
                kind=DatasetKind.SINK,
                location=location_of(func),
                sink_format=FOREACH_BATCH_FORMAT,
                sink_handler=func,
            )
        )
        return func

    if batch_handler is not None:
        return apply(batch_handler)
    return apply
