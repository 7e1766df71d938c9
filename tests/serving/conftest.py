"""Fixtures for serving: Gold tables on disk (delta-rs, no Spark), API clients, a scripted HTTP server."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")

from fastapi.testclient import TestClient  # noqa: E402
from pytest_httpserver import HTTPServer  # noqa: E402
from serving_gold_fixture import API_TOKEN, write_gold  # noqa: E402
from serving_http import ScriptedServer  # noqa: E402

from orders_lakehouse.serving.app import create_app  # noqa: E402
from orders_lakehouse.serving.settings import Settings  # noqa: E402


@pytest.fixture(scope="session")
def gold_storage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A storage root with every Gold table and the event log (read-only for tests)."""
    return write_gold(tmp_path_factory.mktemp("gold"))


@pytest.fixture(scope="module")
def client(gold_storage: Path) -> Iterator[TestClient]:
    """The dev app (no auth) over the fixture tables."""
    with TestClient(create_app(Settings(env="dev", storage=gold_storage))) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def secured_client(gold_storage: Path) -> Iterator[TestClient]:
    """The prod app (bearer token required) over the fixture tables."""
    with TestClient(create_app(Settings(env="prod", token=API_TOKEN, storage=gold_storage))) as test_client:
        yield test_client


@pytest.fixture()
def http_server(httpserver: HTTPServer) -> ScriptedServer:
    """pytest-httpserver's server (a free loopback port, cleared per test), answering as scripted."""
    return ScriptedServer(httpserver)
