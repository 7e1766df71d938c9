"""What an emulated Auto Loader read returns: formats, schemas, hints, rescued data, bad input.

Every test drains a real streaming query (``availableNow``) over real files and asserts exact rows.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyspark.errors import StreamingQueryException
from pyspark.sql import SparkSession
from pyspark.sql.types import LongType, StringType, StructField, StructType

from localdlt.sources.cloud_files import read_cloud_files
from localdlt.sources.errors import CloudFilesSchemaError

EVENTS = '{"id": 1, "amount": 10, "city": "Recife"}\n' '{"id": 2, "amount": 20, "city": "Natal"}\n'


def _sorted(rows: list) -> list[tuple]:
    # Rows with NULLs do not sort by value; a stable textual order is enough to compare lists.
    return sorted((tuple(row) for row in rows), key=repr)


def _uri(path: Path) -> str:
    # What _metadata.file_path (and so _file_path) looks like for a local file.
    return f"file:{path}"


def test_json_with_given_schema_is_the_plain_reader(
    spark: SparkSession, landing: Path, tmp_path: Path, drain, land_file
) -> None:
    land_file(landing, "a.json", EVENTS)
    frame = read_cloud_files(
        spark,
        str(landing),
        {"cloudFiles.format": "json"},
        "id INT, amount BIGINT",
        state_dir=tmp_path / "state",
    )
    # A given schema and no rescuedDataColumn: exactly the schema, no _rescued_data (as on Databricks).
    assert frame.columns == ["id", "amount"]
    assert sorted(drain(frame, tmp_path / "cp").rows) == [(1, 10), (2, 20)]


def test_csv_with_header_and_sep(
    spark: SparkSession, landing: Path, tmp_path: Path, drain, land_file
) -> None:
    land_file(landing, "a.csv", "id;city\n1;Recife\n2;Natal\n")
    frame = read_cloud_files(
        spark,
        str(landing),
        {"cloudFiles.format": "csv", "header": "true", "sep": ";"},
        StructType([StructField("id", LongType()), StructField("city", StringType())]),
        state_dir=tmp_path / "state",
    )
    assert sorted(drain(frame, tmp_path / "cp").rows) == [(1, "Recife"), (2, "Natal")]


def test_parquet_with_inferred_schema(spark: SparkSession, landing: Path, tmp_path: Path, drain) -> None:
    # Written with pyarrow: no Spark job needed to make the fixture.
    table = pa.table({"id": pa.array([1, 2], pa.int32()), "city": ["Recife", "Natal"]})
    pq.write_table(table, landing / "part-0.parquet")
    frame = read_cloud_files(
        spark, str(landing), {"cloudFiles.format": "parquet"}, None, state_dir=tmp_path / "s"
    )
    # Parquet carries its types; an inferred schema adds the rescued column (always NULL locally).
    assert frame.schema.simpleString() == "struct<id:int,city:string,_rescued_data:string>"
    assert sorted(drain(frame, tmp_path / "cp").rows) == [(1, "Recife", None), (2, "Natal", None)]


def test_text_has_the_fixed_value_column(
    spark: SparkSession, landing: Path, tmp_path: Path, drain, land_file
) -> None:
    land_file(landing, "a.log", "first line\nsecond line\n")
    frame = read_cloud_files(
        spark, str(landing), {"cloudFiles.format": "text"}, None, state_dir=tmp_path / "s"
    )
    assert frame.columns == ["value"]
    assert sorted(drain(frame, tmp_path / "cp").rows) == [("first line",), ("second line",)]


def test_inferred_json_columns_are_strings_by_default(
    spark: SparkSession, landing: Path, tmp_path: Path, drain, land_file
) -> None:
    land_file(landing, "a.json", '{"id": 1, "amount": 10.5, "customer": {"state": "PE", "vip": true}}\n')
    frame = read_cloud_files(
        spark, str(landing), {"cloudFiles.format": "json"}, None, state_dir=tmp_path / "s"
    )
    assert frame.schema.simpleString() == (
        "struct<amount:string,customer:struct<state:string,vip:string>,id:string,_rescued_data:string>"
    )
    assert drain(frame, tmp_path / "cp").rows == [("10.5", ("PE", "true"), "1", None)]


def test_infer_column_types_true_types_the_columns(
    spark: SparkSession, landing: Path, tmp_path: Path, drain, land_file
) -> None:
    land_file(landing, "a.json", '{"id": 1, "amount": 10.5, "customer": {"state": "PE", "vip": true}}\n')
    frame = read_cloud_files(
        spark,
        str(landing),
        {"cloudFiles.format": "json", "cloudFiles.inferColumnTypes": "true"},
        None,
        state_dir=tmp_path / "s",
    )
    assert frame.schema.simpleString() == (
        "struct<amount:double,customer:struct<state:string,vip:boolean>,id:bigint,_rescued_data:string>"
    )
    assert drain(frame, tmp_path / "cp").rows == [(10.5, ("PE", True), 1, None)]


def test_inferred_csv_strings_vs_typed(
    spark: SparkSession, landing: Path, tmp_path: Path, drain, land_file
) -> None:
    land_file(landing, "a.csv", "id,amount\n1,2.5\n")
    plain = read_cloud_files(
        spark, str(landing), {"cloudFiles.format": "csv", "header": "true"}, None, state_dir=tmp_path / "s1"
    )
    typed = read_cloud_files(
        spark,
        str(landing),
        {"cloudFiles.format": "csv", "header": "true", "cloudFiles.inferColumnTypes": "true"},
        None,
        state_dir=tmp_path / "s2",
    )
    assert plain.schema.simpleString() == "struct<id:string,amount:string,_rescued_data:string>"
    assert typed.schema.simpleString() == "struct<id:int,amount:double,_rescued_data:string>"
    assert drain(typed, tmp_path / "cp").rows == [(1, 2.5, None)]


def test_schema_hints_override_and_add_columns(
    spark: SparkSession, landing: Path, tmp_path: Path, drain, land_file
) -> None:
    land_file(
        landing,
        "a.json",
        '{"id": "7", "amount": "10.50", "when": "2026-01-02"}\n{"id": "x8", "amount": "1"}\n',
    )
    frame = read_cloud_files(
        spark,
        str(landing),
        {
            "cloudFiles.format": "json",
            "cloudFiles.schemaHints": "id BIGINT, amount DECIMAL(10,2), note STRING",
        },
        None,
        state_dir=tmp_path / "s",
    )
    assert frame.schema.simpleString() == (
        "struct<amount:decimal(10,2),id:bigint,when:string,note:string,_rescued_data:string>"
    )
    rows = sorted(drain(frame, tmp_path / "cp").rows, key=lambda r: str(r.amount))
    # "7" is a JSON string, not a number: the JSON reader does not coerce it into BIGINT, so it is
    # rescued, as Databricks rescues type mismatches; "10.50" fits DECIMAL (the reader accepts it).
    assert [tuple(r) for r in rows] == [
        (
            pytest.approx(1),
            None,
            None,
            None,
            json.dumps({"id": "x8", "_file_path": _uri(landing / "a.json")}, separators=(",", ":")),
        ),
        (
            pytest.approx(10.5),
            None,
            "2026-01-02",
            None,
            json.dumps({"id": "7", "_file_path": _uri(landing / "a.json")}, separators=(",", ":")),
        ),
    ]


def test_rescued_data_holds_unknown_fields_and_mismatches(
    spark: SparkSession, landing: Path, tmp_path: Path, drain, land_file
) -> None:
    land_file(
        landing,
        "a.json",
        '{"id": 1, "amount": 10, "coupon": "X1", "tags": [1, 2]}\n'
        '{"id": 2, "amount": "abc", "Amount": 5}\n'
        '{"id": 3, "amount": 30, "items": {"sku": "s1"}}\n'
        '{"id": 4, "amount": null, "items": [{"sku": "s2", "quantity": 2}]}\n'
        '{"id": 5, "amount": 50, "items": [{"sku": "s3", "quantity": "two"}]}\n',
    )
    schema = "id INT, amount INT, items ARRAY<STRUCT<sku: STRING, quantity: INT>>"
    frame = read_cloud_files(
        spark,
        str(landing),
        {"cloudFiles.format": "json", "rescuedDataColumn": "_rescued_data"},
        schema,
        state_dir=tmp_path / "s",
    )
    assert frame.columns == ["id", "amount", "items", "_rescued_data"]
    path = _uri(landing / "a.json")
    rows = {r.id: r for r in drain(frame, tmp_path / "cp").rows}
    assert rows[1]._rescued_data == f'{{"coupon":"X1","tags":[1,2],"_file_path":"{path}"}}'
    # A value of the wrong type and a key whose case differs from the schema's are both rescued.
    assert (rows[2].amount, rows[2]._rescued_data) == (
        None,
        f'{{"amount":"abc","Amount":5,"_file_path":"{path}"}}',
    )
    # An object where an array is expected: the field is NULL, its original value rescued.
    assert (rows[3].items, rows[3]._rescued_data) == (
        None,
        f'{{"items":{{"sku":"s1"}},"_file_path":"{path}"}}',
    )
    # An explicit JSON null fits every type: nothing to rescue.
    assert (rows[4].amount, rows[4].items, rows[4]._rescued_data) == (None, [("s2", 2)], None)
    # A nested value that does not fit: the whole top-level field is rescued with its original value.
    assert rows[5]._rescued_data == f'{{"items":[{{"quantity":"two","sku":"s3"}}],"_file_path":"{path}"}}'
    assert len(rows) == 5


def test_no_rescued_column_when_a_schema_is_given_without_the_option(
    spark: SparkSession, landing: Path, tmp_path: Path, drain, land_file
) -> None:
    land_file(landing, "a.json", '{"id": 1, "coupon": "X1"}\n{"id": "two"}\n')
    frame = read_cloud_files(
        spark, str(landing), {"cloudFiles.format": "json"}, "id INT", state_dir=tmp_path / "s"
    )
    assert frame.columns == ["id"]
    # Unknown fields are ignored and a mismatch is NULL: Databricks' schemaEvolutionMode "none".
    assert _sorted(drain(frame, tmp_path / "cp").rows) == _sorted([(1,), (None,)])


def test_malformed_json_line_comes_back_as_a_row(
    spark: SparkSession, landing: Path, tmp_path: Path, drain, land_file
) -> None:
    land_file(landing, "a.json", '{"id": 1}\n{"id": 2, oops\n\n42\n')
    frame = read_cloud_files(
        spark, str(landing), {"cloudFiles.format": "json"}, None, state_dir=tmp_path / "s"
    )
    path = _uri(landing / "a.json")
    # Never a crash, never silently dropped: NULL fields and the whole record in _rescued_data
    # (under "_corrupt_record"). The blank line carries nothing and is skipped, as the JSON reader does.
    assert _sorted(drain(frame, tmp_path / "cp").rows) == _sorted(
        [
            ("1", None),
            (None, f'{{"_corrupt_record":"{{\\"id\\": 2, oops","_file_path":"{path}"}}'),
            (None, f'{{"_corrupt_record":"42","_file_path":"{path}"}}'),
        ]
    )


def test_malformed_line_with_given_schema_keeps_a_null_row_and_the_corrupt_column(
    spark: SparkSession, landing: Path, tmp_path: Path, drain, land_file
) -> None:
    land_file(landing, "a.json", '{"id": 1}\n{"id": 2, oops\n')
    without = read_cloud_files(
        spark, str(landing), {"cloudFiles.format": "json"}, "id INT", state_dir=tmp_path / "s1"
    )
    with_corrupt = read_cloud_files(
        spark,
        str(landing),
        {"cloudFiles.format": "json"},
        "id INT, _corrupt_record STRING",
        state_dir=tmp_path / "s2",
    )
    # With a given schema and no rescue the open-source reader runs: the row stays (all NULL) ...
    assert _sorted(drain(without, tmp_path / "cp1").rows) == _sorted([(1,), (None,)])
    # ... and a _corrupt_record column in the schema gets the whole line, as on Databricks.
    assert _sorted(drain(with_corrupt, tmp_path / "cp2").rows) == _sorted(
        [(1, None), (None, '{"id": 2, oops')]
    )


def test_csv_rescues_bad_values_and_wrong_column_counts(
    spark: SparkSession, landing: Path, tmp_path: Path, drain, land_file
) -> None:
    land_file(landing, "a.csv", "id,amount\n1,10\n2,ten\n3,30,extra\n")
    frame = read_cloud_files(
        spark,
        str(landing),
        {"cloudFiles.format": "csv", "header": "true", "rescuedDataColumn": "_rescued"},
        "id INT, amount INT",
        state_dir=tmp_path / "s",
    )
    path = _uri(landing / "a.csv")
    assert sorted(drain(frame, tmp_path / "cp").rows) == [
        (1, 10, None),
        (2, None, f'{{"amount":"ten","_file_path":"{path}"}}'),
        (3, 30, f'{{"_corrupt_record":"3,30,extra","_file_path":"{path}"}}'),
    ]


def test_multiline_json_files(spark: SparkSession, landing: Path, tmp_path: Path, drain, land_file) -> None:
    land_file(landing, "one.json", '{\n  "id": 1,\n  "extra": "e"\n}\n')
    land_file(landing, "many.json", '[\n {"id": 2},\n {"id": 3}\n]\n')
    frame = read_cloud_files(
        spark,
        str(landing),
        {"cloudFiles.format": "json", "multiLine": "true", "rescuedDataColumn": "_rescued_data"},
        "id INT",
        state_dir=tmp_path / "s",
    )
    assert _sorted(drain(frame, tmp_path / "cp").rows) == _sorted(
        [
            (1, f'{{"extra":"e","_file_path":"{_uri(landing / "one.json")}"}}'),
            (2, None),
            (3, None),
        ]
    )


def test_metadata_column_stays_available(
    spark: SparkSession, landing: Path, tmp_path: Path, drain, land_file
) -> None:
    land_file(landing, "a.json", '{"id": 1}\n', mtime=1_700_000_000)
    frame = read_cloud_files(
        spark, str(landing), {"cloudFiles.format": "json"}, None, state_dir=tmp_path / "s"
    )
    # Bronze code selects _metadata.file_path / file_modification_time, as it does on Databricks.
    selected = frame.select("id", "_metadata.file_path", "_metadata.file_modification_time")
    row = drain(selected, tmp_path / "cp").rows[0]
    assert (row.id, row.file_path, int(row.file_modification_time.timestamp())) == (
        "1",
        _uri(landing / "a.json"),
        1_700_000_000,
    )


def test_no_files_and_no_schema_is_a_clear_error(spark: SparkSession, landing: Path, tmp_path: Path) -> None:
    with pytest.raises(CloudFilesSchemaError) as caught:
        read_cloud_files(spark, str(landing), {"cloudFiles.format": "json"}, None, state_dir=tmp_path / "s")
    assert str(caught.value) == (
        f"[CLOUD_FILES_SCHEMA_ERROR] no schema was given and there are no files under '{landing}' "
        "to infer one from: pass a schema (.schema(...)) or land at least one file before the first run"
    )


def test_bad_ddl_schema_names_the_argument(spark: SparkSession, landing: Path, tmp_path: Path) -> None:
    with pytest.raises(CloudFilesSchemaError) as caught:
        read_cloud_files(
            spark, str(landing), {"cloudFiles.format": "json"}, "id INTEGR,", state_dir=tmp_path / "s"
        )
    assert str(caught.value) == "[CLOUD_FILES_SCHEMA_ERROR] schema is not a valid DDL schema: 'id INTEGR,'"


def test_dropmalformed_and_failfast_act_on_broken_records_only(
    spark: SparkSession, landing: Path, tmp_path: Path, drain, land_file
) -> None:
    land_file(landing, "a.json", '{"id": 1}\n{"id": "x"}\n{broken\n')

    def read(mode: str, state: str):
        options = {"cloudFiles.format": "json", "rescuedDataColumn": "_rescued_data", "mode": mode}
        return read_cloud_files(spark, str(landing), options, "id INT", state_dir=tmp_path / state)

    path = _uri(landing / "a.json")
    # DROPMALFORMED drops the broken record; the type mismatch is rescued, not dropped (as on Databricks).
    assert _sorted(drain(read("DROPMALFORMED", "s1"), tmp_path / "cp1").rows) == _sorted(
        [(1, None), (None, f'{{"id":"x","_file_path":"{path}"}}')]
    )
    with pytest.raises(StreamingQueryException) as caught:
        drain(read("FAILFAST", "s2"), tmp_path / "cp2")
    assert f"[MALFORMED_RECORD_IN_PARSING] a record in {path} is not a JSON object (mode FAILFAST)" in str(
        caught.value
    )
