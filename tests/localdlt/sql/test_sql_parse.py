"""The pipeline SQL grammar, without Spark: statements as Databricks' SQL reference writes them."""

from __future__ import annotations

import pytest

from localdlt.sql.errors import SqlLocation, SqlSyntaxError
from localdlt.sql.parse import parse_sql
from localdlt.sql.statements import (
    CdcClauses,
    CdcStatement,
    DatasetStatement,
    ExpectationClause,
    FlowStatement,
    SetStatement,
)


def test_streaming_table_with_columns_expectations_and_clauses() -> None:
    (statement,) = parse_sql(
        """-- bronze
CREATE OR REFRESH STREAMING TABLE raw_orders (
  id INT NOT NULL COMMENT 'order id',
  amount DECIMAL(10, 2),
  CONSTRAINT valid_id EXPECT (id IS NOT NULL AND id IN (1, 2, 3)) ON VIOLATION DROP ROW,
  CONSTRAINT positive EXPECT (amount > 0),
  CONSTRAINT known EXPECT (amount < 1e6) ON VIOLATION FAIL UPDATE
)
PARTITIONED BY (id)
COMMENT 'raw; orders'
TBLPROPERTIES ('quality' = 'bronze', delta.appendOnly = true)
AS SELECT * FROM STREAM(source)""",
        "bronze.sql",
    )
    assert isinstance(statement, DatasetStatement)
    assert statement.kind == "streaming_table"
    assert statement.name == "raw_orders"
    assert statement.columns == ("id INT NOT NULL COMMENT 'order id'", "amount DECIMAL(10, 2)")
    assert statement.expectations == (
        ExpectationClause("valid_id", "id IS NOT NULL AND id IN (1, 2, 3)", "drop"),
        ExpectationClause("positive", "amount > 0", "warn"),
        ExpectationClause("known", "amount < 1e6", "fail"),
    )
    assert statement.partition_cols == ("id",)
    assert statement.comment == "raw; orders"
    assert statement.table_properties == {"quality": "bronze", "delta.appendOnly": "true"}
    assert statement.location == SqlLocation("bronze.sql", 2, 1)
    assert statement.query is not None
    assert statement.query.text == "SELECT * FROM STREAM(source)"
    assert statement.query.location == SqlLocation("bronze.sql", 12, 4)


@pytest.mark.parametrize(
    ("sql", "kind", "visibility"),
    [
        ("CREATE MATERIALIZED VIEW m AS SELECT 1", "materialized_view", None),
        ("CREATE OR REFRESH PRIVATE MATERIALIZED VIEW m AS SELECT 1", "materialized_view", "private"),
        ("CREATE OR REFRESH LIVE TABLE m AS SELECT 1", "materialized_view", None),
        ("CREATE OR REFRESH TEMPORARY LIVE TABLE m AS SELECT 1", "materialized_view", "temporary"),
        ("CREATE OR REFRESH STREAMING LIVE TABLE m AS SELECT * FROM STREAM(x)", "streaming_table", None),
        ("CREATE INCREMENTAL LIVE TABLE m AS SELECT * FROM STREAM(x)", "streaming_table", None),
        ("CREATE TEMPORARY VIEW m AS SELECT 1", "view", "temporary"),
        ("CREATE TEMPORARY LIVE VIEW m AS SELECT 1", "view", "temporary"),
        ("create live view m as select 1", "view", None),
        ("CREATE VIEW m AS SELECT 1", "view", None),
    ],
)
def test_dataset_kinds_and_legacy_live_spellings(sql: str, kind: str, visibility: str | None) -> None:
    (statement,) = parse_sql(sql, "f.sql")
    assert isinstance(statement, DatasetStatement)
    assert (statement.kind, statement.name, statement.visibility) == (kind, "m", visibility)


def test_cluster_by_and_auto() -> None:
    first, second = parse_sql(
        "CREATE MATERIALIZED VIEW a CLUSTER BY (x, y) AS SELECT 1 AS x, 2 AS y;\n"
        "CREATE MATERIALIZED VIEW b CLUSTER BY AUTO AS SELECT 1",
        "f.sql",
    )
    assert isinstance(first, DatasetStatement) and isinstance(second, DatasetStatement)
    assert (first.cluster_by, first.cluster_by_auto) == (("x", "y"), False)
    assert (second.cluster_by, second.cluster_by_auto) == ((), True)


def test_flows_insert_into_and_once() -> None:
    statements = parse_sql(
        """CREATE OR REFRESH STREAMING TABLE users;
CREATE FLOW users_flow AS INSERT INTO users BY NAME SELECT * FROM stream(raw_users);
CREATE FLOW backfill_users COMMENT 'one-time' AS INSERT INTO ONCE users BY NAME SELECT * FROM old_users;
CREATE FLOW newer_once AS INSERT ONCE INTO users SELECT * FROM old_users""",
        "flows.sql",
    )
    table, flow, backfill, newer = statements
    assert isinstance(table, DatasetStatement) and table.query is None
    assert isinstance(flow, FlowStatement) and (flow.name, flow.target, flow.once) == (
        "users_flow",
        "users",
        False,
    )
    assert flow.query.text == "SELECT * FROM stream(raw_users)"
    assert isinstance(backfill, FlowStatement)
    assert (backfill.once, backfill.comment) == (True, "one-time")
    assert isinstance(newer, FlowStatement) and newer.once


