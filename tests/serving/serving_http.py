"""Scripting pytest-httpserver (a real werkzeug server on a loopback port) the way these tests speak.

``script(path, *answers)`` queues one-shot answers for a path (pytest-httpserver's oneshot
handlers, used in order before anything else); other requests get ``handlers[path]`` or
``default``. ``to(path)`` lists what the server received there, from the library's own log.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pytest_httpserver import HTTPServer, URIPattern
from werkzeug import Request as WerkzeugRequest
from werkzeug import Response

# status, JSON body (None: empty), and optionally response headers
Answer = tuple[int, Any] | tuple[int, Any, dict[str, str]]


@dataclass(frozen=True)
class Request:
    """One request as the server received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


def _response(answer: Answer) -> Response:
    status, body = answer[0], answer[1]
    headers = answer[2] if len(answer) > 2 else {}  # type: ignore[misc]
    payload = "" if body is None else json.dumps(body)
    return Response(payload, status=status, headers=headers, content_type="application/json")


class ScriptedServer:
    """A pytest-httpserver ``HTTPServer`` with per-path scripted answers and a default answer."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.default: Answer = (200, {"ok": True})
        self.handlers: dict[str, Callable[[Request], Answer]] = {}
        # Registered once and first among permanent handlers: reads default/handlers at call time.
        server.expect_request(_ANY_PATH).respond_with_handler(self._fallback)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` (no trailing slash)."""
        return self.server.url_for("/").rstrip("/")

    def script(self, path: str, *answers: Answer) -> None:
        """Answer the next requests to ``path`` with ``answers``, in order."""
        for answer in answers:
            self.server.expect_oneshot_request(path).respond_with_response(_response(answer))

    def _fallback(self, request: WerkzeugRequest) -> Response:
        handler = self.handlers.get(request.path)
        return _response(handler(_convert(request)) if handler else self.default)

    @property
    def requests(self) -> list[Request]:
        """Every request received, in order."""
        return [_convert(request) for request, _ in self.server.log]

    def to(self, path: str) -> list[Request]:
        """The requests received on ``path``."""
        return [r for r in self.requests if r.path == path]


class _AnyPath(URIPattern):
    """A URI pattern accepting every path."""

    def match(self, uri: str) -> bool:
        return True


_ANY_PATH = _AnyPath()


def _convert(request: WerkzeugRequest) -> Request:
    return Request(
        request.method,
        request.path,
        {key: request.args.getlist(key) for key in request.args},
        {key.lower(): value for key, value in request.headers.items()},
        request.get_data(),
    )
