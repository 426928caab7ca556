"""Section 2 (expressive power): each example run in quick mode, the slide's numbers checked
independently."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from chainrule import lecture
from chainrule.inspect import read_png


def _assert_png(path, min_side=100):
    assert path.exists() and path.stat().st_size < 150_000
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert min(read_png(path).shape[:2]) >= min_side


def test_deep_linear_collapses_to_float_precision():
    m = lecture.run("deep-linear-collapse", quick=True).measured
    for key in ("linear_float64", "affine_float64", "linear_float32", "affine_float32"):
        assert m[key]["W_shape"] == (3, 5)
        assert m[key]["relative_error"] < 20 * m[key]["eps"], key
    assert m["linear_float64"]["eps"] == np.finfo(np.float64).eps


def test_xor_truth_table(tmp_path):
    r = lecture.run("xor-threshold", quick=True, out=tmp_path)
    assert r.measured["truth_table_correct"] is True
    # the slide: h1 = OR, h2 = AND, y = XOR
    inputs = [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert r.measured["h"] == [[float(a or b), float(a and b)] for a, b in inputs]
    assert r.measured["y"] == [float(a ^ b) for a, b in inputs]
    _assert_png(tmp_path / "2-xor-threshold.png")


@pytest.mark.slow
def test_xor_threshold_gradient_is_zero_and_logistic_trains(tmp_path):
    r = lecture.run("xor-backprop", quick=True, out=tmp_path)
    m = r.measured
    assert m["threshold_grad_max"] == {"slide's weights": 0.0, "random weights": 0.0}
    assert m["threshold_loss"]["slide's weights"] == 0.0
    assert m["logistic_correct"] == 4
    assert m["logistic_loss_last"] < 0.05 < m["logistic_loss_first"]
    np.testing.assert_array_equal(np.array(m["logistic_y"]) > 0.5, [False, True, True, False])
    _assert_png(tmp_path / "2-xor-logistic.png")


def test_binary_universality_all_256_functions():
    m = lecture.run("binary-universality", quick=True).measured
    assert m["hidden_units"] == 8 and m["functions"] == 2 ** 2 ** 3 == 256
    assert m["represented"] == 256 and m["hidden_one_hot"] is True
    assert m["widths"] == {1: 2, 2: 4, 3: 8, 4: 16, 5: 32}


def test_binary_universality_network_directly():
    from chainrule.lecture.expressive import binary_universality_network
    import chainrule as cr

    rng = np.random.default_rng(0)
    d = 4
    patterns = np.array(list(itertools.product([-1.0, 1.0], repeat=d)))
    targets = rng.choice([-1.0, 1.0], size=(2 ** d, 5))
    net = binary_universality_network(targets)
    with cr.no_grad():
        y = net(cr.tensor(patterns, dtype=cr.float64)).detach().numpy()
    np.testing.assert_array_equal(y, targets)


def test_sigmoid_sharpening_error_shrinks(tmp_path):
    r = lecture.run("sigmoid-sharpening", quick=True, out=tmp_path)
    m = r.measured
    assert list(m) == [1, 5, 25, 125]
    for k, v in m.items():
        exact = 2 / k * math.log(2 / (1 + math.exp(-3 * k)))   # ∫_{-3}^{3} |σ(kx) − 1[x>0]| dx
        assert v["l1_error"] == pytest.approx(exact, rel=1e-4)
        assert v["slope_at_0"] == pytest.approx(k / 4, rel=1e-3)
    errors = [v["l1_error"] for v in m.values()]
    assert errors == sorted(errors, reverse=True)
    assert m[125]["sup_away"] < 1e-20
    _assert_png(tmp_path / "2-sigmoid-sharpening.png")


def test_bump_with_two_threshold_units(tmp_path):
    r = lecture.run("bump-threshold", quick=True, out=tmp_path)
    # exact except where the hard threshold sits on its own boundary: 1[0 > 0] = 0 at x = 1
    assert r.measured["mismatches"] == [1.0]
    assert r.measured["probes"] == {0.5: 0.0, 1.0: 0.0, 1.5: 1.0, 2.0: 1.0, 2.5: 0.0}
    _assert_png(tmp_path / "2-bump-threshold.png")


def test_bump_with_relus_error_is_one_over_slope(tmp_path):
    r = lecture.run("bump-relu", quick=True, out=tmp_path)
    for s, v in r.measured.items():
        assert v["l1_error"] == pytest.approx(1 / s, rel=1e-3)
        assert v["max_error_on_1_2"] == 0.0
        assert v["max_error_outside_ramps"] == 0.0
    _assert_png(tmp_path / "2-bump-relu.png")


@pytest.mark.slow
def test_universal_approximation_error_falls_with_width(tmp_path):
    r = lecture.run("universal-approximation", quick=True, out=tmp_path)
    m = r.measured
    assert list(m) == [1, 2, 4, 8, 16]
    assert [m[w]["params"] for w in m] == [3 * w + 1 for w in m]
    assert m[16]["rmse"] < 0.05 < m[1]["rmse"]
    assert m[16]["rmse"] < m[4]["rmse"] < m[1]["rmse"]
    _assert_png(tmp_path / "2-universal-approximation.png")


def test_section_lists_its_examples():
    names = [e.name for e in lecture.examples(section=2)]
    assert names[:2] == ["deep-linear-collapse", "xor-threshold"]
    assert set(names) == {"deep-linear-collapse", "xor-threshold", "xor-backprop",
                          "binary-universality", "sigmoid-sharpening", "bump-threshold",
                          "bump-relu", "universal-approximation"}
