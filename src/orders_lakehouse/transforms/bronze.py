"""Bronze: every message as received, whatever it is.

Both transports end in the same function, :func:`to_bronze`, which takes one raw payload per
row (text lines from files, the Kafka ``value`` bytes) and computes the best-effort parsed
columns and ``_rescued_data`` from the payload itself — so files and Kafka behave identically
(the local file source has no rescued-data column, and Kafka never had one).

Nothing is ever dropped: a blank line, malformed JSON or a non-UTF-8 message is still one row.
Invalid UTF-8 sequences are replaced by U+FFFD in ``raw_payload`` and flagged by
``payload_is_valid_utf8``.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from orders_lakehouse.contract.spark_schema import object_fields, order_event_schema, top_level_fields

SOURCE_FILES = "files"
SOURCE_KAFKA = "kafka"
SOURCE_EVENTHUBS = "eventhubs"

# Ingest metadata columns, the same set for every source (NULL where it does not apply).
METADATA_COLUMNS = (
    "_source_kind",
    "_source_file",
    "_source_file_modified_at",
    "_kafka_topic",
    "_kafka_partition",
    "_kafka_offset",
    "_kafka_timestamp",
    "_ingested_at",
)


def from_text_files(df: DataFrame) -> DataFrame:
    """Adapt a ``text`` file read (``value`` + the ``_metadata`` column) to the raw-payload shape.

    Example (in the pipeline)::

        to_bronze(from_text_files(spark.readStream.format("cloudFiles")
                  .option("cloudFiles.format", "text").load(path).select("*", "_metadata")))
    """
    return df.select(
        F.col("value").alias("_payload"),
        F.lit(SOURCE_FILES).alias("_source_kind"),
        F.col("_metadata.file_path").alias("_source_file"),
        F.col("_metadata.file_modification_time").alias("_source_file_modified_at"),
        F.lit(None).cast("string").alias("_kafka_topic"),
        F.lit(None).cast("int").alias("_kafka_partition"),
        F.lit(None).cast("bigint").alias("_kafka_offset"),
        F.lit(None).cast("timestamp").alias("_kafka_timestamp"),
    )


def from_kafka(df: DataFrame, source_kind: str = SOURCE_KAFKA) -> DataFrame:
    """Adapt a Kafka / Event Hubs read (``value`` bytes, topic, partition, offset, timestamp)."""
    return df.select(
        # Binary -> string without validation; to_bronze validates and repairs UTF-8.
        F.col("value").cast("string").alias("_payload"),
        F.lit(source_kind).alias("_source_kind"),
        F.lit(None).cast("string").alias("_source_file"),
        F.lit(None).cast("timestamp").alias("_source_file_modified_at"),
        F.col("topic").alias("_kafka_topic"),
        F.col("partition").alias("_kafka_partition"),
        F.col("offset").alias("_kafka_offset"),
        F.col("timestamp").alias("_kafka_timestamp"),
    )


def _prefixer(prefix: str):
    def prefixed(key: Column, _value: Column) -> Column:
        return F.concat(F.lit(f"{prefix}."), key)

    return prefixed


def rescued_data(as_map: Column) -> Column:
    """JSON object of the payload's fields unknown to the contract, or NULL when there are none.

    ``as_map`` is the payload parsed as ``map<string,string>`` (values as JSON text). Top-level
    unknown keys keep their name; unknown keys inside a contract object are named
    ``<object>.<key>`` (e.g. ``customer.loyalty_tier``).
    """
    empty = F.create_map().cast("map<string,string>")
    known = F.array(*[F.lit(name) for name in top_level_fields()])
    parts = [F.map_filter(as_map, lambda k, _v: ~F.array_contains(known, k))]
    for obj, fields in object_fields().items():
        nested = F.from_json(as_map[obj], "map<string,string>")
        known_nested = F.array(*[F.lit(name) for name in fields])
        extra = F.map_filter(nested, lambda k, _v: ~F.array_contains(known_nested, k))
        parts.append(F.transform_keys(extra, _prefixer(obj)))
    merged = F.map_concat(*[F.coalesce(p, empty) for p in parts])
    return F.when(F.size(merged) > 0, F.to_json(merged))


def to_bronze(raw: DataFrame) -> DataFrame:
    """Bronze rows from raw payloads (the output of :func:`from_text_files` / :func:`from_kafka`).

    Columns: ``raw_payload``, ``payload_is_valid_utf8``, ``payload_bytes``, the contract's
    top-level fields parsed best-effort (NULL where absent or of the wrong JSON type),
    ``_rescued_data`` and the ingest metadata (``_ingested_at`` = processing time).
    """
    # Parse each payload once: the JSON functions are not cheap, so each lives in its own
    # projection (Spark does not collapse projections that would duplicate them).
    text = raw.select("*", F.make_valid_utf8("_payload").alias("_text"))
    parsed = text.select(
        "*",
        F.from_json("_text", order_event_schema()).alias("_parsed"),
        F.from_json("_text", "map<string,string>").alias("_map"),
    )
    return parsed.select(
        F.col("_text").alias("raw_payload"),
        F.is_valid_utf8("_payload").alias("payload_is_valid_utf8"),
        F.octet_length("_payload").alias("payload_bytes"),
        *[F.col("_parsed")[name].alias(name) for name in top_level_fields()],
        rescued_data(F.col("_map")).alias("_rescued_data"),
        *[F.col(c) for c in METADATA_COLUMNS if c != "_ingested_at"],
        F.current_timestamp().alias("_ingested_at"),
    )
