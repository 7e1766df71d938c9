"""CDC definitions of the ``dlt``/``dp`` modules: ``apply_changes`` / ``create_auto_cdc_flow``
and their snapshot variants (https://docs.databricks.com/gcp/dlt-ref/dlt-python-ref-apply-changes,
https://docs.databricks.com/aws/dlt-ref/dlt-python-ref-apply-changes-from-snapshot).

They only record a flow; the engine (the other modules of :mod:`localdlt.cdc`) applies the changes.
The spec is kept as a plain dict of ``CdcSpec`` fields so registration needs no Spark.
"""

from __future__ import annotations

from typing import Any

from localdlt.api_args import caller_location, check_str
from localdlt.definitions import Flow
from localdlt.errors import InvalidArgumentError
from localdlt.registry import active_registry


def _scd_type(value: Any) -> int:
    if str(value) in ("1", "2"):
        return int(value)
    raise InvalidArgumentError(
        f"argument 'stored_as_scd_type' must be 1 or 2 (int or str), got {value!r}",
        params={"argument": "stored_as_scd_type", "value": value}, location=caller_location(),
    )


def _keys(keys: Any) -> list[str]:
    if isinstance(keys, str) or not keys:
        raise InvalidArgumentError(
            "argument 'keys' must be a non-empty list of column names",
            params={"argument": "keys"}, location=caller_location(),
        )
    return list(keys)


def create_auto_cdc_flow(
    target: str,
    source: str,
    keys: list[str],
    sequence_by: Any,
    where: Any = None,
    ignore_null_updates: bool = False,
    apply_as_deletes: Any = None,
    apply_as_truncates: Any = None,
    column_list: list[str] | None = None,
    except_column_list: list[str] | None = None,
    stored_as_scd_type: int | str = "1",
    track_history_column_list: list[str] | None = None,
    track_history_except_column_list: list[str] | None = None,
    name: str | None = None,
    once: bool = False,
    ignore_null_updates_column_list: list[str] | None = None,
    ignore_null_updates_except_column_list: list[str] | None = None,
    columns_to_update: Any = None,
) -> None:
    """Apply the change rows of ``source`` to streaming table ``target`` (SCD type 1 or 2),
    keyed by ``keys``, the highest ``sequence_by`` winning."""
    check_str(target, "target", optional=False)
    check_str(source, "source", optional=False)
    if columns_to_update is not None:
        raise InvalidArgumentError(
            "argument 'columns_to_update' is not supported by localdlt (partial updates driven by a column)",
            params={"argument": "columns_to_update"}, location=caller_location(),
        )
    if column_list and except_column_list:
        raise InvalidArgumentError(
            "arguments 'column_list' and 'except_column_list' cannot both be given",
            params={"argument": "column_list"}, location=caller_location(),
        )
    if track_history_column_list and track_history_except_column_list:
        raise InvalidArgumentError(
            "arguments 'track_history_column_list' and 'track_history_except_column_list' "
            "cannot both be given",
            params={"argument": "track_history_column_list"}, location=caller_location(),
        )
    scd = _scd_type(stored_as_scd_type)
    if apply_as_truncates is not None and scd != 1:
        raise InvalidArgumentError(
            "argument 'apply_as_truncates' is only supported with stored_as_scd_type=1",
            params={"argument": "apply_as_truncates"}, location=caller_location(),
        )
    flow = name or target
    spec = {
        "target": target, "source": source, "keys": _keys(keys), "sequence_by": sequence_by, "where": where,
        "ignore_null_updates": bool(ignore_null_updates), "apply_as_deletes": apply_as_deletes,
        "apply_as_truncates": apply_as_truncates, "column_list": column_list,
        "except_column_list": except_column_list, "stored_as_scd_type": scd,
        "track_history_column_list": track_history_column_list,
        "track_history_except_column_list": track_history_except_column_list, "flow_name": flow,
        "once": bool(once),
    }
    extra = {k: v for k, v in (("ignore_null_updates_column_list", ignore_null_updates_column_list),
                               ("ignore_null_updates_except_column_list",
                                ignore_null_updates_except_column_list))
             if v is not None}
    spec.update({"extra": extra} if extra else {})
    active_registry().register_flow(
        Flow(name=flow, target=target, query_function=None, location=caller_location(), once=bool(once),
             cdc=spec, cdc_source=source, implicit=False)
    )


