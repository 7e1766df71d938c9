"""The modern spelling, ``from pyspark import pipelines as dp``, inside a run: the same engine
as ``dlt`` (https://docs.databricks.com/delta-live-tables/python-ref.html).

Names as in Databricks' ``pyspark.pipelines``: ``table``, ``materialized_view``,
``temporary_view``, ``append_flow``, ``create_streaming_table``, ``create_auto_cdc_flow``,
``create_auto_cdc_from_snapshot_flow``, ``create_sink``, ``expect*``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from localdlt import api
from localdlt.api import (
    create_sink,
    expect,
    expect_all,
    expect_all_or_drop,
    expect_all_or_fail,
    expect_or_drop,
    expect_or_fail,
    foreach_batch_sink,
    on_event_hook,
)
from localdlt.api import view as temporary_view
from localdlt.api_args import caller_location
from localdlt.cdc.api import create_auto_cdc_flow, create_auto_cdc_from_snapshot_flow
from localdlt.errors import InvalidArgumentError

__all__ = [
    "append_flow",
    "create_auto_cdc_flow",
    "create_auto_cdc_from_snapshot_flow",
    "create_sink",
    "create_streaming_table",
    "expect",
    "expect_all",
    "expect_all_or_drop",
    "expect_all_or_fail",
    "expect_or_drop",
    "expect_or_fail",
    "foreach_batch_sink",
    "materialized_view",
    "on_event_hook",
    "table",
    "temporary_view",
]


# Apache Spark's ``pyspark.pipelines`` adds ``format`` to the table-like definitions (its tables
# default to the session's format, parquet). localdlt writes Delta only, so pipeline files written
# for open-source Spark with ``format="delta"`` run unchanged, and any other format is refused.
def _check_format(format: str | None) -> None:  # noqa: A002 - the API's parameter name
    if format is not None and format.lower() != "delta":
        raise InvalidArgumentError(
            f"argument 'format' must be 'delta' (localdlt writes Delta tables), got {format!r}",
            params={"argument": "format", "value": str(format)},
            location=caller_location(),
        )


def _with_format(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` plus a keyword-only ``format`` parameter (checked, then dropped); the
    signature is the original one with ``format=None`` appended, so introspection stays exact."""

    @functools.wraps(function)
    def with_format(*args: Any, format: str | None = None, **kwargs: Any) -> Any:  # noqa: A002
        _check_format(format)
        return function(*args, **kwargs)

    signature = inspect.signature(function)
    extra = inspect.Parameter("format", inspect.Parameter.KEYWORD_ONLY, default=None, annotation="str | None")
    with_format.__signature__ = signature.replace(parameters=[*signature.parameters.values(), extra])  # type: ignore[attr-defined]
    return with_format


table = _with_format(api.table)
materialized_view = _with_format(api.materialized_view)
create_streaming_table = _with_format(api.create_streaming_table)


def append_flow(
    *,
    target: str,
    name: str | None = None,
    once: bool = False,
    spark_conf: dict[str, str] | None = None,
    comment: str | None = None,
) -> Any:
    """``dlt.append_flow`` with the ``dp`` signature (Databricks' page and open-source Spark):
    keyword-only, ``target`` required."""
    return api.append_flow(name=name, target=target, comment=comment, spark_conf=spark_conf, once=once)
