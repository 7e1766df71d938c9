"""Where dataset reads made inside query functions go (``dlt.read*``, ``spark.read*.table``).

The planner and the executor each install a :class:`ReadResolver` while they call query
functions: the planner records graph edges and returns schema-only DataFrames, the executor
returns real Delta reads. Outside a query function there is no resolver.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

LIVE_PREFIX = "live."


class ReadResolver(Protocol):
    """Turns a dataset name into a DataFrame for the query function being called."""

    def read_dataset(
        self, name: str, *, streaming: bool, explicit: bool, options: dict[str, str] | None = None
    ) -> DataFrame | None:
        """Return the DataFrame for pipeline dataset ``name``; ``None`` when it is not a pipeline
        dataset and ``explicit`` is false (then the caller reads the catalog table)."""

    def cloud_files(self, path: str, options: dict[str, str], schema: Any) -> DataFrame:
        """Open an Auto Loader (``cloudFiles``) stream for the flow being called."""


_resolver: ContextVar[ReadResolver | None] = ContextVar("localdlt_read_resolver", default=None)


@contextmanager
def resolving(resolver: ReadResolver) -> Iterator[None]:
    """Install ``resolver`` while query functions run."""
    token = _resolver.set(resolver)
    try:
        yield
    finally:
        _resolver.reset(token)


def active_resolver() -> ReadResolver | None:
    """The resolver of the query function being called, if any."""
    return _resolver.get()


def strip_live(name: str) -> str:
    """``LIVE.x`` → ``x`` (the prefix is ignored, as in Databricks' default publishing mode).

    The one ``LIVE.`` rule of localdlt: every reader (``dlt.read*``, ``spark.read*.table``, CDC
    sources, the planner) goes through it; ``strip_live(n) != n`` tells that ``n`` had the prefix.
    """
    return name[len(LIVE_PREFIX) :] if name.lower().startswith(LIVE_PREFIX) else name
