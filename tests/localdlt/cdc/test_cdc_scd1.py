"""SCD type 1: exact target rows for in-order, out-of-order, deletes, tombstones, truncates,
NULL-ignoring updates and column selection."""

from __future__ import annotations

from cdc_support import changes, read_rows

from localdlt.cdc import TOMBSTONE_GC_THRESHOLD_CONF, CdcBatchMetrics


def test_in_order_upserts(spark, make_writer):
    w = make_writer()
    m0 = w.write_batch(changes(spark, [(1, "ann", "rio", 1, "U"), (2, "bob", "sp", 1, "U")]), 0)
    assert read_rows(spark, w.table_path) == [(1, "ann", "rio", 1), (2, "bob", "sp", 1)]
    assert m0 == CdcBatchMetrics(batch_id=0, input_rows=2, upserted=2, rows_inserted=2)
    m1 = w.write_batch(changes(spark, [(1, "ann", "bh", 2, "U")]), 1)
    assert read_rows(spark, w.table_path) == [(1, "ann", "bh", 2), (2, "bob", "sp", 1)]
    assert m1 == CdcBatchMetrics(batch_id=1, input_rows=1, upserted=1, rows_updated=1)


def test_out_of_order_within_and_across_batches(spark, make_writer):
    w = make_writer()
    # Within one batch: the highest ts wins whatever the row order.
    m0 = w.write_batch(
        changes(
            spark,
            [(1, "v3", "c", 3, "U"), (1, "v1", "c", 1, "U"), (1, "v2", "c", 2, "U"), (2, "x", "c", 2, "U")],
        ),
        0,
    )
    assert read_rows(spark, w.table_path) == [(1, "v3", "c", 3), (2, "x", "c", 2)]
    assert (m0.upserted, m0.ignored) == (2, 2)
    # Across batches: an event older than the applied one is ignored; a newer one applies.
    m1 = w.write_batch(changes(spark, [(1, "v2-late", "c", 2, "U"), (2, "y", "c", 5, "U")]), 1)
    assert read_rows(spark, w.table_path) == [(1, "v3", "c", 3), (2, "y", "c", 5)]
    assert (m1.upserted, m1.ignored, m1.rows_updated) == (1, 1, 1)


def test_deletes_keep_tombstones_against_late_updates(spark, make_writer):
    w = make_writer()
    w.write_batch(
        changes(spark, [(1, "ann", "rio", 1, "U"), (2, "bob", "sp", 1, "U"), (3, "cy", "bh", 1, "U")]), 0
    )
    # Key 2: a delete and a newer upsert in the same batch -> the upsert wins.
    m1 = w.write_batch(
        changes(spark, [(1, None, None, 5, "D"), (2, None, None, 3, "D"), (2, "bob4", "sp", 4, "U")]), 1
    )
    assert read_rows(spark, w.table_path) == [(2, "bob4", "sp", 4), (3, "cy", "bh", 1)]
    assert (m1.upserted, m1.deleted, m1.ignored, m1.rows_deleted, m1.rows_updated) == (1, 1, 1, 1, 1)
    # A late update older than the delete of key 1 must not resurrect it; a delete of a key
    # never seen (9) is remembered too.
    m2 = w.write_batch(changes(spark, [(1, "late", "rio", 4, "U"), (9, None, None, 7, "D")]), 2)
    assert read_rows(spark, w.table_path) == [(2, "bob4", "sp", 4), (3, "cy", "bh", 1)]
    assert (m2.upserted, m2.deleted, m2.ignored, m2.num_output_rows) == (0, 1, 1, 0)
    # Newer than the delete: the key comes back; older than the tombstone of 9: nothing.
    w.write_batch(changes(spark, [(1, "new", "sp", 6, "U"), (9, "old", "x", 6, "U")]), 3)
    assert read_rows(spark, w.table_path) == [(1, "new", "sp", 6), (2, "bob4", "sp", 4), (3, "cy", "bh", 1)]


