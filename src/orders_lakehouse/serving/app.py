"""The app factory: the read-only API over Gold plus the dashboard page at ``/``."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI, Request, status
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from orders_lakehouse.serving.api.routes import alerts, health, kpis, orders, quality
from orders_lakehouse.serving.backends.base import Backend, BackendError, TableUnavailableError
from orders_lakehouse.serving.records import OrderNotFoundError
from orders_lakehouse.serving.settings import Settings, get_settings
from orders_lakehouse.serving.timerange import InvalidRequestError

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).parent / "static"


def _detail(code: int, message: str) -> JSONResponse:
    return JSONResponse(status_code=code, content={"detail": message})


def create_app(settings: Settings | None = None, backend: Backend | None = None) -> FastAPI:
    """A new app; ``settings`` default to the environment's, ``backend`` to the configured one.

    Example::

        app = create_app(Settings(env="dev", storage=Path("/tmp/run")))
        uvicorn.run(app, port=8000)
    """
    app = FastAPI(
        title="orders-lakehouse API",
        summary="Read-only access to the Gold layer: order status, KPIs, alerts, data quality.",
        version="1.0.0",
    )
    app.state.settings = settings = settings or get_settings()
    settings.check_api()
    app.state.backend = backend

    @app.exception_handler(InvalidRequestError)
    def _invalid(_: Request, error: InvalidRequestError) -> JSONResponse:
        return _detail(status.HTTP_400_BAD_REQUEST, str(error))

    @app.exception_handler(OrderNotFoundError)
    def _not_found(_: Request, error: OrderNotFoundError) -> JSONResponse:
        return _detail(status.HTTP_404_NOT_FOUND, str(error))

    @app.exception_handler(TableUnavailableError)
    def _unavailable(_: Request, error: TableUnavailableError) -> JSONResponse:
        return _detail(status.HTTP_503_SERVICE_UNAVAILABLE, f"{error}: has the pipeline run yet?")

    @app.exception_handler(BackendError)
    def _backend_failed(_: Request, error: BackendError) -> JSONResponse:
        log.error("backend error: %s", error)
        return _detail(status.HTTP_502_BAD_GATEWAY, str(error))

    for module in (orders, kpis, alerts, quality, health):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    def dashboard() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html")

    return app


def create_app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` and Databricks Apps: settings from the environment."""
    return create_app(Settings())
