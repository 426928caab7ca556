"""chainrule.ops.normalization: local response normalisation and its channel-window sum.

Against a NumPy loop written from the definition (d_c = k + (α/n) Σ_{c' ∈ W(c)} x_{c'}², window
W(c) = c − ⌊n/2⌋ … c + ⌊(n − 1)/2⌋ clipped to the channels, y_c = x_c / d_c^β), by
``cr.gradcheck`` in float64, and against torch.nn.functional.local_response_norm: forward, first
and second derivatives, for 3-D to 5-D inputs and windows wider than the channel count.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import chainrule as cr
from chainrule.ops.normalization import ChannelWindowSum


def _np_window_sum(x, lo, hi):
    c = x.shape[1]
    out = np.zeros_like(x)
    for i in range(c):
        out[:, i] = x[:, max(0, i - lo):min(c, i + hi + 1)].sum(axis=1)
    return out


def _np_lrn(x, size, alpha, beta, k):
    d = k + alpha / size * _np_window_sum(x * x, size // 2, (size - 1) // 2)
    return x / d ** beta


def _lrn_case(chk, data):
    ndim = data.draw(st.integers(3, 5), label="ndim")
    shape = (data.draw(st.integers(1, 2), label="N"), data.draw(st.integers(1, 7), label="C"),
             *data.draw(st.lists(st.integers(1, 3), min_size=ndim - 2, max_size=ndim - 2),
                        label="spatial"))
    size = data.draw(st.integers(1, 9), label="size")  # also wider than C
    alpha = data.draw(st.sampled_from([1e-4, 0.5, 2.0]), label="alpha")
    beta = data.draw(st.sampled_from([0.75, 0.5, 1.3]), label="beta")
    k = data.draw(st.sampled_from([1.0, 2.0, 0.5]), label="k")
    rng = chk.rng(data)

    def fn(m, t):
        return m.nn.functional.local_response_norm(t, size, alpha=alpha, beta=beta, k=k)

    return chk.Case(fn, lambda a: _np_lrn(a, size, alpha, beta, k),
                    [chk.values(rng, shape)], rng)


@given(data=st.data())
def test_local_response_norm_matches_numpy_and_gradcheck(chk, data):
    chk.numpy_and_gradcheck(_lrn_case(chk, data))


@given(data=st.data())
def test_local_response_norm_matches_torch(chk, torch, data):
    chk.torch_oracle(torch, _lrn_case(chk, data))


@given(data=st.data())
def test_channel_window_sum_and_its_mirrored_adjoint(chk, data):
    """y[:, c] = Σ_{c−lo}^{c+hi} x; first and second derivatives by finite differences (the
    window may be wider than the channels)."""
    shape = (2, data.draw(st.integers(1, 6), label="C"), 3)
    lo, hi = data.draw(st.integers(0, 7), label="lo"), data.draw(st.integers(0, 7), label="hi")
    rng = chk.rng(data)

    def fn(m, t):
        return ChannelWindowSum.apply(t, lo=lo, hi=hi)

    x = chk.values(rng, shape)
    chk.forward(fn, lambda a: _np_window_sum(a, lo, hi), [x])
    t = cr.tensor(x, requires_grad=True)
    assert cr.autograd.gradcheck(lambda a: fn(cr, a) ** 2, [t])

    def first(a):  # the gradient, recorded: its backward is the adjoint's adjoint
        return cr.autograd.grad((fn(cr, a) ** 3).sum(), a, create_graph=True)[0]
    assert cr.autograd.gradcheck(first, [t])


def test_alexnet_layer_in_float32_matches_torch(torch):
    """The paper's setting (n = 5, k = 2, α = 5e-4 in torch's convention, β = 0.75) on a conv1
    sized map, float32."""
    x = np.random.default_rng(0).standard_normal((2, 96, 13, 13)).astype(np.float32) * 3
    cx, tx = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    cy = cr.nn.functional.local_response_norm(cx, 5, 5e-4, 0.75, 2.0)
    ty = torch.nn.functional.local_response_norm(tx, 5, 5e-4, 0.75, 2.0)
    assert cy.dtype == cr.float32
    np.testing.assert_allclose(cy.detach().numpy(), ty.detach().numpy(), rtol=2e-6, atol=1e-6)
    g = np.random.default_rng(1).standard_normal(x.shape).astype(np.float32)
    cy.backward(gradient=g)
    ty.backward(torch.from_numpy(g))
    np.testing.assert_allclose(cx.grad.detach().numpy(), tx.grad.numpy(), rtol=1e-5,
                               atol=1e-6)


def test_errors_and_empty_input(torch):
    F = cr.nn.functional
    with pytest.raises(ValueError, match=r"local_response_norm: expected 3D or higher .*"
                                         r"\(2, 3\)"):
        F.local_response_norm(cr.ones(2, 3), 5)
    with pytest.raises(ValueError, match="Expected 3D or higher"):
        torch.nn.functional.local_response_norm(torch.ones(2, 3), 5)
    with pytest.raises(ValueError, match="size must be a positive integer, got 0"):
        F.local_response_norm(cr.ones(1, 3, 2), 0)
    empty = cr.ones(0, 3, 2)
    assert F.local_response_norm(empty, 3).shape == (0, 3, 2)


@pytest.mark.parametrize("affine", [(True, True), (True, False), (False, True), (False, False)])
def test_batch_norm_op_with_and_without_gamma_and_beta_matches_torch(torch, affine):
    """`BatchNorm` (training statistics): y, x̄, γ̄, β̄ and the running statistics, for every
    combination of the optional γ and β, against torch.nn.functional.batch_norm."""
    import chainrule.nn.functional as F

    rng = np.random.default_rng(sum(affine))
    x0 = rng.standard_normal((6, 3, 5, 4))
    g0 = rng.standard_normal((6, 3, 5, 4))
    w0, b0 = rng.standard_normal(3), rng.standard_normal(3)
    x = cr.tensor(x0, requires_grad=True)
    w = cr.tensor(w0, requires_grad=True) if affine[0] else None
    b = cr.tensor(b0, requires_grad=True) if affine[1] else None
    rm, rv = cr.zeros(3, dtype=cr.float64), cr.ones(3, dtype=cr.float64)
    y = F.batch_norm(x, rm, rv, w, b, training=True, momentum=0.3)
    y.backward(cr.tensor(g0))
    tx = torch.tensor(x0, requires_grad=True)
    tw = torch.tensor(w0, requires_grad=True) if affine[0] else None
    tb = torch.tensor(b0, requires_grad=True) if affine[1] else None
    trm, trv = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    ty = torch.nn.functional.batch_norm(tx, trm, trv, tw, tb, training=True, momentum=0.3)
    ty.backward(torch.tensor(g0))
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-12)
    for mine, theirs in ((w, tw), (b, tb)):
        if mine is not None:
            np.testing.assert_allclose(mine.grad.numpy(), theirs.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(rm.numpy(), trm.numpy(), rtol=1e-12)
    np.testing.assert_allclose(rv.numpy(), trv.numpy(), rtol=1e-12)


def test_relu_in_place_after_batch_norm_backpropagates():
    """ResNet's `relu(inplace=True)` right after a batch norm: the op keeps x and its statistics,
    not its output, so changing the output in place leaves its gradient right (also without γ
    and β, where the output is the x̂ the forward computed)."""
    import chainrule.nn.functional as F

    rng = np.random.default_rng(3)
    x0 = rng.standard_normal((4, 2, 3, 3))
    for affine in (True, False):
        grads = []
        for inplace in (False, True):
            x = cr.tensor(x0, requires_grad=True)
            w = cr.ones(2, dtype=cr.float64, requires_grad=True) if affine else None
            y = F.relu(F.batch_norm(x, None, None, w, None, training=True), inplace=inplace)
            (y * y).sum().backward()
            grads.append(x.grad.numpy())
        np.testing.assert_array_equal(grads[0], grads[1])


@pytest.mark.parametrize("jit", [True, False])
def test_batch_norm_keeps_per_channel_statistics_not_an_x_hat_beside_x(jit):
    """The training-mode node keeps x (its input) and μ, 1/σ per channel: nothing else the size
    of x, on the compiled path and the NumPy twin. Changing x in place after the forward pass is
    refused at backward, as torch refuses it."""
    import chainrule.nn.functional as F

    with cr.jit.disabled() if not jit else contextlib.nullcontext():
        x = cr.randn(8, 16, 16, 16, requires_grad=True)  # 128 KiB: the kernels' size
        h = x * 1.0
        y = F.batch_norm(h, None, None, cr.ones(16, requires_grad=True), cr.zeros(16),
                         training=True)
        node = y.grad_fn
        big = [k for k, v in node.saved_values.items()
               if isinstance(v, np.ndarray) and v.size >= h.numel()]
        assert big == [] and node.inputs[0] is h
        assert {k: v.shape for k, v in node.saved_values.items()
                if isinstance(v, np.ndarray)} == {
            "mean": (1, 16, 1, 1), "rstd": (1, 16, 1, 1)}
        y.sum().backward()
        h2 = x * 1.0
        y2 = F.batch_norm(h2, None, None, None, None, training=True)
        h2.add_(1.0)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            (y2 * y2).sum().backward()


def test_batch_norm_in_eval_mode_is_one_affine_op_with_torchs_gradients(torch):
    """Fixed statistics: y = x · s + t per channel (`ChannelAffine`), with x̄, γ̄, β̄ and second
    derivatives as torch's eval-mode batch_norm."""
    import chainrule.nn.functional as F

    rng = np.random.default_rng(5)
    x0, g0 = rng.standard_normal((4, 3, 2, 5)), rng.standard_normal((4, 3, 2, 5))
    w0, b0 = rng.standard_normal(3), rng.standard_normal(3)
    rm0, rv0 = rng.standard_normal(3), rng.uniform(0.5, 2, 3)
    x, w, b = (cr.tensor(a, requires_grad=True) for a in (x0, w0, b0))
    y = F.batch_norm(x, cr.tensor(rm0), cr.tensor(rv0), w, b, training=False)
    assert type(y.grad_fn).__name__ == "ChannelAffine"
    (gx,) = cr.autograd.grad(y, x, cr.tensor(g0), create_graph=True)
    y.backward(cr.tensor(g0), retain_graph=True)
    (ggw,) = cr.autograd.grad((gx * gx).sum(), w)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x0, w0, b0))
    ty = torch.nn.functional.batch_norm(tx, torch.tensor(rm0), torch.tensor(rv0), tw, tb,
                                        training=False)
    (tgx,) = torch.autograd.grad(ty, tx, torch.tensor(g0), create_graph=True)
    ty.backward(torch.tensor(g0), retain_graph=True)
    (tggw,) = torch.autograd.grad((tgx * tgx).sum(), tw)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-12)
    for mine, theirs in ((x, tx), (w, tw), (b, tb)):
        np.testing.assert_allclose(mine.grad.numpy(), theirs.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(ggw.numpy(), tggw.numpy(), rtol=1e-10)
