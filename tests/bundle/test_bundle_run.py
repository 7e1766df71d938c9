"""``localdlt run --bundle-pipeline resources/orders.pipeline.yml --target dev`` on the fixtures:
the bundle's libraries, configuration and root path drive a real local run, and then every
dashboard dataset, dashboard widget and SQL alert query of the bundle runs against the tables it
produced (catching a renamed column before a deploy would)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from bundle_facts import REPO, dashboard, dataset_sql, defined_tables, load_yaml
from expected_tables import expected, sorted_rows, table_rows
from pipeline_support import Stage

LANDING = REPO / "fixtures" / "landing" / "update_1"  # what update_1 lands
AGGREGATE = re.compile(r"^(SUM|AVG|COUNT|MIN|MAX)\(", re.IGNORECASE)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run_storage(spark, update_1: Stage) -> Iterator[Path]:
    """The bundle-driven update over the fixtures (``update_1`` of pipeline_support.py:
    ``localdlt run --bundle-pipeline resources/orders.pipeline.yml --target dev``, shared with
    tests/pipeline); each of its tables then a temporary view."""
    storage = update_1.storage
    for name in defined_tables():
        spark.read.format("delta").load(str(storage / "tables" / name)).createOrReplaceTempView(name)
    yield storage
    # The session is shared by the whole suite: temporary views named like pipeline datasets
    # would shadow the tables of later pipeline runs.
    for name in defined_tables():
        spark.catalog.dropTempView(name)


def _local_sql(sql: str) -> str:
    # The bundle qualifies tables with ${var.catalog}.${var.schema}; locally they are views.
    return sql.replace("${var.catalog}.${var.schema}.", "")


def test_every_table_of_the_pipeline_is_written_and_bronze_keeps_every_line(spark, run_storage):
    written = {p.name for p in (run_storage / "tables").iterdir()}
    assert written == set(defined_tables())
    # Every line is a Bronze row, the blank one and the one that is not UTF-8 included (bytes, not text).
    lines = sum(len(f.read_bytes().splitlines()) for f in LANDING.iterdir())
    assert spark.table("bronze_order_events").count() == lines


# Each dashboard dataset and the hand-derived table (fixtures/expected/update_1) it shows.
DATASET_TABLES = {
    "sales": "gold_sales_per_minute",
    "payments": "gold_payment_health",
    "funnel": "gold_status_funnel",
    "sla": "gold_fulfillment_sla",
    "products": "gold_top_products",
    "alerts": "gold_order_alerts",
}


def _datasets() -> dict[str, str]:
    lvdash = dashboard(REPO / "resources" / "orders_kpis.lvdash.json")
    return {d["name"]: dataset_sql(d) for d in lvdash["datasets"]}


def test_dashboard_datasets_show_the_expected_gold_rows(spark, run_storage):
    datasets = _datasets()
    assert set(datasets) == {*DATASET_TABLES, "orders"}
    for name, table in DATASET_TABLES.items():
        want = expected(1, table)
        shown = spark.sql(datasets[name])
        columns = want["columns"]  # every hand-derived column is on the dashboard
        assert set(columns) <= set(shown.columns), (name, shown.columns)
        rows = sorted_rows(want["rows"], [columns.index(k) for k in want["key"]])
        assert table_rows(shown, columns, want["key"]) == rows, name


def test_dashboard_orders_dataset_joins_each_order_to_its_day(spark, run_storage):
    facts = expected(1, "fact_orders")
    days = {row[0]: row for row in expected(1, "dim_date")["rows"]}  # date_key -> dim_date row
    c = facts["columns"].index
    want = [
        [
            r[c("order_id")],
            r[c("channel")],
            r[c("customer_state")],
            r[c("payment_method")],
            r[c("total")],
            r[c("current_status")],
            r[c("created_at")],
            days[r[c("order_date_key")]][1],
            days[r[c("order_date_key")]][7],
            days[r[c("order_date_key")]][8],
        ]
        for r in facts["rows"]
    ]
    columns = [
        "order_id",
        "channel",
        "customer_state",
        "payment_method",
        "total",
        "current_status",
        "created_at",
        "date",
        "day_name",
        "is_weekend",
    ]
    assert table_rows(spark.sql(_datasets()["orders"]), columns, ["order_id"]) == sorted(want)
    assert [row[-2:] for row in want] == [
        ["Monday", False]
    ] * 6  # every fixture order was created on 2025-03-10


def test_dashboard_widgets_run_on_their_datasets(spark, run_storage):
    lvdash = dashboard(REPO / "resources" / "orders_kpis.lvdash.json")
    datasets = _datasets()
    widgets = 0
    for page in lvdash["pages"]:
        for item in page["layout"]:
            for query in item["widget"].get("queries", []):
                spec = query["query"]
                fields = [f"{f['expression']} AS `{f['name']}`" for f in spec["fields"]]
                keys = [f["expression"] for f in spec["fields"] if not AGGREGATE.match(f["expression"])]
                grouped = keys and not spec["disaggregated"] and len(keys) < len(fields)
                group = f" GROUP BY {', '.join(keys)}" if grouped else ""
                sql = f"SELECT {', '.join(fields)} FROM ({datasets[spec['datasetName']]}){group}"
                assert spark.sql(sql).collect(), f"widget {item['widget']['name']} shows nothing"
                widgets += 1
    assert widgets >= 7


# Each SQL alert evaluated at a fixed "now" (current_timestamp() replaced), with the value
# fixtures/expected/README.md derives for the pipeline's own alert rule at that moment.
FIXTURE_NOW = "2025-03-14 12:00:00"  # the latest event time of update 1 (o-2 delivered)
ALERT_VALUES = {
    # windows ending in the 15 minutes before 10:12: 10:00-10:05 1 failed / 2 = 0.5, 10:05-10:10 1/3
    "orders_payment_failure_rate.alert.yml": ("2025-03-10 10:12:00", Decimal("0.5")),
    # last order_created 10th 10:10, now 14th 12:00: 5870 minutes (the pipeline's order_silence)
    "orders_silence.alert.yml": (FIXTURE_NOW, Decimal("5870")),
    # delivered in the 24 hours before now: o-2, 97.98 h (the pipeline's sla_breach)
    "orders_sla_breach.alert.yml": (FIXTURE_NOW, Decimal("97.98")),
    # 32 quarantined / (20 + 32): 0.6154 (the pipeline's dq_drop_rate; no clock)
    "orders_dq_drop_rate.alert.yml": (FIXTURE_NOW, Decimal(32) / Decimal(52)),
}


def _alert(name: str) -> tuple[str, str]:
    ((_, settings),) = load_yaml(REPO / "resources" / name)["resources"]["alerts"].items()
    return _local_sql(settings["query_text"]), settings["evaluation"]["source"]["name"]


def test_every_alert_has_an_expected_value():
    assert sorted(ALERT_VALUES) == sorted(p.name for p in (REPO / "resources").glob("*.alert.yml"))


@pytest.mark.parametrize("alert", sorted(ALERT_VALUES))
def test_alert_query_gives_the_expected_value_at_a_fixed_now(spark, run_storage, alert):
    sql, source = _alert(alert)
    now, value = ALERT_VALUES[alert]
    rows = spark.sql(sql.replace("current_timestamp()", f"TIMESTAMP'{now}'")).collect()
    assert len(rows) == 1 and list(rows[0].asDict()) == [source]
    assert Decimal(str(rows[0][0])).quantize(Decimal("0.0001")) == value.quantize(Decimal("0.0001"))


def test_alert_queries_on_the_wall_clock_see_old_fixtures_as_quiet_except_silence(spark, run_storage):
    """As written (``current_timestamp()``): no window or delivery of 2025 is recent, so those
    alerts read 0; silence reads the minutes since 2025-03-10 10:10 UTC."""
    values = {}
    before = datetime.now(timezone.utc)
    for alert in ALERT_VALUES:
        sql, _ = _alert(alert)
        values[alert] = spark.sql(sql).collect()[0][0]
    after = datetime.now(timezone.utc)
    assert values["orders_payment_failure_rate.alert.yml"] == 0
    assert values["orders_sla_breach.alert.yml"] == 0
    last_created = datetime(2025, 3, 10, 10, 10, tzinfo=timezone.utc)
    seconds = float(values["orders_silence.alert.yml"]) * 60
    assert (
        (before - last_created).total_seconds() - 1 <= seconds <= (after - last_created).total_seconds() + 1
    )
