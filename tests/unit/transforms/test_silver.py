"""Silver: typing and normalisation, every rule, quarantine routing and the dedup."""

from __future__ import annotations

import datetime as dt
import json

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from orders_lakehouse.contract import bad_events
from orders_lakehouse.transforms import bronze, silver
from orders_lakehouse.transforms.rules import all_pass, any_fails_sql, failed_rule_names, silver_event_rules

from transforms_support import FIXTURES, SALT, assert_table

RULES = silver_event_rules()


def _kafka_bronze(spark: SparkSession, payloads: list[bytes]) -> DataFrame:
    rows = [(p, "orders", 0, i, dt.datetime(2025, 3, 10)) for i, p in enumerate(payloads)]
    raw = spark.createDataFrame(
        rows, "value binary, topic string, partition int, offset long, timestamp timestamp"
    )
    return bronze.to_bronze(bronze.from_kafka(raw))


def test_every_bad_kind_is_quarantined_with_exactly_its_catalog_rules(spark: SparkSession) -> None:
    base = json.loads(
        (FIXTURES / "landing" / "update_1" / "0001-orders.jsonl").read_text(encoding="utf-8").splitlines()[0]
    )
    kinds = bad_events.kinds()
    staged = silver.stage_events(_kafka_bronze(spark, [bad_events.render(base, k.kind) for k in kinds]), SALT)
    got = {
        r["_kafka_offset"]: list(r["failed_rules"]) for r in silver.quarantine_events(staged, RULES).collect()
    }
    assert {kinds[i].kind: rules for i, rules in got.items()} == {k.kind: list(k.failed_rules) for k in kinds}
    assert silver.valid_events(staged, RULES).filter(all_pass(RULES)).count() == 0


def test_a_truncated_event_fails_exactly_the_malformed_rules_wherever_it_was_cut(spark: SparkSession) -> None:
    """Every prefix of an ``order_created`` event (the simulator's ``truncated_line`` keeps the first
    half of events of any length): Spark's parser keeps the fields read before the cut, but a
    payload that is not a JSON object must fail the same rules however much of it was read (found
    by the Kafka kill -9 loop: two cuts after ``customer`` failed only three rules). A cut inside a
    multi-byte character also fails ``payload_is_valid_utf8``, and nothing else."""
    landing = FIXTURES / "landing" / "update_1" / "0001-orders.jsonl"
    text = landing.read_text(encoding="utf-8").splitlines()[0]
    encoded = text.encode("utf-8")
    assert len(encoded) > len(text)  # the event has multi-byte characters: both kinds of cut occur
    at_characters = [text[:n].encode("utf-8") for n in range(1, len(text))]
    at_bytes = [encoded[:n] for n in range(1, len(encoded))]
    malformed = next(k.failed_rules for k in bad_events.kinds() if k.kind == "truncated_line")
    staged = silver.stage_events(_kafka_bronze(spark, at_characters + at_bytes), SALT)
    quarantined = silver.quarantine_events(staged, RULES).collect()
    failed = [(r["_kafka_offset"], tuple(r["failed_rules"])) for r in quarantined]
    assert len(failed) == len(at_characters) + len(at_bytes)
    assert {rules for offset, rules in failed if offset < len(at_characters)} == {tuple(malformed)}
    assert {rules for offset, rules in failed if offset >= len(at_characters)} == {
        tuple(malformed),
        ("payload_is_valid_utf8", *malformed),
    }


def test_fixture_valid_events_pass_every_rule_and_are_typed(silver_u1: DataFrame) -> None:
    assert_table(silver_u1, 1, "silver_order_events")


def test_staged_types_and_pii(silver_u1: DataFrame) -> None:
    assert silver_u1.schema.simpleString().startswith(
        "struct<event_id:string,event_type:string,status:string,event_time:timestamp,schema_version:int,"
        "order_id:string,customer_id:string,customer_email_hash:string,customer_document_masked:string,"
        "customer_city:string,customer_state:string,channel:string,"
        "items:array<struct<sku:string,name:string,quantity:int,unit_price:decimal(18,2)>>,"
        "subtotal:decimal(18,2),discount:decimal(18,2),shipping_amount:decimal(18,2),total:decimal(18,2),currency:string,"
    )
    assert "raw_payload" not in silver_u1.columns
    row = (
        silver_u1.filter(F.col("event_id").endswith("401"))
        .select("event_type", "channel", "payment_method", "items", "customer_email_hash")
        .first()
    )
    assert (
        row["event_type"] == "order_created"
        and row["channel"] == "store"
        and row["payment_method"] == "debit_card"
    )
    assert [tuple(i) for i in row["items"]] == [
        ("SKU-MUG", "Caneca", 2, __import__("decimal").Decimal("29.90"))
    ]
    assert row["customer_email_hash"] is None


