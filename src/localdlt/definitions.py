"""Frozen definitions built by the decorators: datasets, flows, expectations, where they come from.

Nothing here touches Spark: a definition is a value. The decorators in :mod:`localdlt.api` and
:mod:`localdlt.dp` build them into the active :class:`~localdlt.registry.Registry`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

QueryFunction = Callable[[], Any]
# ``Dataset.sink_format`` of a ``@foreach_batch_sink``: the handler gets every micro-batch.
FOREACH_BATCH_FORMAT = "foreach_batch"


class DatasetKind(str, enum.Enum):
    """What a dataset is. ``TABLE`` (``@dlt.table``) becomes a streaming table or a materialized
    view once its query has been analysed (streaming DataFrame or batch DataFrame)."""

    TABLE = "table"
    STREAMING_TABLE = "streaming_table"
    MATERIALIZED_VIEW = "materialized_view"
    VIEW = "view"
    SINK = "sink"


class ExpectationAction(str, enum.Enum):
    """What happens to a row that does not meet an expectation."""

    WARN = "warn"
    DROP = "drop"
    FAIL = "fail"


@dataclass(frozen=True)
class SourceLocation:
    """File and line of a definition in the user's pipeline code."""

    filename: str
    line: int

    def __str__(self) -> str:
        return f"{self.filename}:{self.line}"


@dataclass(frozen=True)
class Expectation:
    """One named rule: a SQL boolean expression (or a Column) and its action."""

    name: str
    constraint: Any
    action: ExpectationAction


@dataclass(frozen=True)
class Dataset:
    """A named output of the pipeline: table, materialized view, view or sink.

    ``extra`` records the parameters that have no local meaning (``cluster_by``, ``row_filter``,
    ``private``, ...) so they can be reported, never silently lost.
    """

    name: str
    kind: DatasetKind
    location: SourceLocation | None = None
    comment: str | None = None
    table_properties: Mapping[str, str] = field(default_factory=dict)
    partition_cols: tuple[str, ...] = ()
    schema: Any = None
    path: str | None = None
    spark_conf: Mapping[str, str] = field(default_factory=dict)
    expectations: tuple[Expectation, ...] = ()
    sink_format: str | None = None
    sink_options: Mapping[str, str] = field(default_factory=dict)
    sink_handler: Callable[[Any, int], Any] | None = None
    cluster_by: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def stored(self) -> bool:
        """Whether the dataset is a Delta table written under the run's storage."""
        return self.kind in (DatasetKind.TABLE, DatasetKind.STREAMING_TABLE, DatasetKind.MATERIALIZED_VIEW)


@dataclass(frozen=True)
class Flow:
    """A query writing into a target dataset.

    ``@dlt.table`` defines a dataset plus a flow of the same name; ``@dlt.append_flow`` adds
    more flows into one target; CDC flows carry a ``cdc`` spec instead of a query function
    (the source is then a dataset name read by the engine).
    """

    name: str
    target: str
    query_function: QueryFunction | None
    location: SourceLocation | None = None
    expectations: tuple[Expectation, ...] = ()
    once: bool = False
    spark_conf: Mapping[str, str] = field(default_factory=dict)
    comment: str | None = None
    cdc: Any = None
    snapshot_cdc: Any = None
    cdc_source: str | None = None
    implicit: bool = True


@dataclass(frozen=True)
class EventHook:
    """A function of ``@on_event_hook``: called with every event of an update (see
    :mod:`localdlt.event_hooks`)."""

    name: str
    function: Callable[[dict[str, Any]], Any]
    max_allowable_consecutive_failures: int | None = None
    location: SourceLocation | None = None
