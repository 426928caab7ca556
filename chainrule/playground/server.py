"""The playground's web server: the standard library's ThreadingHTTPServer, bound to 127.0.0.1 by
default, serving the page from the package's static/ folder and a small JSON API; each session's
updates stream to its page as server-sent events.

A session's training runs in the thread that serves its event stream: it steps the network in
chunks of about 40 ms and sends the state at most 10 times a second, so closing the tab (the
stream breaks) stops its training and drops the session. Every request body is JSON checked key
by key (config.validate) or, for an upload, CSV text; nothing from a request or the URL is ever
evaluated.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from chainrule.playground import config as C
from chainrule.playground import datasets as D
from chainrule.playground.session import Session

STATIC = Path(__file__).with_name("static")
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8", ".png": "image/png",
                 ".svg": "image/svg+xml"}
MAX_SESSIONS = 32
IDLE_S = 120.0         # a session nobody streams for this long is dropped
PUSH_S = 0.1           # at most 10 updates a second
CHUNK_S = 0.04         # training time between looks at the clock
PING_S = 10.0          # a comment line on an idle stream, so a closed tab is noticed


class Run:
    """A session and its play state, shared by the request threads and its stream."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.cond = threading.Condition()
        self.playing = False
        self.dirty = True
        self.closed = False
        self.stream: object | None = None
        self.last_seen = time.monotonic()

    def poke(self, playing: bool | None = None) -> None:
        with self.cond:
            if playing is not None:
                self.playing = playing
            self.dirty = True
            self.last_seen = time.monotonic()
            self.cond.notify_all()

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify_all()


class PlaygroundServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], verbose: bool = False) -> None:
        super().__init__(address, Handler)
        self.runs: dict[str, Run] = {}
        self.runs_lock = threading.Lock()
        self.stopping = threading.Event()
        self.verbose = verbose
        self.static = {p.name: p for p in STATIC.iterdir() if p.suffix in CONTENT_TYPES}

    @property
    def url(self) -> str:
        host, port = self.server_address[0], self.server_address[1]
        if isinstance(host, bytes):
            host = host.decode()
        return f"http://{host}:{port}/"

    def new_run(self, cfg: dict[str, Any]) -> tuple[str, Run]:
        now = time.monotonic()
        with self.runs_lock:
            for sid, r in list(self.runs.items()):  # drop the sessions no page streams any more
                if r.closed or (r.stream is None and now - r.last_seen > IDLE_S):
                    r.close()
                    del self.runs[sid]
            if len(self.runs) >= MAX_SESSIONS:
                raise _HTTPError(HTTPStatus.SERVICE_UNAVAILABLE,
                                 f"too many sessions ({MAX_SESSIONS}); close a tab and retry")
        run = Run(Session(cfg))
        sid = secrets.token_hex(8)
        with self.runs_lock:
            self.runs[sid] = run
        return sid, run

    def drop(self, sid: str) -> None:
        with self.runs_lock:
            run = self.runs.pop(sid, None)
        if run is not None:
            run.close()

    def stop(self) -> None:
        """End every stream and training loop, then stop serving."""
        self.stopping.set()
        with self.runs_lock:
            runs = list(self.runs.values())
            self.runs.clear()
        for r in runs:
            r.close()


class _HTTPError(Exception):
    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


