"""``/health`` (no auth: for probes) and the dashboard's configuration."""

from __future__ import annotations

from fastapi import APIRouter

from orders_lakehouse.serving import models
from orders_lakehouse.serving.api.deps import BackendDep, SettingsDep
from orders_lakehouse.serving.gold import GOLD_TABLES

router = APIRouter(tags=["health"])


@router.get("/health", response_model=models.Health)
def health(backend: BackendDep) -> models.Health:
    """Which Gold tables (and the event log) the backend can read."""
    tables = backend.available_tables()
    ready = all(tables.get(t.name, False) for t in GOLD_TABLES)
    return models.Health(status="ok" if ready else "degraded", backend=backend.name, tables=tables)


@router.get("/dashboard-config", response_model=models.DashboardConfig, include_in_schema=False)
def dashboard_config(settings: SettingsDep) -> models.DashboardConfig:
    """Refresh period and whether the page must send a token."""
    return models.DashboardConfig(
        refresh_seconds=settings.dashboard_refresh_seconds, auth_required=settings.auth_required
    )
