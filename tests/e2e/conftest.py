"""Fixtures for the end-to-end tests: skip while the orders pipeline is not in the tree; the PII salt."""

from __future__ import annotations

import pytest

from orders_lakehouse.devstack.demo import pipeline_available


@pytest.fixture()
def orders_pipeline(monkeypatch: pytest.MonkeyPatch) -> None:
    """The orders pipeline must be there (else skip, saying why); it needs the PII salt secret."""
    if not pipeline_available():
        pytest.skip("the orders pipeline (pipelines/orders) or localdlt.runner is not in this tree yet")
    monkeypatch.setenv("LOCALDLT_SECRET_ORDERS_PII_SALT", "e2e-test-salt")
