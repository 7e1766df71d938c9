"""localdlt.bundle: a bundle pipeline resource read for a local run (no Spark, no workspace)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from localdlt.bundle import BundleError, load_pipeline_resource, short_user_name
from localdlt.errors import PipelineDefinitionError
from orders_lakehouse.ops.deployed import DeployedPipeline, describe_deployed_pipeline

REPO = Path(__file__).resolve().parents[3]

BUNDLE = """
bundle:
  name: shop
variables:
  catalog:
    default: main
  schema:
    description: no default
  source:
    default: files
  threshold:
    default: 0.25
  enabled:
    default: true
  batch:
    default: 500
  greeting:
    default: hello ${var.source}
  warehouse:
    lookup:
      warehouse: Starter Warehouse
targets:
  dev:
    mode: development
    default: true
    variables:
      schema: dev_${workspace.current_user.short_name}
  staging:
    variables:
      schema: staging
      source:
        default: kafka
    workspace:
      root_path: /Workspace/Shared/.bundle/${bundle.name}/${bundle.target}
  prod:
    mode: production
    presets:
      name_prefix: "[prod] "
    variables:
      schema: prod
"""

PIPELINE = """
resources:
  pipelines:
    etl:
      name: shop_etl_${bundle.target}
      catalog: ${var.catalog}
      schema: ${var.schema}
      root_path: ../src/etl
      libraries:
        - file:
            path: ../src/etl/first.py
        - glob:
            include: ../src/etl/transformations/**
        - notebook:
            path: ../src/etl/first.py
      configuration:
        shop.source: ${var.source}
        shop.threshold: ${var.threshold}
        shop.enabled: ${var.enabled}
        shop.batch: ${var.batch}
        shop.greeting: ${var.greeting}
        shop.schema: ${var.schema}
        shop.where: ${bundle.name}/${bundle.target}
        shop.literal: "7"
"""


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


@pytest.fixture()
def bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A small bundle: databricks.yml, resources/etl.pipeline.yml and sources, one of each kind."""
    for name in [n for n in __import__("os").environ if n.startswith("BUNDLE_VAR_")]:
        monkeypatch.delenv(name)
    _write(
        tmp_path,
        {
            "databricks.yml": BUNDLE,
            "resources/etl.pipeline.yml": PIPELINE,
            "src/etl/first.py": "# first\n",
            "src/etl/transformations/b_table.py": "",
            "src/etl/transformations/a_table.sql": "",
            "src/etl/transformations/nested/deeper/c_table.py": "",
            "src/etl/transformations/README.md": "",
            "src/etl/transformations/__pycache__/b_table.cpython-311.pyc": "",
            "src/etl/transformations/notes.txt": "",
        },
    )
    return tmp_path


def _load(bundle: Path, **kwargs):
    return load_pipeline_resource(bundle / "resources" / "etl.pipeline.yml", **kwargs)


def test_staging_resolves_everything_relative_to_the_resource_file(bundle):
    r = _load(bundle, target="staging")

    assert (r.key, r.name, r.target, r.catalog, r.schema) == (
        "etl",
        "shop_etl_staging",
        "staging",
        "main",
        "staging",
    )
    assert r.bundle_root == bundle.resolve()
    assert r.root_path == (bundle / "src" / "etl").resolve()
    t = (bundle / "src" / "etl" / "transformations").resolve()
    assert r.libraries == [  # resource order, sorted inside the glob, no duplicates, only .py/.sql
        (bundle / "src" / "etl" / "first.py").resolve(),
        t / "a_table.sql",
        t / "b_table.py",
        t / "nested" / "deeper" / "c_table.py",
    ]
    assert r.configuration == {
        "shop.source": "kafka",  # the target's long form {default: ...}
        "shop.threshold": "0.25",
        "shop.enabled": "true",
        "shop.batch": "500",
        "shop.greeting": "hello kafka",  # a variable referencing a variable
        "shop.schema": "staging",
        "shop.where": "shop/staging",
        "shop.literal": "7",
    }


def test_precedence_default_then_target_then_environment_then_override(bundle, monkeypatch):
    assert _load(bundle, target="staging").configuration["shop.source"] == "kafka"
    monkeypatch.setenv("BUNDLE_VAR_source", "eventhubs")
    assert _load(bundle, target="staging").configuration["shop.source"] == "eventhubs"
    r = _load(bundle, target="staging", overrides={"var.source": "files"})
    assert r.configuration["shop.source"] == "files"
    assert r.configuration["shop.greeting"] == "hello files"
    assert "var.source" not in r.configuration


def test_configuration_override_replaces_a_key_without_resolving_it(bundle):
    # dev's schema needs the workspace user; overriding the key that uses it is enough
    r = _load(bundle, overrides={"shop.schema": "mine", "shop.extra": "x"})

    assert r.target == "dev"  # the default target
    assert r.configuration["shop.schema"] == "mine" and r.configuration["shop.extra"] == "x"
    assert r.schema is None  # the resource's schema field stays unresolved (it is not configuration)


def test_workspace_values_can_be_given(bundle):
    r = _load(bundle, overrides={"workspace.current_user.short_name": "ana"})

    assert r.configuration["shop.schema"] == "dev_ana" and r.schema == "dev_ana"


def test_unresolvable_workspace_value_is_named(bundle):
    with pytest.raises(BundleError) as caught:
        _load(bundle)

    assert str(caught.value) == (
        "[BUNDLE_CONFIGURATION] cannot resolve ${workspace.current_user.short_name} in "
        "configuration['shop.schema'] via variables.schema of resources/etl.pipeline.yml (target 'dev'): "
        "it is known only to a deployed bundle; set it with --conf workspace.current_user.short_name=VALUE"
    )
    assert isinstance(caught.value, PipelineDefinitionError) and isinstance(caught.value, ValueError)


def test_variable_without_value_is_named(bundle):
    _write(bundle, {"databricks.yml": BUNDLE.replace("      schema: prod\n", "")})

    with pytest.raises(
        BundleError,
        match=r"^\[BUNDLE_CONFIGURATION\] cannot resolve \$\{var\.schema\} in "
        r"configuration\['shop\.schema'\] of resources/etl\.pipeline\.yml "
        r"\(target 'prod'\): variable 'schema' has no default and target 'prod' "
        r"sets none; set it with --conf var\.schema=VALUE or the environment "
        r"variable BUNDLE_VAR_schema$",
    ):
        _load(bundle, target="prod")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "${var.warehouse}",
            "cannot resolve ${var.warehouse} in configuration['shop.x'] of resources/etl.pipeline.yml "
            "(target 'staging'): variable 'warehouse' is a lookup (warehouse: Starter Warehouse) "
            "that needs a workspace; "
            "set it with --conf var.warehouse=VALUE or the environment variable BUNDLE_VAR_warehouse",
        ),
        (
            "${var.sorce}",
            "${var.sorce} in configuration['shop.x'] of resources/etl.pipeline.yml (target 'staging'): "
            "databricks.yml declares no variable 'sorce' (did you mean 'source'?)",
        ),
        (
            "${resources.jobs.refresh.id}",
            "cannot resolve ${resources.jobs.refresh.id} in configuration['shop.x'] of "
            "resources/etl.pipeline.yml (target 'staging'): "
            "${resources.*} references are known only to a deployed bundle",
        ),
        (
            "${bundle.uuid}",
            "cannot resolve ${bundle.uuid} in configuration['shop.x'] of resources/etl.pipeline.yml "
            "(target 'staging'): databricks.yml sets no bundle.uuid",
        ),
    ],
)
def test_unresolvable_references_are_named(bundle, value, message):
    _write(bundle, {"resources/etl.pipeline.yml": PIPELINE + f"        shop.x: {value}\n"})

    with pytest.raises(BundleError) as caught:
        _load(bundle, target="staging")

    assert str(caught.value) == f"[BUNDLE_CONFIGURATION] {message}"


def test_workspace_paths_follow_the_cli_defaults(bundle):
    _write(
        bundle,
        {
            "resources/etl.pipeline.yml": PIPELINE + "        shop.files: ${workspace.file_path}\n"
            "        shop.root: ${workspace.root_path}\n"
        },
    )

    r = _load(bundle, target="staging")

    assert r.configuration["shop.root"] == "/Workspace/Shared/.bundle/shop/staging"
    assert r.configuration["shop.files"] == "/Workspace/Shared/.bundle/shop/staging/files"
    r = _load(bundle, target="prod", overrides={"workspace.current_user.userName": "ana@example.com"})
    assert r.configuration["shop.root"] == "/Workspace/Users/ana@example.com/.bundle/shop/prod"


def test_cyclic_variables_are_named(bundle):
    text = BUNDLE.replace(
        "  greeting:\n    default: hello ${var.source}",
        "  greeting:\n    default: hello ${var.other}\n  other:\n    default: ${var.greeting}",
    )
    _write(bundle, {"databricks.yml": text})

    with pytest.raises(
        BundleError,
        match=r"cyclic reference \$\{var\.greeting\} -> \$\{var\.other\} -> "
        r"\$\{var\.greeting\} in configuration\['shop\.greeting'\]",
    ):
        _load(bundle, target="staging")


def test_unknown_target_suggests_a_close_one(bundle):
    with pytest.raises(BundleError) as caught:
        _load(bundle, target="stagin")

    assert str(caught.value) == (
        "[BUNDLE_CONFIGURATION] unknown target 'stagin' (targets: dev, prod, staging) "
        "(did you mean 'staging'?)"
    )


def test_glob_matching_no_source_file_is_an_error(bundle):
    _write(bundle, {"resources/etl.pipeline.yml": PIPELINE.replace("transformations/**", "nothing/**")})

    with pytest.raises(BundleError) as caught:
        _load(bundle, target="staging")

    resource = (bundle / "resources" / "etl.pipeline.yml").resolve()
    assert str(caught.value) == (
        f"[BUNDLE_CONFIGURATION] libraries[1].glob.include '../src/etl/nothing/**' of "
        f"{resource} matches no .py/.sql file"
    )


def test_glob_patterns_other_than_a_folder(bundle):
    _write(
        bundle,
        {"resources/etl.pipeline.yml": PIPELINE.replace("transformations/**", "transformations/**/*.py")},
    )

    r = _load(bundle, target="staging")

    t = (bundle / "src" / "etl" / "transformations").resolve()
    assert r.libraries[1:] == [t / "b_table.py", t / "nested" / "deeper" / "c_table.py"]


