"""Registration and graph errors: no Spark is started (query bodies raise or are never run)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from localdlt import api, dp
from localdlt.cdc import api as cdc_api
from localdlt.definitions import DatasetKind, ExpectationAction
from localdlt.errors import (
    CircularDependencyError,
    DefinedOutsidePipelineError,
    DuplicateDatasetError,
    InvalidArgumentError,
    PipelineDefinitionError,
    PipelineLoadError,
    QueryFunctionReturnError,
    UnknownDatasetError,
)
from localdlt.graph import Planner
from localdlt.loader import load_pipeline
from localdlt.registry import Registry, registration_context


def test_decorators_with_and_without_parentheses_return_the_function() -> None:
    registry = Registry()
    with registration_context(registry):

        @api.table
        def bare():
            raise NotImplementedError

        @api.table()
        def empty_parens():
            raise NotImplementedError

        @api.table(
            name="named",
            comment="c",
            table_properties={"quality": "gold"},
            partition_cols=["d"],
            cluster_by=["x"],
            row_filter="f",
            private=True,
            schema="a INT",
        )
        @api.expect("a_first", "a > 0")
        @api.expect_or_drop("b_second", "b > 0")
        @api.expect_all_or_fail({"c_third": "c > 0", "d_fourth": "d > 0"})
        def renamed():
            raise NotImplementedError

    assert bare.__name__ == "bare" and callable(empty_parens)
    assert list(registry.datasets) == ["bare", "empty_parens", "named"]
    named = registry.datasets["named"]
    assert named.kind is DatasetKind.TABLE
    assert named.comment == "c" and named.table_properties == {"quality": "gold"}
    assert named.partition_cols == ("d",) and named.schema == "a INT"
    assert dict(named.extra) == {"cluster_by": ["x"], "row_filter": "f", "private": True}
    assert [(e.name, e.action) for e in named.expectations] == [
        ("a_first", ExpectationAction.WARN),
        ("b_second", ExpectationAction.DROP),
        ("c_third", ExpectationAction.FAIL),
        ("d_fourth", ExpectationAction.FAIL),
    ]
    assert named.location is not None and named.location.filename == __file__
    assert registry.flows["named"].target == "named" and registry.flows["named"].query_function is renamed


def test_views_flows_sinks_and_streaming_tables() -> None:
    registry = Registry()
    with registration_context(registry):
        api.create_streaming_table("events", expect_all_or_drop={"ok": "x IS NOT NULL"}, partition_cols=["d"])

        @api.append_flow(target="events", name="backfill", once=True, comment="old data")
        def backfill_query():
            raise NotImplementedError

        @api.view(name="v")
        def view_query():
            raise NotImplementedError

        api.create_sink("out", "kafka", {"kafka.bootstrap.servers": "h:1", "topic": "t"})

    assert registry.datasets["events"].kind is DatasetKind.STREAMING_TABLE
    assert [(e.name, e.action) for e in registry.datasets["events"].expectations] == [
        ("ok", ExpectationAction.DROP)
    ]
    flow = registry.flows["backfill"]
    assert (flow.target, flow.once, flow.comment, flow.implicit) == ("events", True, "old data", False)
    assert registry.datasets["v"].kind is DatasetKind.VIEW
    assert registry.datasets["out"].kind is DatasetKind.SINK
    assert dict(registry.datasets["out"].sink_options) == {"kafka.bootstrap.servers": "h:1", "topic": "t"}


def test_cdc_flows_record_their_spec() -> None:
    registry = Registry()
    with registration_context(registry):
        api.create_streaming_table("current")
        cdc_api.apply_changes(
            "current",
            "changes",
            ["id"],
            "seq",
            stored_as_scd_type="2",
            except_column_list=["op"],
            apply_as_deletes="op = 'D'",
        )
        dp.create_auto_cdc_flow(
            target="current", source="changes", keys=["id"], sequence_by="seq", name="second"
        )
    first = registry.flows["current"]
    assert (first.cdc_source, first.cdc["stored_as_scd_type"], first.cdc["except_column_list"]) == (
        "changes",
        2,
        ["op"],
    )
    assert first.cdc["apply_as_deletes"] == "op = 'D'" and first.cdc["flow_name"] == "current"
    assert registry.flows["second"].cdc["stored_as_scd_type"] == 1


def test_outside_a_pipeline_is_a_named_error() -> None:
    with pytest.raises(DefinedOutsidePipelineError) as info:
        api.create_streaming_table("x")
    assert info.value.error_class == "GRAPH_ELEMENT_DEFINED_OUTSIDE_OF_DECLARATIVE_PIPELINE"


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda: api.table(name=3), "name"),
        (lambda: api.table(partition_cols="d"), "partition_cols"),
        (lambda: api.table(table_properties=["x"]), "table_properties"),
        (lambda: api.append_flow(target=""), "target"),
        (lambda: api.create_sink("s", "delta", {}), "options"),
        (lambda: cdc_api.apply_changes("t", "s", ["k"], "seq", stored_as_scd_type=3), "stored_as_scd_type"),
        (
            lambda: cdc_api.apply_changes(
                "t", "s", ["k"], "seq", stored_as_scd_type=2, apply_as_truncates="x"
            ),
            "apply_as_truncates",
        ),
    ],
)
def test_argument_errors_name_the_argument(call, argument: str) -> None:
    with registration_context(Registry()), pytest.raises(InvalidArgumentError) as info:
        call()
    assert info.value.params["argument"] == argument
    assert f"'{argument}'" in str(info.value)


def test_duplicate_dataset_names_both_places(tmp_path: Path) -> None:
    file = tmp_path / "p.py"
    file.write_text(
        "import dlt\n\n@dlt.table\ndef t():\n    raise NotImplementedError\n\n\n"
        "@dlt.table(name='t')\ndef other():\n    raise NotImplementedError\n"
    )
    with pytest.raises(DuplicateDatasetError) as info:
        load_pipeline([file], {})
    assert info.value.params == {"dataset": "t", "first": f"{file}:3"}
    assert str(info.value.location) == f"{file}:8"


def test_dlt_module_exists_only_while_loading(tmp_path: Path) -> None:
    file = tmp_path / "p.py"
    file.write_text(
        "import dlt\nfrom pyspark import pipelines as dp\nSEEN.append((dlt.table, dp.temporary_view))\n"
    )
    seen: list = []
    load_pipeline([file], {"SEEN": seen})
    assert seen == [(api.table, api.view)]
    assert "dlt" not in sys.modules
    # Whatever pyspark.pipelines was before (absent here) is back: not our module.
    assert (
        "pyspark.pipelines" not in sys.modules
        or not hasattr(sys.modules["pyspark.pipelines"], "temporary_view")
        or sys.modules["pyspark.pipelines"].temporary_view is not api.view
    )


def test_user_errors_while_loading_name_file_and_line(tmp_path: Path) -> None:
    file = tmp_path / "broken.py"
    file.write_text("import dlt\n\nx = 1 / 0\n")
    with pytest.raises(PipelineLoadError) as info:
        load_pipeline([file], {})
    assert str(info.value.location) == f"{file}:3"
    assert info.value.params["error"] == "ZeroDivisionError"


def _plan(source: str, tmp_path: Path):
    file = tmp_path / "p.py"
    file.write_text(source)
    registry = load_pipeline([file], {})
    return Planner(None, registry).plan()  # type: ignore[arg-type] - no Spark: errors come first


def test_unknown_dataset_suggests_close_names(tmp_path: Path) -> None:
    source = (
        "import dlt\n@dlt.table\ndef silver():\n    dlt.read_stream('LIVE.order_bronze')\n"
        "    raise NotImplementedError\n"
        "@dlt.table\ndef orders_bronze():\n    raise NotImplementedError\n"
    )
    with pytest.raises(UnknownDatasetError) as info:
        _plan(source, tmp_path)
    assert info.value.params == {
        "dataset": "order_bronze",
        "reader": "silver",
        "suggestions": ["orders_bronze"],
    }
    assert "did you mean one of these: 'orders_bronze'?" in str(info.value)
    assert str(info.value.location) == f"{tmp_path / 'p.py'}:2"


def test_cycle_is_named_in_order(tmp_path: Path) -> None:
    source = (
        "import dlt\n"
        "@dlt.table\ndef a():\n    dlt.read('c')\n    raise NotImplementedError\n"
        "@dlt.table\ndef b():\n    dlt.read('a')\n    raise NotImplementedError\n"
        "@dlt.table\ndef c():\n    dlt.read('b')\n    raise NotImplementedError\n"
    )
    with pytest.raises(CircularDependencyError) as info:
        _plan(source, tmp_path)
    assert info.value.params["cycle"] == ["a", "c", "b", "a"]
    assert "a -> c -> b -> a" in str(info.value)


def test_query_function_must_return_a_dataframe(tmp_path: Path) -> None:
    with pytest.raises(QueryFunctionReturnError) as info:
        _plan("import dlt\n@dlt.table\ndef t():\n    return 42\n", tmp_path)
    assert info.value.params == {"flow": "t", "type": "int"}


def test_append_flow_into_unknown_target(tmp_path: Path) -> None:
    source = "import dlt\n@dlt.append_flow(target='missing')\ndef f():\n    raise NotImplementedError\n"
    with pytest.raises(UnknownDatasetError) as info:
        _plan(source, tmp_path)
    assert info.value.params["dataset"] == "missing" and info.value.params["reader"] == "f"


def test_streaming_table_without_flows(tmp_path: Path) -> None:
    with pytest.raises(PipelineDefinitionError) as info:
        _plan("import dlt\ndlt.create_streaming_table('lonely')\n", tmp_path)
    assert info.value.params == {"dataset": "lonely"}


def test_dp_accepts_open_source_sparks_format_delta_and_refuses_others() -> None:
    registry = Registry()
    with registration_context(registry):

        @dp.table(name="t", format="delta")
        def t():
            raise NotImplementedError

        @dp.materialized_view(format="DELTA")
        def mv():
            raise NotImplementedError

        dp.create_streaming_table("st", format="delta")
        with pytest.raises(InvalidArgumentError) as error:
            dp.table(name="p", format="parquet")

    assert list(registry.datasets) == ["t", "mv", "st"]
    assert registry.datasets["mv"].kind is DatasetKind.MATERIALIZED_VIEW
    assert str(error.value).startswith(
        "[INVALID_ARGUMENT] argument 'format' must be 'delta' (localdlt writes Delta tables), got 'parquet'"
    )


def test_expectations_take_the_packages_keyword_names_name_and_inv() -> None:
    registry = Registry()
    with registration_context(registry):

        @api.table
        @api.expect(name="w", inv="a > 0")
        @api.expect_or_drop(name="d", inv="b > 0")
        @api.expect_or_fail(name="f", inv="c > 0")
        def kw():
            raise NotImplementedError

    assert [(e.name, e.constraint, e.action) for e in registry.datasets["kw"].expectations] == [
        ("w", "a > 0", ExpectationAction.WARN),
        ("d", "b > 0", ExpectationAction.DROP),
        ("f", "c > 0", ExpectationAction.FAIL),
    ]
    with registration_context(Registry()), pytest.raises(InvalidArgumentError) as info:
        api.expect(name="x", inv=None)
    assert info.value.params["argument"] == "inv"


def test_package_positional_order_aliases_and_deprecations() -> None:
    registry = Registry()
    with registration_context(registry):

        @api.table(None, "positional_name", "a comment")
        def query():
            raise NotImplementedError

        with pytest.warns(
            UserWarning,
            match="Function create_target_table has been deprecated. "
            "Please use create_streaming_table instead.",
        ):
            api.create_target_table("old_style")

        @api.append_flow("flow_name", "old_style")
        def into_old():
            raise NotImplementedError

        api.enable_local_execution()  # a no-op kept for code written against the stub package

    assert registry.datasets["positional_name"].comment == "a comment"
    assert registry.datasets["old_style"].kind is DatasetKind.STREAMING_TABLE
    assert registry.flows["flow_name"].target == "old_style"
    assert api.readStream is api.read_stream
    with registration_context(Registry()), pytest.raises(InvalidArgumentError) as info:
        api.append_flow(name="no_target")
    assert info.value.params["argument"] == "target"


def test_cluster_by_is_kept_for_the_table_and_cluster_by_auto_recorded() -> None:
    registry = Registry()
    with registration_context(registry):
        api.create_streaming_table("s", cluster_by=["a", "b"], cluster_by_auto=True)

        @api.materialized_view(cluster_by=["k"])
        def mv():
            raise NotImplementedError

    assert registry.datasets["s"].cluster_by == ("a", "b")
    assert registry.datasets["s"].extra["cluster_by_auto"] is True
    assert registry.datasets["mv"].cluster_by == ("k",)


def test_event_hooks_and_foreach_batch_sinks_register() -> None:
    registry = Registry()
    with registration_context(registry):

        @api.on_event_hook
        def plain(event):
            return None

        @dp.on_event_hook(max_allowable_consecutive_failures=2)
        def limited(event):
            return None

        @dp.foreach_batch_sink(name="my_sink")
        def handler(df, batch_id):
            return None

        @api.foreach_batch_sink
        def unnamed(df, batch_id):
            return None

    assert [(h.name, h.max_allowable_consecutive_failures) for h in registry.hooks] == [
        ("plain", None),
        ("limited", 2),
    ]
    assert plain.__name__ == "plain" and handler.__name__ == "handler"
    sink = registry.datasets["my_sink"]
    assert (sink.kind, sink.sink_format, sink.sink_handler) == (DatasetKind.SINK, "foreach_batch", handler)
    assert registry.datasets["unnamed"].sink_handler is unnamed
    for bad in (-1, 1.5, True):
        with registration_context(Registry()), pytest.raises(InvalidArgumentError) as info:
            api.on_event_hook(max_allowable_consecutive_failures=bad)
        assert info.value.params["argument"] == "max_allowable_consecutive_failures"


def test_apply_changes_takes_the_packages_columns_to_update_and_refuses_it_locally() -> None:
    with registration_context(Registry()), pytest.raises(InvalidArgumentError) as info:
        cdc_api.apply_changes("t", "s", ["k"], "seq", columns_to_update="cols")
    assert info.value.params["argument"] == "columns_to_update"
    assert "not supported by localdlt" in str(info.value)
