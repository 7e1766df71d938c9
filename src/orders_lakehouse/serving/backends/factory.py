"""Build the configured backend from :class:`~orders_lakehouse.serving.settings.Settings`."""

from __future__ import annotations

from orders_lakehouse.serving.backends.base import Backend
from orders_lakehouse.serving.settings import Settings


def build_backend(settings: Settings) -> Backend:
    """A :class:`LocalDeltaBackend` or a :class:`DatabricksSqlBackend`, per ``settings.backend``."""
    if settings.backend == "local":
        from orders_lakehouse.serving.backends.local import LocalDeltaBackend

        assert settings.storage is not None  # validated by Settings
        return LocalDeltaBackend(settings.storage)
    from databricks.sdk import WorkspaceClient

    from orders_lakehouse.serving.backends.databricks import DatabricksSqlBackend

    assert settings.databricks_warehouse_id is not None  # validated by Settings
    # WorkspaceClient resolves auth itself (env vars, profile, or a Databricks App's service principal).
    return DatabricksSqlBackend(
        WorkspaceClient(),
        warehouse_id=settings.databricks_warehouse_id,
        catalog=settings.databricks_catalog,
        schema=settings.databricks_schema,
        event_log_table=settings.event_log_table,
        wait_timeout=settings.databricks_wait_timeout,
    )