def test_missing_file_library_and_workspace_paths_are_errors(bundle):
    _write(
        bundle,
        {"resources/etl.pipeline.yml": PIPELINE.replace("../src/etl/first.py", "../src/etl/gone.py", 1)},
    )
    with pytest.raises(
        BundleError, match=r"libraries\[0\]\.file\.path of .*: no such file .*/src/etl/gone\.py$"
    ):
        _load(bundle, target="staging")

    _write(
        bundle,
        {"resources/etl.pipeline.yml": PIPELINE.replace("../src/etl/first.py", "/Workspace/Users/a/x.py", 1)},
    )
    with pytest.raises(
        BundleError,
        match=r"'/Workspace/Users/a/x\.py' is a workspace path: a local run needs a path "
        r"relative to the resource file",
    ):
        _load(bundle, target="staging")


def test_no_bundle_root(tmp_path):
    _write(tmp_path, {"resources/etl.pipeline.yml": PIPELINE})

    with pytest.raises(BundleError, match=r"no databricks\.yml found in .*/resources or any parent folder"):
        load_pipeline_resource(tmp_path / "resources" / "etl.pipeline.yml")


def test_several_pipelines_need_a_key(bundle):
    _write(bundle, {"resources/etl.pipeline.yml": PIPELINE + "    other:\n      name: other\n"})

    with pytest.raises(BundleError, match=r"defines several pipelines \(etl, other\): choose one with key="):
        _load(bundle, target="staging")
    assert _load(bundle, target="staging", key="other").libraries == []
    with pytest.raises(BundleError, match=r"defines no pipeline 'etll' \(did you mean 'etl'\?\)"):
        _load(bundle, target="staging", key="etll")