def test_tombstone_gc_threshold_zero_lets_late_updates_resurrect(spark, make_writer):
    w = make_writer()
    spark.conf.set(TOMBSTONE_GC_THRESHOLD_CONF, "0")
    try:
        w.write_batch(changes(spark, [(1, "ann", "rio", 1, "U")]), 0)
        w.write_batch(changes(spark, [(1, None, None, 5, "D")]), 1)
        assert read_rows(spark, w.table_path) == []
        # The tombstone expired at once: the older update is applied (the knob's documented risk).
        m2 = w.write_batch(changes(spark, [(1, "late", "rio", 4, "U")]), 2)
    finally:
        spark.conf.unset(TOMBSTONE_GC_THRESHOLD_CONF)
    assert read_rows(spark, w.table_path) == [(1, "late", "rio", 4)]
    assert (m2.upserted, m2.rows_inserted) == (1, 1)


def test_truncate_removes_older_rows_and_later_stale_events(spark, make_writer):
    w = make_writer(apply_as_truncates="op = 'T'")
    w.write_batch(changes(spark, [(1, "a", "x", 1, "U"), (2, "b", "x", 1, "U"), (3, "c", "x", 5, "U")]), 0)
    # Truncate at ts 3 (a truncate row needs no key): rows last changed before it go; key 3
    # (changed at 5) stays; key 4 (at 4, after the truncate) is inserted.
    m1 = w.write_batch(changes(spark, [(None, None, None, 3, "T"), (4, "d", "x", 4, "U")]), 1)
    assert read_rows(spark, w.table_path) == [(3, "c", "x", 5), (4, "d", "x", 4)]
    assert (m1.truncated, m1.upserted, m1.rows_deleted, m1.rows_inserted) == (2, 1, 2, 1)
    # An event older than the truncate is ignored, a newer one applies.
    m2 = w.write_batch(changes(spark, [(1, "late", "x", 2, "U"), (5, "e", "x", 6, "U")]), 2)
    assert read_rows(spark, w.table_path) == [(3, "c", "x", 5), (4, "d", "x", 4), (5, "e", "x", 6)]
    assert (m2.ignored, m2.upserted) == (1, 1)


def test_ignore_null_updates_keeps_existing_values(spark, make_writer):
    w = make_writer(ignore_null_updates=True)
    w.write_batch(changes(spark, [(1, "ann", "rio", 1, "U"), (3, "cy", "bh", 1, "U")]), 0)
    w.write_batch(
        changes(
            spark,
            [
                (1, None, "sp", 2, "U"),  # name NULL: keeps 'ann'
                (2, "bob", "x", 1, "U"),
                (2, None, "y", 2, "U"),
                (2, "bob2", None, 3, "U"),  # folded in order
                (3, None, None, 2, "D"),
                (3, None, "poa", 3, "U"),  # after a delete nothing is kept
            ],
        ),
        1,
    )
    assert read_rows(spark, w.table_path) == [(1, "ann", "sp", 2), (2, "bob2", "y", 3), (3, None, "poa", 3)]


# Three keys, each with changes that leave some columns NULL (ignore_null_updates keeps the value);
# key 3 is deleted in the middle. In sequence order the target ends as EXPECTED_IN_ORDER.
PARTIAL_CHANGES = [
    (1, "ann", "rio", 1, "U"),
    (1, None, "sp", 2, "U"),
    (1, "ann3", None, 3, "U"),
    (2, "bob", "pending", 1, "U"),  # an order created, its payment declined, then cancelled
    (2, None, "declined", 2, "U"),
    (2, "bob-cancelled", None, 3, "U"),
    (3, "cy", "bh", 1, "U"),
    (3, None, None, 2, "D"),
    (3, None, "poa", 3, "U"),
]
EXPECTED_IN_ORDER = [(1, "ann3", "sp", 3), (2, "bob-cancelled", "declined", 3), (3, None, "poa", 3)]


