"""Fixtures for the ops CLI: a fake workspace on a real socket, and the SDK pointed at it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from fake_workspace import TOKEN, FakeWorkspace, serve

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture()
def workspace(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeWorkspace]:
    """A fresh fake workspace; the SDK authenticates to it with a token from the environment only
    (no ~/.databrickscfg, no other DATABRICKS_* variable leaks in)."""
    ws = FakeWorkspace()
    server, thread = serve(ws)
    for name in list(os.environ):
        if name.startswith(("DATABRICKS_", "BUNDLE_VAR_")) or name in ("ARM_CLIENT_ID", "AZURE_CLIENT_ID"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DATABRICKS_HOST", ws.url)
    monkeypatch.setenv("DATABRICKS_TOKEN", TOKEN)
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(tmp_path / "no-databrickscfg"))
    monkeypatch.setenv("COLUMNS", "200")  # rich tables unwrapped in captured output
    monkeypatch.chdir(REPO)  # the CLI reads resources/orders.pipeline.yml from the bundle root
    yield ws
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