def test_target_can_override_resource_fields(bundle):
    prod_override = (
        "    resources:\n"
        "      pipelines:\n"
        "        etl:\n"
        "          configuration:\n"
        '            shop.literal: "8"\n'
    )
    _write(bundle, {"databricks.yml": BUNDLE + prod_override})  # appended under targets.prod

    assert _load(bundle, target="prod").configuration["shop.literal"] == "8"
    assert _load(bundle, target="staging").configuration["shop.literal"] == "7"


def test_deployed_names_per_mode(bundle):
    resource = bundle / "resources" / "etl.pipeline.yml"

    dev = describe_deployed_pipeline(resource)
    assert dev == DeployedPipeline(
        "etl", "shop_etl_dev", "dev", "development", "[dev ${workspace.current_user.short_name}] "
    )
    assert dev.needs_short_name and dev.deployed_name("ana") == "[dev ana] shop_etl_dev"
    assert describe_deployed_pipeline(resource, target="prod").deployed_name() == "[prod] shop_etl_prod"
    assert describe_deployed_pipeline(resource, target="staging").deployed_name() == "shop_etl_staging"
    with pytest.raises(BundleError, match=r"target 'dev' prefixes names with the user's short name"):
        dev.deployed_name()


@pytest.mark.parametrize(
    ("user", "display", "short"),
    [
        ("Ana.Souza@example.com", None, "ana_souza"),
        ("joão-silva+dev@example.com", None, "joão_silva_dev"),
        ("..x__y..@example.com", None, "x_y"),
        ("0b6a44e4-3b8c-4a3e-9f3e-2f5d1c8e7a10", "Orders Deployer", "orders_deployer"),
    ],
)
def test_short_user_name_matches_the_cli(user, display, short):
    assert short_user_name(user, display) == short


