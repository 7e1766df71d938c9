"""What a CDC flow is: the frozen arguments of ``create_auto_cdc_flow`` / ``apply_changes`` and of
their snapshot variants, validated when built (no Spark needed), and the errors of the engine.

Argument names and meaning follow Databricks' Python reference
(https://docs.databricks.com/aws/en/ldp/developer/ldp-python-ref-apply-changes).

Example::

    spec = CdcSpec(target="silver_orders", source="orders_changes", keys=("order_id",),
                   sequence_by="event_time", apply_as_deletes="op = 'DELETE'",
                   except_column_list=["op"])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from pyspark.sql import Column

SEQUENCE_NAME = "__seq"

TOMBSTONE_GC_THRESHOLD_CONF = "pipelines.cdc.tombstoneGCThresholdInSeconds"
# The older spelling of the same knob, still seen in pipeline configurations.
TOMBSTONE_GC_THRESHOLD_LEGACY_CONF = "pipelines.applyChanges.tombstoneGCThresholdInSeconds"
# Databricks' documented default: two days ("the highest expected interval between out-of-order data").
DEFAULT_TOMBSTONE_GC_THRESHOLD_SECONDS = 172800


class CdcError(Exception):
    """Base class of every error raised by the CDC engine."""


class CdcSpecError(CdcError, ValueError):
    """An argument of a CDC flow is invalid; the message names the argument."""

    def __init__(self, argument: str, message: str) -> None:
        super().__init__(f"argument '{argument}': {message}")
        self.argument = argument


class CdcSchemaError(CdcError, ValueError):
    """A column named by the flow (key, sequence, column list...) does not exist in the source."""

    def __init__(self, argument: str, columns: Sequence[str], available: Sequence[str]) -> None:
        names = ", ".join(f"'{c}'" for c in columns)
        super().__init__(
            f"argument '{argument}' names column(s) {names} not found in the source; "
            f"available columns: {', '.join(available)}"
        )
        self.argument = argument
        self.columns = tuple(columns)


class CdcValidationError(CdcError):
    """A micro-batch breaks a rule of the flow (Databricks: AUTOCDC_MICROBATCH_VALIDATION)."""

    error_class = "AUTOCDC_MICROBATCH_VALIDATION"

    def __init__(self, flow: str, reason: str, detail: str) -> None:
        super().__init__(f"[{self.error_class}.{reason}] Flow '{flow}': {detail}")
        self.flow = flow
        self.reason = reason


class CdcNullKeyError(CdcValidationError):
    """A change row has a NULL in one of the key columns."""

    def __init__(self, flow: str, keys: Sequence[str], rows: int) -> None:
        super().__init__(
            flow,
            "NULL_KEY",
            f"{rows} change row(s) have a NULL key column ({', '.join(keys)}); keys must not be NULL",
        )


class CdcNullSequenceError(CdcValidationError):
    """A change row has a NULL ``sequence_by`` value."""

    def __init__(self, flow: str, rows: int) -> None:
        super().__init__(
            flow,
            "NULL_SEQUENCE",
            f"{rows} change row(s) have a NULL sequence_by value; NULL sequences are unsupported",
        )


ColumnLike = str | Column

# Databricks keyword arguments that this engine does not implement; they are rejected by name.
_UNSUPPORTED = ("columns_to_update", "system_sequence_by")


def _scd_type(value: Any, argument: str = "stored_as_scd_type") -> int:
    # bool is an int: True must not silently mean SCD type 1.
    if isinstance(value, bool) or str(value).strip() not in ("1", "2"):
        raise CdcSpecError(argument, f"must be 1 or 2 (int or str), got {value!r}")
    return int(str(value).strip())


def _name_list(value: Any, argument: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise CdcSpecError(argument, f"must be a list of column names, got {value!r}")
    for item in value:
        if not isinstance(item, (str, Column)):
            raise CdcSpecError(argument, f"must hold column names or col(...) columns, got {item!r}")
    return tuple(value)


def _keys(value: Any) -> tuple[ColumnLike, ...]:
    keys = _name_list(value, "keys")
    if not keys:
        raise CdcSpecError("keys", "must be a non-empty list of column names or col(...) columns")
    return keys


def _check_expr(value: Any, argument: str, *, optional: bool = True) -> None:
    if value is None and optional:
        return
    if not isinstance(value, (str, Column)) or (isinstance(value, str) and not value.strip()):
        raise CdcSpecError(argument, f"must be a SQL expression string or a Column, got {value!r}")


def _check_name(value: Any, argument: str, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str) or not value.strip():
        raise CdcSpecError(argument, f"must be a non-empty string, got {value!r}")


def _check_history_lists(scd: int, include: Any, exclude: Any) -> None:
    if include is not None and exclude is not None:
        raise CdcSpecError(
            "track_history_column_list", "cannot be given together with 'track_history_except_column_list'"
        )
    if scd != 2:
        for argument, value in (
            ("track_history_column_list", include),
            ("track_history_except_column_list", exclude),
        ):
            if value is not None:
                raise CdcSpecError(argument, "is only supported with stored_as_scd_type=2")


@dataclass(frozen=True, eq=False)
class CdcSpec:
    """The arguments of one ``create_auto_cdc_flow`` (= ``apply_changes``) call, validated.

    ``keys`` and the list arguments become tuples; ``stored_as_scd_type`` becomes the int 1 or 2.
    ``ignore_null_updates_column_list`` / ``ignore_null_updates_except_column_list`` narrow
    ``ignore_null_updates`` to some columns (Databricks' newer arguments).
    """

    target: str
    source: str
    keys: tuple[ColumnLike, ...]
    sequence_by: ColumnLike
    where: ColumnLike | None = None
    ignore_null_updates: bool = False
    apply_as_deletes: ColumnLike | None = None
    apply_as_truncates: ColumnLike | None = None
    column_list: Sequence[ColumnLike] | None = None
    except_column_list: Sequence[ColumnLike] | None = None
    stored_as_scd_type: int | str = 1
    track_history_column_list: Sequence[ColumnLike] | None = None
    track_history_except_column_list: Sequence[ColumnLike] | None = None
    flow_name: str | None = None
    once: bool = False
    ignore_null_updates_column_list: Sequence[ColumnLike] | None = None
    ignore_null_updates_except_column_list: Sequence[ColumnLike] | None = None

    def __post_init__(self) -> None:
        _check_name(self.target, "target")
        _check_name(self.source, "source")
        _check_name(self.flow_name, "flow_name", optional=True)
        object.__setattr__(self, "keys", _keys(self.keys))
        if not isinstance(self.sequence_by, (str, Column)) or (
            isinstance(self.sequence_by, str) and not self.sequence_by.strip()
        ):
            raise CdcSpecError(
                "sequence_by",
                f"must be a column name, an expression or struct(...), got {self.sequence_by!r}",
            )
        for argument in ("where", "apply_as_deletes", "apply_as_truncates"):
            _check_expr(getattr(self, argument), argument)
        for argument in ("ignore_null_updates", "once"):
            if not isinstance(getattr(self, argument), bool):
                raise CdcSpecError(argument, f"must be True or False, got {getattr(self, argument)!r}")
        for argument in (
            "column_list",
            "except_column_list",
            "track_history_column_list",
            "track_history_except_column_list",
            "ignore_null_updates_column_list",
            "ignore_null_updates_except_column_list",
        ):
            object.__setattr__(self, argument, _name_list(getattr(self, argument), argument))
        if self.column_list is not None and self.except_column_list is not None:
            raise CdcSpecError("column_list", "cannot be given together with 'except_column_list'")
        if (
            self.ignore_null_updates_column_list is not None
            and self.ignore_null_updates_except_column_list is not None
        ):
            raise CdcSpecError(
                "ignore_null_updates_column_list",
                "cannot be given together with 'ignore_null_updates_except_column_list'",
            )
        scd = _scd_type(self.stored_as_scd_type)
        object.__setattr__(self, "stored_as_scd_type", scd)
        if self.apply_as_truncates is not None and scd != 1:
            raise CdcSpecError("apply_as_truncates", "is only supported with stored_as_scd_type=1")
        _check_history_lists(scd, self.track_history_column_list, self.track_history_except_column_list)

    @property
    def scd_type(self) -> int:
        """1 or 2."""
        return int(self.stored_as_scd_type)

    @property
    def name(self) -> str:
        """The flow's name: ``flow_name``, else the target's name (as on Databricks)."""
        return self.flow_name or self.target

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> CdcSpec:
        """Build a spec from the keyword arguments of Databricks' ``create_auto_cdc_flow`` /
        ``apply_changes`` (``name`` is accepted for ``flow_name``; a nested ``extra`` dict is
        flattened; arguments this engine does not implement are rejected by name).

        Example::

            CdcSpec.from_kwargs(target="t", source="s", keys=["id"], sequence_by="ts",
                                stored_as_scd_type="2", name="t_flow")
        """
        args = dict(kwargs)
        extra = args.pop("extra", None) or {}
        args.update(extra)
        name = args.pop("name", None)
        if name is not None:
            if args.get("flow_name") not in (None, name):
                raise CdcSpecError("name", "and 'flow_name' disagree; give one of them")
            args["flow_name"] = name
        for argument in _UNSUPPORTED:
            if args.pop(argument, None) is not None:
                raise CdcSpecError(argument, "is not supported by localdlt")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(args) - known)
        if unknown:
            raise CdcSpecError(unknown[0], "is not an argument of create_auto_cdc_flow")
        return cls(**args)


@dataclass(frozen=True, eq=False)
class SnapshotCdcSpec:
    """The arguments of one ``create_auto_cdc_from_snapshot_flow`` (= ``apply_changes_from_snapshot``).

    ``source`` is the snapshot table's name, or None when a ``snapshot_and_version`` function
    provides the snapshots (see :func:`localdlt.cdc.iterate_snapshots`).
    """

    target: str
    source: str | None
    keys: tuple[ColumnLike, ...]
    stored_as_scd_type: int | str = 1
    track_history_column_list: Sequence[ColumnLike] | None = None
    track_history_except_column_list: Sequence[ColumnLike] | None = None
    flow_name: str | None = None

    def __post_init__(self) -> None:
        _check_name(self.target, "target")
        _check_name(self.source, "source", optional=True)
        _check_name(self.flow_name, "flow_name", optional=True)
        object.__setattr__(self, "keys", _keys(self.keys))
        for argument in ("track_history_column_list", "track_history_except_column_list"):
            object.__setattr__(self, argument, _name_list(getattr(self, argument), argument))
        scd = _scd_type(self.stored_as_scd_type)
        object.__setattr__(self, "stored_as_scd_type", scd)
        _check_history_lists(scd, self.track_history_column_list, self.track_history_except_column_list)

    @property
    def scd_type(self) -> int:
        """1 or 2."""
        return int(self.stored_as_scd_type)

    @property
    def name(self) -> str:
        """The flow's name: ``flow_name``, else the target's name."""
        return self.flow_name or self.target

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> SnapshotCdcSpec:
        """Build from Databricks' ``create_auto_cdc_from_snapshot_flow`` keyword arguments; a
        callable ``source`` (or ``snapshot_and_version``) leaves ``source`` None."""
        args = dict(kwargs)
        name = args.pop("name", None)
        if name is not None:
            args["flow_name"] = name
        source = args.pop("source", None)
        args.pop("snapshot_and_version", None)
        args["source"] = source if isinstance(source, str) else None
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(args) - known)
        if unknown:
            raise CdcSpecError(unknown[0], "is not an argument of create_auto_cdc_from_snapshot_flow")
        return cls(**args)


def as_mapping(spec: CdcSpec | SnapshotCdcSpec) -> Mapping[str, Any]:
    """The spec's fields as a dict (handy for logs and event-log details)."""
    return {f.name: getattr(spec, f.name) for f in fields(spec)}
