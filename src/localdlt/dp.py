"""The modern spelling, ``from pyspark import pipelines as dp``, inside a run: the same engine
as ``dlt`` (https://docs.databricks.com/delta-live-tables/python-ref.html).

Names as in Databricks' ``pyspark.pipelines``: ``table``, ``materialized_view``,
``temporary_view``, ``append_flow``, ``create_streaming_table``, ``create_auto_cdc_flow``,
``create_auto_cdc_from_snapshot_flow``, ``create_sink``, ``expect*``.
"""

from __future__ import annotations

from localdlt.api import (
    append_flow,
    create_sink,
    create_streaming_table,
    expect,
    expect_all,
    expect_all_or_drop,
    expect_all_or_fail,
    expect_or_drop,
    expect_or_fail,
    materialized_view,
    table,
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
