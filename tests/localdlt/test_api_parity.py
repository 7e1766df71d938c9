"""localdlt's ``dlt`` and ``dp`` modules have the signatures of the modules they stand in for. No Spark.

Three references, each the real thing where one exists:

1. ``dlt`` against Databricks' own ``databricks-dlt`` package (the stub of the runtime's ``dlt``
   module on PyPI). Its signatures are pinned in ``data/databricks_dlt_signatures.json``, generated
   from the wheel by ``scripts/dlt_signatures.py`` (version, wheel name and sha256 inside; rerun
   the script to regenerate). Every public function, every parameter: same name, same position,
   same kind, same default; aliases (``readStream``, the deprecated ``create_*``) present.
2. ``dp`` against open-source Spark's ``pyspark.pipelines`` (installed with pyspark 4.1.1): every
   function and parameter it has, with the same default, callable the way it is called there.
3. What Databricks documents beyond the 0.3.0 stub (functions and parameters added since),
   written down below with the page each comes from. Any parameter of ours that none of the three
   references names fails the test.
"""

from __future__ import annotations

import ast
import inspect
import json
from pathlib import Path
from typing import Any

import pytest

from localdlt.loader import build_dlt_module, build_dp_module

PINNED = json.loads((Path(__file__).parent / "data" / "databricks_dlt_signatures.json").read_text())
_EMPTY = inspect.Parameter.empty
_KW = inspect.Parameter.KEYWORD_ONLY

# Parameters Databricks documents that databricks-dlt 0.3.0 does not have (keyword-only locally,
# after the package's own parameters), with their defaults:
# - table / create_streaming_table: cluster_by_auto, private
#   https://docs.databricks.com/aws/en/ldp/developer/ldp-python-ref-table
#   https://docs.databricks.com/aws/en/ldp/developer/ldp-python-ref-streaming-table
DOCS_EXTRA_PARAMS: dict[str, dict[str, Any]] = {
    "table": {"cluster_by_auto": False, "private": None},
    "create_streaming_table": {"cluster_by_auto": False, "private": None},
}
_TABLE_LIKE: dict[str, Any] = {
    "query_function": None,
    "name": None,
    "comment": None,
    "spark_conf": None,
    "table_properties": None,
    "path": None,
    "partition_cols": None,
    "cluster_by_auto": False,
    "cluster_by": None,
    "schema": None,
    "row_filter": None,
    "private": None,
}
_CDC = {
    "target": _EMPTY,
    "source": _EMPTY,
    "keys": _EMPTY,
    "sequence_by": _EMPTY,
    "where": None,
    "ignore_null_updates": False,
    "apply_as_deletes": None,
    "apply_as_truncates": None,
    "column_list": None,
    "except_column_list": None,
    "stored_as_scd_type": "1",
    "track_history_column_list": None,
    "track_history_except_column_list": None,
    "name": None,
    "once": False,
}
# Functions Databricks documents that databricks-dlt 0.3.0 does not have, with the parameters the
# pages list (every one must exist with that default; ours may add only those named here):
# - materialized_view: https://docs.databricks.com/aws/en/ldp/developer/ldp-python-ref-materialized-view
# - create_auto_cdc_flow: https://docs.databricks.com/aws/en/ldp/developer/ldp-python-ref-apply-changes
# - create_auto_cdc_from_snapshot_flow:
#   https://docs.databricks.com/aws/en/ldp/developer/ldp-python-ref-apply-changes-from-snapshot
# - create_sink: https://docs.databricks.com/aws/en/ldp/developer/ldp-python-ref-sink
# - foreach_batch_sink: https://docs.databricks.com/aws/en/ldp/developer/ldp-python-ref-foreach-batch-sink
DOCS_ONLY_FUNCTIONS: dict[str, dict[str, Any]] = {
    "materialized_view": {**_TABLE_LIKE, "refresh_policy": None},
    "create_auto_cdc_flow": {
        **_CDC,
        "ignore_null_updates_column_list": None,
        "ignore_null_updates_except_column_list": None,
        "columns_to_update": None,
    },
    "create_auto_cdc_from_snapshot_flow": {
        "target": _EMPTY,
        "source": _EMPTY,
        "keys": _EMPTY,
        "stored_as_scd_type": 1,
        "track_history_column_list": None,
        "track_history_except_column_list": None,
        "name": None,
    },
    "create_sink": {"name": _EMPTY, "format": _EMPTY, "options": None},
    "foreach_batch_sink": {"batch_handler": None, "name": None},
}
# Databricks' ``dp`` module: open-source names (checked against pyspark.pipelines below) plus the
# Databricks-only ones (https://docs.databricks.com/aws/en/ldp/developer/python-ref), whose
# signatures are those of the ``dlt`` spelling.
DP_DATABRICKS_ONLY = (
    "create_auto_cdc_flow",
    "create_auto_cdc_from_snapshot_flow",
    "foreach_batch_sink",
    "on_event_hook",
    "expect",
    "expect_or_drop",
    "expect_or_fail",
    "expect_all",
    "expect_all_or_drop",
    "expect_all_or_fail",
)


