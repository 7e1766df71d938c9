"""Forbid actions inside query functions while they are analysed.

Databricks evaluates query functions more than once and forbids actions in them (collect,
count, toPandas, start, toTable, save, ...). While the planner calls a query function the
action methods raise :class:`QueryFunctionActionError`; the Auto Loader emulation (which may
sample files) runs with the guard lifted.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from pyspark.sql import DataFrame, DataFrameWriter
from pyspark.sql.classic.dataframe import DataFrame as ClassicDataFrame
from pyspark.sql.streaming import DataStreamWriter

from localdlt.definitions import SourceLocation
from localdlt.errors import QueryFunctionActionError

_DATAFRAME_ACTIONS = (
    "collect",
    "count",
    "toPandas",
    "toLocalIterator",
    "take",
    "first",
    "head",
    "show",
    "foreach",
    "foreachPartition",
    "tail",
)
# The classic (py4j) DataFrame overrides the abstract one's methods: patch both.
_ACTIONS: dict[type, tuple[str, ...]] = {
    DataFrame: _DATAFRAME_ACTIONS,
    ClassicDataFrame: _DATAFRAME_ACTIONS,
    DataFrameWriter: ("save", "saveAsTable", "insertInto", "json", "csv", "parquet", "orc", "text"),
    DataStreamWriter: ("start", "toTable"),
}

_enabled: ContextVar[str | None] = ContextVar("localdlt_action_guard", default=None)


def _guarded(cls: type, name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        flow = _enabled.get()
        if flow is not None:
            caller = sys._getframe(1)
            raise QueryFunctionActionError(
                f"query function of flow '{flow}' runs the action {cls.__name__}.{name}(); query functions "
                "must only build and return a DataFrame",
                params={"flow": flow, "action": name},
                location=SourceLocation(caller.f_code.co_filename, caller.f_lineno),
            )
        return original(self, *args, **kwargs)

    method.__name__ = name
    method.__wrapped__ = original  # type: ignore[attr-defined]
    return method


@contextmanager
def installed() -> Iterator[None]:
    """Patch the action methods for the block (they raise only inside :func:`checking`)."""
    saved: list[tuple[type, str, Any]] = []
    for cls, names in _ACTIONS.items():
        for name in names:
            original = cls.__dict__.get(name)
            if original is None:
                continue
            saved.append((cls, name, original))
            setattr(cls, name, _guarded(cls, name, original))
    try:
        yield
    finally:
        for cls, name, original in saved:
            setattr(cls, name, original)


@contextmanager
def checking(flow: str | None) -> Iterator[None]:
    """Make actions raise (``flow`` given) or allowed (``None``) inside the block."""
    token = _enabled.set(flow)
    try:
        yield
    finally:
        _enabled.reset(token)
