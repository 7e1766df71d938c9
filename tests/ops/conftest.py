"""Fixtures for the ops CLI: the workspace endpoints on a real socket (pytest-httpserver), and the
SDK pointed at them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from workspace_api import TOKEN, FakeWorkspace

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture()
def workspace(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeWorkspace]:
    """A fresh fake workspace on its own threaded server (a slow answer still in flight when a test
    ends cannot reach the next test's request log); the SDK authenticates to it with a token from
    the environment only (no ~/.databrickscfg, no other DATABRICKS_* variable leaks in)."""
    ws = FakeWorkspace()
    with HTTPServer(host="127.0.0.1", threaded=True) as server:
        ws.install(server)
        for name in list(os.environ):
            if name.startswith(("DATABRICKS_", "BUNDLE_VAR_")) or name in (
                "ARM_CLIENT_ID",
                "AZURE_CLIENT_ID",
            ):
                monkeypatch.delenv(name)
        monkeypatch.setenv("DATABRICKS_HOST", ws.url)
        monkeypatch.setenv("DATABRICKS_TOKEN", TOKEN)
        monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(tmp_path / "no-databrickscfg"))
        monkeypatch.setenv("COLUMNS", "200")  # rich tables unwrapped in captured output
        monkeypatch.chdir(REPO)  # the CLI reads resources/orders.pipeline.yml from the bundle root
        yield ws
        ws.released.set()  # slow answers return at once, so the server stops promptly