def test_the_orders_bundle_for_dev():
    r = load_pipeline_resource(
        REPO / "resources" / "orders.pipeline.yml",
        target="dev",
        overrides={
            "workspace.current_user.short_name": "ana",
            "workspace.current_user.userName": "ana@example.com",
        },
    )

    assert (r.name, r.catalog, r.schema, r.continuous) == (
        "orders_lakehouse_etl",
        "main",
        "orders_ana",
        False,
    )
    assert r.root_path == REPO / "pipelines" / "orders"
    assert r.configuration == {
        "orders.source": "files",
        "orders.landing_path": "/Volumes/main/orders_ana/landing/orders",
        "orders.kafka.bootstrap_servers": "",
        "orders.kafka.topic": "orders",
        "orders.eventhubs.namespace": "",
        "orders.eventhubs.name": "orders",
        "orders.secret_scope": "orders",
        "orders.watermark_delay": "10 minutes",
        "orders.future_tolerance_seconds": "300",
        "orders.alerts.payment_failure_rate": "0.2",
        "orders.alerts.silence_minutes": "10",
        "orders.alerts.sla_hours": "72",
        "orders.alerts.dq_drop_rate": "0.05",
    }


def test_the_orders_bundle_for_prod_needs_the_event_hubs_namespace():
    with pytest.raises(BundleError, match=r"cannot resolve \$\{var\.eventhubs_namespace\}"):
        load_pipeline_resource(REPO / "resources" / "orders.pipeline.yml", target="prod")

    r = load_pipeline_resource(
        REPO / "resources" / "orders.pipeline.yml",
        target="prod",
        overrides={"var.eventhubs_namespace": "orders-prod-ns"},
    )
    assert r.configuration["orders.source"] == "eventhubs"
    assert r.configuration["orders.eventhubs.namespace"] == "orders-prod-ns"
    assert r.configuration["orders.landing_path"] == "/Volumes/orders/lakehouse/landing/orders"
    assert r.continuous is True