def _default(entry: dict[str, Any]) -> Any:
    return ast.literal_eval(entry["default"]) if "default" in entry else _EMPTY


def _params(function: Any) -> list[inspect.Parameter]:
    return list(inspect.signature(function).parameters.values())


@pytest.mark.parametrize("function", sorted(PINNED["functions"]))
def test_dlt_function_matches_databricks_dlt_package(function: str) -> None:
    dlt = build_dlt_module()
    assert hasattr(dlt, function), f"dlt.{function} is missing (databricks-dlt {PINNED['version']} has it)"
    ours = _params(getattr(dlt, function))
    theirs = PINNED["functions"][function]["parameters"]
    assert [p.name for p in ours[: len(theirs)]] == [p["name"] for p in theirs], (
        f"dlt.{function} parameter order"
    )
    for mine, pinned in zip(ours, theirs):
        assert mine.kind.name == pinned["kind"], f"dlt.{function}({mine.name}) is {mine.kind.name}"
        assert mine.default == _default(pinned) and type(mine.default) is type(_default(pinned)), (
            f"dlt.{function}({mine.name}={mine.default!r}), databricks-dlt has {pinned.get('default')}"
        )
    extra = {p.name: p for p in ours[len(theirs) :]}
    assert set(extra) == set(DOCS_EXTRA_PARAMS.get(function, {})), (
        f"dlt.{function} parameters beyond the package"
    )
    for name, param in extra.items():
        assert param.kind is _KW and param.default == DOCS_EXTRA_PARAMS[function][name], (
            f"dlt.{function}({name})"
        )


@pytest.mark.parametrize("alias", sorted(PINNED["aliases"]))
def test_dlt_aliases_of_the_package(alias: str) -> None:
    dlt = build_dlt_module()
    target = PINNED["aliases"][alias]["alias_of"]
    assert hasattr(dlt, alias), f"dlt.{alias} is missing"
    assert inspect.signature(getattr(dlt, alias)) == inspect.signature(getattr(dlt, target)), alias
    if not PINNED["aliases"][alias]["deprecated"]:
        assert getattr(dlt, alias) is getattr(dlt, target)


@pytest.mark.parametrize("function", sorted(DOCS_ONLY_FUNCTIONS))
def test_dlt_functions_documented_after_the_package(function: str) -> None:
    dlt = build_dlt_module()
    params = {p.name: p.default for p in _params(getattr(dlt, function))}
    expected = DOCS_ONLY_FUNCTIONS[function]
    assert set(params) == set(expected), f"dlt.{function} has parameters no page documents: {params}"
    for name, default in expected.items():
        assert name in params, f"dlt.{function} lacks {name!r}"
        assert params[name] == default, f"dlt.{function}({name}={params[name]!r}), documented {default!r}"


def test_dlt_exports_the_package_names_plus_the_documented_ones() -> None:
    # The package leaves on_event_hook and enable_local_execution out of __all__ (attributes only).
    assert sorted(build_dlt_module().__all__) == sorted(
        {*PINNED["all"], *DOCS_ONLY_FUNCTIONS, "on_event_hook"}
    )


def test_pinned_signatures_record_their_source() -> None:
    assert PINNED["package"] == "databricks-dlt" and PINNED["version"] == "0.3.0"
    assert (
        PINNED["source"].startswith("databricks_dlt-0.3.0-py3-none-any.whl") and len(PINNED["sha256"]) == 64
    )
    # What the two reported defects were about: the stub names the expectation parameters name, inv.
    assert [p["name"] for p in PINNED["functions"]["expect"]["parameters"]] == ["name", "inv"]


def _open_source() -> Any:
    import pyspark.pipelines as oss  # the real module, installed with pyspark 4.1.1

    return oss


@pytest.mark.parametrize("function", sorted(_open_source().__all__))
def test_dp_function_accepts_every_open_source_call(function: str) -> None:
    oss_function = getattr(_open_source(), function)
    dp = build_dp_module()
    assert hasattr(dp, function), f"dp.{function} is missing (pyspark.pipelines has it)"
    ours = {p.name: p for p in _params(getattr(dp, function))}
    oss_params = _params(oss_function)
    positional = [p.name for p in oss_params if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
    ours_positional = [p.name for p in ours.values() if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
    assert ours_positional[: len(positional)] == positional, f"dp.{function} positional parameters"
    for param in oss_params:
        assert param.name in ours, f"dp.{function} lacks {param.name!r} (pyspark.pipelines has it)"
        assert ours[param.name].default == param.default, f"dp.{function}({param.name}) default"
        assert ours[param.name].kind in (param.kind, inspect.Parameter.POSITIONAL_OR_KEYWORD), param.name


@pytest.mark.parametrize("function", DP_DATABRICKS_ONLY)
def test_dp_databricks_functions_have_the_dlt_signature(function: str) -> None:
    dp, dlt = build_dp_module(), build_dlt_module()
    assert inspect.signature(getattr(dp, function)) == inspect.signature(getattr(dlt, function))


def test_dp_exports_open_source_and_databricks_names() -> None:
    assert sorted(build_dp_module().__all__) == sorted({*_open_source().__all__, *DP_DATABRICKS_ONLY})
