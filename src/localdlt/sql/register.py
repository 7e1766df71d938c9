"""Turn the statements of a pipeline SQL file into the same frozen definitions the Python
decorators build, through the same public functions (:mod:`localdlt.api`, :mod:`localdlt.cdc.api`):
expectations, flows, CDC and the graph behave exactly as for Python files.

Example (what the loader does for every ``.sql`` file, inside a registration context)::

    from localdlt.sql.register import register_sql_file
    register_sql_file(Path("transformations/bronze.sql"), spark_proxy)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from localdlt import api
from localdlt.cdc import api as cdc_api
from localdlt.reads import active_resolver, strip_live
from localdlt.sql.errors import SqlLocation, SqlStatementError
from localdlt.sql.parse import parse_sql
from localdlt.sql.execute import run
from localdlt.sql.query import analyse
from localdlt.sql.statements import (
    CdcClauses,
    CdcStatement,
    DatasetStatement,
    FlowStatement,
    SetStatement,
    SqlText,
)

log = logging.getLogger(__name__)

_ACTIONS = {"warn": api.expect, "drop": api.expect_or_drop, "fail": api.expect_or_fail}


def register_sql_file(path: Path, spark: Any) -> None:
    """Parse ``path`` and register its datasets and flows in the active registry. ``spark`` is
    the pipeline's ``spark`` global (its ``conf.get`` sees the pipeline configuration)."""
    session = real_session(spark)
    statements = parse_sql(path.read_text(encoding="utf-8"), str(path), lambda key: _conf(spark, key))
    spark_conf: dict[str, str] = {}
    for statement in statements:
        if isinstance(statement, SetStatement):
            if statement.value is None:
                log.info(
                    "%s: SET %s without a value does nothing in a pipeline", statement.location, statement.key
                )
            else:
                spark_conf[statement.key] = statement.value
        elif isinstance(statement, DatasetStatement):
            _dataset(session, statement, dict(spark_conf))
        elif isinstance(statement, FlowStatement):
            query_function = _query_function(
                session,
                statement.query,
                statement.name,
                statement.location,
                streaming=None if statement.once else True,
            )
            decorator = _call_at(
                statement.location,
                api.append_flow,
                target=strip_live(statement.target),
                name=statement.name,
                once=statement.once,
                spark_conf=dict(spark_conf) or None,
                comment=statement.comment,
            )
            decorator(query_function)
        elif isinstance(statement, CdcStatement):
            _cdc(
                session,
                statement.flow_name,
                strip_live(statement.target),
                statement.clauses,
                statement.once,
                statement.location,
            )


def real_session(spark: Any) -> SparkSession:
    """The SparkSession behind the pipeline's ``spark`` global (queries must not go through the
    proxy's own dataset resolution twice)."""
    if isinstance(spark, SparkSession):
        return spark
    return spark.range(0).sparkSession


def _conf(spark: Any, key: str) -> str | None:
    try:
        value = spark.conf.get(key, None)
    except Exception:  # noqa: BLE001 - a key Spark refuses to read is simply not set
        return None
    return None if value is None else str(value)


