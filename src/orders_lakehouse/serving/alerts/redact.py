"""Keep secrets out of logs: webhook URLs (Slack/Teams carry the secret in the path) and tokens."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

# Their INFO lines print full request URLs ("HTTP Request: POST https://hooks.../secret").
NOISY_LOGGERS = ("httpx", "httpcore", "urllib3", "hpack")


def redact_url(url: str) -> str:
    """``scheme://host[:port]/…``: the path and query (where hooks keep secrets) are dropped."""
    parts = urlsplit(str(url))
    if not parts.scheme or not parts.netloc:
        return "<url>"
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/…"


def redact(text: str, *secrets: str | None) -> str:
    """``text`` with every given secret (URL, token) replaced."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, redact_url(secret) if "://" in secret else "***")
    return text


def quiet_http_loggers() -> None:
    """Raise the HTTP client libraries' loggers to WARNING (they log URLs at INFO/DEBUG)."""
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
