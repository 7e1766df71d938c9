"""The JSON Schema contract, the Spark schema derived from it, and the bad-event catalog."""

from __future__ import annotations

import json

import jsonschema
import pytest
from pyspark.sql.types import ArrayType, DoubleType, LongType, StringType, StructType

from orders_lakehouse.contract import bad_events
from orders_lakehouse.contract.spark_schema import (
    ContractError,
    load_contract,
    order_event_schema,
    spark_type,
)

from transforms_support import FIXTURES


def _walk_json(node: dict, path: str = "") -> dict[str, str]:
    kind = node["type"]
    if kind == "object":
        out = {}
        for name, child in node["properties"].items():
            out.update(_walk_json(child, f"{path}.{name}" if path else name))
        return out
    if kind == "array":
        return {f"{k}": v for k, v in _walk_json(node["items"], f"{path}[]").items()}
    return {path: kind}


def _walk_spark(kind, path: str = "") -> dict[str, str]:
    if isinstance(kind, StructType):
        out = {}
        for field in kind.fields:
            assert field.nullable, f"{path}.{field.name} must be nullable (best-effort parse)"
            out.update(_walk_spark(field.dataType, f"{path}.{field.name}" if path else field.name))
        return out
    if isinstance(kind, ArrayType):
        return _walk_spark(kind.elementType, f"{path}[]")
    return {path: {StringType(): "string", LongType(): "integer", DoubleType(): "number"}[kind]}


def test_json_schema_is_a_valid_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(load_contract())


def test_spark_schema_agrees_with_json_schema_field_by_field() -> None:
    from_json_schema = _walk_json(load_contract())
    from_spark = _walk_spark(order_event_schema())
    assert list(from_spark) == list(from_json_schema)  # same fields, same order
    assert from_spark == from_json_schema  # same types (string/integer/number)
    assert len(from_spark) == 28  # leaf fields


def test_spark_schema_is_exactly() -> None:
    assert order_event_schema().simpleString() == (
        "struct<event_id:string,event_type:string,event_time:string,schema_version:bigint,order_id:string,"
        "customer:struct<customer_id:string,name:string,email:string,document:string,city:string,state:string>,"
        "channel:string,items:array<struct<sku:string,name:string,quantity:bigint,unit_price:double>>,"
        "amounts:struct<subtotal:double,discount:double,shipping:double,total:double,currency:string>,"
        "payment:struct<method:string,installments:bigint,status:string>,"
        "shipping:struct<carrier:string,tracking_code:string,promised_date:string>,cancel_reason:string>"
    )


def test_unsupported_json_schema_type_is_a_named_error() -> None:
    with pytest.raises(ContractError, match=r"^\$\.x: unsupported JSON Schema type 'null'$"):
        spark_type({"type": "null"}, "$.x")


def _fixture_events() -> list[dict]:
    lines = []
    for name in ("update_1/0001-orders.jsonl", "update_1/0002-orders.jsonl"):
        lines += (FIXTURES / "landing" / name).read_text(encoding="utf-8").splitlines()
    lines += (
        (FIXTURES / "landing" / "update_2/0004-orders.jsonl").read_text(encoding="utf-8").splitlines()[:-1]
    )
    return [json.loads(line) for line in lines]


def test_valid_fixture_events_follow_the_contract_except_case_normalised_enums() -> None:
    validator = jsonschema.Draft202012Validator(load_contract())
    rejected = {
        e["event_id"][-3:]: sorted(err.message for err in validator.iter_errors(e)) for e in _fixture_events()
    }
    rejected = {k: v for k, v in rejected.items() if v}
    # Silver normalises case (enums lower-case, UF upper-case): these pass the pipeline, not the strict
    # schema.
    assert rejected == {
        "201": [
            "'rj' is not one of ['AC', 'AL', 'AP', 'AM', 'BA', 'CE', 'DF', 'ES', 'GO', 'MA', 'MT', 'MS', "
            "'MG', 'PA', 'PB', 'PR', 'PE', 'PI', 'RJ', 'RN', 'RS', 'RO', 'RR', 'SC', 'SP', 'SE', 'TO']"
        ],
        "401": [
            "'DEBIT_CARD' is not one of ['pix', 'credit_card', 'debit_card', 'boleto']",
            "'STORE' is not one of ['app', 'web', 'marketplace', 'store']",
        ],
    }


def test_catalog_has_at_least_20_kinds_each_with_a_renderer() -> None:
    assert len(bad_events.kinds()) == 32
    assert set(bad_events.kind_names()) == set(bad_events.renderer_names())
    assert all(k.failed_rules for k in bad_events.kinds())


def test_json_schema_alone_accepts_exactly_the_kinds_needing_pipeline_rules() -> None:
    """Why Silver has rules beyond the schema: these bad kinds are valid JSON Schema instances."""
    validator = jsonschema.Draft202012Validator(load_contract())
    base = _fixture_events()[0]
    accepted = []
    for kind in bad_events.kind_names():
        payload = bad_events.render(base, kind)
        try:
            event = json.loads(payload.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            continue
        if isinstance(event, dict) and validator.is_valid(event):
            accepted.append(kind)
    assert accepted == [
        "huge_payload",
        "future_event_time",
        "absurd_amount",
        "totals_do_not_add_up",
        "invalid_cpf",
        "invalid_email",
        "invalid_promised_date",
    ]


def test_render_unknown_kind_names_the_known_ones() -> None:
    with pytest.raises(
        bad_events.UnknownBadEventKind, match="unknown bad event kind 'nope'; known: malformed_json, "
    ):
        bad_events.render({}, "nope")


def test_render_non_utf8_and_huge_payloads() -> None:
    base = _fixture_events()[0]
    with pytest.raises(UnicodeDecodeError):
        bad_events.render(base, "non_utf8_bytes").decode("utf-8")
    assert len(bad_events.render(base, "huge_payload")) > bad_events.HUGE_PAYLOAD_BYTES
    assert bad_events.render(base, "blank_line") == b""