def _call_at(location: SqlLocation, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``function`` from a frame located at the statement, so that the API records the SQL
    file and line as the definition's location (it takes the first frame outside localdlt)."""
    code = compile(
        "\n" * (location.line - 1) + "__result = __function(*__args, **__kwargs)", location.filename, "exec"
    )
    namespace = {"__function": function, "__args": args, "__kwargs": kwargs}
    exec(code, namespace)  # noqa: S102 - only our own call, relocated
    return namespace["__result"]


def _query_function(
    session: SparkSession, query: SqlText, reader: str, location: SqlLocation, *, streaming: bool | None
) -> Callable[[], DataFrame]:
    """A query function running ``query``; ``streaming=True`` refuses a batch result (the query
    of a streaming table or of a flow without ONCE)."""
    analysis = analyse(session, query)

    def query_function() -> DataFrame:
        frame = run(session, query, analysis, active_resolver(), reader=reader)
        if streaming and not frame.isStreaming:
            raise SqlStatementError(
                f"the query of '{reader}' reads no stream; a streaming table or flow needs STREAM(...) "
                "or STREAM read_files(...) (or INSERT INTO ONCE for a one-time batch)",
                params={"flow": reader, "subclass": "BATCH_RELATION_FOR_STREAMING_TABLE"},
                location=query.location,
            )
        return frame

    # Tracebacks and the recorded definition point at the SQL statement, not at this module.
    query_function.__code__ = query_function.__code__.replace(
        co_filename=location.filename, co_firstlineno=location.line, co_name=reader
    )
    query_function.__name__ = reader
    return query_function


def _with_expectations(
    function: Callable[[], DataFrame], statement: DatasetStatement
) -> Callable[[], DataFrame]:
    # Decorators stack bottom-up: apply the last rule first so that they are recorded as written.
    for rule in reversed(statement.expectations):
        function = _ACTIONS[rule.action](rule.name, rule.expression)(function)
    return function


def _table_arguments(statement: DatasetStatement, spark_conf: dict[str, str]) -> dict[str, Any]:
    if statement.recorded:
        log.info("%s: %s recorded only (no local meaning)", statement.location, ", ".join(statement.recorded))
    return {
        "comment": statement.comment,
        "spark_conf": spark_conf or None,
        "table_properties": dict(statement.table_properties) or None,
        "partition_cols": list(statement.partition_cols) or None,
        "cluster_by": list(statement.cluster_by) or None,
        "cluster_by_auto": statement.cluster_by_auto,
        "schema": ", ".join(statement.columns) or None,
        "private": True if statement.visibility is not None else None,
    }


def _dataset(session: SparkSession, statement: DatasetStatement, spark_conf: dict[str, str]) -> None:
    name = statement.name[len("live.") :] if statement.name.lower().startswith("live.") else statement.name
    location = statement.location
    if statement.kind == "view":
        if statement.query is None:  # pragma: no cover - the grammar requires AS query
            raise SqlStatementError("a view needs AS query", params={"dataset": name}, location=location)
        function = _query_function(session, statement.query, name, location, streaming=None)
        _call_at(location, api.view, name=name, comment=statement.comment, spark_conf=spark_conf or None)(
            _with_expectations(function, statement)
        )
        return
    arguments = _table_arguments(statement, spark_conf)
    if statement.kind == "materialized_view":
        if statement.query is None:
            raise SqlStatementError(
                f"materialized view '{name}' needs AS query", params={"dataset": name}, location=location
            )
        function = _query_function(session, statement.query, name, location, streaming=None)
        _call_at(location, api.materialized_view, name=name, **arguments)(
            _with_expectations(function, statement)
        )
        return
    if statement.query is not None and statement.flow_cdc is None and not statement.flow_once:
        # CREATE STREAMING TABLE t AS query: the table and its implicit flow, as @dlt.table does.
        function = _query_function(session, statement.query, name, location, streaming=True)
        _call_at(location, api.table, name=name, **arguments)(_with_expectations(function, statement))
        return
    rules: dict[str, dict[str, str]] = {"warn": {}, "drop": {}, "fail": {}}
    for rule in statement.expectations:
        rules[rule.action][rule.name] = rule.expression
    _call_at(
        location,
        api.create_streaming_table,
        name,
        expect_all=rules["warn"] or None,
        expect_all_or_drop=rules["drop"] or None,
        expect_all_or_fail=rules["fail"] or None,
        **arguments,
    )
    if statement.flow_cdc is not None:  # CREATE STREAMING TABLE t FLOW AUTO CDC ...
        _cdc(session, name, name, statement.flow_cdc, statement.flow_once, location)
    elif statement.query is not None:  # CREATE STREAMING TABLE t FLOW INSERT [ONCE] BY NAME query
        function = _query_function(
            session, statement.query, name, location, streaming=None if statement.flow_once else True
        )
        _call_at(
            location,
            api.append_flow,
            target=name,
            name=name,
            once=statement.flow_once,
            spark_conf=spark_conf or None,
        )(function)


def _cdc(
    session: SparkSession,
    flow_name: str | None,
    target: str,
    clauses: CdcClauses,
    once: bool,
    location: SqlLocation,
) -> None:
    flow = flow_name or target
    source = strip_live(clauses.source)
    if "." in source:
        # A catalog table (cdc_data.users): read it through a view of the pipeline so the CDC
        # engine, which reads pipeline datasets, gets it (STREAM kept).
        view = f"{flow}__cdc_source"
        read = f"STREAM({clauses.source})" if clauses.streaming_source else clauses.source
        query = SqlText(f"SELECT * FROM {read}", location)
        function = _query_function(session, query, view, location, streaming=None)
        _call_at(location, api.view, name=view, comment=f"source of CDC flow '{flow}': {clauses.source}")(
            function
        )
        source = view
    _call_at(
        location,
        cdc_api.create_auto_cdc_flow,
        target,
        source,
        list(clauses.keys),
        clauses.sequence_by,
        ignore_null_updates=clauses.ignore_null_updates,
        apply_as_deletes=clauses.apply_as_deletes,
        apply_as_truncates=clauses.apply_as_truncates,
        column_list=list(clauses.column_list) if clauses.column_list is not None else None,
        except_column_list=list(clauses.except_column_list)
        if clauses.except_column_list is not None
        else None,
        stored_as_scd_type=clauses.stored_as_scd_type,
        track_history_column_list=(
            list(clauses.track_history_column_list) if clauses.track_history_column_list is not None else None
        ),
        track_history_except_column_list=(
            list(clauses.track_history_except_column_list)
            if clauses.track_history_except_column_list is not None
            else None
        ),
        name=flow,
        once=once,
    )
