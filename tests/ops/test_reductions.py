"""chainrule.ops.reductions: sum, mean, var/std, max/min, amax/amin, argmax/argmin, logsumexp,
softmax, log_softmax — with dim/axis as None, an int, a tuple, negative dims and keepdim."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import chainrule as cr


def _np_axis(axes, ndim):
    """NumPy's axis for a torch-style dim: a 0-d tensor's dims 0 and -1 mean the whole tensor."""
    return None if ndim == 0 else axes


def _torch_dims(axes, ndim):
    """torch's logsumexp wants explicit dims where chainrule accepts None (all)."""
    return tuple(range(ndim)) if axes is None else axes


def _reduced_count(shape, axes):
    if axes is None or not shape:
        return int(np.prod(shape, dtype=np.int64))
    axes = axes if isinstance(axes, tuple) else (axes,)
    return int(np.prod([shape[a] for a in axes], dtype=np.int64))


def _draw(chk, data, kind="normal"):
    shape = data.draw(chk.shape(), label="shape")
    rng = chk.rng(data)
    return shape, rng, chk.values(rng, shape, kind)


def _reduce_case(name, np_name, kind="normal"):
    def build(chk, data):
        shape, rng, x = _draw(chk, data, kind)
        axes = data.draw(chk.axes(len(shape)), label="dim")
        keep = data.draw(st.booleans(), label="keepdim")
        style = data.draw(st.sampled_from(["function", "method", "numpy_kwargs"]), label="call")

        def fn(m, t):
            if style == "method":
                return getattr(t, name)(dim=axes, keepdim=keep)
            if style == "numpy_kwargs" and m is cr:
                return getattr(cr, name)(t, axis=axes, keepdims=keep)
            return getattr(m, name)(t, axes, keep)

        def np_fn(a):
            return getattr(np, np_name)(a, axis=_np_axis(axes, a.ndim), keepdims=keep)

        return chk.Case(fn, np_fn, [x], rng)
    return build


def _var_case(name):
    def build(chk, data):
        shape, rng, x = _draw(chk, data)
        axes = data.draw(chk.axes(len(shape)), label="dim")
        keep = data.draw(st.booleans(), label="keepdim")
        kw = data.draw(st.sampled_from([{}, {"unbiased": True}, {"unbiased": False},
                                        {"correction": 0}, {"correction": 1},
                                        {"correction": 2}]), label="correction")
        ddof = kw.get("correction", 0 if kw.get("unbiased") is False else 1)
        n = _reduced_count(shape, axes)
        assume(n > ddof and n >= 2)  # N ≤ correction is nan/inf; std is not smooth at var = 0

        def fn(m, t):
            return getattr(m, name)(t, dim=axes, keepdim=keep, **kw)

        def np_fn(a):
            return getattr(np, name)(a, axis=_np_axis(axes, a.ndim), ddof=ddof, keepdims=keep)

        # std of two values is |x1 − x2|/√2: piecewise linear, so its exact second derivative is
        # 0 and both libraries return rounding noise (~1e-10) there; compare on that scale.
        return chk.Case(fn, np_fn, [x], rng, torch_kw={"atol": 1e-8} if name == "std" else {})
    return build


def _max_dim_case(name):
    def build(chk, data):
        shape, rng, x = _draw(chk, data, "distinct")
        d = data.draw(chk.axis(len(shape)), label="dim")
        keep = data.draw(st.booleans(), label="keepdim")
        method = data.draw(st.booleans(), label="method")

        def fn(m, t):
            return getattr(t, name)(dim=d, keepdim=keep) if method else getattr(m, name)(t, d, keep)

        def np_fn(a):
            ax = _np_axis(d, a.ndim)
            arg = getattr(np, "arg" + name)(a, axis=ax, keepdims=keep)
            return getattr(np, name)(a, axis=ax, keepdims=keep), np.asarray(arg, np.int64)

        return chk.Case(fn, np_fn, [x], rng)
    return build


def _max_all_case(name):
    def build(chk, data):
        shape, rng, x = _draw(chk, data, "distinct")
        return chk.Case(lambda m, t: getattr(m, name)(t), getattr(np, name), [x], rng)
    return build


def _logsumexp_case(chk, data):
    shape, rng, x = _draw(chk, data)
    x = 3 * x
    axes = data.draw(chk.axes(len(shape)), label="dim")
    keep = data.draw(st.booleans(), label="keepdim")

    def fn(m, t):
        if m is cr:
            return cr.logsumexp(t, axes, keep)
        return m.logsumexp(t, _torch_dims(axes, t.ndim), keep)

    def np_fn(a):
        return np.logaddexp.reduce(a, axis=_np_axis(axes, a.ndim), keepdims=keep)

    return chk.Case(fn, np_fn, [x], rng)


