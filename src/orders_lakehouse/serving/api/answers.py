"""JSON answers kept per table version: a repeated request costs a version check and a lookup.

A data route's answer is a function of its path, its query string and the versions of the tables
it reads, which is exactly what its ``ETag`` names (:func:`..deps.conditional`). So the body sent
once is sent again, byte for byte, while the tag stays the same: no backend read, no model
building, no JSON encoding (at 2,000 commits those cost a ``/summary`` ~27 ms of CPU and the
objects they allocate made Python's full garbage collections the p99). A new commit changes the
tag, so a stale body is never sent; ``If-None-Match`` still gets its 304 first. Routes without a
tag (the Databricks backend has none) are never cached. Bodies are ``bytes`` (no work for the
garbage collector) in an LRU bounded by their total size.

:class:`RecordAnswers` (ASGI middleware) stores the body of a 200 answer whose request was given a
key by the ``conditional`` dependency; :class:`CachedAnswer` is raised by that dependency on a hit
and answered by :func:`install`'s handler.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi import FastAPI, Request, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Where ``conditional`` leaves the request's key for the middleware (Starlette keeps
# ``request.state`` in ``scope["state"]``).
STATE_KEY = "answer_key"
DEFAULT_MAX_BYTES = 64 * 1024 * 1024


@dataclass
class AnswerStats:
    """What the cache saved (read by tests and the bench)."""

    hits: int = 0
    stored: int = 0


class AnswerCache:
    """An LRU of JSON bodies keyed by (path, query string, ETag, day), bounded by total bytes."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self.stats = AnswerStats()
        self._bodies: OrderedDict[tuple[str, ...], bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()  # sync routes run in a thread pool

    @staticmethod
    def key(request: Request, etag: str) -> tuple[str, ...]:
        """The key of ``request``'s answer at ``etag`` (the day too: an empty SLA table's default
        range ends today)."""
        return (request.url.path, request.url.query, etag, date.today().isoformat())

    def get(self, key: tuple[str, ...]) -> bytes | None:
        """The stored body, or None."""
        with self._lock:
            body = self._bodies.get(key)
            if body is not None:
                self._bodies.move_to_end(key)
                self.stats.hits += 1
            return body

    def put(self, key: tuple[str, ...], body: bytes) -> None:
        """Keep ``body``, evicting the least recently used bodies beyond ``max_bytes``."""
        if len(body) > self.max_bytes:
            return
        with self._lock:
            previous = self._bodies.pop(key, None)
            self._bytes -= len(previous) if previous is not None else 0
            self._bodies[key] = body
            self._bytes += len(body)
            self.stats.stored += 1
            while self._bytes > self.max_bytes:
                _, evicted = self._bodies.popitem(last=False)
                self._bytes -= len(evicted)


class CachedAnswer(Exception):
    """Raised by the ``conditional`` dependency when the answer at the current ETag is stored."""

    def __init__(self, etag: str, body: bytes) -> None:
        super().__init__(etag)
        self.etag = etag
        self.body = body


class RecordAnswers:
    """ASGI middleware: store the body of a 200 answer to a request that was given a key."""

    def __init__(self, app: ASGIApp, cache: AnswerCache) -> None:
        self.app = app
        self.cache = cache

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "GET":
            await self.app(scope, receive, send)
            return
        status: list[int] = []
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            elif message["type"] == "http.response.body" and status == [200]:
                chunks.append(message.get("body", b""))
                key: Any = scope.get("state", {}).get(STATE_KEY)
                if key is not None and not message.get("more_body", False):
                    self.cache.put(key, b"".join(chunks))
            await send(message)

        await self.app(scope, receive, capture)


def install(app: FastAPI, cache: AnswerCache) -> None:
    """Keep answers in ``cache`` (``app.state.answers``) and answer hits with the stored body."""
    app.state.answers = cache
    app.add_middleware(RecordAnswers, cache=cache)

    @app.exception_handler(CachedAnswer)
    def _cached(_: Request, hit: CachedAnswer) -> Response:
        return Response(
            content=hit.body,
            media_type="application/json",
            headers={"ETag": hit.etag, "Cache-Control": "no-cache"},
        )
