"""The playground's HTTP API on a real server: pages, sessions, training over SSE, weights,
upload, look-inside, export, and every kind of bad input."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from chainrule import io as crio
from chainrule.playground import config as C

from .conftest import Client


def read_events(server, sid: str, n: int, timeout: float = 20.0) -> list[dict]:
    """The first n states the session's event stream sends (then the stream is closed)."""
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    conn.request("GET", f"/api/session/{sid}/events")
    r = conn.getresponse()
    assert r.status == 200 and r.getheader("Content-Type") == "text/event-stream"
    out: list[dict] = []
    deadline = time.monotonic() + timeout
    while len(out) < n and time.monotonic() < deadline:
        line = r.fp.readline()
        if line.startswith(b"data: "):
            out.append(json.loads(line[6:]))
    conn.close()
    return out


def client_address(client: Client) -> tuple[str, int]:
    return str(client.host), int(client.port)


# ------------------------------------------------------------------ pages
def test_page_and_static_files(client: Client):
    status, raw, _ = client.request("GET", "/")
    assert status == 200 and b'data-testid="play-pause"' in raw and b"/static/app.js" in raw
    for name, ctype in (("app.js", "text/javascript"), ("style.css", "text/css")):
        conn = http.client.HTTPConnection(*client_address(client), timeout=10)
        conn.request("GET", f"/static/{name}")
        r = conn.getresponse()
        assert r.status == 200 and r.getheader("Content-Type").startswith(ctype) and r.read()
        conn.close()
    for name in ("", "static/app.js", "static/style.css"):  # no network, no CDN: every URL the
        text = client.request("GET", "/" + name)[1].decode()  # page uses is the server's own
        assert text.replace("http://www.w3.org/2000/svg", "").count("http") == 0, name


@pytest.mark.parametrize("path", ["/static/../server.py", "/static/%2e%2e/server.py",
                                  "/static/server.py", "/nope", "/api/session/zzz/state"])
def test_unknown_paths_are_404(client: Client, path: str):
    status, _, body = client.request("GET", path)
    assert status == 404 and "error" in body


def test_foreign_host_header_is_refused(client: Client):
    status, _, body = client.request("GET", "/api/info", headers={"Host": "evil.example:80"})
    assert status == 403


def test_info_lists_choices_limits_and_presets(client: Client):
    status, info = client.get("/api/info")
    assert status == 200
    assert set(info["activations"]) == {"identity", "relu", "softplus", "threshold",
                                        "logistic", "tanh"}
    assert info["optimizers"] == ["sgd", "momentum", "adam"]
    assert info["limits"]["layers"] == 6 and info["limits"]["units"] == 8
    assert set(info["presets"]) == {"xor-threshold", "bump", "deep-linear"}
    assert info["defaults"] == C.DEFAULTS


# ------------------------------------------------------------------ sessions and training
def test_session_steps_and_reset(client: Client):
    sid = client.session(dataset="circle", layers=[3])
    status, state = client.get(f"/api/session/{sid}/state")
    assert status == 200 and state["iteration"] == 0 and state["problem"] == "binary"
    assert len(state["units"]) == 1 and len(state["units"][0]) == 3
    assert len(state["data"]["train"]) == 200 and len(state["data"]["test"]) == 200
    for _ in range(3):
        assert client.post(f"/api/session/{sid}/control", {"action": "step"})[1]["iteration"] > 0
    assert client.get(f"/api/session/{sid}/state")[1]["iteration"] == 3
    client.post(f"/api/session/{sid}/control", {"action": "reset"})
    again = client.get(f"/api/session/{sid}/state")[1]
    assert again["iteration"] == 0 and again["weights"] == state["weights"]  # same seed


def test_play_streams_updates_and_closing_the_stream_stops_the_session(server, client: Client):
    sid = client.session(optimizer="adam", lr=0.03)
    client.post(f"/api/session/{sid}/control", {"action": "play"})
    states = read_events(server, sid, 4)
    assert len(states) == 4
    its = [s["iteration"] for s in states]
    assert its == sorted(its) and its[-1] > its[0]
    assert "data" in states[0] and "data" not in states[1]  # points only when they change
    assert all(s["playing"] for s in states[1:])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the tab is gone: its run ends and the session too
        if client.get(f"/api/session/{sid}/state")[0] == 404:
            break
        time.sleep(0.1)
    assert client.get(f"/api/session/{sid}/state")[0] == 404


