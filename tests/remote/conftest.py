"""Remote tests: a Databricks Connect ``spark`` session; everything here is skipped, with the
reason in the report, when Databricks Connect or a workspace is missing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from remote_session import remote_spark, skip_reason

REASON = skip_reason()


def pytest_report_header(config: pytest.Config) -> str:
    return f"remote tests: {'SKIPPED: ' + REASON if REASON else 'on a Databricks workspace'}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if REASON is None:
        return
    here = str(config.rootpath / "tests" / "remote")
    for item in items:
        # only what needs the remote session: the script's own tests run anywhere
        if str(item.path).startswith(here) and "spark" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.skip(reason=REASON))


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """The remote session (overrides the local ``spark`` fixture for these tests)."""
    session = remote_spark()
    yield session
    session.stop()
