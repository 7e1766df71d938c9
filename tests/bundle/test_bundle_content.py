"""The bundle agrees with the code: configuration keys, paths, tables, references, targets."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from bundle_facts import (
    REPO,
    bundle_files,
    configuration_keys_read,
    dashboard,
    dataset_sql,
    defined_tables,
    load_yaml,
    tables_in_sql,
)

from localdlt.bundle import load_pipeline_resource

RESOURCES = REPO / "resources"
KIND_SUFFIX = {
    "pipelines": "pipeline",
    "jobs": "job",
    "dashboards": "dashboard",
    "alerts": "alert",
    "apps": "app",
}
REFERENCE = re.compile(r"\$\{([^}]+)\}")


def _resources() -> dict[tuple[str, str], tuple[Path, dict]]:
    """(kind, key) -> (file, settings) over every resources/*.yml."""
    found = {}
    for path in sorted(RESOURCES.glob("*.yml")):
        for kind, entries in (load_yaml(path).get("resources") or {}).items():
            for key, settings in entries.items():
                found[(kind, key)] = (path, settings)
    return found


def _comments(path: Path) -> str:
    """The file's comments as one line of words."""
    lines = [line.split("#", 1)[1] for line in path.read_text(encoding="utf-8").splitlines() if "#" in line]
    return " ".join(" ".join(lines).split())


def _pipeline() -> dict:
    return load_yaml(RESOURCES / "orders.pipeline.yml")["resources"]["pipelines"]["orders"]


def test_configuration_keys_set_equal_keys_the_pipeline_code_reads():
    read = configuration_keys_read()
    assert len(read) == 13  # the BRIEF.md table; a change there must show up here on purpose
    assert set(_pipeline()["configuration"]) == read


def test_one_resource_per_file_named_after_its_key_and_kind():
    by_file: dict[Path, list[tuple[str, str]]] = {}
    for (kind, key), (path, _) in _resources().items():
        by_file.setdefault(path, []).append((kind, key))
    for path, entries in by_file.items():
        assert len(entries) == 1, f"{path.name} defines {entries}"
        kind, key = entries[0]
        assert path.name == f"{key}.{KIND_SUFFIX[kind]}.yml"
    assert sorted(p.name for p in by_file) == sorted(p.name for p in RESOURCES.glob("*.yml"))


def test_every_reference_names_a_declared_variable_or_resource():
    declared = set(load_yaml(REPO / "databricks.yml")["variables"])
    resources = _resources()
    for path in bundle_files():
        for reference in REFERENCE.findall(path.read_text(encoding="utf-8")):
            head, _, rest = reference.partition(".")
            if head == "var":
                assert rest in declared, f"{path.name}: ${{{reference}}} is not declared"
            elif head == "resources":
                kind, key, field = rest.split(".")
                assert (kind, key) in resources and field == "id", f"{path.name}: ${{{reference}}}"
            else:
                assert reference in {
                    "bundle.name",
                    "bundle.target",
                    "workspace.file_path",
                    "workspace.current_user.userName",
                    "workspace.current_user.short_name",
                }, reference


def test_every_declared_variable_is_used():
    declared = set(load_yaml(REPO / "databricks.yml")["variables"])
    used = {
        r[len("var.") :]
        for p in bundle_files()
        for r in REFERENCE.findall(p.read_text())
        if r.startswith("var.")
    }
    assert declared == used


def test_library_root_and_file_paths_resolve_to_existing_files():
    pipeline = _pipeline()
    assert (RESOURCES / pipeline["root_path"]).resolve() == REPO / "pipelines" / "orders"
    resource = load_pipeline_resource(
        RESOURCES / "orders.pipeline.yml",
        target="dev",
        overrides={"workspace.current_user.short_name": "ana"},
    )
    expected = sorted((REPO / "pipelines" / "orders" / "transformations").glob("*.py"))
    assert resource.libraries == expected and len(expected) == len(defined_tables()) + 1  # + the view
    for (kind, key), (path, settings) in _resources().items():
        if "file_path" in settings:
            assert (path.parent / settings["file_path"]).is_file(), f"{kind}.{key}: {settings['file_path']}"
        if "source_code_path" in settings:
            assert (path.parent / settings["source_code_path"] / "app.yaml").is_file(), f"{kind}.{key}"


def test_app_gets_the_warehouse_its_app_yaml_reads():
    path, app = _resources()[("apps", "orders_serving")]
    app_yaml = load_yaml(path.parent / app["source_code_path"] / "app.yaml")
    wanted = {e["valueFrom"] for e in app_yaml["env"] if "valueFrom" in e}
    assert wanted == {r["name"] for r in app["resources"]} == {"sql-warehouse"}
    assert app["resources"][0]["sql_warehouse"] == {"id": "${var.warehouse_id}", "permission": "CAN_USE"}


def test_pipeline_settings_follow_the_design():
    pipeline = _pipeline()
    assert pipeline["serverless"] is True and pipeline["continuous"] is True
    assert "development" not in pipeline  # mode: production rejects it; mode: development sets it
    assert pipeline["catalog"] == "${var.catalog}" and pipeline["schema"] == "${var.schema}"
    assert pipeline["event_log"] == {
        "catalog": "${var.catalog}",
        "schema": "${var.schema}",
        "name": "orders_event_log",
    }
    assert pipeline["environment"] == {"dependencies": ["--editable ${workspace.file_path}"]}
    assert pipeline["notifications"] == [
        {
            "email_recipients": ["${var.notification_email}"],
            "alerts": ["on-update-failure", "on-update-fatal-failure", "on-flow-failure"],
        }
    ]
    assert "`mode: development` turns this off: the deployed dev pipeline is triggered" in _comments(
        RESOURCES / "orders.pipeline.yml"
    )


def test_targets():
    bundle = load_yaml(REPO / "databricks.yml")
    assert bundle["bundle"]["name"] == "orders_lakehouse"
    assert bundle["include"] == ["resources/*.yml"]
    dev, prod = bundle["targets"]["dev"], bundle["targets"]["prod"]
    assert (dev["mode"], dev["default"]) == ("development", True)
    assert prod["mode"] == "production" and "default" not in prod
    assert prod["workspace"]["root_path"] == "/Workspace/Shared/.bundle/${bundle.name}/${bundle.target}"
    assert prod["permissions"] and set(prod["run_as"]) == {"service_principal_name"}


def test_job_triggers_the_pipeline():
    ((path, job),) = [(p, s) for (kind, _), (p, s) in _resources().items() if kind == "jobs"]
    assert [t["pipeline_task"] for t in job["tasks"]] == [
        {"pipeline_id": "${resources.pipelines.orders.id}", "full_refresh": False}
    ]


def test_dashboard_reads_only_gold_tables_the_pipeline_defines():
    ((path, settings),) = [v for (kind, _), v in _resources().items() if kind == "dashboards"]
    lvdash = dashboard(path.parent / settings["file_path"])
    read = set().union(*(tables_in_sql(dataset_sql(d)) for d in lvdash["datasets"]))
    assert read == {
        "gold_sales_per_minute",
        "gold_payment_health",
        "gold_status_funnel",
        "gold_fulfillment_sla",
        "gold_top_products",
        "gold_order_alerts",
        "fact_orders",
        "dim_date",
    }
    assert read <= defined_tables()
    datasets = {d["name"] for d in lvdash["datasets"]}
    for page in lvdash["pages"]:
        for item in page["layout"]:
            for query in item["widget"].get("queries", []):
                assert query["query"]["datasetName"] in datasets
                fields = {f["name"] for f in query["query"]["fields"]}
                encodings = item["widget"]["spec"]["encodings"]
                used = [e["fieldName"] for e in encodings.get("columns", [])] + [
                    e["fieldName"] for e in encodings.values() if isinstance(e, dict) and "fieldName" in e
                ]
                assert set(used) <= fields, item["widget"]["name"]


ALERT_RULES = {  # alert resource -> (pipeline rule in gold_order_alerts, configuration key of its threshold)
    "orders_payment_failure_rate": ("payment_failure_rate", "orders.alerts.payment_failure_rate"),
    "orders_silence": ("order_silence", "orders.alerts.silence_minutes"),
    "orders_sla_breach": ("sla_breach", "orders.alerts.sla_hours"),
    "orders_dq_drop_rate": ("dq_drop_rate", "orders.alerts.dq_drop_rate"),
}


@pytest.mark.parametrize("key", sorted(ALERT_RULES))
def test_sql_alert_mirrors_a_pipeline_rule_with_the_same_threshold(key):
    rule, conf_key = ALERT_RULES[key]
    path, alert = _resources()[("alerts", key)]
    assert tables_in_sql(alert["query_text"]) <= defined_tables()
    threshold = alert["evaluation"]["threshold"]["value"]["double_value"]
    assert threshold == _pipeline()["configuration"][conf_key]  # the same ${var.*}
    assert f"mirrors the pipeline rule {rule}" in _comments(path)
    alias = re.search(r"\bAS (\w+)\s*$", alert["query_text"].split("FROM")[0].strip(), re.MULTILINE)
    assert alias and alert["evaluation"]["source"]["name"] == alias.group(1)


def test_the_four_pipeline_rules_are_all_mirrored():
    source = (REPO / "src" / "orders_lakehouse" / "transforms" / "alerts.py").read_text()
    rules = set(re.findall(r'^\s+"(\w+)",\s*\n\s+"(?:low|medium|high|critical)"', source, re.MULTILINE))
    assert rules == {rule for rule, _ in ALERT_RULES.values()}
