"""Auto Loader's rescued data column, built on the open-source readers.

The open-source file source has no ``rescuedDataColumn`` (the option is silently ignored); all it
offers is a corrupt-record column holding the whole line. So:

* **JSON** is read as text lines and parsed with ``from_json`` against the schema. The common row
  (every key known, every value fits) costs the typed parse plus a key listing
  (``json_object_keys``); only rows with an unknown key, a value that did not fit (the corrupt
  column of ``from_json`` is set) or broken JSON are parsed a third time, as
  ``MAP<STRING, VARIANT>``, to build the blob from the original values.
* **CSV** is read with every column as a string; typed columns come from ``try_cast`` (ANSI is on:
  never a bare cast), and a value whose cast fails is rescued as its original text.

The blob is a JSON object of the rescued top-level fields with their original values, plus
``_file_path`` as Databricks adds it; NULL when nothing was rescued. A record that is not a JSON
object at all (broken JSON, a bare scalar or array) becomes a row of NULL fields whose blob holds
the whole record under ``_corrupt_record``.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, DataType, MapType, StringType, StructField, StructType

RAW = "__localdlt_raw"
FILE = "__localdlt_file_path"
PARSED = "__localdlt_parsed"
KEYS = "__localdlt_keys"
INTERNAL_CORRUPT = "__localdlt_corrupt"
FILE_PATH_KEY = "_file_path"
CORRUPT_KEY = "_corrupt_record"


def _is_complex(data_type: DataType) -> bool:
    return isinstance(data_type, StructType | ArrayType | MapType)


def _malformed_blob() -> Column:
    return F.to_json(F.struct(F.col(RAW).alias(CORRUPT_KEY), F.col(FILE).alias(FILE_PATH_KEY)))


def _value_mismatch(field: StructField, values: Column, typed: Column) -> Column:
    """True when the record had a non-null value for ``field`` (in the ``values`` map of original
    values) that the typed parse (``typed``) could not keep."""
    raw_value = values[field.name]
    present = raw_value.isNotNull() & ~F.is_variant_null(raw_value)
    if not _is_complex(field.dataType):
        return present & typed.isNull()
    # A nested value may have fitted partly (Spark keeps partial results): re-parse this one field
    # alone and look at its corrupt column. Only ever evaluated for rows that need rescuing.
    probe_schema = StructType(
        [StructField(field.name, field.dataType, True), StructField(INTERNAL_CORRUPT, StringType())]
    )
    probe = F.from_json(
        F.to_json(F.create_map(F.lit(field.name), raw_value)),
        probe_schema,
        {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": INTERNAL_CORRUPT},
    )
    return present & probe[INTERNAL_CORRUPT].isNotNull()


def json_with_rescue(
    lines: DataFrame,
    schema: StructType,
    *,
    rescued_column: str,
    corrupt_column: str | None,
    json_options: dict[str, str],
    multi_line: bool,
    mode: str,
) -> DataFrame:
    """Parse the text source ``lines`` (column ``value``; one record per line, or one file per row
    when ``multi_line``) into ``schema`` plus ``rescued_column``.

    ``corrupt_column``: the schema's own corrupt-record column (kept, as the JSON reader would fill
    it), if it has one. ``mode``: PERMISSIVE (default), DROPMALFORMED (drop records that are not a
    JSON object; type mismatches are rescued, not dropped, as on Databricks) or FAILFAST (fail on
    such a record).
    """
    fields = [f for f in schema.fields if f.name != rescued_column]
    corrupt = corrupt_column or INTERNAL_CORRUPT
    parse_fields = list(fields)
    if corrupt_column is None:
        parse_fields.append(StructField(INTERNAL_CORRUPT, StringType(), True))
    parse_schema = StructType(parse_fields)
    known = [f.name for f in fields if f.name != corrupt_column]
    known_array = F.array(*[F.lit(name) for name in known]) if known else F.array().cast("array<string>")
    options = {**json_options, "mode": "PERMISSIVE", "columnNameOfCorruptRecord": corrupt}

    if multi_line:
        # A file is one JSON object or an array of them: one record per element, kept as text.
        records = F.explode(F.coalesce(F.from_json(F.col("value"), "array<string>"), F.array(F.col("value"))))
    else:
        records = F.col("value")
    raw = lines.select(records.alias(RAW), F.col("_metadata.file_path").alias(FILE))
    # The JSON reader skips blank lines; so do we.
    raw = raw.where(F.trim(F.col(RAW)) != "")

    parsed = raw.select(
        RAW,
        FILE,
        F.from_json(F.col(RAW), parse_schema, options).alias(PARSED),
        F.expr(f"json_object_keys({RAW})").alias(KEYS),
    )
    if mode == "DROPMALFORMED":
        parsed = parsed.where(F.col(KEYS).isNotNull())
    elif mode == "FAILFAST":
        parsed = parsed.where(
            F.when(
                F.col(KEYS).isNull(),
                F.raise_error(
                    F.concat(
                        F.lit("[MALFORMED_RECORD_IN_PARSING] a record in "),
                        F.col(FILE),
                        F.lit(" is not a JSON object (mode FAILFAST)"),
                    )
                ),
            ).otherwise(F.lit(True))
        )
    typed = {f.name: F.col(PARSED)[f.name] for f in fields}
    needs = (
        F.col(KEYS).isNull()
        | F.col(PARSED)[corrupt].isNotNull()
        | (F.size(F.array_except(F.col(KEYS), known_array)) > 0)
    )
    checked = [f for f in fields if f.name != corrupt_column]

    def blob(values: Column) -> Column:
        # ``values``: the record's original values (MAP<STRING, VARIANT>), parsed once per row
        # and bound as a lambda variable so that every use below shares that one parse.
        mismatches = [F.when(_value_mismatch(f, values, typed[f.name]), F.lit(f.name)) for f in checked]
        bad = F.array_compact(F.array(*mismatches)) if mismatches else F.array().cast("array<string>")

        def keep(bad_keys: Column) -> Column:
            kept = F.map_filter(
                values, lambda k, _v: ~F.array_contains(known_array, k) | F.array_contains(bad_keys, k)
            )
            return F.when(
                F.size(kept) > 0,
                F.to_json(
                    F.map_concat(kept, F.create_map(F.lit(FILE_PATH_KEY), F.col(FILE).cast("variant")))
                ),
            )

        return F.element_at(F.transform(F.array(bad), keep), 1)

    slow = F.element_at(F.transform(F.array(F.from_json(F.col(RAW), "map<string,variant>")), blob), 1)
    rescued = (
        F.when(~needs, F.lit(None).cast("string"))
        .when(F.col(KEYS).isNull(), _malformed_blob())
        # The corrupt column was set but no top-level field can be blamed: keep the whole record.
        .otherwise(F.coalesce(slow, _malformed_blob()))
    )
    # One projection after the parse: the common row pays for field extraction and a cheap test.
    return parsed.select(*[typed[f.name].alias(f.name) for f in fields], rescued.alias(rescued_column))


def csv_with_rescue(
    rows: DataFrame, schema: StructType, *, rescued_column: str, corrupt_column: str | None
) -> DataFrame:
    """Type the all-string CSV source ``rows`` (read with :func:`string_schema` of ``schema``)
    and add ``rescued_column``: values whose cast failed, the whole line when the row has the
    wrong number of columns (as ``_corrupt_record``), and ``_file_path``."""
    fields = [f for f in schema.fields if f.name != rescued_column and f.name != corrupt_column]
    corrupt = corrupt_column or INTERNAL_CORRUPT
    typed: list[Column] = []
    entries: list[Column] = []
    for f in fields:
        text = F.col(f.name)
        if isinstance(f.dataType, StringType):
            typed.append(text.alias(f.name))
            continue
        value = text.try_cast(f.dataType)
        typed.append(value.alias(f.name))
        entries.append(
            F.when(text.isNotNull() & value.isNull(), F.struct(F.lit(f.name).alias("k"), text.alias("v")))
        )
    corrupt_entry = F.when(
        F.col(corrupt).isNotNull(), F.struct(F.lit(CORRUPT_KEY).alias("k"), F.col(corrupt).alias("v"))
    )
    file_entry = F.struct(F.lit(FILE_PATH_KEY).alias("k"), F.col("_metadata.file_path").alias("v"))
    found = F.array_compact(F.array(*entries, corrupt_entry))
    rescued = F.when(F.size(found) > 0, F.to_json(F.map_from_entries(F.concat(found, F.array(file_entry)))))
    # Keep the schema's column order (its own corrupt-record column, if any, as the reader filled it).
    by_name = {f.name: c for f, c in zip(fields, typed, strict=True)}
    ordered = [
        by_name[f.name] if f.name in by_name else F.col(f.name)
        for f in schema.fields
        if f.name != rescued_column
    ]
    return rows.select(*ordered, rescued.alias(rescued_column))


def string_schema(schema: StructType, *, rescued_column: str, corrupt_column: str | None) -> StructType:
    """``schema`` with every column a string (what the CSV reader reads before ``try_cast``),
    without the rescued column, with a corrupt-record column."""
    fields = [
        StructField(f.name, StringType(), True)
        for f in schema.fields
        if f.name not in (rescued_column, corrupt_column)
    ]
    fields.append(StructField(corrupt_column or INTERNAL_CORRUPT, StringType(), True))
    return StructType(fields)
