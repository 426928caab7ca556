"""Section 1 (units): each example run in quick mode, the slide's numbers checked independently."""

from __future__ import annotations

import math

import numpy as np
import pytest

from chainrule import lecture
from chainrule.inspect import read_png


def _assert_png(path, min_side=100):
    assert path.exists() and path.stat().st_size < 150_000
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    img = read_png(path)
    assert min(img.shape[:2]) >= min_side


def test_unit_computes_phi_of_affine():
    r = lecture.run("unit", quick=True)
    w, b = np.array([0.5, -1.0, 2.0]), 0.25
    xs = np.array([[1.0, 2.0, 0.5], [2.0, 0.0, -0.5], [0.0, 0.5, 0.125]])
    z = xs @ w + b
    np.testing.assert_allclose(r.measured["z"], z, atol=1e-15)
    np.testing.assert_allclose(r.measured["z"], [-0.25, 0.25, 0.0], atol=1e-15)
    y = r.measured["y"]
    np.testing.assert_allclose(y["ReLU"], [0.0, 0.25, 0.0])
    np.testing.assert_allclose(y["hard threshold"], [0.0, 1.0, 0.0])  # 1[z > 0]: 0 at z = 0
    np.testing.assert_allclose(y["soft ReLU"], [math.log(1 + math.exp(v)) for v in z],
                               rtol=1e-12)
    np.testing.assert_allclose(y["logistic"], 1 / (1 + np.exp(-z)), rtol=1e-12)
    np.testing.assert_allclose(y["tanh"], np.tanh(z), rtol=1e-12)
    np.testing.assert_allclose(y["identity"], z)


def test_activation_derivatives_match_closed_forms(tmp_path):
    r = lecture.run("activation-derivatives", quick=True, out=tmp_path)
    m = r.measured
    assert set(m) == {"identity", "ReLU", "soft ReLU", "hard threshold", "logistic", "tanh"}
    for name, v in m.items():
        assert v["derivative_error"] < 1e-12, name
        assert v["phi_error"] < 1e-12, name
    z = np.linspace(-4, 4, 81)
    s = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(m["logistic"]["derivative"], s * (1 - s), rtol=1e-10)
    np.testing.assert_allclose(m["tanh"]["derivative"], 1 - np.tanh(z) ** 2, atol=1e-14)
    np.testing.assert_allclose(m["soft ReLU"]["derivative"], s, rtol=1e-10)
    assert m["hard threshold"]["derivative"] == [0.0] * 81
    assert m["ReLU"]["derivative_at_0"] == 0.0 and m["identity"]["derivative_at_0"] == 1.0
    assert m["logistic"]["derivative_at_0"] == pytest.approx(0.25)
    _assert_png(tmp_path / "1-activations.png")


def test_layer_is_m_by_n_matrix():
    r = lecture.run("layer-matrix", quick=True)
    assert r.measured["weight_shape"] == (3, 4) and r.measured["bias_shape"] == (3,)
    assert r.measured["max_difference"] < 1e-15


def test_two_layer_exercise(tmp_path):
    r = lecture.run("two-layer-exercise", quick=True, out=tmp_path)
    assert r.measured["params"] == 2 * 2 + 2 + 2 * 1 + 1
    xs = [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 2.0]]

    def net(x1, x2, phi):  # h1 = φ(x1 − x2), h2 = φ(0.5 x1 + 2 x2 − 1), y = 2 h1 − h2 + 0.5
        return 2 * phi(x1 - x2) - phi(0.5 * x1 + 2 * x2 - 1) + 0.5

    np.testing.assert_allclose(r.measured["ReLU"]["y"], [0.5, 2.5, -0.5, -1.0, -2.0])
    np.testing.assert_allclose(r.measured["tanh"]["y"], [net(a, b, math.tanh) for a, b in xs],
                               rtol=1e-13)
    assert r.measured["ReLU"]["max_difference"] == 0.0
    _assert_png(tmp_path / "1-two-layer-exercise.png")


def test_section_lists_its_examples():
    names = [e.name for e in lecture.examples(section=1)]
    assert names == ["unit", "activation-derivatives", "layer-matrix", "two-layer-exercise"]
