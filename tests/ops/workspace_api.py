"""The Databricks REST endpoints the ops CLI calls, served on a real local socket by pytest-httpserver.

``/api/2.0/pipelines`` (list, paged), ``/api/2.0/pipelines/{id}`` (get), ``.../updates`` (POST
start) and ``.../updates/{uid}`` (GET), ``.../events`` (paged) and ``/api/2.0/preview/scim/v2/Me``.
The HTTP side (server, matching, request log) is the library's; this module holds only the
workspace's state and how each endpoint answers from it. A test can make the next call to a path
fail (:meth:`FakeWorkspace.fail_once`) or make a path answer slowly (``slow``).
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

TOKEN = "dapi-local-test-token"
API = "/api/2.0"
PIPELINE = rf"^{API}/pipelines/(?P<pipeline>[^/]+)"


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
    slow: dict[str, float] = field(default_factory=dict)  # path -> seconds before answering
    me: dict[str, Any] = field(
        default_factory=lambda: {"userName": "Ana.Souza@example.com", "displayName": "Ana"}
    )
    url: str = ""
    server: HTTPServer | None = None
    released: threading.Event = field(default_factory=threading.Event)  # set: slow answers stop waiting

    def install(self, server: HTTPServer) -> None:
        """Register the endpoints on ``server`` (first match wins, so the catch-alls come last)."""
        self.server = server
        self.url = server.url_for("/").rstrip("/")
        auth = {"Authorization": f"Bearer {TOKEN}"}
        routes: list[tuple[str | re.Pattern[str], str, Callable[[Request], tuple[int, Any]]]] = [
            (f"{API}/preview/scim/v2/Me", "GET", lambda _: (200, self.me)),
            (f"{API}/pipelines", "GET", self._list_pipelines),
            (re.compile(PIPELINE + "$"), "GET", self._get_pipeline),
            (re.compile(PIPELINE + "/updates$"), "POST", self._start_update),
            (re.compile(PIPELINE + "/updates/(?P<update>[^/]+)$"), "GET", self._get_update),
            (re.compile(PIPELINE + "/events$"), "GET", self._list_events),
        ]
        for uri, method, answer in routes:
            server.expect_request(uri, method=method, headers=auth).respond_with_handler(self._json(answer))
        wrong_token = self._json(lambda _: (401, {"error_code": "UNAUTHENTICATED", "message": "bad token"}))
        server.expect_request(
            re.compile("^/api/"), headers=auth, header_value_matcher=lambda _key, got, want: got != want
        ).respond_with_handler(wrong_token)
        server.expect_request(re.compile(".*")).respond_with_handler(self._json(self._no_endpoint))

    def fail_once(self, path: str, status: int, payload: dict[str, Any]) -> None:
        """The next request to ``path`` gets ``status`` and ``payload`` instead of the normal answer."""
        assert self.server is not None
        self.server.expect_oneshot_request(path).respond_with_json(payload, status=status)

    @property
    def requests(self) -> list[Recorded]:
        """Every request the server received, in order."""
        assert self.server is not None
        return [
            Recorded(
                request.method,
                request.path,
                parse_qs(request.query_string.decode()),
                json.loads(request.get_data()) if request.get_data() else None,
                dict(request.headers.items()),
            )
            for request, _ in self.server.log
        ]

    def api_requests(self) -> list[Recorded]:
        """Requests to the REST API (without the SDK's host-metadata probe)."""
        return [r for r in self.requests if r.path.startswith("/api/")]

    def _json(self, answer: Callable[[Request], tuple[int, Any]]) -> Callable[[Request], Response]:
        def handler(request: Request) -> Response:
            if request.path in self.slow:
                self.released.wait(self.slow[request.path])
            status, payload = answer(request)
            return Response(json.dumps(payload), status=status, content_type="application/json")

        return handler

    def _pipeline(self, request: Request) -> dict[str, Any] | None:
        pipeline_id = re.match(PIPELINE, request.path).group("pipeline")  # type: ignore[union-attr]
        return next((p for p in self.pipelines if p["pipeline_id"] == pipeline_id), None)

    @staticmethod
    def _not_found(what: str) -> tuple[int, dict[str, Any]]:
        return 404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": f"{what} not found"}

    def _list_pipelines(self, request: Request) -> tuple[int, Any]:
        return 200, _page(self.pipelines, request, self.pipeline_page_size, "statuses")

    def _get_pipeline(self, request: Request) -> tuple[int, Any]:
        pipeline = self._pipeline(request)
        return (200, pipeline) if pipeline else self._not_found(f"Pipeline {request.path.rsplit('/', 1)[1]}")

    def _start_update(self, request: Request) -> tuple[int, Any]:
        if self._pipeline(request) is None:
            return self._not_found(f"Pipeline {request.path.split('/')[4]}")
        if self.start_error:
            return self.start_error
        self.update_states.setdefault(self.next_update_id, deque(["QUEUED", "RUNNING", "COMPLETED"]))
        return 200, {"update_id": self.next_update_id}

    def _get_update(self, request: Request) -> tuple[int, Any]:
        pipeline = self._pipeline(request)
        if pipeline is None:
            return self._not_found(f"Pipeline {request.path.split('/')[4]}")
        update_id = request.path.rsplit("/", 1)[1]
        states = self.update_states.get(update_id)
        if states is None:
            return self._not_found(f"Update {update_id}")
        state = states.popleft() if len(states) > 1 else states[0]
        update = {"update_id": update_id, "pipeline_id": pipeline["pipeline_id"], "state": state}
        return 200, {"update": update}

    def _list_events(self, request: Request) -> tuple[int, Any]:
        pipeline = self._pipeline(request)
        if pipeline is None:
            return self._not_found(f"Pipeline {request.path.split('/')[4]}")
        return 200, _page(
            self.events.get(pipeline["pipeline_id"], []), request, self.event_page_size, "events"
        )

    @staticmethod
    def _no_endpoint(request: Request) -> tuple[int, Any]:
        return 404, {
            "error_code": "ENDPOINT_NOT_FOUND",
            "message": f"No API found for '{request.method} {request.path}'",
        }


def _page(items: list[Any], request: Request, page_size: int, key: str) -> dict[str, Any]:
    """One page; the token is the offset of the next page (opaque to the client)."""
    start = int(request.args.get("page_token", "0"))
    answer: dict[str, Any] = {key: items[start : start + page_size]}
    if start + page_size < len(items):
        answer["next_page_token"] = str(start + page_size)
    return answer
