"""Every public function and parameter of Databricks' DLT Python API exists in the local ``dlt``
and ``dp`` modules with the same names and defaults. No Spark.

Expected signatures written down from Databricks' Python reference:
- https://docs.databricks.com/aws/dlt-ref/dlt-python-ref-table (table / materialized_view)
- https://docs.databricks.com/gcp/en/ldp/developer/ldp-python-ref-materialized-view
- https://docs.databricks.com/aws/dlt-ref/dlt-python-ref-view
- https://docs.databricks.com/aws/dlt-ref/dlt-python-ref-streaming-table (create_streaming_table)
- https://docs.databricks.com/aws/dlt-ref/dlt-python-ref-append-flow
- https://docs.databricks.com/gcp/dlt-ref/dlt-python-ref-apply-changes (apply_changes / create_auto_cdc_flow)
- https://docs.databricks.com/aws/dlt-ref/dlt-python-ref-apply-changes-from-snapshot
- https://learn.microsoft.com/azure/databricks/dlt-ref/dlt-python-ref-sink (create_sink)
- https://docs.databricks.com/delta-live-tables/expectations.html (expect*)
- https://docs.databricks.com/delta-live-tables/python-ref.html (dlt.read / dlt.read_stream, dp names)
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from localdlt.loader import build_dlt_module, build_dp_module

_NO_DEFAULT = inspect.Parameter.empty

TABLE_PARAMS: dict[str, Any] = {
    "query_function": None, "name": None, "comment": None, "spark_conf": None, "table_properties": None,
    "path": None, "partition_cols": None, "cluster_by_auto": False, "cluster_by": None, "schema": None,
    "row_filter": None, "private": None,
}
CDC_PARAMS: dict[str, Any] = {
    "target": _NO_DEFAULT, "source": _NO_DEFAULT, "keys": _NO_DEFAULT, "sequence_by": _NO_DEFAULT, "where": None,
    "ignore_null_updates": False, "apply_as_deletes": None, "apply_as_truncates": None, "column_list": None,
    "except_column_list": None, "stored_as_scd_type": 1, "track_history_column_list": None,
    "track_history_except_column_list": None, "once": False,
}
SNAPSHOT_PARAMS: dict[str, Any] = {
    "target": _NO_DEFAULT, "source": None, "keys": None, "stored_as_scd_type": 1,
    "track_history_column_list": None, "track_history_except_column_list": None,
}
STREAMING_TABLE_PARAMS: dict[str, Any] = {
    "name": _NO_DEFAULT, "comment": None, "spark_conf": None, "table_properties": None, "path": None,
    "partition_cols": None, "cluster_by_auto": False, "cluster_by": None, "schema": None, "expect_all": None,
    "expect_all_or_drop": None, "expect_all_or_fail": None, "row_filter": None, "private": None,
}

DLT_API: dict[str, dict[str, Any]] = {
    "table": {**TABLE_PARAMS, "temporary": False},
    "materialized_view": TABLE_PARAMS,
    "view": {"query_function": None, "name": None, "comment": None, "spark_conf": None},
    "create_streaming_table": STREAMING_TABLE_PARAMS,
    "append_flow": {"target": _NO_DEFAULT, "name": None, "once": False, "spark_conf": None, "comment": None},
    "apply_changes": {**CDC_PARAMS, "flow_name": None},
    "create_auto_cdc_flow": {**CDC_PARAMS, "name": None},
    "apply_changes_from_snapshot": SNAPSHOT_PARAMS,
    "create_auto_cdc_from_snapshot_flow": {**SNAPSHOT_PARAMS, "source": _NO_DEFAULT, "keys": _NO_DEFAULT},
    "create_sink": {"name": _NO_DEFAULT, "format": _NO_DEFAULT, "options": None},
    "read": {"name": _NO_DEFAULT},
    "read_stream": {"name": _NO_DEFAULT},
    "expect": {"description": _NO_DEFAULT, "constraint": _NO_DEFAULT},
    "expect_or_drop": {"description": _NO_DEFAULT, "constraint": _NO_DEFAULT},
    "expect_or_fail": {"description": _NO_DEFAULT, "constraint": _NO_DEFAULT},
    "expect_all": {"expectations": _NO_DEFAULT},
    "expect_all_or_drop": {"expectations": _NO_DEFAULT},
    "expect_all_or_fail": {"expectations": _NO_DEFAULT},
}
DP_API = {
    "table": TABLE_PARAMS,
    "materialized_view": TABLE_PARAMS,
    "temporary_view": DLT_API["view"],
    "append_flow": DLT_API["append_flow"],
    "create_streaming_table": STREAMING_TABLE_PARAMS,
    "create_auto_cdc_flow": DLT_API["create_auto_cdc_flow"],
    "create_auto_cdc_from_snapshot_flow": DLT_API["create_auto_cdc_from_snapshot_flow"],
    "create_sink": DLT_API["create_sink"],
    **{name: DLT_API[name] for name in ("expect", "expect_or_drop", "expect_or_fail", "expect_all",
                                         "expect_all_or_drop", "expect_all_or_fail")},
}


def _cases(module_name: str, api: dict[str, dict[str, Any]]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(module_name, name, params) for name, params in api.items()]


@pytest.mark.parametrize(("module_name", "function", "expected"), _cases("dlt", DLT_API) + _cases("dp", DP_API))
def test_function_has_databricks_parameters_and_defaults(module_name: str, function: str, expected: dict[str, Any]) -> None:
    module = build_dlt_module() if module_name == "dlt" else build_dp_module()
    assert hasattr(module, function), f"{module_name}.{function} is missing"
    parameters = inspect.signature(getattr(module, function)).parameters
    for name, default in expected.items():
        assert name in parameters, f"{module_name}.{function} lacks parameter {name!r}"
        assert parameters[name].default == default, f"{module_name}.{function}({name}=...) default differs"


def test_modules_export_exactly_the_documented_names() -> None:
    assert sorted(build_dlt_module().__all__) == sorted([*DLT_API, "create_target_table"])
    assert sorted(build_dp_module().__all__) == sorted(DP_API)
