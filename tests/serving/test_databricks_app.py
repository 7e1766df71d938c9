"""The Databricks App packaging: app.yaml is consistent with Settings, and the serving folder runs
on its own (as Apps deploys it) through databricks_app.py on $DATABRICKS_APP_PORT."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import yaml

from orders_lakehouse import serving
from orders_lakehouse.serving.settings import Settings

SERVING = Path(serving.__file__).resolve().parent

# Run databricks_app.py as if orders_lakehouse were not installed (as in a Databricks App).
STANDALONE = """
import runpy, sys

class HideInstalledPackage:
    def find_spec(self, name, path=None, target=None):
        if name == "orders_lakehouse" and path is None:
            raise ModuleNotFoundError(name)
        return None

sys.meta_path.insert(0, HideInstalledPackage())
runpy.run_path("databricks_app.py", run_name="__main__")
"""


def test_app_yaml_sets_only_known_settings() -> None:
    spec = yaml.safe_load((SERVING / "app.yaml").read_text())
    assert spec["command"] == ["python", "databricks_app.py"]
    names = [item["name"] for item in spec["env"]]
    fields = {f"ORDERS_API_{name.upper()}" for name in Settings.model_fields}
    assert sorted(set(names) - fields) == []
    assert {item["name"]: item.get("value", item.get("valueFrom")) for item in spec["env"]}[
        "ORDERS_API_BACKEND"
    ] == ("databricks")


def test_serving_folder_runs_standalone(gold_storage: Path, tmp_path: Path) -> None:
    root = tmp_path / "app"
    shutil.copytree(SERVING, root, ignore=shutil.ignore_patterns("__pycache__"))
    index = root / "static" / "index.html"
    index.write_text(
        index.read_text().replace("<h1>Orders lakehouse</h1>", "<h1>Orders lakehouse (deployed copy)</h1>")
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "DATABRICKS_APP_PORT": str(port),
        "ORDERS_API_ENV": "dev",
        "ORDERS_API_STORAGE": str(gold_storage),
    }
    process = subprocess.Popen(
        [sys.executable, "-c", STANDALONE],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        body = None
        for _ in range(200):
            assert process.poll() is None, process.stderr.read().decode()
            try:
                body = httpx.get(f"http://127.0.0.1:{port}/kpis/status-funnel", timeout=0.5).json()
                break
            except httpx.TransportError:
                try:
                    process.wait(timeout=0.1)
                except subprocess.TimeoutExpired:
                    pass
        assert body is not None and [s["stage"] for s in body["stages"]][:2] == ["created", "paid"]
        # The modules were loaded from the copied folder, not from the installed package.
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
        assert page.status_code == 200 and "<h1>Orders lakehouse (deployed copy)</h1>" in page.text
    finally:
        process.terminate()
        process.wait(timeout=10)


REPO = Path(__file__).resolve().parents[2]


def test_app_yaml_points_at_the_prod_target_and_the_bundle_event_log() -> None:
    app_spec = yaml.safe_load((SERVING / "app.yaml").read_text())
    env = {item["name"]: item.get("value") for item in app_spec["env"]}
    prod = yaml.safe_load((REPO / "databricks.yml").read_text())["targets"]["prod"]["variables"]
    assert (env["ORDERS_API_DATABRICKS_CATALOG"], env["ORDERS_API_DATABRICKS_SCHEMA"]) == (
        prod["catalog"],
        prod["schema"],
    )
    pipeline = yaml.safe_load((REPO / "resources" / "orders.pipeline.yml").read_text())
    [spec] = pipeline["resources"]["pipelines"].values()
    settings = Settings(
        backend="databricks",
        databricks_warehouse_id="wh",
        databricks_catalog=prod["catalog"],
        databricks_schema=prod["schema"],
    )
    assert settings.event_log_table == f"{prod['catalog']}.{prod['schema']}.{spec['event_log']['name']}"
    explicit = settings.model_copy(update={"databricks_event_log_table": "ops.logs.orders"})
    assert explicit.event_log_table == "ops.logs.orders"
