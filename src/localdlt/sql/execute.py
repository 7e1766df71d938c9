"""Run a pipeline SQL statement's query inside a query function, from what
:func:`localdlt.sql.query.analyse` found in it: each pipeline dataset it reads goes through the
active read resolver (graph edge at planning, Delta read at run time; ``STREAM`` = streaming read),
file functions go to the Auto Loader emulation (streaming) or the batch file reader, ``read_kafka``
to Spark's Kafka source, each under a temporary view whose name replaces the reference in the
text; Spark then analyses the rewritten query.
"""

from __future__ import annotations

import itertools
import uuid

from pyspark.sql import DataFrame, SparkSession

from localdlt.errors import UnknownDatasetError
from localdlt.reads import ReadResolver
from localdlt.sources.kafka import rewrite_kafka_options
from localdlt.sql.errors import SqlStatementError
from localdlt.sql.query import FileRef, QueryAnalysis, TableRef, stream_file_functions
from localdlt.sql.statements import SqlText

# read_files options that are Auto Loader's own (``cloudFiles.<name>`` in Python).
_AUTO_LOADER_OPTIONS = {
    "inferColumnTypes",
    "schemaHints",
    "maxFilesPerTrigger",
    "maxBytesPerTrigger",
    "includeExistingFiles",
    "schemaEvolutionMode",
    "schemaLocation",
    "useNotifications",
    "allowOverwrites",
    "cleanSource",
    "maxFileAge",
    "partitionColumns",
    "useStrictGlobber",
    "useIncrementalListing",
    "backfillInterval",
    "validateOptions",
}
_counter = itertools.count()


def run(
    spark: SparkSession,
    query: SqlText,
    analysis: QueryAnalysis,
    resolver: ReadResolver | None,
    *,
    reader: str,
) -> DataFrame:
    """The DataFrame of ``query`` inside a query function (see the module docstring)."""
    text = stream_file_functions(query.text)
    replacements: list[tuple[int, int, str]] = []
    views: list[str] = []
    try:
        for ref in analysis.tables:
            frame = _read_table(spark, ref, analysis, resolver, query, reader)
            if frame is not None:
                replacements.append(
                    (ref.start, ref.stop, _view(frame, views, None if ref.aliased else ref.parts[-1]))
                )
        for ref in analysis.files:
            frame = _read_files(spark, ref, resolver, query, reader)
            replacements.append(
                (ref.start, ref.stop, _view(frame, views, None if ref.aliased else ref.function))
            )
        for start, stop, replacement in sorted(replacements, reverse=True):
            text = text[:start] + replacement + text[stop + 1 :]
        return spark.sql(text)
    finally:
        # The DataFrame keeps its analysed plan; the names were only needed to analyse it.
        for view in views:
            spark.catalog.dropTempView(view)


def _view(frame: DataFrame, views: list[str], alias: str | None) -> str:
    name = f"__localdlt_sql_{next(_counter)}_{uuid.uuid4().hex[:8]}"
    frame.createOrReplaceTempView(name)
    views.append(name)
    return f"{name} AS `{alias}`" if alias else name


def _read_table(
    spark: SparkSession,
    ref: TableRef,
    analysis: QueryAnalysis,
    resolver: ReadResolver | None,
    query: SqlText,
    reader: str,
) -> DataFrame | None:
    parts = ref.parts
    if len(parts) == 1 and parts[0].lower() in analysis.ctes:
        return None
    explicit = len(parts) == 2 and parts[0].lower() == "live"
    name = parts[-1] if explicit else ref.name
    if resolver is None:
        return None
    try:
        return resolver.read_dataset(name, streaming=ref.streaming, explicit=explicit)
    except UnknownDatasetError as exc:
        # Same error, pointing at the reference inside the SQL file.
        raise UnknownDatasetError(
            exc.detail,
            params={**exc.params, "reader": reader},
            location=query.location_at(ref.line, ref.column),
        ) from None


def _read_files(
    spark: SparkSession, ref: FileRef, resolver: ReadResolver | None, query: SqlText, reader: str
) -> DataFrame:
    options = dict(ref.options)
    if ref.function == "read_kafka":
        return _read_kafka(spark, options, ref.streaming)
    fmt = options.pop("format", None)
    schema = options.pop("schema", None)
    if ref.streaming:
        if resolver is None:
            raise SqlStatementError(
                f"{ref.function} streams only inside a pipeline query",
                params={"flow": reader},
                location=query.location,
            )
        cloud = {"cloudFiles.format": fmt} if fmt else {}
        if ref.function == "read_files":
            # read_files infers column types by default (Auto Loader's own default is strings).
            cloud["cloudFiles.inferColumnTypes"] = "true"
        for key, value in options.items():
            bare = key[len("cloudFiles.") :] if key.lower().startswith("cloudfiles.") else key
            cloud[f"cloudFiles.{bare}" if bare in _AUTO_LOADER_OPTIONS else key] = value
        if not fmt:
            raise SqlStatementError(
                f"{ref.function}: give format => '...' (json, csv, parquet, text)",
                params={"flow": reader, "argument": "format"},
                location=query.location,
            )
        return resolver.cloud_files(ref.path, cloud, schema)
    batch = spark.read
    if fmt:
        batch = batch.format(fmt)
    if schema:
        batch = batch.schema(schema)
    elif (fmt or "").lower() in ("csv", "json"):
        options.setdefault("inferSchema", "true")
    clean = {k: v for k, v in options.items() if k not in ("inferColumnTypes", "schemaHints")}
    return batch.options(**clean).load(ref.path)


def _read_kafka(spark: SparkSession, options: dict[str, str], streaming: bool) -> DataFrame:
    """``read_kafka``: Spark's Kafka source with Databricks' option names (``bootstrapServers`` is
    ``kafka.bootstrap.servers``; the others, ``kafka.*`` included, are Spark's own), the shaded
    JAAS class unshaded as for Python reads."""
    renamed = {("kafka.bootstrap.servers" if k == "bootstrapServers" else k): v for k, v in options.items()}
    reader = spark.readStream if streaming else spark.read
    return reader.format("kafka").options(**rewrite_kafka_options(renamed)).load()
