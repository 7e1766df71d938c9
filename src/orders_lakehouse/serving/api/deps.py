"""FastAPI dependencies as typed ``Annotated`` aliases (override them in tests)."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from orders_lakehouse.serving.backends.base import Backend
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
    """Refuse the request unless it carries the configured bearer token (outside dev).

    With ``auth="databricks_app"`` the platform's proxy authenticates users; a request without the
    identity headers it adds did not come through it and is refused.
    """
    if settings.env == "dev":
        return
    if settings.auth == "databricks_app":
        if not any(request.headers.get(name) for name in FORWARDED_USER_HEADERS):
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED, "no user identity from the Databricks Apps proxy"
            )
        return
    if credentials is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "missing bearer token", headers={"WWW-Authenticate": "Bearer"}
        )
    assert settings.token is not None  # guaranteed by Settings validation outside dev
    # Constant-time comparison: the token is a shared secret.
    if not secrets.compare_digest(
        credentials.credentials.encode(), settings.token.get_secret_value().encode()
    ):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "invalid bearer token")


Authorized = Depends(require_token)
