"""The modern spelling, ``from pyspark import pipelines as dp``, inside a run: the same engine
as ``dlt`` (https://docs.databricks.com/delta-live-tables/python-ref.html).

Names as in Databricks' ``pyspark.pipelines``: ``table``, ``materialized_view``,
``temporary_view``, ``append_flow``, ``create_streaming_table``, ``create_auto_cdc_flow``,
``create_auto_cdc_from_snapshot_flow``, ``create_sink``, ``expect*``.
"""

from __future__ import annotations

from typing import Any

from localdlt import api
from localdlt.api import (
    append_flow,
    create_sink,
    expect,
    expect_all,
    expect_all_or_drop,
    expect_all_or_fail,
    expect_or_drop,
    expect_or_fail,
)
from localdlt.api import view as temporary_view
from localdlt.cdc_api import create_auto_cdc_flow, create_auto_cdc_from_snapshot_flow

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
    "materialized_view",
    "table",
    "temporary_view",
]


# Apache Spark's ``pyspark.pipelines`` adds ``format`` to the table-like definitions (its tables
# default to the session's format, parquet). localdlt writes Delta only, so pipeline files written
# for open-source Spark with ``format="delta"`` run unchanged, and any other format is refused.
def _check_format(format: str | None) -> None:  # noqa: A002 - the API's parameter name
    if format is not None and format.lower() != "delta":
        raise api.InvalidArgumentError(
            f"argument 'format' must be 'delta' (localdlt writes Delta tables), got {format!r}",
            params={"argument": "format", "value": str(format)},
            location=api._caller_location(),
        )


def table(query_function: Any = None, *, format: str | None = None, **kwargs: Any) -> Any:  # noqa: A002
    """``dp.table``: as :func:`localdlt.api.table`, plus open-source Spark's ``format`` (Delta only)."""
    _check_format(format)
    return api.table(query_function, **kwargs)


def materialized_view(query_function: Any = None, *, format: str | None = None, **kwargs: Any) -> Any:  # noqa: A002
    """``dp.materialized_view``: as :func:`localdlt.api.materialized_view`, plus ``format`` (Delta only)."""
    _check_format(format)
    return api.materialized_view(query_function, **kwargs)


def create_streaming_table(name: str, *, format: str | None = None, **kwargs: Any) -> None:  # noqa: A002
    """``dp.create_streaming_table``: as :func:`localdlt.api.create_streaming_table`, plus ``format``."""
    _check_format(format)
    api.create_streaming_table(name, **kwargs)
