"""FastAPI dependencies as typed ``Annotated`` aliases (override them in tests)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Response, status
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from orders_lakehouse.serving.api.answers import STATE_KEY, AnswerCache, CachedAnswer
from orders_lakehouse.serving.api.errors import NotModifiedError
from orders_lakehouse.serving.backends.base import Backend
from orders_lakehouse.serving.gold import GoldTable
from orders_lakehouse.serving.settings import Settings


def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    return request.app.state.settings


def get_backend(request: Request) -> Backend:
    """The app's backend, built on first use (so the app starts even before the store is reachable)."""
    state = request.app.state
    if state.backend is None:
        from orders_lakehouse.serving.backends.factory import build_backend

        state.backend = build_backend(state.settings)
    return state.backend


SettingsDep = Annotated[Settings, Depends(get_settings)]
BackendDep = Annotated[Backend, Depends(get_backend)]
_bearer = HTTPBearer(auto_error=False, description="ORDERS_API_TOKEN (not needed when ORDERS_API_ENV=dev)")


# Set by the Databricks Apps reverse proxy once it has authenticated the user.
FORWARDED_USER_HEADERS = ("x-forwarded-user", "x-forwarded-email")


def require_token(
    request: Request,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Refuse the request unless it carries an accepted bearer token (outside dev).

    During a rotation both ``token`` and ``token_previous`` are accepted. With
    ``auth="databricks_app"`` (allowed only inside Databricks Apps) the platform's proxy
    authenticates users; a request without the identity headers it adds is refused.
    """
    if settings.auth == "databricks_app":
        if not any(request.headers.get(name) for name in FORWARDED_USER_HEADERS):
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED, "no user identity from the Databricks Apps proxy"
            )
        return
    if settings.env == "dev":
        return
    if credentials is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "missing bearer token", headers={"WWW-Authenticate": "Bearer"}
        )
    given = credentials.credentials.encode()
    # Constant-time comparison against every accepted token (no early exit on the first match).
    matches = [secrets.compare_digest(given, accepted) for accepted in settings.accepted_tokens()]
    if not any(matches):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "invalid bearer token")


Authorized = Depends(require_token)


def _query_names(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def reject_unknown_query_parameters(request: Request) -> None:
    """422 for a query parameter the route does not declare (a typo must not be silently ignored)."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    known = _query_names(dependant)
    unknown = [name for name in request.query_params if name not in known]
    if unknown:
        raise RequestValidationError(
            [
                {"loc": ("query", name), "msg": "unknown query parameter", "type": "extra_forbidden"}
                for name in dict.fromkeys(unknown)
            ]
        )


def conditional(*tables: GoldTable) -> Callable[..., None]:
    """A dependency: ``ETag`` from the versions of ``tables``; 304 when ``If-None-Match`` matches.

    The tag is checked before anything is read, so an unchanged table costs one version check;
    an answer already sent at this tag is sent again from :mod:`.answers` without reading.
    """

    def check(request: Request, response: Response, backend: BackendDep) -> None:
        versions = backend.versions(tables)
        if versions is None:  # the backend cannot tell cheaply (Databricks): no validator
            return
        etag = '"' + ";".join(f"{name}@{version}" for name, version in sorted(versions.items())) + '"'
        response.headers["Cache-Control"] = "no-cache"  # browsers revalidate: a 304 costs nothing
        if etag in {tag.strip() for tag in request.headers.get("if-none-match", "").split(",")}:
            raise NotModifiedError(etag)
        answers: AnswerCache | None = getattr(request.app.state, "answers", None)
        if answers is not None:  # the same tag, path and query: the body sent before (see .answers)
            key = answers.key(request, etag)
            body = answers.get(key)
            if body is not None:
                raise CachedAnswer(etag, body)
            setattr(request.state, STATE_KEY, key)  # RecordAnswers stores this answer's body
        response.headers["ETag"] = etag

    return check