def test_sessions_are_independent(client: Client):
    a, b = client.session(seed=3), client.session(seed=3, dataset="spiral", classes=3)
    client.post(f"/api/session/{a}/control", {"action": "step"})
    sa, sb = client.get(f"/api/session/{a}/state")[1], client.get(f"/api/session/{b}/state")[1]
    assert (sa["iteration"], sb["iteration"]) == (1, 0)
    assert sb["problem"] == "multiclass" and len(sb["weights"][-1]["b"]) == 3


def test_config_change_restarts_the_run(client: Client):
    sid = client.session()
    client.post(f"/api/session/{sid}/control", {"action": "step"})
    status, r = client.post(f"/api/session/{sid}/config",
                            {"config": {"activation": "softplus", "layers": [5, 5, 5],
                                        "features": ["x1x2", "x1"]}})
    assert status == 200 and r["config"]["features"] == ["x1", "x1x2"]  # canonical order
    state = client.get(f"/api/session/{sid}/state")[1]
    assert state["iteration"] == 0 and [len(u) for u in state["units"]] == [5, 5, 5]
    assert len(state["inputs"]) == 2


def test_set_weight_by_hand(client: Client):
    sid = client.session(layers=[2])
    status, _ = client.post(f"/api/session/{sid}/weight",
                            {"layer": 0, "row": 1, "col": 0, "value": 2.5})
    assert status == 200
    client.post(f"/api/session/{sid}/weight", {"layer": 1, "row": 0, "col": -1, "value": -1})
    w = client.get(f"/api/session/{sid}/state")[1]["weights"]
    assert w[0]["W"][1][0] == 2.5 and w[1]["b"][0] == -1.0


def test_threshold_units_say_why_they_cannot_learn(client: Client):
    sid = client.session(activation="threshold", layers=[4])
    for _ in range(5):
        client.post(f"/api/session/{sid}/control", {"action": "step"})
    state = client.get(f"/api/session/{sid}/state")[1]
    assert state["grad_norms"][0] == 0.0 and state["grad_norms"][1] > 0
    assert "∂y/∂z = 0" in state["note"]


# ------------------------------------------------------------------ upload
GOOD_CSV = "x1,x2,label\n" + "".join(f"{x},{y},{int(x * y > 0)}\n" for x, y in
                                     np.random.default_rng(0).uniform(-3, 3, (60, 2)))


def test_upload_csv(client: Client):
    sid = client.session()
    status, r = client.post(f"/api/session/{sid}/upload", GOOD_CSV, "text/csv")
    assert status == 200, r
    assert (r["points"], r["problem"], r["classes"]) == (60, "binary", 2)
    assert r["config"]["dataset"] == "custom"
    state = client.get(f"/api/session/{sid}/state")[1]
    assert len(state["data"]["train"]) + len(state["data"]["test"]) == 60


@pytest.mark.parametrize("text, message", [
    ("x1,x2,label\n1,2,0\n3,4\n", "line 3: expected 3 comma-separated values"),
    ("1,2,0\n3,4,1\n5,abc,1\n", "line 3: expected three numbers"),
    ("1,2,0\n3,4,1\n5,nan,1\n1,1,1\n", "line 3: values must be finite"),
    ("1,2,0\n", "at least 4 are needed"),
    ("", "at least 4 are needed"),
])
def test_bad_csv_names_the_line(client: Client, text: str, message: str):
    sid = client.session()
    status, r = client.post(f"/api/session/{sid}/upload", text, "text/csv")
    assert status == 400 and message in r["error"], r


