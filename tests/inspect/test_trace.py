"""The backprop trace: built on the engine's own loop, its rules read from each op's docstring,
its numbers equal to the lecture's closed forms and to the engine's gradients."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import engine, function
from chainrule.autograd.function import freed
from chainrule.cli import main
from chainrule.inspect import Trace, trace
from chainrule.inspect._trace_examples import logistic, mlp, multivariate
from chainrule.inspect._trace_rules import (
    all_ops, missing_rules, rule_of, substitute, tokenize,
)
from chainrule.nn import functional as F

GOLDEN = Path(__file__).parent / "golden"


def sigma(z):
    return 1.0 / (1.0 + np.exp(-z))


def silent(loss, names=None, **kw) -> Trace:
    return trace(loss, names, file=None, **kw)


# ----------------------------------------------------------------- golden files
@pytest.mark.parametrize("name, build", [("logistic", logistic), ("multivariate", multivariate)])
def test_trace_matches_the_golden_file(name, build):
    loss, names = build()
    out = io.StringIO()
    trace(loss, names, file=out)
    golden = (GOLDEN / f"trace_{name}.txt").read_text(encoding="utf-8")
    assert out.getvalue().splitlines() == golden.splitlines()


def test_the_golden_logistic_trace_reads_like_the_slide():
    """The lecture's backward pass, line for line (its λR, ½(y − t)² and w² are op nodes)."""
    text = (GOLDEN / "trace_logistic.txt").read_text(encoding="utf-8")
    backward = text.split("Backward pass")[1]
    for line in ("L̄_reg = 1", "L̄ = L̄_reg", "R̄ = v̄₅ · λ", "ȳ = v̄₁₂", "z̄ = ȳ · y (1 − y)",
                 "b̄ = z̄", "w̄ = v̄₈ · x + v̄₂ · 2 · w^(2−1)", "0.1774 + 0.005 = 0.1824"):
        assert line in backward, line


# ----------------------------------------------------------------- the lecture's closed forms
def test_logistic_least_squares_with_l2_equals_the_closed_forms():
    w, b, x, t, lam = 0.5, -1.5, 2.0, 0.0, 0.01
    loss, names = logistic(w, b, x, t, lam)
    tr = silent(loss, names)
    z = w * x + b
    y = sigma(z)
    s = tr.step
    assert s("L_reg").value == 1 and s("L_reg").rule == "1"
    assert s("L").value == 1                                       # L̄ = L̄_reg
    assert math.isclose(s("R").value, lam, rel_tol=1e-15)          # R̄ = L̄_reg λ
    y_bar = y - t                                                  # ȳ = L̄ (y − t)
    assert math.isclose(s("y").value, y_bar, rel_tol=1e-14)
    z_bar = y_bar * y * (1 - y)                                    # z̄ = ȳ σ'(z)
    assert math.isclose(s("z").value, z_bar, rel_tol=1e-13)
    w_step = s("w")                                                # w̄ = z̄ x + R̄ w
    assert [t.op for t in w_step.terms] == ["mul", "pow"]
    assert math.isclose(w_step.terms[0].value, z_bar * x, rel_tol=1e-13)
    assert math.isclose(w_step.terms[1].value, lam * w, rel_tol=1e-13)
    assert math.isclose(w_step.value, z_bar * x + lam * w, rel_tol=1e-13)
    assert math.isclose(s("b").value, z_bar, rel_tol=1e-13)        # b̄ = z̄
    # and the engine's own gradients, through backward()
    loss.backward()
    assert w_step.value == names["w"].grad.item()
    assert s("b").value == names["b"].grad.item()


def test_multivariate_chain_rule_equals_the_closed_forms():
    t = 0.7
    f, names = multivariate(t)
    tr = silent(f, names)
    x, y = math.cos(t), t * t
    e = math.exp(x * y)
    assert math.isclose(tr.step("x").value, y * e, rel_tol=1e-14)          # x̄ = y e^{xy}
    y_step = tr.step("y")                                                  # ȳ = 1 + x e^{xy}
    assert [term.child for term in y_step.terms] == ["f", "v₄"]
    assert math.isclose(y_step.value, 1 + x * e, rel_tol=1e-14)
    t_step = tr.step("t")                # t̄ = x̄ dx/dt + ȳ dy/dt = y e^{xy} (−sin t) + ȳ 2t
    assert [term.op for term in t_step.terms] == ["cos", "pow"]
    assert t_step.rule == "−x̄ · sin t + ȳ · 2 · t^(2−1)"
    assert math.isclose(t_step.terms[0].value, y * e * -math.sin(t), rel_tol=1e-14)
    assert math.isclose(t_step.terms[1].value, (1 + x * e) * 2 * t, rel_tol=1e-14)
    closed = (y * e) * (-math.sin(t)) + (1 + x * e) * 2 * t
    assert math.isclose(t_step.value, closed, rel_tol=1e-14)
    f.backward()
    assert t_step.value == names["t"].grad.item()


