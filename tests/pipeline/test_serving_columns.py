"""Serving's contract with the pipeline: every column ``serving/gold.py`` reads exists, with a type
serving can use, in the tables the orders pipeline writes (the fixtures' first update, run by
localdlt). A renamed or retyped Gold column fails here, not in front of a dashboard.

The type serving expects of each column is the type of the API field it becomes
(``serving/models.py``); the few fields without a one-to-one model field are listed below.
"""

from __future__ import annotations

import types
import typing
from datetime import date, datetime

import pytest
from pipeline_support import Stage
from pydantic import BaseModel
from pyspark.sql.types import (
    BooleanType,
    DataType,
    DateType,
    DecimalType,
    DoubleType,
    IntegerType,
    LongType,
    StringType,
    TimestampType,
)

from orders_lakehouse.serving import gold, models

pytestmark = pytest.mark.slow

# The Spark types that serve each Python type of an API field.
SPARK_TYPES: dict[type, tuple[type[DataType], ...]] = {
    str: (StringType,),
    int: (IntegerType, LongType),
    float: (DoubleType, DecimalType),
    datetime: (TimestampType,),
    date: (DateType,),
    bool: (BooleanType,),
}

# The API model whose fields are the table's fields one to one.
MODELS: dict[str, type[BaseModel]] = {
    gold.FACT_ORDERS.name: models.OrderStatus,
    gold.PAYMENT_HEALTH.name: models.PaymentPoint,
    gold.STATUS_FUNNEL.name: models.FunnelStage,
    gold.FULFILLMENT_SLA.name: models.SlaRow,
    gold.TOP_PRODUCTS.name: models.TopProduct,
    gold.ORDER_ALERTS.name: models.Alert,
}

# Fields serving aggregates or passes through rather than returning one to one.
OTHER_FIELDS: dict[str, dict[str, type]] = {
    gold.SALES_PER_MINUTE.name: {
        "minute": datetime, "channel": str, "state": str, "payment_method": str,
        "orders": int, "revenue": float, "avg_ticket": float,
    },
    gold.EVENT_LOG.name: {"timestamp": datetime, "event_type": str, "details": str},
    gold.SILVER_EVENTS.name: {"event_time": datetime},
}

TABLES = [*gold.GOLD_TABLES, gold.SILVER_EVENTS, gold.EVENT_LOG]


def _python_type(annotation: object) -> type:
    """``int | None`` -> ``int``."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        (inner,) = [a for a in typing.get_args(annotation) if a is not type(None)]
        return inner
    assert isinstance(annotation, type), annotation
    return annotation


def expected_types(table: gold.GoldTable) -> dict[str, type]:
    """Column -> the Python type serving makes of it."""
    model = MODELS.get(table.name)
    fields = model.model_fields if model else {}
    other = OTHER_FIELDS.get(table.name, {})
    wanted = {}
    for api_field, column in table.fields.items():
        if api_field in fields:
            wanted[column] = _python_type(fields[api_field].annotation)
        else:
            assert api_field in other, (
                f"{table.name}.{api_field}: no model field and no type listed in this test"
            )
            wanted[column] = other[api_field]
    return wanted


def test_every_gold_table_serving_reads_is_covered() -> None:
    assert {t.name for t in gold.GOLD_TABLES} == set(MODELS) | {gold.SALES_PER_MINUTE.name}


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.name)
def test_serving_columns_exist_with_usable_types(update_1: Stage, table: gold.GoldTable) -> None:
    schema = update_1.event_log_schema if table is gold.EVENT_LOG else update_1.schemas[table.name]
    written = {f.name: f.dataType for f in schema.fields}
    problems = []
    for column, python_type in expected_types(table).items():
        if column not in written:
            problems.append(f"{column}: not written (columns: {sorted(written)})")
        elif not isinstance(written[column], SPARK_TYPES[python_type]):
            kind = written[column].simpleString()
            problems.append(f"{column}: written as {kind}, serving expects {python_type.__name__}")
    assert not problems, f"{table.name}: " + "; ".join(problems)
    assert len(expected_types(table)) == len(table.columns())