def test_quarantine_of_the_fixture_holds_the_32_bad_lines_with_raw_payload(staged_u1: DataFrame) -> None:
    quarantine = silver.quarantine_events(staged_u1, RULES)
    counts = quarantine.agg(
        F.count("*"), F.count_if(F.col("raw_payload").isNull()), F.count_if(F.size("failed_rules") == 0)
    ).first()
    assert tuple(counts) == (32, 0, 0)
    # the inverted expectation keeps exactly the same rows
    candidates = silver.quarantine_candidates(staged_u1, RULES)
    assert candidates.filter(F.expr(any_fails_sql(RULES))).count() == 32
    assert candidates.count() == 53


def test_valid_events_dedups_only_valid_rows(spark: SparkSession) -> None:
    good = {
        "event_id": "00000000-0000-4000-8000-000000000001",
        "event_type": "order_paid",
        "schema_version": 1,
        "event_time": "2025-03-10T10:00:00Z",
        "order_id": "o",
        "customer": {"customer_id": "c"},
    }
    bad = {**good, "event_id": "bad-id"}
    payloads = [json.dumps(p).encode() for p in (good, good, bad, bad)]
    staged = silver.stage_events(_kafka_bronze(spark, payloads), SALT)
    rows = silver.valid_events(staged, RULES).select("event_id", "_kafka_offset").collect()
    assert sorted(r["event_id"] for r in rows) == ["00000000-0000-4000-8000-000000000001", "bad-id", "bad-id"]


def test_a_rule_that_evaluates_to_null_fails(spark: SparkSession) -> None:
    df = spark.createDataFrame([(None,), (1,), (0,)], "x int")
    rules = {"x_positive": "x > 0", "x_known": "x IS NOT NULL"}
    got = [
        (r["x"], r["ok"], list(r["failed"]))
        for r in df.select(
            "x", all_pass(rules).alias("ok"), failed_rule_names(rules).alias("failed")
        ).collect()
    ]
    assert got == [(None, False, ["x_positive", "x_known"]), (1, True, []), (0, False, ["x_positive"])]


def test_future_tolerance_comes_from_configuration(spark: SparkSession) -> None:
    base = {
        "event_id": "00000000-0000-4000-8000-000000000001",
        "event_type": "order_paid",
        "schema_version": 1,
        "order_id": "o",
        "customer": {"customer_id": "c"},
    }
    now = dt.datetime.now(dt.timezone.utc)
    soon = (now + dt.timedelta(seconds=120)).strftime("%Y-%m-%dT%H:%M:%SZ")
    staged = silver.stage_events(
        _kafka_bronze(spark, [json.dumps({**base, "event_time": soon}).encode()]), SALT
    )
    strict = failed_rule_names(silver_event_rules(future_tolerance_seconds=0))
    lenient = failed_rule_names(silver_event_rules(future_tolerance_seconds=3600))
    row = staged.select(strict.alias("strict"), lenient.alias("lenient")).first()
    assert (list(row["strict"]), list(row["lenient"])) == (["event_time_not_in_future"], [])


def _json_parses(df: DataFrame) -> int:
    """How many JSON parses the optimised plan of ``df`` holds."""
    return df._jdf.queryExecution().optimizedPlan().toString().count("from_json(")  # noqa: SLF001


def test_the_rules_never_re_parse_the_payload(spark: SparkSession) -> None:
    """The valid/invalid split, the expectations and the quarantine filter the staged rows; Spark
    would push those filters below the staging and parse the payload once per column a rule names
    (~40 parses a row instead of a few) unless the staging stops them."""
    fixture = FIXTURES / "landing" / "update_1" / "0001-orders.jsonl"
    staged = silver.stage_events(_kafka_bronze(spark, fixture.read_bytes().splitlines()[:5]), SALT)
    once = _json_parses(staged)
    assert once >= 1
    # Two branches (valid rows deduplicated, invalid rows passed on), each staged once.
    assert _json_parses(silver.valid_events(staged, RULES).filter(all_pass(RULES))) == 2 * once
    assert _json_parses(silver.quarantine_events(staged, RULES)) == once