def test_mlp_equals_the_lecture_vectorised_backward_pass():
    loss, n = mlp()
    tr = silent(loss, n)
    W1, b1, W2, b2 = (n[k].detach().numpy() for k in ("W⁽¹⁾", "b⁽¹⁾", "W⁽²⁾", "b⁽²⁾"))
    x, t = n["x"].numpy(), n["t"].numpy()
    z = W1 @ x + b1
    h = sigma(z)
    y = W2 @ h + b2
    y_bar = y - t                                   # ȳ = L̄ (y − t)
    h_bar = W2.T @ y_bar                            # h̄ = W⁽²⁾ᵀ ȳ
    z_bar = h_bar * h * (1 - h)                     # z̄ = h̄ ∘ σ'(z)
    expected = {"y": y_bar, "W⁽²⁾": np.outer(y_bar, h), "b⁽²⁾": y_bar, "h": h_bar,
                "z": z_bar, "W⁽¹⁾": np.outer(z_bar, x), "b⁽¹⁾": z_bar}
    for name, want in expected.items():
        np.testing.assert_allclose(tr.step(name).value, want, rtol=1e-12, err_msg=name)
    assert tr.step("h").rule == "ȳ W⁽²⁾"
    assert tr.step("W⁽¹⁾").rule == "z̄ᵀ x"
    loss.backward()
    for name in ("W⁽¹⁾", "b⁽¹⁾", "W⁽²⁾", "b⁽²⁾"):
        np.testing.assert_array_equal(tr.step(name).value, n[name].grad.numpy())


# ----------------------------------------------------------------- built on the engine
def test_the_trace_walks_the_engine_order():
    loss, names = logistic()
    tr = silent(loss, names)
    order = engine.topological_order([loss])
    label = {id(t): n for n, t in names.items()}
    grad_steps = [f.name for f in tr.forward if f.kind in ("parameter", "value", "output")]
    assert len(grad_steps) == len(order)
    for f, t in zip([f for f in tr.forward if f.kind != "input"], order, strict=True):
        if id(t) in label:
            assert f.name == label[id(t)]
    assert [s.name for s in tr.backward] == grad_steps[::-1]  # i = N, N−1, ..., 1


def test_trace_keeps_the_graph_and_writes_no_grad():
    loss, names = logistic()
    silent(loss, names)
    assert names["w"].grad is None
    loss.backward()  # the graph is still there
    assert names["w"].grad is not None


def test_a_freed_graph_is_an_error():
    loss, _ = logistic()
    loss.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        silent(loss)


def test_broadcast_terms_are_summed_back_and_said_so():
    cr.manual_seed(0)
    x = cr.randn(4, 3, dtype=cr.float64)
    b = cr.zeros(3, dtype=cr.float64, requires_grad=True)
    loss = (x + b).sum()
    tr = silent(loss, {"x": x, "b": b})
    (term,) = tr.step("b").terms
    assert term.summed and term.value.shape == (3,)
    np.testing.assert_allclose(term.value, [4.0, 4.0, 4.0])
    assert "summed over broadcast axes" in tr.to_text()


def test_a_parent_used_twice_by_one_child_gets_two_terms():
    x = cr.tensor(3.0, dtype=cr.float64, requires_grad=True)
    y = x * x
    tr = silent(y, {"x": x, "y": y})
    step = tr.step("x")
    assert [t.rule for t in step.terms] == ["ȳ · x", "ȳ · x"]
    assert step.value == 6.0


def test_large_tensors_are_summarised_and_small_ones_printed():
    cr.manual_seed(0)
    w = cr.randn(20, 5, dtype=cr.float64, requires_grad=True)
    v = cr.tensor([1.0, 2.0], dtype=cr.float64, requires_grad=True)
    loss = (w * 2).sum() + (v * v).sum()
    text = silent(loss, {"w": w, "v": v}).to_text()
    assert "(20, 5) in [" in text and "mean" in text
    assert "v = [1, 2]" in text


def test_a_tensors_name_is_used():
    w = cr.tensor(2.0, requires_grad=True)
    z = w * 3
    z.name = "z"
    w.name = "w"
    tr = silent(z)
    assert tr.backward[0].name == "z" and tr.backward[1].bar == "w̄"


def test_non_scalar_loss_needs_a_gradient():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    y = w * 2
    with pytest.raises(RuntimeError, match="scalar"):
        silent(y)
    tr = silent(y, {"w": w}, gradient=np.array([1.0, 10.0], np.float32))
    np.testing.assert_allclose(tr.step("w").value, [2.0, 20.0])
    assert tr.backward[0].rule == "given"


def test_markdown_has_one_row_per_step_and_escapes_bars():
    a = cr.tensor(-2.0, dtype=cr.float64, requires_grad=True)
    loss = a.abs()
    tr = silent(loss, {"a": a})
    md = tr.to_markdown()
    rows = [line for line in md.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) == 2 + len(tr.forward) + len(tr.backward)  # two header rows
    assert "\\|a\\|" in md  # |a| must not split the table's cells


