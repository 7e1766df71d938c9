"""Argument and micro-batch validation: every error is a named class whose message names the
argument (or the flow and the rule); nothing is written by a rejected batch."""

from __future__ import annotations

import pytest
from cdc_support import changes, read_rows

from localdlt.cdc import (
    CdcNullKeyError,
    CdcNullSequenceError,
    CdcSchemaError,
    CdcSpec,
    CdcSpecError,
    SnapshotCdcSpec,
)

BASE = {"target": "t", "source": "s", "keys": ["id"], "sequence_by": "ts"}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"stored_as_scd_type": 3}, "argument 'stored_as_scd_type': must be 1 or 2 (int or str), got 3"),
        (
            {"stored_as_scd_type": True},
            "argument 'stored_as_scd_type': must be 1 or 2 (int or str), got True",
        ),
        ({"keys": []}, "argument 'keys': must be a non-empty list of column names or col(...) columns"),
        ({"keys": "id"}, "argument 'keys': must be a list of column names, got 'id'"),
        (
            {"column_list": ["a"], "except_column_list": ["b"]},
            "argument 'column_list': cannot be given together with 'except_column_list'",
        ),
        (
            {"apply_as_truncates": "op = 'T'", "stored_as_scd_type": 2},
            "argument 'apply_as_truncates': is only supported with stored_as_scd_type=1",
        ),
        (
            {"track_history_column_list": ["a"]},
            "argument 'track_history_column_list': is only supported with stored_as_scd_type=2",
        ),
        (
            {
                "track_history_column_list": ["a"],
                "track_history_except_column_list": ["b"],
                "stored_as_scd_type": "2",
            },
            "argument 'track_history_column_list': cannot be given together with "
            "'track_history_except_column_list'",
        ),
        (
            {"sequence_by": ""},
            "argument 'sequence_by': must be a column name, an expression or struct(...), got ''",
        ),
        ({"system_sequence_by": "x"}, "argument 'system_sequence_by': is not supported by localdlt"),
        ({"bogus": 1}, "argument 'bogus': is not an argument of create_auto_cdc_flow"),
    ],
)
def test_spec_errors_name_the_argument(extra, message):
    with pytest.raises(CdcSpecError) as info:
        CdcSpec.from_kwargs(**{**BASE, **extra})
    assert str(info.value) == message


def test_spec_normalises_databricks_arguments():
    spec = CdcSpec.from_kwargs(
        **BASE, stored_as_scd_type="2", name="flow1", extra={"ignore_null_updates_column_list": ["a"]}
    )
    assert (spec.scd_type, spec.name, spec.keys, spec.ignore_null_updates_column_list) == (
        2,
        "flow1",
        ("id",),
        ("a",),
    )
    snap = SnapshotCdcSpec.from_kwargs(target="t", source=lambda v: None, keys=["id"], stored_as_scd_type=2)
    assert (snap.source, snap.scd_type, snap.name) == (None, 2, "t")


def test_null_key_and_null_sequence_fail_the_flow(spark, make_writer):
    w = make_writer(flow_name="orders_cdc")
    with pytest.raises(CdcNullKeyError) as info:
        w.write_batch(changes(spark, [(None, "a", "x", 1, "U"), (2, "b", "x", 1, "U")]), 0)
    assert str(info.value) == (
        "[AUTOCDC_MICROBATCH_VALIDATION.NULL_KEY] Flow 'orders_cdc': "
        "1 change row(s) have a NULL key column (id); keys must not be NULL"
    )
    with pytest.raises(CdcNullSequenceError) as info:
        w.write_batch(changes(spark, [(1, "a", "x", None, "U"), (2, "b", "x", 1, "U")]), 0)
    assert str(info.value) == (
        "[AUTOCDC_MICROBATCH_VALIDATION.NULL_SEQUENCE] Flow 'orders_cdc': "
        "1 change row(s) have a NULL sequence_by value; NULL sequences are unsupported"
    )
    assert read_rows(spark, w.table_path) == []


@pytest.mark.parametrize(
    ("extra", "error", "message"),
    [
        (
            {"sequence_by": "version"},
            CdcSchemaError,
            "argument 'sequence_by' names column(s) 'version' not found in the source; "
            "available columns: id, name, city, ts, op",
        ),
        (
            {"keys": ["id", "customer"]},
            CdcSchemaError,
            "argument 'keys' names column(s) 'customer' not found in the source; "
            "available columns: id, name, city, ts, op",
        ),
        (
            {"except_column_list": ["op", "zip"]},
            CdcSchemaError,
            "argument 'except_column_list' names column(s) 'zip' not found in the source; "
            "available columns: id, name, city, ts, op",
        ),
        (
            {"except_column_list": ["op", "id"]},
            CdcSpecError,
            "argument 'except_column_list': must keep the key column(s) id in the target",
        ),
        (
            {"stored_as_scd_type": 2, "track_history_column_list": ["id"]},
            CdcSpecError,
            "argument 'track_history_column_list': names column(s) id that are not non-key target columns",
        ),
    ],
)
def test_unknown_columns_name_the_argument(spark, make_writer, extra, error, message):
    w = make_writer(**extra)
    with pytest.raises(error) as info:
        w.target_schema(changes(spark, []).schema)
    assert str(info.value) == message
