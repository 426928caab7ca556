"""The playground's training logic without the server: datasets, the lecture's presets, what
the hard threshold and a deep linear network can and cannot do, the trace of one example, CSV
parsing."""

from __future__ import annotations

import base64

import numpy as np
import pytest

import chainrule as cr
from chainrule.playground import config as C
from chainrule.playground import datasets as D
from chainrule.playground.session import REGION, Session


def session(**cfg) -> Session:
    return Session(C.validate(cfg))


@pytest.mark.parametrize("name", [n for n in C.DATASETS if n != "custom"])
def test_datasets_are_fixed_by_their_seed(name):
    kw = dict(points=300, noise=10, ratio=60, classes=3)
    a, b = D.generate(name, seed=5, **kw), D.generate(name, seed=5, **kw)
    c = D.generate(name, seed=6, **kw)
    assert a.X.shape == (300, 2) and a.n_train == 180
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.X, c.X)
    if a.problem != "regression":
        assert set(np.unique(a.y)) == set(range(a.classes))


def test_multiclass_uses_softmax_cross_entropy():
    s = session(dataset="spiral", classes=4)
    assert s.problem == "multiclass" and s.n_out == 4
    with cr.no_grad():
        z = s.model(s.Xf_train).detach().numpy().astype(np.float64)
    t = s.data.y_train
    logp = z - z.max(1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(1, keepdims=True))
    assert s.history[0][1] == pytest.approx(-logp[np.arange(len(t)), t].mean(), rel=1e-5)


def test_xor_trains_on_the_engine():
    s = session(dataset="xor", optimizer="adam", lr=0.03, batch=30)
    s.step(200)
    assert s.history[-1][2] < 0.1  # test loss


def test_xor_preset_is_the_slides_network():
    s = Session(C.preset_config("xor-threshold"))
    with cr.no_grad():
        z = s.model(s.Xf_train).detach().numpy()[:, 0]
    np.testing.assert_array_equal(z > 0, s.data.y_train == 1)  # XOR, every point
    assert s.linears()[0].weight.detach().numpy().tolist() == [[1, 1], [1, 1]]


def test_hard_threshold_cannot_learn_below_the_output():
    s = Session(C.preset_config("xor-threshold"))
    W1 = s.linears()[0].weight.detach().numpy().copy()
    W2 = s.linears()[1].weight.detach().numpy().copy()
    s.step(20)
    np.testing.assert_array_equal(s.linears()[0].weight.detach().numpy(), W1)
    assert not np.array_equal(s.linears()[1].weight.detach().numpy(), W2)
    assert s.grad_norms[0] == 0.0 and s.grad_norms[1] > 0
    assert "∂y/∂z = 0" in s.snapshot()["note"]


def test_bump_preset_is_one_on_1_2():
    s = Session(C.preset_config("bump"))
    assert s.history[0][1] == 0.0 and s.history[0][2] == 0.0  # exact: noise 0
    x = cr.tensor([[0.5], [1.5], [1.99], [2.5]])
    with cr.no_grad():
        assert s.model(x).detach().numpy()[:, 0].tolist() == [0.0, 1.0, 1.0, 0.0]


def test_deep_linear_network_cannot_bend():
    s = Session(C.preset_config("deep-linear"))
    s.step(100)
    with cr.no_grad():
        g = np.linspace(-6, 6, 9)
        X = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
        z = s.model(cr.from_numpy(D.features(X, ["x1", "x2"]))).detach().numpy()[:, 0]
    # the logit is affine in x: fitting a + b·x₁ + c·x₂ leaves no residual
    A = np.column_stack([np.ones(len(X)), X])
    resid = z - A @ np.linalg.lstsq(A, z, rcond=None)[0]
    assert np.abs(resid).max() < 1e-4
    assert "straight" in s.snapshot()["note"]


def test_snapshot_sizes():
    s = session(layers=[3, 2], features=["x1", "x2", "x1x2"], dataset="gauss", classes=3)
    snap = s.snapshot(with_data=True)
    assert len(base64.b64decode(snap["region"]["values"])) == REGION * REGION
    assert len(base64.b64decode(snap["region"]["classes"])) == REGION * REGION
    assert [len(u) for u in snap["units"]] == [3, 2] and len(snap["inputs"]) == 3
    assert len(base64.b64decode(snap["units"][0][0])) == (REGION // 2) ** 2


@pytest.mark.parametrize("cfg", [dict(layers=[3, 2]), dict(dataset="spiral", classes=3),
                                 dict(dataset="reg-plane", activation="relu"),
                                 dict(dataset="circle", loss="squared", activation="softplus")])
def test_trace_error_signals_are_the_engines_gradients(cfg):
    s = session(**cfg)
    s.step(3)
    tr = s.inspect("train", 5)
    bars = {b["name"]: np.asarray(b["value"]) for b in tr["backward"]}
    # the same example through the model, gradients by autograd
    s.model.zero_grad()
    s._loss(s.model(s.Xf_train[5:6]), s.t_train[5:6]).backward()
    for i, lin in enumerate(s.linears()):
        k = "⁽" + "¹²³⁴⁵⁶⁷"[i] + "⁾"
        np.testing.assert_allclose(bars["W" + k], lin.weight.grad.detach().numpy(), atol=2e-4)
        np.testing.assert_allclose(bars["b" + k], lin.bias.grad.detach().numpy(), atol=2e-4)
    assert tr["backward"][0]["bar"] == "L̄" and tr["backward"][0]["rule"] == "1"


def test_csv_parsing():
    X, y, problem, k = D.parse_csv("# comment\nx,y,label\n1,2,-1\n3,4,1\n\n5,6,1\n7,8,-1\n")
    assert (problem, k) == ("binary", 2) and y.tolist() == [0, 1, 1, 0]
    assert X.tolist() == [[1, 2], [3, 4], [5, 6], [7, 8]]
    assert D.parse_csv("1,2,0\n3,4,1\n5,6,2\n7,8,0\n")[2:] == ("multiclass", 3)
    assert D.parse_csv("1,2,0.5\n3,4,1\n5,6,2\n7,8,0\n")[2:] == ("regression", 1)
    with pytest.raises(D.CSVError, match="line 2: expected three numbers"):
        D.parse_csv("a,b,c\nd,e,f\n")


def test_uploaded_data_trains():
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, (80, 2))
    s = session()
    s.set_upload((X, (X[:, 0] > 0).astype(np.int64), "binary", 2))
    assert s.cfg["dataset"] == "custom" and s.data.domain[0] < -2
    before = s.history[-1][1]
    s.step(100)
    assert s.history[-1][1] < before