class Handler(BaseHTTPRequestHandler):
    server: PlaygroundServer
    server_version = "chainrule-playground"

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    # ------------------------------------------------------------------ plumbing
    def _send(self, status: int, body: bytes, ctype: str, extra: dict[str, str] | None = None
              ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, obj: Any, status: int = 200) -> None:
        self._send(status, json.dumps(_finite(obj), allow_nan=False).encode(),
                   "application/json")

    def _error(self, status: int, message: str) -> None:
        self._json({"error": message}, status)

    def _body(self, limit: int, ctype: str) -> bytes:
        got = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if got != ctype:
            raise _HTTPError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                             f"expected Content-Type {ctype}, got {got or 'none'}")
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            raise _HTTPError(HTTPStatus.LENGTH_REQUIRED, "a Content-Length header is required")
        n = int(length)
        if n > limit:
            raise _HTTPError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                             f"the request body is {n} bytes; the limit is {limit}")
        return self.rfile.read(n)

    def _json_body(self) -> dict[str, Any]:
        raw = self._body(C.MAX_BODY_BYTES, "application/json")
        try:
            obj = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
        except (UnicodeDecodeError, json.JSONDecodeError, ValueError) as e:
            raise _HTTPError(HTTPStatus.BAD_REQUEST, f"the body is not valid JSON: {e}") from None
        if not isinstance(obj, dict):
            raise _HTTPError(HTTPStatus.BAD_REQUEST, "the body must be a JSON object")
        return obj

    def _run(self, sid: str) -> Run:
        with self.server.runs_lock:
            run = self.server.runs.get(sid)
        if run is None or run.closed:
            raise _HTTPError(HTTPStatus.NOT_FOUND, f"no session {sid!r} (it ends when its page "
                             "closes; reload the page)")
        return run

    def _host_ok(self) -> bool:
        """Refuse requests naming another host (a DNS-rebinding page) when bound to loopback."""
        bound = self.server.server_address[0]
        if bound not in ("127.0.0.1", "localhost", "::1"):
            return True
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]")
        return host in ("127.0.0.1", "localhost", "::1")

    def _dispatch(self, method: str) -> None:
        try:
            if not self._host_ok():
                raise _HTTPError(HTTPStatus.FORBIDDEN, "unexpected Host header")
            parts = urlsplit(self.path)
            path = parts.path
            try:
                query = parse_qs(parts.query, max_num_fields=32) if path.startswith("/api/") \
                    else {}  # the page's own query string is read by the page, strictly
            except ValueError as e:
                raise _HTTPError(HTTPStatus.BAD_REQUEST, f"query string: {e}") from None
            if method == "GET":
                self._get(path, query)
            else:
                self._post(path)
        except _HTTPError as e:
            self._error(e.status, str(e))
        except C.ConfigError as e:
            self._error(HTTPStatus.BAD_REQUEST, str(e))
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_GET(self) -> None:  # noqa: N802  (http.server's names)
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    # ------------------------------------------------------------------ routes
    def _get(self, path: str, query: dict[str, list[str]]) -> None:
        if path in ("/", "/index.html"):
            return self._static("index.html")
        if path.startswith("/static/"):
            return self._static(path[len("/static/"):])
        if path == "/api/info":
            return self._json(_info())
        segs = path.strip("/").split("/")
        if len(segs) == 4 and segs[:2] == ["api", "session"]:
            run = self._run(segs[2])
            what = segs[3]
            if what == "events":
                return self._events(segs[2], run)
            if what == "state":
                return self._json(run.session.snapshot(with_data=True))
            if what == "inspect":
                split = _one(query, "split", "train")
                index = _one(query, "index", "0")
                if not index.isdigit() or len(index) > 6:
                    raise C.ConfigError(f"index: expected a non-negative integer, got {index!r}")
                return self._json(run.session.inspect(split, int(index)))
            if what == "checkpoint":
                return self._send(200, run.session.checkpoint_bytes(), "application/octet-stream",
                                  {"Content-Disposition":
                                   'attachment; filename="playground.safetensors"'})
            if what == "script":
                return self._send(200, run.session.script().encode(), "text/x-python",
                                  {"Content-Disposition":
                                   'attachment; filename="playground_run.py"'})
        raise _HTTPError(HTTPStatus.NOT_FOUND, f"no such page: {path}")

    def _post(self, path: str) -> None:
        segs = path.strip("/").split("/")
        if segs == ["api", "session"]:
            body = self._json_body()
            _keys(body, {"config"})
            cfg = C.validate(body.get("config", {}))
            sid, run = self.server.new_run(cfg)
            return self._json({"id": sid, "config": cfg})
        if len(segs) != 4 or segs[:2] != ["api", "session"]:
            raise _HTTPError(HTTPStatus.NOT_FOUND, f"no such endpoint: {path}")
        run = self._run(segs[2])
        what = segs[3]
        if what == "upload":
            raw = self._body(C.MAX_UPLOAD_BYTES, "text/csv")
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError as e:
                raise C.ConfigError(f"the file is not UTF-8 text (byte {e.start})") from None
            X, y, problem, k = D.parse_csv(text)
            run.session.set_upload((X, y, problem, k))
            run.poke(playing=False)
            return self._json({"points": len(X), "problem": problem, "classes": k,
                               "config": run.session.cfg})
        body = self._json_body()
        if what == "config":
            _keys(body, {"config"})
            cfg = C.validate(body.get("config"))
            run.session.configure(cfg)
            run.poke(playing=False)
            return self._json({"config": cfg})
        if what == "control":
            _keys(body, {"action"})
            action = body.get("action")
            if action == "play":
                run.poke(playing=True)
            elif action == "pause":
                run.poke(playing=False)
            elif action == "step":
                run.session.step(1)
                run.poke(playing=False)
            elif action == "reset":
                run.session.reset()
                run.poke(playing=False)
            else:
                raise C.ConfigError(f"action: expected play, pause, step or reset, got "
                                    f"{action!r}")
            return self._json({"iteration": run.session.iteration, "playing": run.playing})
        if what == "weight":
            _keys(body, {"layer", "row", "col", "value"}, required=True)
            run.session.set_weight(body["layer"], body["row"], body["col"], body["value"])
            run.poke()
            return self._json({"ok": True})
        raise _HTTPError(HTTPStatus.NOT_FOUND, f"no such endpoint: {path}")

    def _static(self, name: str) -> None:
        p = self.server.static.get(name)  # only the files the package ships, by exact name
        if p is None:
            raise _HTTPError(HTTPStatus.NOT_FOUND, f"no such file: {name}")
        self._send(200, p.read_bytes(), CONTENT_TYPES[p.suffix])

    # ------------------------------------------------------------------ the stream
    def _events(self, sid: str, run: Run) -> None:
        """Train while playing and send the state; ends when the page goes away."""
        token = object()
        with run.cond:
            run.stream = token
            run.dirty = True
            run.cond.notify_all()
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        sent_version = -1
        last_push = 0.0
        steps = 5
        try:
            while not run.closed and run.stream is token and not self.server.stopping.is_set():
                if run.playing:
                    t0 = time.monotonic()
                    run.session.step(steps)
                    dt = max(time.monotonic() - t0, 1e-4)
                    steps = max(1, min(500, int(steps * CHUNK_S / dt)))
                with run.cond:
                    due = run.dirty or (run.playing and time.monotonic() - last_push >= PUSH_S)
                    if not due and not run.playing:
                        if not run.cond.wait(PING_S):
                            self.wfile.write(b": ping\n\n")
                            self.wfile.flush()
                        continue
                    run.dirty = False
                if not due:
                    continue
                state = run.session.snapshot(with_data=sent_version != run.session.data_version)
                state["playing"] = run.playing
                sent_version = state["data_version"]
                payload = json.dumps(_finite(state), allow_nan=False)
                self.wfile.write(b"data: " + payload.encode() + b"\n\n")
                self.wfile.flush()
                last_push = time.monotonic()
                run.last_seen = last_push
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass
        finally:
            if run.stream is token:  # the page closed (not replaced by a newer stream)
                self.server.drop(sid)