def _np_softmax(a, axis):
    e = np.exp(a - np.max(a, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _np_log_softmax(a, axis):
    return a - np.logaddexp.reduce(a, axis=axis, keepdims=True)


def _softmax_case(name, np_ref):
    def build(chk, data):
        shape, rng, x = _draw(chk, data)
        x = 3 * x
        d = data.draw(chk.axis(len(shape)), label="dim")
        style = data.draw(st.sampled_from(["function", "method", "numpy_axis"]), label="call")

        def fn(m, t):
            if style == "method":
                return getattr(t, name)(d)
            if style == "numpy_axis" and m is cr:
                return getattr(cr, name)(t, axis=d)
            return getattr(m, name)(t, dim=d)

        return chk.Case(fn, lambda a: np_ref(a, _np_axis(d, a.ndim)), [x], rng)
    return build


def _softmax_default_dim(chk, data):
    shape, rng, x = _draw(chk, data)
    return chk.Case(lambda m, t: cr.softmax(t) if m is cr else m.softmax(t, -1),
                    lambda a: _np_softmax(a, None if a.ndim == 0 else -1), [x], rng)


def _weighted_softmax_loss(chk, data):
    """A cross-entropy-like composite: log_softmax picked by a mask, plus a variance term."""
    shape = data.draw(chk.shape(min_dims=2, max_dims=3, min_side=2), label="shape")
    rng = chk.rng(data)
    x, w = chk.values(rng, shape), chk.values(rng, shape)

    def fn(m, t, u):
        return -(m.log_softmax(t, dim=-1) * m.softmax(u, dim=0)).sum(-1).mean() + t.var(0).sum()

    def np_fn(a, b):
        return (-(_np_log_softmax(a, -1) * _np_softmax(b, 0)).sum(-1).mean()
                + a.var(0, ddof=1).sum())

    return chk.Case(fn, np_fn, [x, w], rng)


CASES = {
    "sum": _reduce_case("sum", "sum"),
    "mean": _reduce_case("mean", "mean"),
    "amax": _reduce_case("amax", "max", "distinct"),
    "amin": _reduce_case("amin", "min", "distinct"),
    "var": _var_case("var"),
    "std": _var_case("std"),
    "max_all": _max_all_case("max"),
    "min_all": _max_all_case("min"),
    "max_dim": _max_dim_case("max"),
    "min_dim": _max_dim_case("min"),
    "logsumexp": _logsumexp_case,
    "softmax": _softmax_case("softmax", _np_softmax),
    "log_softmax": _softmax_case("log_softmax", _np_log_softmax),
    "softmax_default_dim": _softmax_default_dim,
    "softmax_loss_composite": _weighted_softmax_loss,
}


@pytest.mark.parametrize("name", CASES)
@given(data=st.data())
def test_forward_matches_numpy_and_gradcheck(chk, name, data):
    chk.numpy_and_gradcheck(CASES[name](chk, data))


@pytest.mark.parametrize("name", CASES)
@given(data=st.data())
def test_gradients_match_torch(chk, torch, name, data):
    chk.torch_oracle(torch, CASES[name](chk, data))


# ----------------------------------------------------------------- 0-d tensors
# torch accepts dims 0 and -1 for a 0-d tensor
@pytest.mark.parametrize("name", ["sum", "mean", "amax", "amin", "logsumexp", "softmax",
                                  "log_softmax"])
@pytest.mark.parametrize("d", [0, -1])
def test_zero_dim_tensor_reduces_over_dim_0_like_torch(torch, name, d):
    c = cr.tensor(1.5, dtype=cr.float64, requires_grad=True)
    t = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
    cy, ty = getattr(cr, name)(c, d), getattr(torch, name)(t, d)
    assert cy.shape == tuple(ty.shape) == ()
    np.testing.assert_allclose(cy.detach().numpy(), ty.detach().numpy())
    cy.backward(gradient=np.array(2.0))
    ty.backward(gradient=torch.tensor(2.0, dtype=torch.float64))
    np.testing.assert_allclose(c.grad.detach().numpy(), t.grad.numpy())


@pytest.mark.parametrize("name", ["max", "min"])
def test_zero_dim_max_with_dim_like_torch(torch, name):
    c = cr.tensor(1.5, dtype=cr.float64, requires_grad=True)
    values, indices = getattr(cr, name)(c, 0)
    tv, ti = getattr(torch, name)(torch.tensor(1.5), 0)
    assert values.shape == () and indices.shape == () and indices.item() == ti.item() == 0
    values.backward()
    assert c.grad.item() == 1.0


def test_zero_dim_var_is_nan_like_torch():
    assert np.isnan(cr.var(cr.tensor(2.0), 0).item())
    assert cr.var(cr.tensor(2.0), 0, unbiased=False).item() == 0.0


# ----------------------------------------------------------------- ties
def _grad_pair(torch, fn, x, upstream=None):
    c = cr.tensor(np.asarray(x, np.float64), requires_grad=True)
    t = torch.tensor(np.asarray(x, np.float64), requires_grad=True)
    cy, ty = fn(cr, c), fn(torch, t)
    cv = cy[0] if isinstance(cy, tuple) else cy
    tv = ty[0] if isinstance(ty, tuple) else ty
    v = np.arange(1.0, cv.numel() + 1).reshape(cv.shape) if upstream is None else upstream
    cv.backward(gradient=v)
    tv.backward(gradient=torch.from_numpy(np.asarray(v, np.float64)))
    np.testing.assert_allclose(c.grad.detach().numpy(), t.grad.numpy(), rtol=1e-12, atol=0)
    return cy, ty, c.grad.detach().numpy()


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_without_dim_share_the_gradient_among_ties_like_torch(torch, name):
    x = [[3.0, -1.0, 3.0], [3.0, -1.0, 0.0]]
    _, _, g = _grad_pair(torch, lambda m, t: getattr(m, name)(t), x, upstream=np.array(6.0))
    want = [[2.0, 0, 2.0], [2.0, 0, 0]] if name == "max" else [[0, 3.0, 0], [0, 3.0, 0]]
    np.testing.assert_array_equal(g, want)


@pytest.mark.parametrize("name", ["amax", "amin"])
@pytest.mark.parametrize("dim", [None, 0, 1, -1, (0, 1), (1, -2)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_amax_amin_share_the_gradient_among_ties_like_torch(torch, name, dim, keepdim):
    x = [[1.0, 5.0, 5.0], [5.0, 1.0, 1.0], [2.0, 2.0, 2.0]]

    def fn(m, t):
        return getattr(m, name)(t, dim, keepdim) if dim is not None else getattr(m, name)(t)

    _grad_pair(torch, fn, x)


@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_max_min_with_dim_send_the_gradient_to_the_returned_index_like_torch(
        torch, name, dim, keepdim):
    x = [[1.0, 5.0, 5.0], [5.0, 1.0, 1.0], [2.0, 2.0, 2.0]]
    cy, ty, g = _grad_pair(torch, lambda m, t: getattr(m, name)(t, dim, keepdim), x)
    assert cy.indices.dtype == np.int64
    np.testing.assert_array_equal(cy.indices.detach().numpy(), ty.indices.numpy())
    np.testing.assert_array_equal(cy.values.detach().numpy(), ty.values.detach().numpy())
    assert np.count_nonzero(g) == cy.values.numel()  # one winner per slice, ties included
    assert not cy.indices.requires_grad


def test_max_with_a_tensor_is_the_elementwise_maximum():
    a, b = cr.tensor([1.0, 4.0]), cr.tensor([3.0, 2.0])
    np.testing.assert_array_equal(cr.max(a, b).detach().numpy(), [3.0, 4.0])
    np.testing.assert_array_equal(cr.min(a, b).detach().numpy(), [1.0, 2.0])


# ----------------------------------------------------------------- argmax / argmin
@pytest.mark.parametrize("name", ["argmax", "argmin"])
@given(data=st.data())
def test_argmax_argmin_match_numpy(chk, name, data):
    shape = data.draw(chk.shape(), label="shape")
    x = chk.values(chk.rng(data), shape, "grid0")  # ties: the first index wins
    d = data.draw(st.one_of(st.none(), chk.axis(len(shape))), label="dim")
    keep = data.draw(st.booleans(), label="keepdim")
    t = cr.tensor(x, requires_grad=True)
    got = getattr(cr, name)(t, d, keep) if d is not None else getattr(t, name)()
    want = getattr(np, name)(x) if d is None else getattr(np, name)(
        x, axis=_np_axis(d, x.ndim), keepdims=keep)
    assert got.dtype == np.int64 and not got.requires_grad and got.grad_fn is None
    np.testing.assert_array_equal(got.detach().numpy(), want)


@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_argmax_argmin_match_torch(torch, name):
    x = np.array([[1.0, 5.0, 5.0, 0.0], [5.0, 1.0, 1.0, 7.0], [2.0, 2.0, 2.0, 2.0]])
    for d, keep in ((None, False), (0, False), (1, True), (-1, False)):
        got = getattr(cr, name)(cr.tensor(x), d, keep)
        want = getattr(torch, name)(torch.tensor(x), d, keep)
        np.testing.assert_array_equal(got.detach().numpy(), want.numpy())
        assert got.shape == tuple(want.shape)


# ----------------------------------------------------------------- var / std specifics
def test_var_std_default_is_unbiased_like_torch(torch):
    x = np.array([[1.0, 2.0, 4.0], [0.5, -3.0, 2.0]])
    for kw in ({}, {"unbiased": False}, {"correction": 0}, {"correction": 2}, {"dim": 0},
               {"dim": (0, 1), "correction": 1.5}):
        for name in ("var", "std"):
            got = getattr(cr, name)(cr.tensor(x), **kw).detach().numpy()
            want = getattr(torch, name)(torch.tensor(x), **kw).numpy()
            np.testing.assert_allclose(got, want, rtol=1e-12, err_msg=f"{name} {kw}")


def test_var_of_one_element_is_nan_like_torch():
    assert np.isnan(cr.var(cr.tensor([3.0])).item())
    assert cr.var(cr.tensor([3.0]), unbiased=False).item() == 0.0


# ----------------------------------------------------------------- stability in float32
BIG = np.array([[1e4, -1e4, 0.0, 1e4 - 1.0], [-1e4, -1e4 + 0.5, -1e4, -1e4]], np.float32)


@pytest.mark.parametrize("name", ["logsumexp", "softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_family_is_stable_for_huge_float32_inputs(torch, name, dim):
    c = cr.tensor(BIG, requires_grad=True)
    t = torch.tensor(BIG, requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        cy = getattr(cr, name)(c, dim)
        v = np.linspace(-1, 1, cy.numel(), dtype=np.float32).reshape(cy.shape)
        cy.backward(gradient=v)
    ty = getattr(torch, name)(t, dim)
    ty.backward(gradient=torch.from_numpy(v))
    assert cy.dtype == np.float32 and c.grad.dtype == np.float32
    assert np.isfinite(cy.detach().numpy()).all() and np.isfinite(c.grad.detach().numpy()).all()
    np.testing.assert_allclose(cy.detach().numpy(), ty.detach().numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(c.grad.detach().numpy(), t.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_logsumexp_exact_for_huge_values():
    x = cr.tensor([1e4, 1e4], dtype=cr.float32)
    np.testing.assert_allclose(cr.logsumexp(x, 0).item(), 1e4 + np.log(2.0), rtol=1e-7)
    x = cr.tensor([-1e4, -1e4 - 1.0], dtype=cr.float32)
    np.testing.assert_allclose(cr.logsumexp(x, 0).item(), -1e4 + np.log1p(np.exp(-1.0)),
                               rtol=1e-7)


# ----------------------------------------------------------------- errors
@pytest.mark.parametrize("name", ["sum", "mean", "amax", "amin", "logsumexp", "var", "std",
                                  "max", "min", "argmax", "argmin", "softmax", "log_softmax"])
def test_dim_out_of_range_names_op_and_ndim(name):
    with pytest.raises(cr.ShapeError, match=rf"^{name}: dim 2 is out of range for a tensor "
                                            r"with 2 dimension\(s\)"):
        getattr(cr, name)(cr.ones(2, 3), 2)
    with pytest.raises(cr.ShapeError, match=rf"^{name}: dim -3 is out of range"):
        getattr(cr, name)(cr.ones(2, 3), -3)


@pytest.mark.parametrize("name", ["sum", "mean", "amax", "logsumexp", "var"])
def test_repeated_dims_are_rejected(name):
    with pytest.raises(cr.ShapeError, match=rf"^{name}: dim \(1, -1\) contains a repeated axis"):
        getattr(cr, name)(cr.ones(2, 3), (1, -1))


@pytest.mark.parametrize("name", ["sum", "mean", "max"])
def test_dim_and_axis_together_are_rejected(name):
    with pytest.raises(TypeError, match="pass either dim or axis"):
        getattr(cr, name)(cr.ones(2, 3), 0, axis=1)


@pytest.mark.parametrize("name", ["mean", "softmax", "log_softmax"])
def test_integer_input_is_rejected(name):
    with pytest.raises(TypeError, match=rf"^{name}: needs a floating-point tensor, got int64"):
        getattr(cr, name)(cr.tensor([1, 2, 3]))


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_of_empty_names_the_shape(name):
    with pytest.raises(ValueError, match=rf"^{name}: cannot reduce an empty tensor of shape "
                                         r"\(0, 3\)"):
        getattr(cr, name)(cr.zeros(0, 3))


def test_integer_sums_stay_integer():
    x = cr.tensor([[1, 2], [3, 4]])
    assert x.sum().dtype == np.int64 and x.sum().item() == 10
    np.testing.assert_array_equal(x.sum(0).detach().numpy(), [4, 6])