def apply_changes(
    target: str,
    source: str,
    keys: list[str],
    sequence_by: Any,
    where: Any = None,
    ignore_null_updates: bool | None = None,
    apply_as_deletes: Any = None,
    apply_as_truncates: Any = None,
    column_list: list[str] | None = None,
    except_column_list: list[str] | None = None,
    stored_as_scd_type: int | str = "1",
    track_history_column_list: list[str] | None = None,
    track_history_except_column_list: list[str] | None = None,
    flow_name: str | None = None,
    once: bool = False,
    ignore_null_updates_column_list: list[str] | None = None,
    ignore_null_updates_except_column_list: list[str] | None = None,
    columns_to_update: Any = None,
) -> None:
    """The older name of :func:`create_auto_cdc_flow` (same engine; the flow is ``flow_name``),
    with the parameters of Databricks' ``databricks-dlt`` package in its order."""
    create_auto_cdc_flow(
        target, source, keys, sequence_by, where=where, ignore_null_updates=bool(ignore_null_updates),
        apply_as_deletes=apply_as_deletes, apply_as_truncates=apply_as_truncates, column_list=column_list,
        except_column_list=except_column_list, stored_as_scd_type=stored_as_scd_type,
        track_history_column_list=track_history_column_list,
        track_history_except_column_list=track_history_except_column_list, name=flow_name, once=once,
        ignore_null_updates_column_list=ignore_null_updates_column_list,
        ignore_null_updates_except_column_list=ignore_null_updates_except_column_list,
        columns_to_update=columns_to_update,
    )


def create_auto_cdc_from_snapshot_flow(
    target: str,
    source: Any,
    keys: list[str],
    stored_as_scd_type: int | str = 1,
    track_history_column_list: list[str] | None = None,
    track_history_except_column_list: list[str] | None = None,
    name: str | None = None,
) -> None:
    """Apply the differences between successive snapshots to ``target``. ``source`` is a
    dataset name, or a function ``(latest_version) -> (DataFrame, version) | None`` called until
    it returns None."""
    check_str(target, "target", optional=False)
    if not (isinstance(source, str) and source) and not callable(source):
        raise InvalidArgumentError(
            "argument 'source' must be a dataset name or a snapshot_and_version function",
            params={"argument": "source"}, location=caller_location(),
        )
    flow = name or target
    spec = {
        "target": target, "source": source, "keys": _keys(keys),
        "stored_as_scd_type": _scd_type(stored_as_scd_type),
        "track_history_column_list": track_history_column_list,
        "track_history_except_column_list": track_history_except_column_list, "flow_name": flow,
    }
    active_registry().register_flow(
        Flow(name=flow, target=target, query_function=None, location=caller_location(), snapshot_cdc=spec,
             cdc_source=source if isinstance(source, str) else None, implicit=False)
    )


def apply_changes_from_snapshot(
    target: str,
    source: Any = None,
    keys: list[str] | None = None,
    stored_as_scd_type: int | str | None = None,
    snapshot_and_version: Any = None,
    track_history_column_list: list[str] | None = None,
    track_history_except_column_list: list[str] | None = None,
) -> None:
    """The older name of :func:`create_auto_cdc_from_snapshot_flow`, with the parameters of
    Databricks' ``databricks-dlt`` package in its order (``stored_as_scd_type`` None means 1)."""
    create_auto_cdc_from_snapshot_flow(
        target, source if source is not None else snapshot_and_version, keys or [],
        stored_as_scd_type=1 if stored_as_scd_type is None else stored_as_scd_type,
        track_history_column_list=track_history_column_list,
        track_history_except_column_list=track_history_except_column_list,
    )
