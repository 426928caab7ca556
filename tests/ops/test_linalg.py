"""chainrule.ops.linalg: matmul with numpy.matmul's shapes (1-D, 2-D, batched with broadcast batch
dims), checked against NumPy, finite differences and torch (first and second order)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import chainrule as cr


def _matmul_case(a_kind, b_kind, style="operator"):
    """a_kind/b_kind: '1d', '2d' or 'batched' (0–2 batch dims that broadcast against the other)."""
    def build(chk, data):
        n, k, m = (data.draw(st.integers(1, 4), label=s) for s in "nkm")
        ba, bb = data.draw(chk.broadcast_shapes(2, min_dims=0, max_dims=2), label="batch")
        if a_kind != "batched":
            ba = ()
        if b_kind != "batched":
            bb = ()
        sa = (k,) if a_kind == "1d" else (*ba, n, k)
        sb = (k,) if b_kind == "1d" else (*bb, k, m)
        rng = chk.rng(data)

        def fn(mod, a, b):
            if style == "function":
                return mod.matmul(a, b)
            if style == "method":
                return a.matmul(b)
            return a @ b

        return chk.Case(fn, np.matmul, [chk.values(rng, sa), chk.values(rng, sb)], rng)
    return build


CASES = {
    "1d_1d": _matmul_case("1d", "1d"),
    "1d_2d": _matmul_case("1d", "2d"),
    "2d_1d": _matmul_case("2d", "1d", "function"),
    "2d_2d": _matmul_case("2d", "2d"),
    "2d_2d_method": _matmul_case("2d", "2d", "method"),
    "batched_batched": _matmul_case("batched", "batched"),
    "batched_2d": _matmul_case("batched", "2d"),
    "2d_batched": _matmul_case("2d", "batched", "function"),
    "1d_batched": _matmul_case("1d", "batched"),
    "batched_1d": _matmul_case("batched", "1d"),
}


def _linear_case(bias):
    """y = x Wᵀ + b (torch.nn.functional.linear) for x of shape (..., in) with 0–2 batch dims."""
    def build(chk, data):
        batch = data.draw(chk.shape(min_dims=0, max_dims=2), label="batch")
        n_in, n_out = data.draw(st.integers(1, 4), label="in"), data.draw(st.integers(1, 4),
                                                                          label="out")
        rng = chk.rng(data)
        arrays = [chk.values(rng, (*batch, n_in)), chk.values(rng, (n_out, n_in))]
        if bias:
            arrays.append(chk.values(rng, (n_out,)))

        def fn(m, *ts):
            return cr.linear(*ts) if m is cr else m.nn.functional.linear(*ts)

        def np_fn(x, w, b=None):
            return x @ w.T + (0 if b is None else b)

        return chk.Case(fn, np_fn, arrays, rng)
    return build


CASES["linear"] = _linear_case(bias=False)
CASES["linear_bias"] = _linear_case(bias=True)


def _linear_column_major(chk, data):
    """linear of a column-major x (as a flattened batch-last conv activation is): its x̄ takes
    the (W ᵀȳᵀ)ᵀ branch."""
    n, n_in = data.draw(st.integers(1, 5), label="n"), data.draw(st.integers(1, 4), label="in")
    n_out = data.draw(st.integers(1, 4), label="out")
    rng = chk.rng(data)

    def fn(m, x, w, b):
        f = cr.linear if m is cr else m.nn.functional.linear
        return f(x.mT.contiguous().mT, w, b)

    return chk.Case(fn, lambda x, w, b: x @ w.T + b,
                    [chk.values(rng, (n, n_in)), chk.values(rng, (n_out, n_in)),
                     chk.values(rng, (n_out,))], rng)


CASES["linear_column_major"] = _linear_column_major


@pytest.mark.parametrize("name", CASES)
@given(data=st.data())
def test_forward_matches_numpy_and_gradcheck(chk, name, data):
    chk.numpy_and_gradcheck(CASES[name](chk, data))


@pytest.mark.parametrize("name", CASES)
@given(data=st.data())
def test_gradients_match_torch(chk, torch, name, data):
    chk.torch_oracle(torch, CASES[name](chk, data))


@pytest.mark.parametrize("wrt", [[0], [1]])
def test_gradient_to_one_operand_only(chk, wrt):
    """The other operand is data (requires_grad=False): backward skips it, gradcheck still
    passes."""
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 5))]
    chk.gradcheck(lambda m, a, b: a @ b, arrays, wrt=wrt)


def test_matmul_of_the_lecture_layer():
    """y = W x for one example: W̄ = ȳ xᵀ, x̄ = Wᵀ ȳ."""
    w = cr.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=cr.float64, requires_grad=True)
    x = cr.tensor([1.0, -1.0, 2.0], dtype=cr.float64, requires_grad=True)
    y = w @ x
    np.testing.assert_array_equal(y.detach().numpy(), [5.0, 11.0])
    ybar = np.array([1.0, 10.0])
    y.backward(gradient=ybar)
    np.testing.assert_array_equal(w.grad.detach().numpy(), np.outer(ybar, x.detach().numpy()))
    np.testing.assert_array_equal(x.grad.detach().numpy(), w.detach().numpy().T @ ybar)


def test_matmul_keeps_float32_and_refuses_mixed_dtypes_as_torch():
    a32, b32 = cr.ones(2, 3), cr.ones(3, 4)
    assert (a32 @ b32).dtype == np.float32
    with pytest.raises(RuntimeError, match="matmul: expected the same dtype"):
        a32 @ cr.ones(3, 4, dtype=cr.float64)
    assert (a32 @ np.ones((3, 4), np.float32)).dtype == np.float32
    assert (np.ones((5, 2), np.float32) @ a32).shape == (5, 3)  # reflected operator


# ----------------------------------------------------------------- errors
@pytest.mark.parametrize("sa, sb", [((2, 3), (4, 5)), ((3,), (4,)), ((2, 3), (2,)),
                                    ((3,), (2, 5)), ((6, 2, 3), (6, 4, 5)), ((2, 3), (7, 2, 5))])
def test_misaligned_shapes_name_matmul_and_both_shapes(sa, sb):
    with pytest.raises(cr.ShapeError, match=rf"^matmul: shapes {_re(sa)} and {_re(sb)} are not "
                                            r"aligned"):
        cr.ones(*sa) @ cr.ones(*sb)


def test_mismatched_batch_dims_name_matmul_and_both_shapes():
    with pytest.raises(cr.ShapeError, match=r"^matmul: .*\(2, 2, 3\), \(3, 3, 5\)"):
        cr.matmul(cr.ones(2, 2, 3), cr.ones(3, 3, 5))


def test_zero_dim_operand_is_rejected():
    with pytest.raises(cr.ShapeError, match=r"^matmul: both operands must have at least 1 "
                                            r"dimension, got shapes \(\) and \(3,\)"):
        cr.matmul(cr.tensor(2.0), cr.ones(3))


def _re(shape):
    return str(tuple(shape)).replace("(", r"\(").replace(")", r"\)")


def test_linear_error_signal_keeps_a_column_major_input_layout(torch):
    """x̄ of a column-major x is column-major too (no transposing pass for the ops before it) and
    equals torch's."""
    rng = np.random.default_rng(3)
    xs, ws = rng.standard_normal((6, 9)).astype(np.float32), rng.standard_normal((4, 9))
    x = cr.tensor(xs.T.copy(), requires_grad=True)
    w = cr.tensor(ws.astype(np.float32), requires_grad=True)
    v = x.mT
    v.retain_grad()
    cr.linear(v, w).sum().backward()
    tx = torch.tensor(xs.T.copy(), requires_grad=True)
    tw = torch.tensor(ws.astype(np.float32), requires_grad=True)
    torch.nn.functional.linear(tx.mT, tw).sum().backward()
    assert v.grad.mT.is_contiguous() and not v.grad.is_contiguous()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-6)
