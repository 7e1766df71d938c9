"""A tiny stand-in for the Databricks REST endpoints the ops CLI calls, on a real local socket.

It serves ``/api/2.0/pipelines`` (list, paged), ``/api/2.0/pipelines/{id}`` (get),
``/api/2.0/pipelines/{id}/updates`` (POST start) and ``/updates/{uid}`` (GET), ``/events`` (paged)
and ``/api/2.0/preview/scim/v2/Me``; records every request; can answer an error, or answer slowly,
for a chosen path.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN = "dapi-local-test-token"


@dataclass
class Recorded:
    """One request as the server received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    headers: dict[str, str]


@dataclass
class FakeWorkspace:
    """State and scripted behaviour of the fake workspace."""

    pipelines: list[dict[str, Any]] = field(default_factory=list)
    pipeline_page_size: int = 2
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # newest first
    event_page_size: int = 3
    # update id -> states returned by successive GETs (the last one repeats)
    update_states: dict[str, deque[str]] = field(default_factory=dict)
    next_update_id: str = "upd-new"
    start_error: tuple[int, dict[str, Any]] | None = None
    # path -> queue of (status, body) answered before the normal behaviour
    errors: dict[str, deque[tuple[int, dict[str, Any]]]] = field(default_factory=dict)
    slow: dict[str, float] = field(default_factory=dict)  # path -> seconds to sleep
    me: dict[str, Any] = field(default_factory=lambda: {"userName": "Ana.Souza@example.com", "displayName": "Ana"})
    requests: list[Recorded] = field(default_factory=list)
    url: str = ""

    def api_requests(self) -> list[Recorded]:
        """Requests to the REST API (without the SDK's host-metadata probe)."""
        return [r for r in self.requests if r.path.startswith("/api/")]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def _serve(self, method: str) -> None:
        ws = self.server.workspace
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        ws.requests.append(Recorded(method, parts.path, parse_qs(parts.query), body, dict(self.headers.items())))
        if parts.path in ws.slow:
            time.sleep(ws.slow[parts.path])
        queued = ws.errors.get(parts.path)
        if queued:
            status, payload = queued.popleft()
            return self._reply(status, payload)
        if parts.path.startswith("/api/") and self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._reply(401, {"error_code": "UNAUTHENTICATED", "message": "bad token"})
        status, payload = self._route(method, parts.path, parse_qs(parts.query), body)
        self._reply(status, payload)

    def _route(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        ws = self.server.workspace
        segments = path.strip("/").split("/")
        if path == "/api/2.0/preview/scim/v2/Me" and method == "GET":
            return 200, ws.me
        if path == "/api/2.0/pipelines" and method == "GET":
            return 200, _page(ws.pipelines, query, ws.pipeline_page_size, "statuses")
        if segments[:3] == ["api", "2.0", "pipelines"] and len(segments) >= 4:
            pipeline_id = segments[3]
            pipeline = next((p for p in ws.pipelines if p["pipeline_id"] == pipeline_id), None)
            if pipeline is None:
                return 404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": f"Pipeline {pipeline_id} not found"}
            rest = segments[4:]
            if not rest and method == "GET":
                return 200, pipeline
            if rest == ["updates"] and method == "POST":
                if ws.start_error:
                    return ws.start_error
                ws.update_states.setdefault(ws.next_update_id, deque(["QUEUED", "RUNNING", "COMPLETED"]))
                return 200, {"update_id": ws.next_update_id}
            if len(rest) == 2 and rest[0] == "updates" and method == "GET":
                states = ws.update_states.get(rest[1])
                if states is None:
                    return 404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": f"Update {rest[1]} not found"}
                state = states.popleft() if len(states) > 1 else states[0]
                return 200, {"update": {"update_id": rest[1], "pipeline_id": pipeline_id, "state": state}}
            if rest == ["events"] and method == "GET":
                return 200, _page(ws.events.get(pipeline_id, []), query, ws.event_page_size, "events")
        return 404, {"error_code": "ENDPOINT_NOT_FOUND", "message": f"No API found for '{method} {path}'"}

    def _reply(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _page(items: list[Any], query: dict[str, list[str]], page_size: int, key: str) -> dict[str, Any]:
    """One page; the token is the offset of the next page (opaque to the client)."""
    start = int(query.get("page_token", ["0"])[0])
    chunk = items[start:start + page_size]
    answer: dict[str, Any] = {key: chunk}
    if start + page_size < len(items):
        answer["next_page_token"] = str(start + page_size)
    return answer


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    workspace: FakeWorkspace

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out has hung up before a slow answer: expected, not an error.
        import sys

        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


def serve(workspace: FakeWorkspace) -> tuple[_Server, threading.Thread]:
    """Start the server on a free loopback port; ``workspace.url`` is set."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.workspace = workspace
    workspace.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-workspace", daemon=True)
    thread.start()
    return server, thread