def _finite(obj: Any) -> Any:
    """obj with NaN and ±inf (a diverged run) as null, which the page's JSON.parse accepts."""
    if isinstance(obj, float):
        return obj if obj == obj and abs(obj) != float("inf") else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not allowed")


def _one(query: dict[str, list[str]], key: str, default: str) -> str:
    v = query.get(key)
    return default if not v else v[0]


def _keys(body: dict[str, Any], allowed: set[str], required: bool = False) -> None:
    extra = sorted(set(body) - allowed)
    if extra:
        raise C.ConfigError(f"unknown key(s) {', '.join(map(repr, extra))}; expected "
                            f"{', '.join(sorted(allowed))}")
    if required:
        missing = sorted(allowed - set(body))
        if missing:
            raise C.ConfigError(f"missing key(s) {', '.join(missing)}")


def _info() -> dict[str, Any]:
    """What the page needs to build its controls: choices, limits, defaults, presets."""
    return {
        "defaults": C.DEFAULTS, "datasets": C.DATASETS, "features": C.FEATURES,
        "activations": C.ACTIVATIONS, "optimizers": C.OPTIMIZERS, "losses": C.LOSSES,
        "regularizations": C.REGULARIZATIONS,
        "limits": {"layers": C.MAX_LAYERS, "units": C.MAX_UNITS, "points": C.MAX_POINTS,
                   "upload_bytes": C.MAX_UPLOAD_BYTES, "classes": C.MAX_CLASSES},
        "presets": {k: {"title": p["title"], "says": p["says"],
                        "config": C.preset_config(k)} for k, p in C.PRESETS.items()},
    }


def make_server(host: str = "127.0.0.1", port: int = 0, verbose: bool = False
                ) -> PlaygroundServer:
    """A server bound to (host, port); port 0 picks a free one. Call serve_forever()."""
    return PlaygroundServer((host, port), verbose)


__all__ = ["PlaygroundServer", "make_server"]
