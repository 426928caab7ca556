"""Custom ops written the PyTorch way: static forward(ctx, ...) / backward(ctx, grad)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr


def make_legendre(lib):
    """P₃(x) = ½(5x³ − 3x), P₃'(x) = 1.5(5x² − 1): the custom op of PyTorch's tutorial."""

    class Legendre3(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return 0.5 * (5 * x ** 3 - 3 * x)

        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            return grad_output * 1.5 * (5 * x ** 2 - 1)

    return Legendre3


def make_scaled_clamp(lib):
    class ScaledClamp(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, w, low):
            ctx.save_for_backward(x, w)
            ctx.low = low
            seen.append(ctx.needs_input_grad)
            return x.clamp(min=low) * w

        @staticmethod
        def backward(ctx, g):
            x, w = ctx.saved_tensors
            gx = g * w * (x > ctx.low) if ctx.needs_input_grad[0] else None
            gw = (g * x.clamp(min=ctx.low)).sum(0) if ctx.needs_input_grad[1] else None
            return gx, gw, None

    seen: list = []
    return ScaledClamp, seen


def test_legendre_matches_torch_first_and_second_order():
    torch = pytest.importorskip("torch")
    xv = np.linspace(-1.2, 1.3, 7)
    results = []
    for lib in (cr, torch):
        x = lib.tensor(xv, requires_grad=True)
        y = make_legendre(lib).apply(x)
        (g,) = lib.autograd.grad(y.sum(), x, create_graph=True)
        (gg,) = lib.autograd.grad((g * g).sum(), x)
        results.append([np.asarray(v.detach().numpy()) for v in (y, g, gg)])
    for ours, theirs in zip(*results, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_needs_input_grad_and_non_tensor_arguments_as_torch():
    torch = pytest.importorskip("torch")
    xv, wv = np.random.default_rng(0).normal(size=(4, 3)), np.array([0.5, -2.0, 1.0])
    grads, flags = [], []
    for lib in (cr, torch):
        fn, seen = make_scaled_clamp(lib)
        x = lib.tensor(xv, requires_grad=True)
        w = lib.tensor(wv)                       # no gradient wanted
        fn.apply(x, w, -0.3).sum().backward()
        grads.append(x.grad.numpy())
        flags.append(seen[0])
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12)
    assert flags[0] == flags[1] == (True, False, False)


def test_gradcheck_of_a_custom_function():
    x = cr.tensor(np.linspace(-1, 1, 5), requires_grad=True)
    assert cr.gradcheck(make_legendre(cr).apply, (x,))


def test_a_saved_tensor_changed_in_place_is_refused():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1.0
    y = make_legendre(cr).apply(h)
    with cr.no_grad():
        h.mul_(2.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_a_wrong_number_of_gradients_is_an_error_naming_the_function():
    class Bad(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            return x * k

        @staticmethod
        def backward(ctx, g):
            return g

    x = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="Bad.backward: returned 1 gradients, but forward "
                                           "took 2 arguments"):
        Bad.apply(x, 2.0).sum().backward()


def test_without_grad_the_output_is_outside_the_graph():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with cr.no_grad():
        y = make_legendre(cr).apply(x)
    assert y.grad_fn is None and not y.requires_grad
    z = make_legendre(cr).apply(x)
    assert z.grad_fn.name() == "Legendre3Backward"


def test_a_non_differentiable_output_leaves_the_graph_as_in_torch():
    torch = pytest.importorskip("torch")
    for lib in (cr, torch):
        class ArgMax(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                out = x.argmax(dim=0)
                ctx.mark_non_differentiable(out)
                return out

            @staticmethod
            def backward(ctx, g):
                return None

        y = ArgMax.apply(lib.tensor([1.0, 3.0, 2.0], requires_grad=True))
        assert int(y) == 1 and not y.requires_grad and y.grad_fn is None
