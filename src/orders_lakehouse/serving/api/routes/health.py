"""``/health/live`` and ``/health/ready`` (no auth: for probes) and the dashboard's configuration."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Response, status

from orders_lakehouse.serving import models
from orders_lakehouse.serving.api.deps import BackendDep, SettingsDep
from orders_lakehouse.serving.gold import GOLD_TABLES

router = APIRouter(tags=["health"])


@router.get("/health/live", response_model=models.Liveness, operation_id="getLiveness")
def live() -> models.Liveness:
    """The process answers. Touches no table and runs no warehouse statement."""
    return models.Liveness()


@router.get(
    "/health/ready",
    response_model=models.Health,
    operation_id="getReadiness",
    responses={503: {"model": models.Health, "description": "a Gold table is missing or stale"}},
)
def ready(backend: BackendDep, settings: SettingsDep, response: Response) -> models.Health:
    """200 when every Gold table is readable (and, with a threshold set, recently committed), else 503."""
    tables = backend.available_tables()
    stale: list[str] = []
    limit = settings.ready_max_staleness_seconds
    commit_times = getattr(backend, "commit_times", None)
    if limit is not None and commit_times is not None:
        now = datetime.now(UTC)
        present = tuple(t for t in GOLD_TABLES if tables.get(t.name))
        stale = sorted(
            name
            for name, at in commit_times(present).items()
            if at is not None and (now - at).total_seconds() > limit
        )
    ok = all(tables.get(t.name, False) for t in GOLD_TABLES) and not stale
    if not ok:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return models.Health(status="ok" if ok else "degraded", backend=backend.name, tables=tables, stale=stale)


@router.get("/dashboard-config", response_model=models.DashboardConfig, include_in_schema=False)
def dashboard_config(settings: SettingsDep) -> models.DashboardConfig:
    """Refresh period and whether the page must send a token."""
    return models.DashboardConfig(
        refresh_seconds=settings.dashboard_refresh_seconds, auth_required=settings.auth_required
    )
