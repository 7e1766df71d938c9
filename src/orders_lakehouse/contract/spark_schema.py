"""Derive the Spark schema of an order event from the JSON Schema contract.

The JSON Schema document ``order_event.v1.schema.json`` is the single source of truth; this
module turns it into the ``StructType`` the pipeline parses payloads with, so the two cannot
drift apart (``tests/unit/transforms/test_contract.py`` checks them field by field).

Type mapping (JSON Schema -> Spark), chosen so that parsing is strict about JSON token types
(a JSON string ``"2"`` for an ``integer`` field parses as NULL and is flagged in Silver):

=========== ==================================================================
``string``  ``StringType`` (``format: date-time`` / ``date`` stay text in Bronze; Silver types them)
``integer`` ``LongType``
``number``  ``DoubleType`` (Silver converts money to ``decimal(18,2)`` with ``try_cast``)
``boolean`` ``BooleanType``
``object``  ``StructType`` of its ``properties``, in document order
``array``   ``ArrayType`` of its ``items``
=========== ==================================================================

Example::

    from orders_lakehouse.contract.spark_schema import order_event_schema
    parsed = df.select(F.from_json("raw_payload", order_event_schema()).alias("e"))
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DataType,
    DoubleType,
    LongType,
    StringType,
    StructField,
    StructType,
)

CONTRACT_RESOURCE = "order_event.v1.schema.json"
SCHEMA_VERSION = 1

_SCALARS: dict[str, DataType] = {
    "string": StringType(),
    "integer": LongType(),
    "number": DoubleType(),
    "boolean": BooleanType(),
}


class ContractError(ValueError):
    """The JSON Schema uses a construct this derivation does not support."""


@lru_cache(maxsize=1)
def load_contract() -> dict[str, Any]:
    """The contract v1 JSON Schema document, parsed (cached; do not mutate it)."""
    text = resources.files(__package__).joinpath(CONTRACT_RESOURCE).read_text(encoding="utf-8")
    return json.loads(text)


def spark_type(node: dict[str, Any], path: str = "$") -> DataType:
    """The Spark type for one JSON Schema node; ``path`` names the node in errors.

    >>> spark_type({"type": "array", "items": {"type": "integer"}})
    ArrayType(LongType(), True)
    """
    kind = node.get("type")
    if kind in _SCALARS:
        return _SCALARS[kind]
    if kind == "object":
        properties = node.get("properties")
        if not properties:
            raise ContractError(f"{path}: an object needs 'properties' to have a Spark schema")
        return StructType(
            [
                StructField(name, spark_type(child, f"{path}.{name}"), nullable=True)
                for name, child in properties.items()
            ]
        )
    if kind == "array":
        if "items" not in node:
            raise ContractError(f"{path}: an array needs 'items'")
        return ArrayType(spark_type(node["items"], f"{path}[]"), containsNull=True)
    raise ContractError(f"{path}: unsupported JSON Schema type {kind!r}")


@lru_cache(maxsize=1)
def order_event_schema() -> StructType:
    """The Spark ``StructType`` of an order event (every field nullable: parsing is best effort)."""
    schema = spark_type(load_contract())
    assert isinstance(schema, StructType)
    return schema


def top_level_fields() -> tuple[str, ...]:
    """Names of the contract's top-level fields, in document order."""
    return tuple(load_contract()["properties"])


def object_fields() -> dict[str, tuple[str, ...]]:
    """For each top-level object field (customer, amounts, ...), the names of its sub-fields."""
    props = load_contract()["properties"]
    return {name: tuple(node["properties"]) for name, node in props.items() if node.get("type") == "object"}


def enum_values(*path: str) -> tuple[str, ...]:
    """The ``enum`` of a field given by its path, e.g. ``enum_values("payment", "method")``."""
    node: dict[str, Any] = load_contract()
    for part in path:
        node = node["properties"][part]
    return tuple(node["enum"])


def required_fields() -> tuple[str, ...]:
    """Top-level fields the contract requires on every event."""
    return tuple(load_contract()["required"])
