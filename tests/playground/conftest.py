"""A real playground server on an ephemeral port, in a thread, and a small HTTP client."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from chainrule.playground import make_server
from chainrule.playground.server import PlaygroundServer


@pytest.fixture(scope="module")
def server() -> Iterator[PlaygroundServer]:
    srv = make_server("127.0.0.1", 0)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield srv
    srv.stop()
    srv.shutdown()
    srv.server_close()
    thread.join(5)


class Client:
    def __init__(self, server: PlaygroundServer) -> None:
        self.host, self.port = server.server_address[:2]

    def request(self, method: str, path: str, body: Any = None, ctype: str | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes, Any]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        h = dict(headers or {})
        data: bytes | None = None
        if body is not None:
            data = body if isinstance(body, bytes) else (
                body.encode() if isinstance(body, str) else json.dumps(body).encode())
            h.setdefault("Content-Type", ctype or "application/json")
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        raw = r.read()
        conn.close()
        parsed = None
        if r.getheader("Content-Type", "").startswith("application/json"):
            parsed = json.loads(raw)
        return r.status, raw, parsed

    def get(self, path: str) -> tuple[int, Any]:
        status, _, parsed = self.request("GET", path)
        return status, parsed

    def post(self, path: str, body: Any, ctype: str | None = None) -> tuple[int, Any]:
        status, _, parsed = self.request("POST", path, body, ctype)
        return status, parsed

    def session(self, **config: Any) -> str:
        status, r = self.post("/api/session", {"config": config})
        assert status == 200, r
        return str(r["id"])


@pytest.fixture(scope="module")
def client(server: PlaygroundServer) -> Client:
    return Client(server)
