"""Databricks' event-log queries, run unchanged on a local pipeline's storage.

Databricks' monitoring queries use two things open-source Spark lacks: the ``event_log(...)``
table-valued function (``event_log('<pipeline id>')`` or ``event_log(TABLE(<dataset>))``) and
the ``:`` JSON-path operator on the ``details`` string (``details:flow_progress:metrics``). The
statement is parsed with sqlglot's Databricks dialect; every ``event_log(...)`` becomes the local
event log (the Delta table at ``<storage>/system/events``, same columns) after checking that the
pipeline id or dataset belongs to this storage, and the statement is written back in Spark's
dialect (``:`` paths become ``get_json_object``). Nothing else in the statement changes meaning.

Example::

    from localdlt.event_log_sql import sql
    sql(spark, "storage", "SELECT details:flow_progress.metrics.num_output_rows AS n "
                          "FROM event_log('<pipeline id>') WHERE event_type = 'flow_progress'").show()
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import sqlglot
from sqlglot import exp

from localdlt import storage as storage_layout
from localdlt.errors import InvalidArgumentError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

FUNCTION = "event_log"


def translate(query: str, storage: str | Path) -> list[str]:
    """The statements of ``query`` in Spark SQL, ``event_log(...)`` reading ``storage``'s log."""
    layout = storage_layout.Layout(Path(storage).resolve())
    try:
        statements = sqlglot.parse(query, read="databricks")
    except sqlglot.errors.ParseError as exc:
        raise InvalidArgumentError(f"event-log query does not parse: {exc}",
                                   params={"argument": "query"}) from exc
    return [
        _replace_event_log(statement, layout).sql(dialect="spark")
        for statement in statements
        if statement is not None
    ]


def _replace_event_log(statement: exp.Expression, layout: storage_layout.Layout) -> exp.Expression:
    def rewrite(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Table) and isinstance(node.this, exp.Anonymous) \
                and node.this.name.lower() == FUNCTION:
            _check_argument(node.this, layout)
            table = exp.Table(this=exp.to_identifier(str(layout.events), quoted=True),
                              db=exp.to_identifier("delta"))
            if node.alias:
                table.set("alias", node.args.get("alias"))
            return table
        return node

    return statement.transform(rewrite)


def _check_argument(call: exp.Anonymous, layout: storage_layout.Layout) -> None:
    """``event_log('<id>')`` must name this storage's pipeline; ``event_log(TABLE(t))`` one of its
    tables; a clear error otherwise (never the wrong pipeline's events)."""
    if len(call.expressions) != 1:
        raise InvalidArgumentError("event_log() takes one argument: a pipeline id or TABLE(<dataset>)",
                                   params={"argument": "event_log"})
    argument = call.expressions[0]
    if isinstance(argument, exp.Literal) and argument.is_string:
        expected = storage_layout.pipeline_id(layout)
        if argument.this != expected:
            raise InvalidArgumentError(
                f"event_log('{argument.this}'): the pipeline of {layout.root} has id '{expected}'",
                params={"argument": "event_log", "pipeline_id": argument.this},
            )
        return
    if isinstance(argument, exp.Anonymous) and argument.name.upper() == "TABLE" and argument.expressions:
        inner = argument.expressions[0]
        name = inner.name  # the dataset's own name: catalog and schema do not exist locally
        if not layout.table(name).is_dir():
            raise InvalidArgumentError(
                f"event_log(TABLE({inner.sql()})): no dataset '{name}' in {layout.root}",
                params={"argument": "event_log", "dataset": name},
            )
        return
    raise InvalidArgumentError(
        f"event_log({argument.sql()}): expected a pipeline id string or TABLE(<dataset>)",
        params={"argument": "event_log"},
    )


def sql(spark: SparkSession, storage: str | Path, query: str) -> DataFrame:
    """Run ``query`` (one or more statements, Databricks syntax) on ``storage``'s event log;
    returns the last statement's result."""
    result: DataFrame | None = None
    for statement in translate(query, storage):
        log.debug("event-log statement: %s", statement)
        result = spark.sql(statement)
    if result is None:
        raise InvalidArgumentError("event-log query holds no statement", params={"argument": "query"})
    return result


def register_view(spark: SparkSession, storage: str | Path, name: str = "event_log_raw") -> None:
    """A temporary view ``name`` over ``storage``'s event log (what Databricks' monitoring pages
    create with ``CREATE VIEW event_log_raw AS SELECT * FROM event_log(...)``)."""
    events = storage_layout.Layout(Path(storage).resolve()).events
    spark.read.format("delta").load(str(events)).createOrReplaceTempView(name)
