"""A scripted HTTP server on a real loopback socket, for the webhook / Azure / Databricks tests."""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    """One request as received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


Answer = tuple[int, Any]  # status, JSON body (or None for an empty body)


@dataclass
class RecordingServer:
    """Records every request; answers from a per-path queue of scripted answers, else ``default``."""

    default: Answer = (200, {"ok": True})
    scripted: dict[str, deque[Answer]] = field(default_factory=dict)
    handlers: dict[str, Callable[[Request], Answer]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    url: str = ""

    def script(self, path: str, *answers: Answer) -> None:
        """Answer the next requests to ``path`` with ``answers``, in order."""
        self.scripted.setdefault(path, deque()).extend(answers)

    def answer(self, request: Request) -> Answer:
        """The answer to ``request``."""
        queue = self.scripted.get(request.path)
        if queue:
            return queue.popleft()
        if request.path in self.handlers:
            return self.handlers[request.path](request)
        return self.default

    def start(self) -> None:
        """Listen on a free port of 127.0.0.1 in a daemon thread."""
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(
                    self.command,
                    parts.path,
                    parse_qs(parts.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                )
                recorder.requests.append(request)
                status, body = recorder.answer(request)
                payload = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _handle

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Shut the server down."""
        self._server.shutdown()
        self._server.server_close()

    def to(self, path: str) -> list[Request]:
        """The requests received on ``path``."""
        return [r for r in self.requests if r.path == path]
