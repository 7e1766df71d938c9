"""The app factory: the read-only API over Gold plus the dashboard page at ``/``."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import Depends, FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from orders_lakehouse.serving.api import answers, errors
from orders_lakehouse.serving.api.deps import reject_unknown_query_parameters
from orders_lakehouse.serving.api.routes import alerts, health, kpis, orders, quality, summary
from orders_lakehouse.serving.backends.base import Backend
from orders_lakehouse.serving.settings import Settings, get_settings

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).parent / "static"

# Everything the pages load comes from this origin; nothing may frame them (clickjacking).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}

DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>orders-lakehouse API</title>
<link rel="stylesheet" href="/static/vendor/swagger-ui/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/static/vendor/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/static/docs.js"></script></body></html>
"""
# Where the dashboard page links the API docs; filled only when they are served (no dead links).
DOCS_LINKS_MARKER = "<!--api-docs-->"
DOCS_LINKS = ': <a href="/docs">/docs</a> · <a href="/openapi.json">/openapi.json</a>'


def dashboard_page(docs_on: bool) -> str:
    """The dashboard's HTML, linking ``/docs`` and ``/openapi.json`` only when they are served."""
    page = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    if DOCS_LINKS_MARKER not in page:  # the template and this module are edited together
        raise RuntimeError(f"{STATIC_DIR / 'index.html'} lost its {DOCS_LINKS_MARKER} marker")
    return page.replace(DOCS_LINKS_MARKER, DOCS_LINKS if docs_on else "")


def create_app(settings: Settings | None = None, backend: Backend | None = None) -> FastAPI:
    """A new app; ``settings`` default to the environment's, ``backend`` to the configured one.

    Example::

        app = create_app(Settings(env="dev", storage=Path("/tmp/run")))
        uvicorn.run(app, port=8000)
    """
    settings = settings or get_settings()
    settings.check_api()
    app = FastAPI(
        title="orders-lakehouse API",
        summary="Read-only access to the Gold layer: order status, KPIs, alerts, data quality.",
        version="1.1.0",
        # Swagger UI from vendored assets (FastAPI's default page loads them from a CDN).
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json" if settings.docs_on else None,
        dependencies=[Depends(reject_unknown_query_parameters)],
    )
    app.state.settings = settings
    app.state.backend = backend
    errors.install(app)
    answers.install(app, answers.AnswerCache())

    @app.middleware("http")
    async def _security_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        response: Response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    if settings.cors_origins:  # off unless configured: the dashboard is same-origin
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET"],
            allow_headers=["Authorization", "If-None-Match"],
            expose_headers=["ETag"],
        )

    for module in (orders, kpis, alerts, quality, summary, health):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    page = dashboard_page(settings.docs_on)

    @app.get("/", include_in_schema=False)
    def dashboard() -> HTMLResponse:
        return HTMLResponse(page)

    if settings.docs_on:

        @app.get("/docs", include_in_schema=False)
        def docs() -> HTMLResponse:
            return HTMLResponse(DOCS_PAGE)

    return app


def create_app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` and Databricks Apps: settings from the environment."""
    return create_app(Settings())
