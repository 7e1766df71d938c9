"""Bearer tokens for the Logs Ingestion API without the Azure SDK.

Either a ready token (``ORDERS_API_AZURE_MONITOR_TOKEN``, e.g. from ``az account get-access-token
--resource https://monitor.azure.com``) or the OAuth 2.0 client-credentials grant of Microsoft
Entra ID with scope ``https://monitor.azure.com//.default`` (the documented scope of the API).
"""

from __future__ import annotations

import threading
import time

import httpx

MONITOR_SCOPE = "https://monitor.azure.com//.default"
_EXPIRY_MARGIN_SECONDS = 120


class StaticToken:
    """A token given in the configuration."""

    def __init__(self, token: str) -> None:
        self._token = token

    def token(self) -> str:
        """The token."""
        return self._token


class ClientCredentialsToken:
    """Tokens from ``<authority>/<tenant>/oauth2/v2.0/token``, cached until shortly before expiry."""

    def __init__(
        self, client: httpx.Client, *, authority: str, tenant_id: str, client_id: str, client_secret: str
    ) -> None:
        self._client = client
        self._url = f"{authority.rstrip('/')}/{tenant_id}/oauth2/v2.0/token"
        self._form = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
            "scope": MONITOR_SCOPE,
        }
        self._lock = threading.Lock()
        self._cached: tuple[str, float] | None = None

    def token(self) -> str:
        """A valid access token (fetched again when the cached one is about to expire)."""
        with self._lock:
            if self._cached and self._cached[1] > time.monotonic():
                return self._cached[0]
            response = self._client.post(self._url, data=self._form)
            response.raise_for_status()
            body = response.json()
            lifetime = float(body.get("expires_in", 3600))
            self._cached = (
                body["access_token"],
                time.monotonic() + max(lifetime - _EXPIRY_MARGIN_SECONDS, 0),
            )
            return self._cached[0]
