"""Fixtures for the end-to-end tests: the PII salt the orders pipeline hashes e-mails with."""

from __future__ import annotations

import pytest


@pytest.fixture()
def orders_pipeline(monkeypatch: pytest.MonkeyPatch) -> None:
    """The orders pipeline's secret: ``dbutils.secrets.get("orders", "pii-salt")`` reads it locally."""
    monkeypatch.setenv("LOCALDLT_SECRET_ORDERS_PII_SALT", "e2e-test-salt")
