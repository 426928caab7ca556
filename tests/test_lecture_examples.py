"""The lecture's worked backprop examples, with the engine's error signals checked against the
closed forms derived on the slides (spec/neural-networks-lecture.txt, "Backpropagation")."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import chainrule as cr
from chainrule.autograd import topological_order


def sigma(z):
    return 1.0 / (1.0 + np.exp(-z))


def sigma_prime(z):
    return sigma(z) * (1.0 - sigma(z))


def scalar(v, requires_grad=False):
    return cr.tensor(float(v), dtype=cr.float64, requires_grad=requires_grad)


finite = st.floats(-3, 3, allow_nan=False, allow_infinity=False)


# ----------------------------------------------------------------- (a) logistic least squares + L2


def _regularised_logistic(wv, bv, xv, tv, lam):
    w, b = scalar(wv, True), scalar(bv, True)
    x, t = scalar(xv), scalar(tv)
    z = w * x + b
    y = z.sigmoid()
    loss = 0.5 * (y - t) ** 2
    reg = 0.5 * w ** 2
    loss_reg = loss + lam * reg
    return w, b, z, y, loss, reg, loss_reg


@given(w=finite, b=finite, x=finite, t=st.floats(0, 1), lam=st.floats(0, 2))
def test_regularised_logistic_least_squares(w, b, x, t, lam):
    w_, b_, z, y, loss, reg, loss_reg = _regularised_logistic(w, b, x, t, lam)
    for v in (z, y, loss, reg):
        v.retain_grad()
    loss_reg.backward()

    zv = w * x + b
    y_bar = sigma(zv) - t  # ȳ = L̄ (y − t), L̄ = 1
    z_bar = y_bar * sigma_prime(zv)  # z̄ = ȳ σ'(z)
    r_bar = lam  # R̄ = L̄_reg · λ
    assert loss.grad.item() == 1.0
    np.testing.assert_allclose(reg.grad.item(), r_bar, rtol=1e-15)
    np.testing.assert_allclose(y.grad.item(), y_bar, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(z.grad.item(), z_bar, rtol=1e-9, atol=1e-15)
    # w̄ = z̄ x + R̄ w : w fans out to z and R, so it sums both children's signals
    np.testing.assert_allclose(w_.grad.item(), z_bar * x + r_bar * w, rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(b_.grad.item(), z_bar, rtol=1e-9, atol=1e-15)


def test_regularised_logistic_fixed_numbers():
    """One hand-checkable point: w = 1, b = 0, x = 2, t = 1, λ = 0.1."""
    w, b, *_, loss_reg = _regularised_logistic(1.0, 0.0, 2.0, 1.0, 0.1)
    loss_reg.backward()
    s = sigma(2.0)
    z_bar = (s - 1.0) * s * (1 - s)
    assert math.isclose(w.grad.item(), 2.0 * z_bar + 0.1 * 1.0, rel_tol=1e-12)
    assert math.isclose(b.grad.item(), z_bar, rel_tol=1e-12)
    assert w.grad.item() < 0.1  # the data term pulls w up against the regulariser


def test_regularised_logistic_graph_is_topologically_ordered():
    w, b, z, y, loss, reg, loss_reg = _regularised_logistic(0.3, -0.2, 1.5, 0.0, 0.5)
    order = topological_order([loss_reg])
    pos = {id(t): i for i, t in enumerate(order)}
    assert order[-1] is loss_reg
    for parent, child in [(w, z), (b, z), (z, y), (y, loss), (w, reg), (loss, loss_reg),
                          (reg, loss_reg)]:
        assert pos[id(parent)] < pos[id(child)]


# ----------------------------------------------------------------- (b) multivariate chain rule


@given(t=st.floats(-4, 4, allow_nan=False))
def test_multivariate_chain_rule_example(t):
    tt = scalar(t, True)
    x = tt.cos()
    y = tt ** 2
    f = y + (x * y).exp()
    x.retain_grad()
    y.retain_grad()
    f.backward()

    xv, yv = math.cos(t), t * t
    e = math.exp(xv * yv)
    x_bar, y_bar = yv * e, 1 + xv * e  # ∂f/∂x, ∂f/∂y
    np.testing.assert_allclose(x.grad.item(), x_bar, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(y.grad.item(), y_bar, rtol=1e-12)
    # t̄ = x̄ dx/dt + ȳ dy/dt
    expected = x_bar * (-math.sin(t)) + y_bar * 2 * t
    np.testing.assert_allclose(tt.grad.item(), expected, rtol=1e-10, atol=1e-12)


# ----------------------------------------------------------------- (c) vectorised two-layer MLP


@given(d=st.integers(1, 6), h=st.integers(1, 6), k=st.integers(1, 5),
       seed=st.integers(0, 2**32 - 1))
def test_vectorised_mlp_backward_pass(d, h, k, seed):
    rng = np.random.default_rng(seed)
    xv, tv = rng.standard_normal(d), rng.standard_normal(k)
    W1v, b1v = rng.standard_normal((h, d)), rng.standard_normal(h)
    W2v, b2v = rng.standard_normal((k, h)), rng.standard_normal(k)

    x, t = cr.tensor(xv), cr.tensor(tv)
    W1, b1 = cr.tensor(W1v, requires_grad=True), cr.tensor(b1v, requires_grad=True)
    W2, b2 = cr.tensor(W2v, requires_grad=True), cr.tensor(b2v, requires_grad=True)
    z = W1 @ x + b1
    hid = z.sigmoid()
    y = W2 @ hid + b2
    loss = 0.5 * ((y - t) ** 2).sum()
    for v in (z, hid, y):
        v.retain_grad()
    loss.backward()

    # forward values, then the slide's backward pass
    zv = W1v @ xv + b1v
    hv = sigma(zv)
    yv = W2v @ hv + b2v
    y_bar = yv - tv
    W2_bar = np.outer(y_bar, hv)
    b2_bar = y_bar
    h_bar = W2v.T @ y_bar
    z_bar = h_bar * sigma_prime(zv)
    W1_bar = np.outer(z_bar, xv)
    b1_bar = z_bar

    tol = {"rtol": 1e-10, "atol": 1e-12}
    np.testing.assert_allclose(loss.item(), 0.5 * np.sum((yv - tv) ** 2), **tol)
    np.testing.assert_allclose(y.grad.detach().numpy(), y_bar, **tol)
    np.testing.assert_allclose(hid.grad.detach().numpy(), h_bar, **tol)
    np.testing.assert_allclose(z.grad.detach().numpy(), z_bar, **tol)
    for param, expected in ((W2, W2_bar), (b2, b2_bar), (W1, W1_bar), (b1, b1_bar)):
        assert param.grad.shape == param.shape
        assert param.grad.dtype == np.float64
        np.testing.assert_allclose(param.grad.detach().numpy(), expected, **tol)


@given(d=st.integers(1, 5), h=st.integers(1, 5), k=st.integers(1, 4), n=st.integers(1, 4),
       seed=st.integers(0, 2**32 - 1))
def test_batched_mlp_gradients_are_sums_over_examples(d, h, k, n, seed):
    """J = Σ_examples L: with examples as columns of X the same formulas become matrix products,
    W̄1 = Z̄ Xᵀ and b̄1 = Σ_columns Z̄ (the bias is broadcast, so its signals are summed)."""
    rng = np.random.default_rng(seed)
    X, T = rng.standard_normal((d, n)), rng.standard_normal((k, n))
    W1v, b1v = rng.standard_normal((h, d)), rng.standard_normal((h, 1))
    W2v, b2v = rng.standard_normal((k, h)), rng.standard_normal((k, 1))
    W1, b1 = cr.tensor(W1v, requires_grad=True), cr.tensor(b1v, requires_grad=True)
    W2, b2 = cr.tensor(W2v, requires_grad=True), cr.tensor(b2v, requires_grad=True)
    Y = W2 @ (W1 @ cr.tensor(X) + b1).sigmoid() + b2
    (0.5 * ((Y - cr.tensor(T)) ** 2).sum()).backward()

    Z = W1v @ X + b1v
    H = sigma(Z)
    Y_bar = W2v @ H + b2v - T
    Z_bar = (W2v.T @ Y_bar) * sigma_prime(Z)
    tol = {"rtol": 1e-10, "atol": 1e-12}
    np.testing.assert_allclose(W2.grad.detach().numpy(), Y_bar @ H.T, **tol)
    np.testing.assert_allclose(b2.grad.detach().numpy(), Y_bar.sum(axis=1, keepdims=True), **tol)
    np.testing.assert_allclose(W1.grad.detach().numpy(), Z_bar @ X.T, **tol)
    np.testing.assert_allclose(b1.grad.detach().numpy(), Z_bar.sum(axis=1, keepdims=True), **tol)