def test_conv_and_pooling_steps_have_their_rules():
    cr.manual_seed(0)
    x = cr.randn(1, 1, 6, 6)
    conv = cr.nn.Conv2d(1, 2, 3)
    loss = F.max_pool2d(conv(x).relu(), 2).mean()
    tr = silent(loss, conv)
    assert tr.step("weight").rule.startswith("ConvWeightGrad(")
    assert "routed to the window's first maximum" in tr.to_text()
    assert "∂" not in "".join(s.rule for s in tr.backward)  # no generic fallback was needed
    conv.zero_grad()
    loss.backward()
    np.testing.assert_array_equal(tr.step("weight").value, conv.weight.grad.numpy())


# ----------------------------------------------------------------- the rules
def test_every_op_declares_a_rule_for_each_parent():
    missing = {op.__name__: missing_rules(op) for op in all_ops() if missing_rules(op)}
    assert not missing, missing


def test_every_first_order_op_states_its_value_and_error_signal():
    for op in all_ops():
        r = rule_of(op)
        assert r.forward, op.__name__
        exprs = " ".join(r.backward.values())
        assert exprs.strip(), op.__name__


def test_rules_come_from_the_docstring():
    from chainrule.ops.elementwise import Div, Mul
    assert rule_of(Mul).backward == {"a": "ȳ · b", "b": "ȳ · a"}
    assert rule_of(Mul).forward == "a · b"
    assert rule_of(Div).backward["b"] == "−ȳ · a / b²"  # the first of 'b̄ = … = …'


def test_substitution_replaces_symbols_not_words_nor_articles():
    import unicodedata
    nfd = {unicodedata.normalize("NFD", k): v for k, v in
           {"a": "v₃", "ȳ": "z̄", "y": "z"}.items()}
    assert substitute("ȳ · y (1 − y) / log a", nfd) == "z̄ · z (1 − z) / log v₃"
    assert substitute("ȳ scattered into a zero tensor of a's shape", nfd) == \
        "z̄ scattered into a zero tensor of v₃'s shape"
    assert [t.text for t in tokenize("σ(βz)") if t.symbol] == ["σ", "β", "z"]


# ----------------------------------------------------------------- the command line
def test_cli_trace_prints_the_lecture_example(capsys, tmp_path):
    svg = tmp_path / "g.svg"
    assert main(["trace", "logistic", "--svg", str(svg)]) == 0
    out = capsys.readouterr().out
    assert "w̄ = v̄₈ · x + v̄₂ · 2 · w^(2−1)" in out and "= 0.1774 + 0.005 = 0.1824" in out
    assert svg.read_text().startswith("<svg")
    assert main(["trace", "mlp", "--markdown"]) == 0
    assert "| W̄⁽¹⁾ | z̄ᵀ x |" in capsys.readouterr().out


def test_cli_trace_rejects_an_unknown_example(capsys):
    with pytest.raises(SystemExit) as e:
        main(["trace", "nope"])
    assert e.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_a_setting_of_infinity_is_written_not_a_crash():
    """binary_cross_entropy_with_logits records softplus(threshold=inf): the rule shows ∞ and
    the error signals are autograd's."""
    x = cr.tensor([[0.5, -1.0]], dtype=cr.float64, requires_grad=True)
    w = cr.tensor([[1.0, 2.0]], dtype=cr.float64, requires_grad=True)
    z = (x * w).sum(dim=1)
    loss = F.binary_cross_entropy_with_logits(z, cr.tensor([1.0], dtype=cr.float64))
    result = trace(loss, dict(x=x, w=w, z=z, L=loss), file=None)
    gx, gw = cr.autograd.grad(loss, (x, w))
    text = result.to_text()
    assert "x̄" in text and "w̄" in text
    np.testing.assert_allclose(result.step("x").value, gx.numpy(), rtol=1e-12)
    np.testing.assert_allclose(result.step("w").value, gw.numpy(), rtol=1e-12)


def test_a_value_freed_after_the_forward_pass_is_said_to_be(monkeypatch):
    """A pre-activation that only its ReLU read (kept as a StandIn) has no values left to show;
    the trace says so, and its error signal is still there."""
    monkeypatch.setattr(function, "STAND_IN_BYTES", 0)
    cr.manual_seed(0)
    w = cr.randn(3, 2, dtype=cr.float64, requires_grad=True)
    x = cr.randn(4, 3, dtype=cr.float64)
    loss = cr.relu(x @ w).sum()
    tr = silent(loss, {"w": w, "x": x})
    text = tr.to_text()
    assert "(4, 2) freed: backward reads no value" in text
    (v,) = [s for s in tr.forward if s.op == "matmul"]
    assert freed(v.value)
    np.testing.assert_allclose(tr.step(v.name).value, (x.numpy() @ w.detach().numpy() > 0))
