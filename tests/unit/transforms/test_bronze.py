"""Bronze: every payload is a row; parsed columns and _rescued_data computed the same way for
files and Kafka."""

from __future__ import annotations

import datetime as dt
import json

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from orders_lakehouse.transforms import bronze

PAYLOADS = [
    json.dumps(
        {
            "event_id": "e-1",
            "event_type": "order_paid",
            "schema_version": 1,
            "coupon": "BF10",
            "customer": {"customer_id": "c-1", "loyalty_tier": "gold"},
            "payment": {"method": "pix", "x": [1]},
        }
    ),
    '{"event_id": "e-2", "schema_version": "1"}',
    '{"event_id": "e-3"',
    "",
]
CONTENT_COLUMNS = [
    "raw_payload",
    "payload_is_valid_utf8",
    "payload_bytes",
    "event_id",
    "schema_version",
    "_rescued_data",
]


def _files(spark: SparkSession, payloads: list[bytes]):
    df = spark.createDataFrame([(p,) for p in payloads], "value binary")
    meta = F.struct(
        F.lit("file:/landing/a.jsonl").alias("file_path"),
        F.lit(dt.datetime(2025, 3, 10, 10, 0)).cast("timestamp").alias("file_modification_time"),
    )
    # The text source yields strings built from the raw bytes (no UTF-8 validation), as a cast does.
    return bronze.from_text_files(
        df.select(F.col("value").cast("string").alias("value"), meta.alias("_metadata"))
    )


def _kafka(spark: SparkSession, payloads: list[bytes]):
    rows = [(p, "orders", 0, i, dt.datetime(2025, 3, 10, 10, 0)) for i, p in enumerate(payloads)]
    return bronze.from_kafka(
        spark.createDataFrame(
            rows, "value binary, topic string, partition int, offset long, timestamp timestamp"
        )
    )


def test_files_and_kafka_give_the_same_bronze_content(spark: SparkSession) -> None:
    payloads = [p.encode() for p in PAYLOADS] + [b'{"event_id":"e-5","customer":{"name":"Jo\xe3o"}}']
    from_files = bronze.to_bronze(_files(spark, payloads)).select(*CONTENT_COLUMNS).collect()
    from_kafka = bronze.to_bronze(_kafka(spark, payloads)).select(*CONTENT_COLUMNS).collect()
    assert [tuple(r) for r in from_files] == [tuple(r) for r in from_kafka]
    assert [tuple(r) for r in from_files] == [
        (
            PAYLOADS[0],
            True,
            len(PAYLOADS[0]),
            "e-1",
            1,
            '{"coupon":"BF10","customer.loyalty_tier":"gold","payment.x":"[1]"}',
        ),
        (PAYLOADS[1], True, len(PAYLOADS[1]), "e-2", None, None),
        (PAYLOADS[2], True, 18, None, None, None),
        ("", True, 0, None, None, None),
        ('{"event_id":"e-5","customer":{"name":"Jo\ufffdo"}}', False, 45, "e-5", None, None),
    ]


def test_ingest_metadata_per_source(spark: SparkSession) -> None:
    files = bronze.to_bronze(_files(spark, [b"{}"])).select(*bronze.METADATA_COLUMNS[:-1]).collect()
    kafka = bronze.to_bronze(_kafka(spark, [b"{}"])).select(*bronze.METADATA_COLUMNS[:-1]).collect()
    assert [tuple(r) for r in files] == [
        ("files", "file:/landing/a.jsonl", dt.datetime(2025, 3, 10, 10, 0), None, None, None, None)
    ]
    assert [tuple(r) for r in kafka] == [
        ("kafka", None, None, "orders", 0, 0, dt.datetime(2025, 3, 10, 10, 0))
    ]


def test_bronze_of_the_fixture_keeps_every_line(bronze_u1) -> None:
    counts = bronze_u1.agg(
        F.count("*"),
        F.count_if(~F.col("payload_is_valid_utf8")),
        F.count_if(F.col("raw_payload") == ""),
        F.count_if(F.col("payload_bytes") > 1_000_000),
        F.count_if(F.col("event_id").isNull()),
    ).first()
    # 15 + 6 valid lines (one duplicate) and the 32 catalog kinds
    assert tuple(counts) == (53, 1, 1, 1, 6)
    rescued = bronze_u1.filter(F.col("_rescued_data").isNotNull() & (F.col("payload_bytes") < 1_000_000))
    assert [tuple(r) for r in rescued.select("event_id", "_rescued_data").collect()] == [
        ("00000000-0000-4000-8000-000000000501", '{"coupon":"BF10","customer.loyalty_tier":"gold"}')
    ]
