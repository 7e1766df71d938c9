"""Databricks backend: parameterised SQL on a SQL warehouse through databricks-sdk.

A :class:`Query` becomes ``SELECT `c1`, ... FROM IDENTIFIER(:table) WHERE `c` >= :p0 ... ORDER BY``
with every value (the table name too) passed as a named parameter; the row limit is the Statement
Execution API's ``row_limit``. Column identifiers come only from the declared Gold columns
(checked by :class:`Query`), never from a request.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import requests
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import DatabricksError
from databricks.sdk.service.sql import (
    Disposition,
    ExecuteStatementRequestOnWaitTimeout,
    Format,
    StatementParameterListItem,
    StatementResponse,
    StatementState,
)

from orders_lakehouse.serving import models
from orders_lakehouse.serving.backends import databricks_latency
from orders_lakehouse.serving.backends.base import (
    BackendError,
    BackendUnavailableError,
    Query,
    TableUnavailableError,
)
from orders_lakehouse.serving.gold import EVENT_LOG, GOLD_TABLES, SILVER_EVENTS, GoldTable

log = logging.getLogger(__name__)


def _parameter(name: str, value: Any) -> StatementParameterListItem:
    # bool before int: bool is an int subclass.
    if isinstance(value, bool):
        return StatementParameterListItem(name=name, value="true" if value else "false", type="BOOLEAN")
    if isinstance(value, datetime):
        return StatementParameterListItem(name=name, value=value.isoformat(), type="TIMESTAMP")
    if isinstance(value, date):
        return StatementParameterListItem(name=name, value=value.isoformat(), type="DATE")
    if isinstance(value, int):
        return StatementParameterListItem(name=name, value=str(value), type="BIGINT")
    if isinstance(value, float | Decimal):
        return StatementParameterListItem(name=name, value=str(value), type="DOUBLE")
    return StatementParameterListItem(name=name, value=str(value), type="STRING")


def render(query: Query, table_name: str) -> tuple[str, list[StatementParameterListItem]]:
    """The SQL text and named parameters of ``query`` (no value is ever put into the text).

    Example::

        render(Query(FACT_ORDERS, ("status",), (Filter("order_id", "=", "o-1"),)), "fact_orders")
        # ("SELECT `status` FROM IDENTIFIER(:table) WHERE `order_id` = :p0",
        #  [table='fact_orders' STRING, p0='o-1' STRING])
    """
    parameters = [_parameter("table", table_name)]
    sql = f"SELECT {', '.join(f'`{c}`' for c in query.columns)} FROM IDENTIFIER(:table)"
    if query.filters:
        conditions = []
        for index, condition in enumerate(query.filters):
            conditions.append(f"`{condition.column}` {condition.op} :p{index}")
            parameters.append(_parameter(f"p{index}", condition.value))
        sql += " WHERE " + " AND ".join(conditions)
    if query.order_by:
        sql += " ORDER BY " + ", ".join(f"`{c}` {'DESC' if desc else 'ASC'}" for c, desc in query.order_by)
    return sql, parameters


def _convert(value: str | None, type_name: str) -> Any:
    """A JSON_ARRAY cell (always a string) as the Python value of its SQL type."""
    if value is None:
        return None
    if type_name in ("BYTE", "SHORT", "INT", "LONG"):
        return int(value)
    if type_name in ("FLOAT", "DOUBLE"):
        return float(value)
    if type_name == "DECIMAL":
        return Decimal(value)
    if type_name == "BOOLEAN":
        return value.lower() == "true"
    if type_name == "TIMESTAMP":
        return datetime.fromisoformat(value)
    if type_name == "DATE":
        return date.fromisoformat(value)
    return value


class DatabricksSqlBackend:
    """Runs queries on one SQL warehouse; Gold tables resolved in ``catalog``.``schema``.

    Example::

        backend = DatabricksSqlBackend(WorkspaceClient(), warehouse_id="abc123", catalog="main",
                                       schema="orders", event_log_table="main.orders.event_log")
    """

    name = "databricks"

    def __init__(
        self,
        client: WorkspaceClient,
        *,
        warehouse_id: str,
        catalog: str | None = None,
        schema: str | None = None,
        event_log_table: str | None = None,
        wait_timeout: str = "30s",
    ) -> None:
        self._client = client
        self.warehouse_id = warehouse_id
        self.catalog = catalog
        self.schema = schema
        self.event_log_table = event_log_table
        self.wait_timeout = wait_timeout

    def _table_name(self, table: GoldTable) -> str:
        if table is EVENT_LOG:
            if not self.event_log_table:
                raise TableUnavailableError(table.name)
            return self.event_log_table
        return table.name

    def fetch(self, query: Query) -> list[dict[str, Any]]:
        """Rows of ``query``, values converted from the result manifest's column types."""
        statement, parameters = render(query, self._table_name(query.table))
        return self._execute(statement, parameters, query.limit, query.table.name)

    def _execute(
        self, statement: str, parameters: list[StatementParameterListItem], row_limit: int | None, about: str
    ) -> list[dict[str, Any]]:
        try:
            response = self._client.statement_execution.execute_statement(
                statement=statement,
                warehouse_id=self.warehouse_id,
                catalog=self.catalog,
                schema=self.schema,
                parameters=parameters,
                row_limit=row_limit,
                wait_timeout=self.wait_timeout,
                on_wait_timeout=ExecuteStatementRequestOnWaitTimeout.CANCEL,
                disposition=Disposition.INLINE,
                format=Format.JSON_ARRAY,
            )
            return self._rows(about, response)
        except BackendError:
            raise
        except DatabricksError as error:
            # The API answered with an error (permissions, bad warehouse, throttling): a failed upstream.
            raise BackendError(f"SQL warehouse query on {about} failed: {type(error).__name__}") from error
        except (OSError, requests.RequestException) as error:
            # Not reachable at all: may come back, so 503 rather than 502.
            raise BackendUnavailableError(
                f"SQL warehouse is not reachable ({type(error).__name__})"
            ) from error

    def _rows(self, about: str, response: StatementResponse) -> list[dict[str, Any]]:
        state = response.status.state if response.status else None
        if state != StatementState.SUCCEEDED:
            error = response.status.error if response.status else None
            message = error.message if error and error.message else f"statement ended in state {state}"
            if "TABLE_OR_VIEW_NOT_FOUND" in message:
                raise TableUnavailableError(about)
            raise BackendError(f"SQL warehouse query on {about} failed: {message}")
        columns = response.manifest.schema.columns if response.manifest and response.manifest.schema else []
        names = [c.name or "" for c in columns or []]
        types = [c.type_name.value if c.type_name else "STRING" for c in columns or []]
        data: list[list[str | None]] = list(response.result.data_array or []) if response.result else []
        next_chunk = response.result.next_chunk_index if response.result else None
        while next_chunk is not None:  # large results come in chunks
            chunk = self._client.statement_execution.get_statement_result_chunk_n(
                response.statement_id, next_chunk
            )
            data.extend(chunk.data_array or [])
            next_chunk = chunk.next_chunk_index
        return [{n: _convert(v, t) for n, v, t in zip(names, row, types, strict=False)} for row in data]

    def latency(self, window_minutes: int) -> models.Latency:
        """Event time -> visible in Silver / in Gold over the latest ``window_minutes``: one statement.

        See :mod:`.databricks_latency` (Gold visibility from the event log's ``fact_orders``
        completions). No event log configured, or Silver missing: :class:`TableUnavailableError`.
        """
        values = databricks_latency.parameters(
            self._table_name(SILVER_EVENTS), self._table_name(EVENT_LOG), window_minutes
        )
        rows = self._execute(
            databricks_latency.LATENCY_SQL,
            [_parameter(name, value) for name, value in values.items()],
            None,
            SILVER_EVENTS.name,
        )
        return databricks_latency.to_model(rows, window_minutes)

    def versions(self, tables: tuple[GoldTable, ...]) -> dict[str, int] | None:
        """Not known without a warehouse statement per table: no ETag on this backend."""
        return None

    def available_tables(self) -> dict[str, bool]:
        """Which Gold tables exist (one information_schema query) and whether the event log answers."""
        if not self.catalog or not self.schema:
            raise BackendError("health needs databricks_catalog and databricks_schema to be set")
        listing = self._execute(
            "SELECT `table_name` FROM IDENTIFIER(:tables) WHERE `table_schema` = :schema",
            [
                _parameter("tables", f"{self.catalog}.information_schema.tables"),
                _parameter("schema", self.schema),
            ],
            None,
            "information_schema.tables",
        )
        present = {str(row["table_name"]) for row in listing}
        result = {table.name: table.name in present for table in GOLD_TABLES}
        try:
            self.fetch(Query(EVENT_LOG, (EVENT_LOG.column("timestamp"),), limit=1))
            result[EVENT_LOG.name] = True
        except BackendError:
            result[EVENT_LOG.name] = False
        return result