def test_auto_cdc_flow_as_documented() -> None:
    (table, flow) = parse_sql(
        """CREATE OR REFRESH STREAMING TABLE target;
CREATE FLOW flow
AS AUTO CDC INTO
  target
FROM
  stream(cdc_data.users)
KEYS
  (userId)
APPLY AS DELETE WHEN
  operation = "DELETE"
APPLY AS TRUNCATE WHEN
  operation = "TRUNCATE"
SEQUENCE BY
  sequenceNum
COLUMNS * EXCEPT
  (operation, sequenceNum)
STORED AS
  SCD TYPE 1;""",
        "cdc.sql",
    )
    assert isinstance(flow, CdcStatement)
    assert flow.flow_name == "flow"
    assert flow.target == "target"
    assert flow.clauses == CdcClauses(
        source="cdc_data.users",
        streaming_source=True,
        keys=("userId",),
        sequence_by="sequenceNum",
        apply_as_deletes='operation = "DELETE"',
        apply_as_truncates='operation = "TRUNCATE"',
        except_column_list=("operation", "sequenceNum"),
        stored_as_scd_type=1,
    )


def test_apply_changes_scd2_track_history() -> None:
    (statement,) = parse_sql(
        "APPLY CHANGES INTO live.target FROM STREAM live.src KEYS (id, region) IGNORE NULL UPDATES "
        "SEQUENCE BY struct(ts, seq) COLUMNS id, region, name STORED AS SCD TYPE 2 TRACK HISTORY ON name",
        "cdc.sql",
    )
    assert isinstance(statement, CdcStatement)
    assert statement.flow_name is None
    assert statement.target == "live.target"
    assert statement.clauses == CdcClauses(
        source="live.src",
        streaming_source=True,
        keys=("id", "region"),
        sequence_by="struct(ts, seq)",
        ignore_null_updates=True,
        column_list=("id", "region", "name"),
        stored_as_scd_type=2,
        track_history_column_list=("name",),
    )


def test_set_and_substitution_from_configuration_then_set() -> None:
    statements = parse_sql(
        "SET threshold = 10;\n"
        "CREATE MATERIALIZED VIEW m_${env} AS SELECT * FROM t WHERE x > ${threshold} AND y = '${missing}'",
        "f.sql",
        {"env": "dev", "threshold": "1"}.get,
    )
    assert statements[0] == SetStatement("threshold", "10", SqlLocation("f.sql", 1, 1))
    view = statements[1]
    assert isinstance(view, DatasetStatement)
    assert view.name == "m_dev"
    assert view.query is not None
    assert view.query.text == "SELECT * FROM t WHERE x > 10 AND y = '${missing}'"


def test_semicolons_in_strings_and_comments_do_not_split() -> None:
    statements = parse_sql(
        "/* a; block */ CREATE MATERIALIZED VIEW a AS SELECT ';' AS s -- c;\n;\n\n-- only a comment;\n",
        "f.sql",
    )
    assert len(statements) == 1
    assert isinstance(statements[0], DatasetStatement)
    assert statements[0].query is not None and statements[0].query.text == "SELECT ';' AS s -- c;"


def test_syntax_error_names_file_line_column_and_suggests() -> None:
    with pytest.raises(SqlSyntaxError) as info:
        parse_sql("SET a = 1;\n\nCREATE OR REFRESH STREAMNG TABLE t AS SELECT 1", "bad.sql")
    assert info.value.location == SqlLocation("bad.sql", 3, 19)
    assert "did you mean 'STREAMING'" in str(info.value)
    assert "bad.sql:3:19" in str(info.value)


def test_violation_typo_is_a_syntax_error() -> None:
    with pytest.raises(SqlSyntaxError) as info:
        parse_sql(
            "CREATE STREAMING TABLE t (CONSTRAINT c EXPECT (x > 0) ON VIOLATION DROP ROWS) AS SELECT 1",
            "f.sql",
        )
    assert info.value.location is not None and info.value.location.line == 1
    assert "ROWS" in str(info.value)


def test_table_constraints_are_kept_apart_from_expectations() -> None:
    (statement,) = parse_sql(
        "CREATE MATERIALIZED VIEW t (id INT, CONSTRAINT pk PRIMARY KEY (id), CONSTRAINT e EXPECT (id > 0)) "
        "AS SELECT 1 AS id",
        "f.sql",
    )
    assert isinstance(statement, DatasetStatement)
    assert statement.table_constraints == ("CONSTRAINT pk PRIMARY KEY (id)",)
    assert statement.expectations == (ExpectationClause("e", "id > 0", "warn"),)
