"""``localdlt run --bundle-pipeline resources/orders.pipeline.yml --target dev`` on the fixtures:
the bundle's libraries, configuration and root path drive a real local run, and then every
dashboard dataset, dashboard widget and SQL alert query of the bundle runs against the tables it
produced (catching a renamed column before a deploy would)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from bundle_facts import REPO, dashboard, dataset_sql, defined_tables, load_yaml

from localdlt.cli import main as localdlt_main

LANDING = REPO / "fixtures" / "landing" / "update_1"
AGGREGATE = re.compile(r"^(SUM|AVG|COUNT|MIN|MAX)\(", re.IGNORECASE)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run_storage(spark, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One bundle-driven update over the fixtures; each table then a temporary view."""
    storage = tmp_path_factory.mktemp("bundle-run")
    patch = pytest.MonkeyPatch()
    patch.setenv("LOCALDLT_SECRET_ORDERS_PII_SALT", "bundle-test-salt")
    patch.chdir(REPO)
    try:
        code = localdlt_main([
            "run", "--bundle-pipeline", "resources/orders.pipeline.yml", "--target", "dev",
            "--conf", f"orders.landing_path={LANDING}", "--storage", str(storage), "--quiet",
        ], spark=spark)
    finally:
        patch.undo()
    assert code == 0, "the bundle-driven update failed (see the log above)"
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


def test_dashboard_queries_run_on_the_gold_tables(spark, run_storage):
    lvdash = dashboard(REPO / "resources" / "orders_kpis.lvdash.json")
    datasets = {d["name"]: dataset_sql(d) for d in lvdash["datasets"]}
    for name, sql in datasets.items():
        spark.sql(sql).collect()  # raises on an unknown table or column
    for page in lvdash["pages"]:
        for item in page["layout"]:
            for query in item["widget"].get("queries", []):
                spec = query["query"]
                fields = [f"{f['expression']} AS `{f['name']}`" for f in spec["fields"]]
                keys = [f["expression"] for f in spec["fields"] if not AGGREGATE.match(f["expression"])]
                group = f" GROUP BY {', '.join(keys)}" if keys and not spec["disaggregated"] and len(keys) < len(fields) else ""
                spark.sql(f"SELECT {', '.join(fields)} FROM ({datasets[spec['datasetName']]}){group}").collect()


@pytest.mark.parametrize("alert", sorted(p.name for p in (REPO / "resources").glob("*.alert.yml")))
def test_alert_query_returns_one_row_with_its_source_column(spark, run_storage, alert):
    (key, settings), = load_yaml(REPO / "resources" / alert)["resources"]["alerts"].items()
    rows = spark.sql(_local_sql(settings["query_text"])).collect()
    assert len(rows) == 1
    assert list(rows[0].asDict()) == [settings["evaluation"]["source"]["name"]]
    assert rows[0][0] is not None
