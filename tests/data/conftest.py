"""Fixtures for the data tests: an isolated environment (no network, a private cache), small
fake MNIST files, and a local HTTP server to download them from."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import os
import threading
from pathlib import Path

import numpy as np
import pytest

from chainrule.data import idx

# Captured before the autouse fixture below hides it: the real data, for the slow test.
REAL_DATA = os.environ.get("CHAINRULE_DATA")
TRAIN = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
TEST = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """No test sees the user's data or cache, and no download can leave this machine."""
    monkeypatch.delenv("CHAINRULE_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    for var in ("CHAINRULE_MNIST_MIRRORS", "CHAINRULE_FASHION_MNIST_MIRRORS"):
        monkeypatch.setenv(var, "http://127.0.0.1:9/nowhere/")   # port 9: refused at once


@pytest.fixture
def real_data_dir() -> str | None:
    return REAL_DATA


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


class FakeMNIST:
    """Small random IDX files in MNIST's layout; `.arrays[name]` holds what each file stores."""

    def __init__(self, n_train: int = 60, n_test: int = 25, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.arrays = {
            TRAIN[0]: rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
            TRAIN[1]: rng.integers(0, 10, n_train).astype(np.uint8),
            TEST[0]: rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
            TEST[1]: rng.integers(0, 10, n_test).astype(np.uint8),
        }
        self.content = {k: idx.to_idx_bytes(a) for k, a in self.arrays.items()}
        self.gz = {k: gzip.compress(c, mtime=0) for k, c in self.content.items()}

    def write(self, folder: Path, compress: bool = True) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        for name in self.arrays:
            if compress:
                (folder / f"{name}.gz").write_bytes(self.gz[name])
            else:
                (folder / name).write_bytes(self.content[name])
        return folder

    def checksums(self, kind: str = "gz") -> dict[str, tuple[str, ...]]:
        src = self.gz if kind == "gz" else self.content
        return {k: (md5(v),) for k, v in src.items()}


@pytest.fixture
def fake() -> FakeMNIST:
    return FakeMNIST()


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        self.server.log.append(self.path)
        route = self.server.routes.get(self.path)
        if route is None:
            self.send_error(404)
            return
        mode, body = route
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if mode == "cut":   # promise the whole body, send half, hang up
            self.wfile.write(body[: len(body) // 2])
            self.close_connection = True
        else:
            self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


class Server:
    """`serve(prefix, files, mode)` publishes `files` ({name: bytes}) under /prefix/."""

    def __init__(self) -> None:
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.routes, self.httpd.log = {}, []
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.01,),
                                       daemon=True)
        self.closed = False
        self.thread.start()

    @property
    def log(self) -> list[str]:
        return self.httpd.log

    def serve(self, prefix: str, files: dict[str, bytes], mode: str = "ok") -> str:
        for name, body in files.items():
            self.httpd.routes[f"/{prefix}/{name}"] = (mode, body)
        return f"{self.url}/{prefix}/"

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


@pytest.fixture
def make_fake():
    """The `FakeMNIST` class, for tests that need several different fakes."""
    return FakeMNIST
