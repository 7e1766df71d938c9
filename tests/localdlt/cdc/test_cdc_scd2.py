"""SCD type 2: exact versions with __START_AT / __END_AT, out-of-order events inserted in the
middle of the history, deletes closing versions, tracked and untracked columns."""

from __future__ import annotations

from cdc_support import changes, read_rows
from pyspark.sql.types import LongType, StructField, StructType

from localdlt.cdc import CdcBatchMetrics

ORDER = ("id", "__START_AT")


def test_history_out_of_order_and_deletes(spark, make_writer):
    w = make_writer(stored_as_scd_type=2, except_column_list=["op", "ts"])
    m0 = w.write_batch(
        changes(spark, [(1, "ann", "sp", 3, "U"), (1, "ann", "rio", 1, "U"), (2, "bob", "bh", 2, "U")]), 0
    )
    assert read_rows(spark, w.table_path, ORDER) == [
        (1, "ann", "rio", 1, 3),
        (1, "ann", "sp", 3, None),
        (2, "bob", "bh", 2, None),
    ]
    assert m0 == CdcBatchMetrics(batch_id=0, input_rows=3, upserted=3, rows_inserted=3)
    # A delete closes the open version; a delete of an unseen key waits for its late upsert.
    m1 = w.write_batch(
        changes(spark, [(1, "ann", "rj", 5, "U"), (2, None, None, 4, "D"), (3, None, None, 7, "D")]), 1
    )
    assert read_rows(spark, w.table_path, ORDER) == [
        (1, "ann", "rio", 1, 3),
        (1, "ann", "sp", 3, 5),
        (1, "ann", "rj", 5, None),
        (2, "bob", "bh", 2, 4),
    ]
    assert (m1.upserted, m1.deleted, m1.rows_inserted, m1.rows_updated) == (1, 2, 1, 2)
    # Late events: key 1 at 4 goes between 3 and 5 (neighbours re-linked); an identical
    # repeat at 8 opens no version; key 2 comes back at 6; key 3's late upsert at 6 is closed
    # by its delete at 7.
    m2 = w.write_batch(
        changes(
            spark,
            [
                (1, "ann", "poa", 4, "U"),
                (1, "ann", "rj", 8, "U"),
                (2, "bob", "bh", 6, "U"),
                (3, "cy", "x", 6, "U"),
            ],
        ),
        2,
    )
    assert read_rows(spark, w.table_path, ORDER) == [
        (1, "ann", "rio", 1, 3),
        (1, "ann", "sp", 3, 4),
        (1, "ann", "poa", 4, 5),
        (1, "ann", "rj", 5, None),
        (2, "bob", "bh", 2, 4),
        (2, "bob", "bh", 6, None),
        (3, "cy", "x", 6, 7),
    ]
    assert (m2.rows_inserted, m2.rows_updated, m2.rows_deleted) == (3, 1, 0)


def test_start_end_typed_like_sequence(spark, make_writer):
    w = make_writer(stored_as_scd_type="2", except_column_list=["op", "city", "name"])
    schema = w.target_schema(changes(spark, []).schema)
    assert schema == StructType(
        [
            StructField("id", schema["id"].dataType, True),
            StructField("ts", LongType(), True),
            StructField("__START_AT", LongType(), True),
            StructField("__END_AT", LongType(), True),
        ]
    )


def test_track_history_column_list_updates_untracked_in_place(spark, make_writer):
    events = [
        (1, "ann", "rio", 10, "U"),
        (1, "ANN", "rio", 20, "U"),  # untracked name: same version, updated in place
        (1, "ANN", "sp", 30, "U"),  # tracked city: new version
    ]
    w = make_writer(stored_as_scd_type=2, except_column_list=["op", "ts"], track_history_column_list=["city"])
    w.write_batch(changes(spark, events), 0)
    assert read_rows(spark, w.table_path, ORDER) == [(1, "ANN", "rio", 10, 30), (1, "ANN", "sp", 30, None)]
    # A late untracked change at 25 belongs to the first version (as if it had come in order).
    w.write_batch(changes(spark, [(1, "late", "rio", 25, "U")]), 1)
    assert read_rows(spark, w.table_path, ORDER) == [(1, "late", "rio", 10, 30), (1, "ANN", "sp", 30, None)]
    # The same flow spelt with track_history_except_column_list, all events in one batch.
    x = make_writer(
        stored_as_scd_type=2, except_column_list=["op", "ts"], track_history_except_column_list=["name"]
    )
    x.write_batch(changes(spark, [*events, (1, "late", "rio", 25, "U")]), 0)
    assert read_rows(spark, x.table_path, ORDER) == read_rows(spark, w.table_path, ORDER)
