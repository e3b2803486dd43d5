"""Fixtures for the connector tests: one database matrix, a real HTTP server."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def db_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """A SQLAlchemy URL for each backend of the matrix."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    # postgresql_url / mariadb_url (tests/conftest.py): skip without the server, or fail
    # under ADF_REQUIRE_SERVICES=1
    return str(request.getfixturevalue(f"{request.param}_url"))


@pytest.fixture
def table_name(db_url: str) -> Iterator[str]:
    """A fresh table name, dropped after the test (tests may run side by side on a server)."""
    import sqlalchemy as sa

    name = f"adf_test_{uuid.uuid4().hex[:10]}"
    yield name
    engine = sa.create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {name}"))
    finally:
        engine.dispose()


@dataclass
class Route:
    """Answers in turn (status, body, headers); the last one repeats.

    A header `x-test-delay: <seconds>` is not sent: the server waits that long before answering.
    """

    answers: list[tuple[int, Any, dict[str, str]]]
    calls: int = 0


@dataclass
class HttpServer:
    """A real HTTP server on 127.0.0.1:<free port>; records every request it gets."""

    base_url: str
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)

    def route(self, path: str, *answers: tuple[int, Any] | tuple[int, Any, dict[str, str]]) -> str:
        self.routes[path] = Route([(a[0], a[1], a[2] if len(a) > 2 else {}) for a in answers])
        return self.base_url + path


@pytest.fixture
def http_server() -> Iterator[HttpServer]:
    state: HttpServer

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            path = self.path.split("?", 1)[0]
            state.requests.append(
                {
                    "method": self.command,
                    "path": self.path,
                    "headers": dict(self.headers),
                    "body": body,
                }
            )
            route = state.routes.get(path)
            if route is None:
                status, payload, headers = 404, {"error": "no route"}, {}
            else:
                status, payload, headers = route.answers[min(route.calls, len(route.answers) - 1)]
                headers = dict(headers)
                route.calls += 1
            delay = float(headers.pop("x-test-delay", 0))
            if delay:
                time.sleep(delay)
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", headers.pop("content-type", "application/json"))
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = _answer

        def log_message(self, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # a client that timed out on purpose closed its socket: not worth a traceback

    server = Server(("127.0.0.1", 0), Handler)
    state = HttpServer(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
