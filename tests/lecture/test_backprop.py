"""Section 3 (backpropagation): each example run in quick mode; the error signals against the
slides' closed forms, and the cost claim as counted multiply-adds (times are never asserted)."""

from __future__ import annotations

import math

import pytest

from chainrule import lecture
from chainrule.inspect import read_png


def _assert_png(path, min_side=100):
    assert path.exists() and path.stat().st_size < 150_000
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert min(read_png(path).shape[:2]) >= min_side


def _assert_svg(path):
    text = path.read_text(encoding="utf-8")
    assert text.lstrip().startswith(("<svg", "<?xml")) and text.rstrip().endswith("</svg>")


def _sigma(z):
    return 1 / (1 + math.exp(-z))


def test_univariate_chain_rule(tmp_path):
    r = lecture.run("univariate-chain-rule", quick=True, out=tmp_path)
    m = r.measured
    w, b, x, t = 0.5, -1.5, 2.0, 0.0
    s = _sigma(w * x + b)
    assert m["y_bar"] == pytest.approx(s - t, rel=1e-14)
    assert m["z_bar"] == pytest.approx((s - t) * s * (1 - s), rel=1e-14)
    assert m["w_bar"] == pytest.approx((s - t) * s * (1 - s) * x, rel=1e-14)
    assert m["b_bar"] == pytest.approx((s - t) * s * (1 - s), rel=1e-14)
    assert any("Backward pass" in line for line in r.lines)
    _assert_svg(tmp_path / "3-univariate-graph.svg")


def test_regularised_backprop_fan_out(tmp_path):
    r = lecture.run("regularised-backprop", quick=True, out=tmp_path)
    m = r.measured
    s = _sigma(0.5 * 2.0 - 1.5)
    z_bar = s * s * (1 - s)
    assert m["bars"]["R"] == pytest.approx(0.01)
    assert m["bars"]["L"] == 1.0 and m["bars"]["L_reg"] == 1.0
    assert m["bars"]["w"] == pytest.approx(z_bar * 2.0 + 0.01 * 0.5, rel=1e-14)
    assert m["bars"]["w"] == pytest.approx(0.1824, abs=1e-4)   # the trace docs' number
    assert m["bars"]["b"] == pytest.approx(z_bar, rel=1e-14)
    assert m["w_terms"] == 2
    _assert_svg(tmp_path / "3-regularised-graph.svg")


def test_multivariate_chain_rule(tmp_path):
    r = lecture.run("multivariate-chain-rule", quick=True, out=tmp_path)
    t = 0.7
    x, y = math.cos(t), t * t
    closed = y * math.exp(x * y) * -math.sin(t) + (1 + x * math.exp(x * y)) * 2 * t
    assert r.measured["t_bar"] == pytest.approx(closed, rel=1e-14)
    assert r.measured["t_terms"] == 2
    _assert_svg(tmp_path / "3-multivariate-graph.svg")


def test_softmax_cross_entropy():
    m = lecture.run("softmax-cross-entropy", quick=True).measured
    assert max(m["errors"].values()) < 1e-14
    assert sum(m["z_bar"]) == pytest.approx(0.0, abs=1e-14)   # Σ (y − t) = 1 − 1
    assert m["z_bar"][1] < 0 < m["z_bar"][0]


def test_mlp_backprop_closed_forms(tmp_path):
    r = lecture.run("mlp-backprop", quick=True, out=tmp_path)
    assert set(r.measured["errors"]) == {"y", "W⁽²⁾", "b⁽²⁾", "h", "z", "W⁽¹⁾", "b⁽¹⁾"}
    assert max(r.measured["errors"].values()) < 1e-15
    assert r.measured["elementwise_error"] < 1e-15
    _assert_svg(tmp_path / "3-mlp-graph.svg")


def test_counted_multiply_adds_of_backward():
    from chainrule.lecture.backprop import counted_multiply_adds, mlp_stack

    for width, depth in ((16, 1), (16, 3), (24, 2)):
        net = mlp_stack(width, depth)
        fw, bw = counted_multiply_adds(net, width)
        assert fw == depth * width * width                   # one per weight
        assert bw == (2 * depth - 1) * width * width         # two per weight, no x̄ at layer 1
        _, bw_x = counted_multiply_adds(net, width, input_grad=True)
        assert bw_x == 2 * fw


@pytest.mark.slow
def test_backprop_cost(tmp_path):
    r = lecture.run("backprop-cost", quick=True, out=tmp_path)
    d, w = r.measured["depth"], r.measured["width"]
    for run in d + w:
        n, L = run["width"], run["depth"]
        assert run["forward_macs"] == L * n * n              # linear in depth, quadratic in width
        assert run["backward_macs"] == (2 * L - 1) * n * n
        assert run["backward_macs_with_x"] == 2 * L * n * n  # backward = 2 forward passes
        assert run["forward_ms"] > 0 and run["backward_ms"] > 0  # measured, never compared
    assert [run["depth"] for run in d] == [1, 2, 4, 8]
    assert [run["width"] for run in w] == [256, 512, 768, 1024]
    _assert_png(tmp_path / "3-backprop-cost.png")


def test_section_lists_its_examples():
    names = [e.name for e in lecture.examples(section=3)]
    assert names == ["univariate-chain-rule", "regularised-backprop", "multivariate-chain-rule",
                     "softmax-cross-entropy", "mlp-backprop", "backprop-cost"]