def test_ignore_null_updates_end_as_in_order_whatever_the_batches(spark, make_writer):
    """Out-of-order changes end as in-order ones also under ignore_null_updates, whether an older
    change shares the batch of newer ones or comes in a later batch (found by the Kafka kill -9
    loop: a late payment event was lost when it arrived after the order's cancellation)."""
    by_ts = {ts: [c for c in PARTIAL_CHANGES if c[3] == ts] for ts in (1, 2, 3)}
    arrivals = {
        "one batch": [PARTIAL_CHANGES],
        "in order": [by_ts[1], by_ts[2], by_ts[3]],
        "newest first": [by_ts[3], by_ts[2], by_ts[1]],
        "middle last": [by_ts[1] + by_ts[3], by_ts[2]],
        "oldest last": [by_ts[3] + by_ts[2], by_ts[1]],
    }
    results = {}
    for name, batches in arrivals.items():
        w = make_writer(ignore_null_updates=True)
        for batch_id, batch in enumerate(batches):
            w.write_batch(changes(spark, batch), batch_id)
        results[name] = read_rows(spark, w.table_path)
    assert results == {name: EXPECTED_IN_ORDER for name in arrivals}


def test_state_written_before_columns_were_tracked_is_extended_and_read_as_before(spark, make_writer):
    """A state table of an older localdlt (no per-column sequences) gets the new columns at the
    next batch; its rows count as untracked: a stale change is ignored as before."""
    w = make_writer(ignore_null_updates=True)
    target = spark.createDataFrame([(1, "ann", "rio", 5)], "id INT, name STRING, city STRING, ts LONG")
    target.write.format("delta").save(w.table_path)
    spark.createDataFrame(
        [(1, 5, "live", None)], "id INT, __seq LONG, __kind STRING, __deleted_at TIMESTAMP"
    ).write.format("delta").save(w._state_table)
    w.write_batch(changes(spark, [(1, "stale", None, 4, "U"), (2, "bob", None, 1, "U")]), 0)
    assert read_rows(spark, w.table_path) == [(1, "ann", "rio", 5), (2, "bob", None, 1)]
    state = spark.read.format("delta").load(w._state_table)
    assert {"__columns_tracked", "__seq_name", "__seq_city"} <= set(state.columns)
    w.write_batch(changes(spark, [(1, None, "sp", 6, "U"), (2, None, "x", 0, "U")]), 1)
    assert read_rows(spark, w.table_path) == [(1, "ann", "sp", 6), (2, "bob", "x", 1)]


def test_column_list_and_except_column_list(spark, make_writer):
    batch = [(1, "ann", "rio", 1, "U"), (1, "ann2", "sp", 2, "U")]
    only = make_writer(column_list=["id", "name"], except_column_list=None)
    only.write_batch(changes(spark, batch), 0)
    assert spark.read.format("delta").load(only.table_path).columns == ["id", "name"]
    assert read_rows(spark, only.table_path) == [(1, "ann2")]
    without = make_writer(except_column_list=["op", "city"])
    without.write_batch(changes(spark, batch), 0)
    assert spark.read.format("delta").load(without.table_path).columns == ["id", "name", "ts"]
    assert read_rows(spark, without.table_path) == [(1, "ann2", 2)]


def test_where_filters_input_and_struct_sequence_breaks_ties(spark, make_writer):
    from pyspark.sql import functions as F

    # sequence_by struct(ts, city): equal ts, the higher city wins; 'skip' rows are filtered out.
    w = make_writer(where="op <> 'skip'", sequence_by=F.struct("ts", "city"))
    m = w.write_batch(
        changes(spark, [(1, "a", "b", 1, "U"), (1, "z", "a", 1, "U"), (1, "ignored", "z", 9, "skip")]), 0
    )
    assert read_rows(spark, w.table_path) == [(1, "a", "b", 1)]
    assert (m.input_rows, m.upserted, m.ignored) == (2, 1, 1)
