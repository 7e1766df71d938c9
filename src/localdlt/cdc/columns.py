"""Resolve a CDC flow's column arguments against the source schema: which columns the target
keeps, the key and sequence columns, the SCD2 tracked columns, and the target schema.

Every name is checked here, once, so that the writer can trust it; an unknown column is a
:class:`CdcSchemaError` that names the argument and the column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import DataType, StructField, StructType

from localdlt.cdc.spec import CdcSchemaError, CdcSpecError, ColumnLike

START_AT = "__START_AT"
END_AT = "__END_AT"
RESERVED = (START_AT, END_AT)


@dataclass(frozen=True)
class ResolvedColumns:
    """The flow's columns, by their names in the source schema."""

    keys: tuple[str, ...]
    columns: tuple[str, ...]
    tracked: tuple[str, ...]
    ignore_null: tuple[str, ...]
    sequence_type: DataType
    source_schema: StructType
    scd_type: int

    @property
    def values(self) -> tuple[str, ...]:
        """The non-key target columns."""
        return tuple(c for c in self.columns if c not in self.keys)

    def target_schema(self) -> StructType:
        """The target table's schema: the selected columns (SCD2: plus ``__START_AT`` and
        ``__END_AT``, typed like ``sequence_by``)."""
        by_name = {f.name: f for f in self.source_schema.fields}
        out = [StructField(c, by_name[c].dataType, True) for c in self.columns]
        if self.scd_type == 2:
            out += [
                StructField(START_AT, self.sequence_type, True),
                StructField(END_AT, self.sequence_type, True),
            ]
        return StructType(out)


def empty_frame(spark: SparkSession, schema: StructType) -> DataFrame:
    """An empty DataFrame of ``schema``: resolves expressions against it without touching data."""
    return spark.createDataFrame([], schema)


def _lookup(schema: StructType, name: str) -> str | None:
    # Spark resolves names case-insensitively by default; keep the schema's spelling.
    for field in schema.fields:
        if field.name.lower() == name.lower():
            return field.name
    return None


def column_name(frame: DataFrame, value: ColumnLike, argument: str) -> str:
    """The top-level source column that ``value`` (a name or ``col(name)``) designates."""
    schema = frame.schema
    if isinstance(value, str):
        found = _lookup(schema, value)
        if found is None:
            raise CdcSchemaError(argument, [value], schema.fieldNames())
        return found
    try:
        name = frame.select(value).columns[0]
    except AnalysisException as exc:
        raise CdcSchemaError(argument, [_expr_text(value)], schema.fieldNames()) from exc
    found = _lookup(schema, name)
    if found is None:
        raise CdcSpecError(
            argument, f"must name a top-level column without qualifier, got {_expr_text(value)}"
        )
    return found


def _expr_text(value: ColumnLike) -> str:
    if isinstance(value, str):
        return value
    try:
        return str(value._jc.toString())  # classic Column: the expression's SQL-ish text
    except AttributeError:
        return str(value)


def as_column(value: ColumnLike) -> Column:
    """A SQL expression string or a Column, as a Column."""
    return F.expr(value) if isinstance(value, str) else value


def check_expression(frame: DataFrame, value: ColumnLike | None, argument: str) -> None:
    """Fail with a :class:`CdcSchemaError` naming ``argument`` when ``value`` does not resolve."""
    if value is None:
        return
    try:
        frame.select(as_column(value).alias("__probe")).schema
    except AnalysisException as exc:
        raise CdcSchemaError(argument, [_expr_text(value)], frame.schema.fieldNames()) from exc


def sequence_column(value: ColumnLike) -> Column:
    """``sequence_by`` as a Column: a string is a column name (as on Databricks)."""
    return F.col(value) if isinstance(value, str) else value


def sequence_type(frame: DataFrame, value: ColumnLike) -> DataType:
    """The type of ``sequence_by`` over ``frame``'s schema (a struct for ``struct(...)``)."""
    if isinstance(value, str) and _lookup(frame.schema, value) is None:
        raise CdcSchemaError("sequence_by", [value], frame.schema.fieldNames())
    try:
        return frame.select(sequence_column(value).alias("__seq")).schema["__seq"].dataType
    except AnalysisException as exc:
        raise CdcSchemaError("sequence_by", [_expr_text(value)], frame.schema.fieldNames()) from exc


