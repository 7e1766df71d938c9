"""The schema of an emulated Auto Loader read: given, or inferred once and kept, plus hints.

As on Databricks: inference samples the oldest files (at most 1000 files / 50 GB);
``cloudFiles.inferColumnTypes=false`` (the default) types JSON and CSV columns as strings (JSON
keeps its nesting, with string leaves); ``cloudFiles.schemaHints`` override inferred types or add
columns. The inferred schema is stored in the flow's state folder so that a restart sees the same
schema (new columns in later files land in the rescued data column, never lost).
"""

from __future__ import annotations

import logging
import re

from pyspark.errors import AnalysisException, ParseException
from pyspark.sql import SparkSession
from pyspark.sql.types import DataType, StringType, StructField, StructType

from localdlt.sources.cloud_files_options import CloudFilesOptions
from localdlt.sources.errors import CloudFilesSchemaError
from localdlt.sources.file_state import FileEntry, FlowFileState

log = logging.getLogger(__name__)

SAMPLE_MAX_FILES = 1000
SAMPLE_MAX_BYTES = 50 * 1024**3
TEXT_SCHEMA = StructType([StructField("value", StringType(), True)])
_INFERRED_SCHEMA_FILE = "inferred_schema.json"


def parse_ddl(ddl: str, what: str) -> StructType:
    """``"a INT, b STRING"`` as a StructType; ``what`` names the argument in the error."""
    try:
        parsed = DataType.fromDDL(ddl)
    except (ParseException, AnalysisException, ValueError) as error:
        raise CloudFilesSchemaError(
            f"{what} is not a valid DDL schema: {ddl!r}", params={"argument": what}
        ) from error
    if not isinstance(parsed, StructType):
        parsed = StructType([StructField("value", parsed, True)])
    return parsed


def corrupt_column_name(spark: SparkSession, options: CloudFilesOptions) -> str:
    """The corrupt-record column name the reader would use (option, else the session's default)."""
    return options.reader_option("columnNameOfCorruptRecord") or str(
        spark.conf.get("spark.sql.columnNameOfCorruptRecord", "_corrupt_record")
    )


def _escape_glob(path: str) -> str:
    # Spark treats load() paths as Hadoop globs; a file literally named "a[1].json" must not be one.
    return re.sub(r"([\\*?\[\]{}])", r"\\\1", path)


def _sample(listing: list[FileEntry]) -> list[str]:
    chosen: list[str] = []
    total = 0
    for entry in listing[:SAMPLE_MAX_FILES]:
        if chosen and total + entry.size > SAMPLE_MAX_BYTES:
            break
        chosen.append(_escape_glob(entry.path))
        total += entry.size
    return chosen


def infer_schema(
    spark: SparkSession, options: CloudFilesOptions, root: str, listing: list[FileEntry] | None
) -> StructType:
    """Infer the schema with the batch reader over a sample of ``listing`` (or ``root`` itself
    when it is not local and cannot be listed here)."""
    if listing is not None and not listing:
        raise CloudFilesSchemaError(
            f"no schema was given and there are no files under '{root}' to infer one from: "
            "pass a schema (.schema(...)) or land at least one file before the first run",
            params={"path": root},
        )
    reader = spark.read.format(options.format).options(**options.reader_options)
    if options.format == "json":
        reader = reader.option("primitivesAsString", str(not options.infer_column_types).lower())
    elif options.format == "csv":
        reader = reader.option("inferSchema", str(options.infer_column_types).lower())
    elif options.format == "parquet":
        reader = reader.option("mergeSchema", "true")
    targets = _sample(listing) if listing is not None else [root]
    # Keys differing only in case ("amount" / "Amount") make a case-insensitive analysis fail;
    # infer case-sensitively and keep the first spelling (the others are rescued, as on
    # Databricks). Inference runs while flows are being defined, before any query starts.
    previous = spark.conf.get("spark.sql.caseSensitive", "false")
    spark.conf.set("spark.sql.caseSensitive", "true")
    try:
        schema = reader.load(targets).schema
    except AnalysisException as error:
        raise CloudFilesSchemaError(
            f"could not infer a schema from the files under '{root}': {error.getMessage()}",
            params={"path": root},
        ) from error
    finally:
        spark.conf.set("spark.sql.caseSensitive", previous)
    unique: dict[str, StructField] = {}
    for candidate in schema.fields:
        unique.setdefault(candidate.name.lower(), candidate)
    schema = StructType(list(unique.values()))
    # The JSON reader adds a corrupt-record column when the sample has malformed lines; Auto
    # Loader does not (malformed records go to the rescued data column).
    corrupt = corrupt_column_name(spark, options)
    schema = StructType([f for f in schema.fields if f.name != corrupt])
    if not schema.fields:
        raise CloudFilesSchemaError(
            f"the files under '{root}' yield no columns to infer a schema from", params={"path": root}
        )
    log.info("inferred a %d-column schema from %d file(s)", len(schema.fields), len(targets))
    return schema


def apply_hints(schema: StructType, hints: str) -> StructType:
    """Override the types of the hinted columns (matched by name, then case-insensitively) and
    append hinted columns the schema lacks. Only top-level columns can be hinted locally."""
    hinted = parse_ddl(hints, "cloudFiles.schemaHints")
    fields = list(schema.fields)
    for hint in hinted.fields:
        index = next((i for i, f in enumerate(fields) if f.name == hint.name), None)
        if index is None:
            index = next((i for i, f in enumerate(fields) if f.name.lower() == hint.name.lower()), None)
        if index is None:
            fields.append(StructField(hint.name, hint.dataType, True))
        else:
            fields[index] = StructField(fields[index].name, hint.dataType, True, fields[index].metadata)
    return StructType(fields)


def resolve_schema(
    spark: SparkSession,
    options: CloudFilesOptions,
    given: StructType | str | None,
    *,
    root: str,
    listing: list[FileEntry] | None,
    state: FlowFileState,
) -> tuple[StructType, bool]:
    """The read schema and whether it was inferred (which, as on Databricks, adds the rescued
    data column)."""
    if options.format == "text":
        if given is not None:
            log.info("the text format has a fixed schema (value STRING); the given schema is ignored")
        return TEXT_SCHEMA, False
    if given is not None:
        schema = parse_ddl(given, "schema") if isinstance(given, str) else given
        if options.schema_hints:
            log.info("cloudFiles.schemaHints apply only to an inferred schema; a schema was given")
        return schema, False
    stored = state.load(_INFERRED_SCHEMA_FILE)
    if stored is not None:
        schema = StructType.fromJson(stored)
    else:
        schema = infer_schema(spark, options, root, listing)
        state.save(_INFERRED_SCHEMA_FILE, schema.jsonValue())
    if options.schema_hints:
        schema = apply_hints(schema, options.schema_hints)
    return schema, True