def test_upload_limits(client: Client):
    sid = client.session()
    big = "1,2,0\n" * (C.MAX_UPLOAD_BYTES // 6 + 10)
    assert client.post(f"/api/session/{sid}/upload", big, "text/csv")[0] == 413
    many = "".join(f"{i % 7},{i % 5},{i % 2}\n" for i in range(C.MAX_POINTS + 1))
    status, r = client.post(f"/api/session/{sid}/upload", many, "text/csv")
    assert status == 400 and "too many points" in r["error"]
    status, r = client.post(f"/api/session/{sid}/upload", b"\xff\xfe1,2,3", "text/csv")
    assert status == 400 and "UTF-8" in r["error"]
    assert client.post(f"/api/session/{sid}/upload", GOOD_CSV, "text/plain")[0] == 415
    status, r = client.post(f"/api/session/{sid}/config", {"config": {"dataset": "custom"}})
    assert status == 400 and "upload" in r["error"]


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("config, key", [
    ({"dataset": "moons"}, "dataset"), ({"noise": 51}, "noise"), ({"noise": 2.5}, "noise"),
    ({"batch": True}, "batch"), ({"layers": [4] * 7}, "layers"), ({"layers": [9]}, "layers"),
    ({"layers": [0]}, "layers"), ({"layers": "4,2"}, "layers"), ({"features": []}, "features"),
    ({"features": ["x3"]}, "features"), ({"features": ["x1", "x1"]}, "features"),
    ({"lr": 0}, "lr"), ({"lr": "0.1"}, "lr"), ({"activation": "__import__('os')"}, "activation"),
    ({"points": 10**6}, "points"), ({"eval": 1}, "unknown key"),
    ({"preset": "xor-threshold", "layers": [3]}, "preset xor-threshold"),
])
def test_bad_config_is_refused_with_the_key(client: Client, config, key):
    status, r = client.post("/api/session", {"config": config})
    assert status == 400 and key in r["error"], r


@pytest.mark.parametrize("body, ctype, status_code, message", [
    (b"{not json", "application/json", 400, "not valid JSON"),
    (b'{"config": {"lr": NaN}}', "application/json", 400, "NaN is not allowed"),
    (b"[1, 2]", "application/json", 400, "JSON object"),
    (b'{"config": {}, "x": 1}', "application/json", 400, "unknown key"),
    (b'{"config": {}}', "text/plain", 415, "Content-Type"),
    (b"{" + b" " * (C.MAX_BODY_BYTES + 1) + b"}", "application/json", 413, "limit"),
])
def test_bad_bodies(client: Client, body, ctype, status_code, message):
    status, _, r = client.request("POST", "/api/session", body, ctype)
    assert status == status_code and message in r["error"], r


def test_bad_control_weight_and_inspect(client: Client):
    sid = client.session(layers=[2])
    bad = [
        ("control", {"action": "explode"}, "action"),
        ("weight", {"layer": 5, "row": 0, "col": 0, "value": 1}, "layer"),
        ("weight", {"layer": 0, "row": 2, "col": 0, "value": 1}, "row"),
        ("weight", {"layer": 0, "row": 0, "col": -2, "value": 1}, "col"),
        ("weight", {"layer": 0, "row": 0, "col": 0, "value": "1"}, "value"),
        ("weight", {"layer": 0, "row": 0, "col": 0, "value": 1e9}, "value"),
        ("weight", {"layer": 0, "row": 0, "col": 0}, "missing"),
    ]
    for what, body, key in bad:
        status, r = client.post(f"/api/session/{sid}/{what}", body)
        assert status == 400 and key in r["error"], (what, body, r)
    for q, key in (("split=val&index=0", "split"), ("index=100000", "index"),
                   ("index=-1", "index")):
        status, r = client.get(f"/api/session/{sid}/inspect?{q}")
        assert status == 400 and key in r["error"], (q, r)
    assert client.post("/api/session/nope/control", {"action": "play"})[0] == 404


# ------------------------------------------------------------------ look inside
def test_inspect_traces_one_example(client: Client):
    sid = client.session(layers=[3, 2])
    status, tr = client.get(f"/api/session/{sid}/inspect?split=test&index=4")
    assert status == 200 and tr["split"] == "test" and tr["index"] == 4
    names = [f["name"] for f in tr["forward"]]
    for n in ("x", "W⁽¹⁾", "z⁽¹⁾", "h⁽¹⁾", "h⁽²⁾", "z", "L"):
        assert n in names
    bars = {b["bar"]: b for b in tr["backward"]}
    assert bars["L̄"]["rule"] == "1"
    assert bars["z̄⁽¹⁾"]["rule"] == "h̄⁽¹⁾ · (1 − h⁽¹⁾²)"  # tanh's local derivative
    assert np.shape(bars["W̄⁽¹⁾"]["value"]) == (3, 2)
    assert "Backward pass" in tr["text"]


# ------------------------------------------------------------------ export
def test_checkpoint_loads_with_chainrule_io(client: Client, tmp_path: Path):
    sid = client.session(layers=[3])
    client.post(f"/api/session/{sid}/control", {"action": "step"})
    status, raw, _ = client.request("GET", f"/api/session/{sid}/checkpoint")
    assert status == 200
    path = tmp_path / "run.safetensors"
    path.write_bytes(raw)
    sd = crio.load(path)
    assert sorted(sd) == ["0.bias", "0.weight", "2.bias", "2.weight"]
    meta = crio.load_metadata(path)
    assert json.loads(meta["playground_config"])["layers"] == [3] and meta["iteration"] == "1"
    state = client.get(f"/api/session/{sid}/state")[1]
    np.testing.assert_allclose(np.asarray(sd["0.weight"]), state["weights"][0]["W"], atol=1e-4)


def _run_script(client: Client, sid: str, tmp_path: Path) -> dict[str, np.ndarray]:
    status, raw, _ = client.request("GET", f"/api/session/{sid}/script")
    assert status == 200
    script = tmp_path / "run.py"
    script.write_bytes(raw)
    out = tmp_path / "out.safetensors"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    r = subprocess.run([sys.executable, str(script), str(out)], capture_output=True, text=True,
                       timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    return {k: np.asarray(v) for k, v in crio.load(out).items()}


@pytest.mark.slow  # each runs the exported script in a fresh interpreter
@pytest.mark.parametrize("config, upload", [
    ({"layers": [4, 3], "optimizer": "adam", "reg": "l2", "regRate": 0.003, "batch": 7}, False),
    ({"dataset": "spiral", "classes": 3, "optimizer": "momentum", "loss": "squared",
      "reg": "l1", "regRate": 0.001, "activation": "relu"}, False),
    ({"layers": [2], "activation": "softplus"}, True),
])
def test_script_reproduces_the_run(client: Client, tmp_path: Path, config, upload):
    sid = client.session(**config)
    if upload:
        assert client.post(f"/api/session/{sid}/upload", GOOD_CSV, "text/csv")[0] == 200
    for _ in range(3):
        client.post(f"/api/session/{sid}/control", {"action": "step"})
    client.post(f"/api/session/{sid}/weight", {"layer": 0, "row": 0, "col": 1, "value": 0.75})
    for _ in range(20):
        client.post(f"/api/session/{sid}/control", {"action": "step"})
    status, raw, _ = client.request("GET", f"/api/session/{sid}/checkpoint")
    ckpt = tmp_path / "server.safetensors"
    ckpt.write_bytes(raw)
    served = {k: np.asarray(v) for k, v in crio.load(ckpt).items()}
    rebuilt = _run_script(client, sid, tmp_path)
    assert sorted(served) == sorted(rebuilt)
    for k in served:
        np.testing.assert_array_equal(rebuilt[k], served[k], err_msg=k)


@pytest.mark.slow
def test_script_of_a_preset_keeps_its_hand_set_weights(client: Client, tmp_path: Path):
    status, r = client.post("/api/session", {"config": C.preset_config("xor-threshold")})
    sid = r["id"]
    served = client.get(f"/api/session/{sid}/state")[1]["weights"]
    rebuilt = _run_script(client, sid, tmp_path)
    assert rebuilt["0.weight"].tolist() == served[0]["W"] == [[1.0, 1.0], [1.0, 1.0]]
    assert rebuilt["0.bias"].tolist() == [-0.5, -1.5]


# ------------------------------------------------------------------ the command
@pytest.mark.slow
def test_command_serves_and_stops_cleanly_on_ctrl_c():
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    p = subprocess.Popen([sys.executable, "-m", "chainrule", "playground", "--port", "0",
                          "--no-browser"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=env)
    try:
        line = p.stdout.readline()  # type: ignore[union-attr]
        assert "serving http://127.0.0.1:" in line, line
        url = line.split("serving ")[1].split()[0]
        host, port = url[len("http://"):].rstrip("/").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        conn.request("GET", "/api/info")
        assert conn.getresponse().status == 200
        conn.close()
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=15)
        assert p.returncode == 0, err
        assert "stopped" in out and "Traceback" not in err
    finally:
        if p.poll() is None:
            p.kill()


@pytest.mark.slow
def test_command_reports_a_busy_port(server):
    port = server.server_address[1]
    r = subprocess.run([sys.executable, "-m", "chainrule", "playground", "--port", str(port),
                        "--no-browser"], capture_output=True, text=True, timeout=60,
                       env={**os.environ,
                            "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    assert r.returncode == 1 and "cannot listen" in r.stderr and "Traceback" not in r.stderr