def _names(frame: DataFrame, values: Sequence[ColumnLike] | None, argument: str) -> tuple[str, ...] | None:
    if values is None:
        return None
    missing = [v for v in values if isinstance(v, str) and _lookup(frame.schema, v) is None]
    if missing:
        raise CdcSchemaError(argument, missing, frame.schema.fieldNames())
    return tuple(column_name(frame, v, argument) for v in values)


def select_columns(
    frame: DataFrame,
    keys: tuple[str, ...],
    column_list: Sequence[ColumnLike] | None,
    except_column_list: Sequence[ColumnLike] | None,
) -> tuple[str, ...]:
    """The target's columns: ``column_list`` (its order), or every source column but
    ``except_column_list`` (source order); the keys must be among them."""
    included = _names(frame, column_list, "column_list")
    excluded = _names(frame, except_column_list, "except_column_list")
    if included is not None:
        columns = tuple(dict.fromkeys(included))
    else:
        columns = tuple(c for c in frame.schema.fieldNames() if c not in set(excluded or ()))
    missing_keys = [k for k in keys if k not in columns]
    if missing_keys:
        argument = "column_list" if included is not None else "except_column_list"
        raise CdcSpecError(argument, f"must keep the key column(s) {', '.join(missing_keys)} in the target")
    return columns


def value_subset(
    frame: DataFrame,
    values: tuple[str, ...],
    include: Sequence[ColumnLike] | None,
    exclude: Sequence[ColumnLike] | None,
    include_argument: str,
    exclude_argument: str,
) -> tuple[str, ...]:
    """The non-key target columns selected by an include or an exclude list (default: all)."""
    if include is not None:
        chosen = _names(frame, include, include_argument) or ()
        outside = [c for c in chosen if c not in values]
        if outside:
            raise CdcSpecError(
                include_argument, f"names column(s) {', '.join(outside)} that are not non-key target columns"
            )
        return tuple(c for c in values if c in set(chosen))
    if exclude is not None:
        dropped = set(_names(frame, exclude, exclude_argument) or ())
        return tuple(c for c in values if c not in dropped)
    return values


def resolve_columns(
    spark: SparkSession,
    source_schema: StructType,
    *,
    keys: Sequence[ColumnLike],
    sequence_by: ColumnLike | None,
    scd_type: int,
    column_list: Sequence[ColumnLike] | None = None,
    except_column_list: Sequence[ColumnLike] | None = None,
    track_history_column_list: Sequence[ColumnLike] | None = None,
    track_history_except_column_list: Sequence[ColumnLike] | None = None,
    ignore_null_updates: bool = False,
    ignore_null_updates_column_list: Sequence[ColumnLike] | None = None,
    ignore_null_updates_except_column_list: Sequence[ColumnLike] | None = None,
    expressions: Sequence[tuple[str, ColumnLike | None]] = (),
    sequence_fallback: DataType | None = None,
) -> ResolvedColumns:
    """Check every column argument against ``source_schema`` and resolve it to column names."""
    frame = empty_frame(spark, source_schema)
    clashes = [c for c in source_schema.fieldNames() if c.upper() in RESERVED]
    if clashes and scd_type == 2:
        raise CdcSpecError("source", f"has column(s) {', '.join(clashes)}, reserved for SCD type 2 history")
    key_names = tuple(column_name(frame, k, "keys") for k in keys)
    seq_type = sequence_type(frame, sequence_by) if sequence_by is not None else sequence_fallback
    assert seq_type is not None, "a sequence type is needed"
    for argument, expression in expressions:
        check_expression(frame, expression, argument)
    columns = select_columns(frame, key_names, column_list, except_column_list)
    values = tuple(c for c in columns if c not in key_names)
    tracked = value_subset(
        frame,
        values,
        track_history_column_list,
        track_history_except_column_list,
        "track_history_column_list",
        "track_history_except_column_list",
    )
    if ignore_null_updates_column_list is not None or ignore_null_updates_except_column_list is not None:
        ignore_null = value_subset(
            frame,
            values,
            ignore_null_updates_column_list,
            ignore_null_updates_except_column_list,
            "ignore_null_updates_column_list",
            "ignore_null_updates_except_column_list",
        )
    else:
        ignore_null = values if ignore_null_updates else ()
    return ResolvedColumns(key_names, columns, tracked, ignore_null, seq_type, source_schema, scd_type)
