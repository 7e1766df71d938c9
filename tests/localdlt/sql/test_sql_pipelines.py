"""Pipeline SQL files, loaded and planned by localdlt: registration through the Python API,
errors located in the SQL file, FAIL UPDATE with Databricks' message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from localdlt.definitions import SourceLocation
from localdlt.errors import UnknownDatasetError
from localdlt.runner import run_update, validate
from localdlt.sql.errors import SqlLocation, SqlSyntaxError

TRACK_SQL = """
CREATE OR REFRESH STREAMING TABLE target_city_untracked;

CREATE FLOW untracked AS AUTO CDC INTO target_city_untracked
FROM stream(cdc_data.users) KEYS (userId)
APPLY AS DELETE WHEN operation = "DELETE"
SEQUENCE BY sequenceNum
COLUMNS * EXCEPT (operation, sequenceNum)
STORED AS SCD TYPE 2
TRACK HISTORY ON * EXCEPT (city);
"""


def test_track_history_except_registers_the_same_cdc_flow_as_python(spark: Any, write_pipeline: Any) -> None:
    from localdlt.loader import load_pipeline
    from localdlt.spark_proxy import SparkProxy

    folder = write_pipeline({"track.sql": TRACK_SQL})
    registry = load_pipeline([folder / "track.sql"], {"spark": SparkProxy(spark, {})})
    flow = registry.flows["untracked"]
    assert (flow.target, flow.cdc_source, flow.location) == (
        "target_city_untracked",
        "untracked__cdc_source",
        SourceLocation(str(folder / "track.sql"), 4),
    )
    assert {
        k: flow.cdc[k]
        for k in (
            "keys",
            "sequence_by",
            "apply_as_deletes",
            "except_column_list",
            "stored_as_scd_type",
            "track_history_except_column_list",
        )
    } == {
        "keys": ["userId"],
        "sequence_by": "sequenceNum",
        "apply_as_deletes": 'operation = "DELETE"',
        "except_column_list": ["operation", "sequenceNum"],
        "stored_as_scd_type": 2,
        "track_history_except_column_list": ["city"],
    }
    assert registry.datasets["untracked__cdc_source"].kind.value == "view"


def test_fail_update_stops_the_flow_with_databricks_message(
    spark: Any, tmp_path: Path, write_pipeline: Any, rows: Any
) -> None:
    pipeline = write_pipeline(
        {
            "checks.sql": """
        CREATE OR REFRESH MATERIALIZED VIEW counts (
          CONSTRAINT valid_count EXPECT (count > 0) ON VIOLATION FAIL UPDATE
        ) AS SELECT 0 AS count;
        CREATE OR REFRESH MATERIALIZED VIEW downstream AS SELECT * FROM counts;
        CREATE OR REFRESH MATERIALIZED VIEW independent AS SELECT 1 AS one;
    """
        }
    )
    storage = tmp_path / "storage"
    result = run_update([pipeline], storage, spark=spark)
    assert result.status == "FAILED"
    assert {n: f.status for n, f in result.flows.items()} == {
        "counts": "FAILED",
        "downstream": "SKIPPED",
        "independent": "COMPLETED",
    }
    assert result.flows["counts"].error == (
        "[EXPECTATION_VIOLATION.VERBOSITY_ALL] Flow 'counts' failed to meet the expectation. "
        "Violated expectations: 'valid_count'. Input data: '{\"count\":0}'"
    )
    assert rows(storage / "tables" / "independent", "one") == [(1,)]


def test_unknown_dataset_names_file_line_column_and_suggests(spark: Any, write_pipeline: Any) -> None:
    pipeline = write_pipeline(
        {
            "a.sql": (
                "CREATE OR REFRESH MATERIALIZED VIEW source_rows AS SELECT 1 AS id;\n"
                "CREATE OR REFRESH MATERIALIZED VIEW b AS\n"
                "SELECT id\n"
                "  FROM source_row;\n"
            )
        }
    )
    with pytest.raises(UnknownDatasetError) as info:
        validate([pipeline], spark=spark)
    assert info.value.location == SqlLocation(str(pipeline / "a.sql"), 4, 8)
    assert "did you mean one of these: 'source_rows'?" in str(info.value)


def test_query_syntax_error_is_located_by_spark_parser(spark: Any, write_pipeline: Any) -> None:
    pipeline = write_pipeline({"a.sql": "SET x = 1;\nCREATE MATERIALIZED VIEW b AS\nSELECT id FRM t;\n"})
    with pytest.raises(SqlSyntaxError) as info:
        validate([pipeline], spark=spark)
    assert info.value.location == SqlLocation(str(pipeline / "a.sql"), 3, 15)
    assert "PARSE_SYNTAX_ERROR" in str(info.value)


def test_streaming_table_over_a_batch_query_is_refused(spark: Any, write_pipeline: Any) -> None:
    pipeline = write_pipeline({"a.sql": "CREATE OR REFRESH STREAMING TABLE s AS SELECT 1 AS id"})
    with pytest.raises(Exception) as info:
        validate([pipeline], spark=spark)
    assert "reads no stream" in str(info.value) and "a.sql:1:" in str(info.value)
