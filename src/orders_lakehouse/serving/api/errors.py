"""One error shape for every 4xx/5xx answer: ``{"code": ..., "detail": ..., "errors": [...]?}``.

``code`` is a stable machine-readable word, ``detail`` one human sentence (never a traceback),
``errors`` lists the offending parameters of a 422. Backend failures are 502 (the store answered
with an error) or 503 (the store or a table is not there now; ``Retry-After`` given).
"""

from __future__ import annotations

import logging
from decimal import InvalidOperation
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError, ResponseValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from orders_lakehouse.serving.backends.base import (
    BackendError,
    BackendUnavailableError,
    TableUnavailableError,
)
from orders_lakehouse.serving.records import OrderNotFoundError
from orders_lakehouse.serving.timerange import InvalidRequestError

log = logging.getLogger(__name__)

CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    422: "invalid_parameter",
    500: "internal_error",
    502: "backend_failed",
    503: "unavailable",
}
RETRY_AFTER_SECONDS = "5"


class NotModifiedError(Exception):
    """The client's ``If-None-Match`` matches: answer 304 with no body."""

    def __init__(self, etag: str) -> None:
        super().__init__(etag)
        self.etag = etag


def error_response(
    code: int,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """The JSON answer of an error, in the one shape of the API."""
    body: dict[str, Any] = {"code": CODES.get(code, "error"), "detail": detail}
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(status_code=code, content=body, headers=headers)


def _field_errors(error: RequestValidationError) -> list[dict[str, Any]]:
    # Keep loc/msg/type only: "input" would echo (possibly huge or secret) request values.
    return [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
        for e in error.errors()
    ]


def _summary(errors: list[dict[str, Any]]) -> str:
    first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
    where = " ".join(str(part) for part in first["loc"]) or "request"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first['msg']}{more}"


def install(app: FastAPI) -> None:
    """Register the handlers that give every failure the one error shape."""

    @app.exception_handler(RequestValidationError)
    def _invalid_parameters(_: Request, error: RequestValidationError) -> JSONResponse:
        errors = _field_errors(error)
        return error_response(status.HTTP_422_UNPROCESSABLE_CONTENT, _summary(errors), errors=errors)

    @app.exception_handler(StarletteHTTPException)
    def _http(_: Request, error: StarletteHTTPException) -> JSONResponse:
        detail = error.detail if isinstance(error.detail, str) else "request refused"
        return error_response(error.status_code, detail, headers=getattr(error, "headers", None))

    @app.exception_handler(InvalidRequestError)
    def _contradictory(_: Request, error: InvalidRequestError) -> JSONResponse:
        return error_response(status.HTTP_400_BAD_REQUEST, str(error))

    @app.exception_handler(OrderNotFoundError)
    def _not_found(_: Request, error: OrderNotFoundError) -> JSONResponse:
        return error_response(status.HTTP_404_NOT_FOUND, str(error))

    @app.exception_handler(TableUnavailableError)
    def _no_table(_: Request, error: TableUnavailableError) -> JSONResponse:
        return error_response(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"{error}: has the pipeline run yet?",
            headers={"Retry-After": RETRY_AFTER_SECONDS},
        )

    @app.exception_handler(BackendUnavailableError)
    def _unavailable(_: Request, error: BackendUnavailableError) -> JSONResponse:
        log.warning("backend unavailable: %s", error)
        return error_response(
            status.HTTP_503_SERVICE_UNAVAILABLE, str(error), headers={"Retry-After": RETRY_AFTER_SECONDS}
        )

    @app.exception_handler(BackendError)
    def _backend_failed(_: Request, error: BackendError) -> JSONResponse:
        log.error("backend error: %s", error)
        return error_response(status.HTTP_502_BAD_GATEWAY, str(error))

    # Values of a table that do not fit the API (a column retyped, an overflowing date): the data
    # behind the API is wrong, not the request. Logged with the traceback, answered in one line.
    @app.exception_handler(ResponseValidationError)
    @app.exception_handler(ValueError)
    @app.exception_handler(TypeError)
    @app.exception_handler(ArithmeticError)
    @app.exception_handler(InvalidOperation)
    def _bad_data(request: Request, error: Exception) -> JSONResponse:
        log.error("unexpected data behind %s", request.url.path, exc_info=error)
        return error_response(
            status.HTTP_502_BAD_GATEWAY,
            "the Gold data does not have the shape the API expects (see the server log)",
        )

    @app.exception_handler(NotModifiedError)
    def _not_modified(_: Request, error: NotModifiedError) -> Response:
        return Response(
            status_code=status.HTTP_304_NOT_MODIFIED,
            headers={"ETag": error.etag, "Cache-Control": "no-cache"},
        )

    @app.exception_handler(Exception)
    def _unexpected(request: Request, error: Exception) -> JSONResponse:
        log.error("unexpected error on %s", request.url.path, exc_info=error)
        return error_response(status.HTTP_500_INTERNAL_SERVER_ERROR, "internal error (see the server log)")
