"""chainrule.ops.pooling: max_pool2d/1d, avg_pool2d/1d and adaptive_avg_pool2d.

Each against a NumPy loop over output positions written from torch's documented rules (window
p starts at p·s − pad; ceil_mode's last window must start inside the input or the left padding;
the average divides by the window's size clipped to input + padding, or by the real pixels with
count_include_pad=False, or by divisor_override), by ``cr.gradcheck`` in float64 away from ties,
and against PyTorch: forward, first and second derivatives.

Ties matter for max pooling: MNIST digits are mostly exact zeros, so a 2×2 window of background
has four equal maxima. PyTorch sends the gradient to the first maximum in row-major order; so
must chainrule, exactly (the input gradients are compared with ``assert_array_equal``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import chainrule as cr


# every test runs on the NumPy path and on the compiled kernels (chainrule.jit)
pytestmark = pytest.mark.usefixtures("jit_mode")


# ----------------------------------------------------------------- NumPy references
def _pool_out(n, k, s, p, ceil_mode):
    """torch.nn.MaxPool2d's documented output size."""
    out = (n + 2 * p - k + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def _np_pool2d(x, kernel, stride, padding, ceil_mode, kind, count_include_pad=True,
               divisor_override=None):
    """kind 'max' or 'avg'; x (N, C, H, W) or (C, H, W)."""
    if x.ndim == 3:
        return _np_pool2d(x[None], kernel, stride, padding, ceil_mode, kind, count_include_pad,
                          divisor_override)[0]
    h, w = x.shape[2:]
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    oh, ow = _pool_out(h, kh, sh, ph, ceil_mode), _pool_out(w, kw, sw, pw, ceil_mode)
    y = np.zeros((*x.shape[:2], oh, ow), x.dtype)
    for p in range(oh):
        for q in range(ow):
            r0, c0 = p * sh - ph, q * sw - pw
            r1, c1 = min(r0 + kh, h + ph), min(c0 + kw, w + pw)    # clipped to input + padding
            win = x[:, :, max(r0, 0):min(r1, h), max(c0, 0):min(c1, w)]
            if kind == "max":
                y[:, :, p, q] = win.max(axis=(2, 3))
                continue
            if divisor_override is not None:
                div = divisor_override
            elif count_include_pad:
                div = (r1 - r0) * (c1 - c0)
            else:
                div = win.shape[2] * win.shape[3]
            y[:, :, p, q] = win.sum(axis=(2, 3)) / div
    return y


def _np_adaptive_avg(x, out):
    """Bin i of n → m covers [⌊i·n/m⌋, ⌈(i+1)·n/m⌉)."""
    h, w = x.shape[-2:]
    oh, ow = out
    y = np.zeros((*x.shape[:-2], oh, ow), x.dtype)
    for i in range(oh):
        for j in range(ow):
            win = x[..., i * h // oh:math.ceil((i + 1) * h / oh),
                    j * w // ow:math.ceil((j + 1) * w / ow)]
            y[..., i, j] = win.mean(axis=(-2, -1))
    return y


# ----------------------------------------------------------------- strategies
def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _int_or_pair(lo, hi):
    return st.one_of(st.integers(lo, hi), st.tuples(st.integers(lo, hi), st.integers(lo, hi)))


def _pool2d_args(data):
    kernel = data.draw(_int_or_pair(1, 3), label="kernel")
    k = _pair(kernel)
    stride = data.draw(st.one_of(st.none(), _int_or_pair(1, 3)), label="stride")
    padding = data.draw(st.one_of(st.integers(0, min(k) // 2),
                                  st.tuples(st.integers(0, k[0] // 2),
                                            st.integers(0, k[1] // 2))), label="padding")
    p = _pair(padding)
    shape = (data.draw(st.integers(max(k[0] - 2 * p[0], 1), 6), label="H"),
             data.draw(st.integers(max(k[1] - 2 * p[1], 1), 6), label="W"))
    batch = data.draw(st.sampled_from([None, 1, 2]), label="batch (None: unbatched)")
    c = data.draw(st.integers(1, 2), label="C")
    x_shape = (c, *shape) if batch is None else (batch, c, *shape)
    return dict(kernel_size=kernel, stride=stride, padding=padding,
                ceil_mode=data.draw(st.booleans(), label="ceil_mode")), x_shape


def _values(chk, rng, data, shape, allow_ties):
    """'distinct' (no ties: gradcheck and finite differences are valid) or, when allowed,
    integer-valued inputs with many repeats, or an MNIST-like mostly-zero image."""
    kinds = ["distinct", "integers", "mostly zeros"] if allow_ties else ["distinct"]
    kind = data.draw(st.sampled_from(kinds), label="values")
    if kind == "distinct":
        return chk.values(rng, shape, "distinct"), False
    if kind == "integers":
        return rng.integers(0, 3, shape).astype(np.float64), True
    x = np.zeros(shape)
    x[rng.random(shape) < 0.2] = 1.0
    return x, True


def _max_pool2d_case(chk, data, allow_ties=False):
    kw, shape = _pool2d_args(data)
    rng = chk.rng(data)
    x, ties = _values(chk, rng, data, shape, allow_ties)

    def fn(m, t):
        return m.nn.functional.max_pool2d(t, **kw)

    def np_fn(a):
        return _np_pool2d(a, _pair(kw["kernel_size"]), _pair(kw["stride"] or kw["kernel_size"]),
                          _pair(kw["padding"]), kw["ceil_mode"], "max")

    return chk.Case(fn, np_fn, [x], rng, gradcheck=not ties)


def _avg_pool2d_case(chk, data):
    kw, shape = _pool2d_args(data)
    kw["count_include_pad"] = data.draw(st.booleans(), label="count_include_pad")
    kw["divisor_override"] = data.draw(st.one_of(st.none(), st.integers(1, 5)),
                                       label="divisor_override")
    rng = chk.rng(data)

    def fn(m, t):
        return m.nn.functional.avg_pool2d(t, **kw)

    def np_fn(a):
        return _np_pool2d(a, _pair(kw["kernel_size"]), _pair(kw["stride"] or kw["kernel_size"]),
                          _pair(kw["padding"]), kw["ceil_mode"], "avg", kw["count_include_pad"],
                          kw["divisor_override"])

    return chk.Case(fn, np_fn, [chk.values(rng, shape)], rng)


def _pool1d_case(kind):
    def build(chk, data, allow_ties=False):
        k = data.draw(st.integers(1, 4), label="kernel")
        stride = data.draw(st.one_of(st.none(), st.integers(1, 3)), label="stride")
        padding = data.draw(st.integers(0, k // 2), label="padding")
        ceil_mode = data.draw(st.booleans(), label="ceil_mode")
        length = data.draw(st.integers(max(k - 2 * padding, 1), 8), label="L")
        batch = data.draw(st.sampled_from([None, 1, 2]), label="batch (None: unbatched)")
        shape = (2, length) if batch is None else (batch, 2, length)
        include_pad = data.draw(st.booleans(), label="count_include_pad")
        rng = chk.rng(data)
        x, ties = _values(chk, rng, data, shape, allow_ties and kind == "max")
        kw = dict(stride=stride, padding=padding, ceil_mode=ceil_mode)
        if kind == "avg":
            kw["count_include_pad"] = include_pad

        def fn(m, t):
            return getattr(m.nn.functional, f"{kind}_pool1d")(t, k, **kw)

        def np_fn(a):
            y = _np_pool2d(a[..., None, :], (1, k), (1, stride or k), (0, padding), ceil_mode,
                           kind, include_pad)
            return y[..., 0, :]

        return chk.Case(fn, np_fn, [x], rng, gradcheck=not ties)
    return build


def _adaptive_case(chk, data):
    h, w = data.draw(st.integers(1, 6), label="H"), data.draw(st.integers(1, 6), label="W")
    size = st.integers(1, 5)  # also larger than the input: bins then overlap
    out = data.draw(st.one_of(size, st.tuples(st.one_of(st.none(), size),
                                              st.one_of(st.none(), size))), label="output_size")
    batch = data.draw(st.sampled_from([None, 2]), label="batch (None: unbatched)")
    rng = chk.rng(data)
    shape = (1, h, w) if batch is None else (batch, 1, h, w)
    oh, ow = _pair(out)
    oh, ow = oh or h, ow or w

    def fn(m, t):
        return m.nn.functional.adaptive_avg_pool2d(t, out)

    return chk.Case(fn, lambda a: _np_adaptive_avg(a, (oh, ow)), [chk.values(rng, shape)], rng)


CASES = {"max_pool2d": _max_pool2d_case, "avg_pool2d": _avg_pool2d_case,
         "max_pool1d": _pool1d_case("max"), "avg_pool1d": _pool1d_case("avg"),
         "adaptive_avg_pool2d": _adaptive_case}


@pytest.mark.parametrize("name", CASES)
@given(data=st.data())
def test_forward_matches_numpy_and_gradcheck(chk, name, data):
    chk.numpy_and_gradcheck(CASES[name](chk, data))


@pytest.mark.parametrize("name", CASES)
@given(data=st.data())
def test_gradients_match_torch(chk, torch, name, data):
    """Forward, x̄ for a random upstream gradient, and second derivatives, away from ties."""
    chk.torch_oracle(torch, CASES[name](chk, data))


# ----------------------------------------------------------------- ties
@pytest.mark.parametrize("name", ["max_pool2d", "max_pool1d"])
@given(data=st.data())
def test_max_pool_ties_route_the_gradient_exactly_like_torch(chk, torch, name, data):
    """Integer-valued and mostly-zero inputs: the forward equals the reference and the input
    gradient equals torch's exactly. The upstream gradient is integer-valued too, so where
    overlapping windows add several contributions onto one pixel the sum is exact in any
    order; then first- and second-order gradients vs torch as for any input."""
    case = CASES[name](chk, data, allow_ties=True)
    chk.forward(case.fn, case.np_fn, case.arrays)
    x = case.arrays[0]
    cx, tx = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    cy, ty = case.fn(cr, cx), case.fn(torch, tx)
    g = case.rng.integers(-3, 4, cy.shape).astype(np.float64)
    cy.backward(gradient=g)
    ty.backward(gradient=torch.from_numpy(g))
    np.testing.assert_array_equal(cx.grad.detach().numpy(), tx.grad.numpy())
    chk.torch_oracle(torch, case)


def _batch_last(x: np.ndarray) -> np.ndarray:
    """The same (N, C, H, W) values stored as a (C, H, W, N) buffer, as conv layers output
    them (the layout the compiled max-pool kernels take)."""
    return np.ascontiguousarray(x.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)


@given(data=st.data())
def test_max_pool2d_on_batch_last_buffers_matches_torch_exactly(chk, torch, data):
    """Batches of 3 stored channel-first, batch-last, with ties, NaN-free: forward and x̄ equal
    torch's exactly, then first and second derivatives as for any input."""
    kw, shape = _pool2d_args(data)
    shape = (3, *shape[-3:])
    rng = chk.rng(data)
    x, _ = _values(chk, rng, data, shape, allow_ties=True)
    x = _batch_last(x)
    cx, tx = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    cy = cr.max_pool2d(cx, **kw)
    ty = torch.nn.functional.max_pool2d(tx, **kw)
    np.testing.assert_array_equal(cy.detach().numpy(), ty.detach().numpy())
    g = rng.integers(-3, 4, cy.shape).astype(np.float64)
    cy.backward(gradient=_batch_last(g))
    ty.backward(gradient=torch.from_numpy(g))
    np.testing.assert_array_equal(cx.grad.detach().numpy(), tx.grad.numpy())


@pytest.mark.parametrize("layout", ["NCHW", "CHWN"])
@pytest.mark.parametrize("kw", [
    dict(kernel_size=2),                                   # LeNet's S2/S4
    dict(kernel_size=3, stride=2),                         # AlexNet's overlapping pooling
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=2, ceil_mode=True),
    dict(kernel_size=(3, 2), stride=(1, 2), padding=(1, 0), ceil_mode=True),
    dict(kernel_size=3, stride=1, padding=1),
])
def test_max_pool_on_mnist_like_digits_matches_torch_exactly(torch, kw, layout):
    """A batch of 28×28 'digits': exact-zero background, blobs of equal saturated values."""
    rng = np.random.default_rng(7)
    x = np.zeros((4, 2, 28, 28))
    x[:, :, 6:22, 8:20] = rng.integers(0, 3, (4, 2, 16, 12)) / 2.0
    x[1] = 0.0                                              # an all-blank image
    x[2, 1, 10, 10] = np.nan                                # a NaN wins its windows
    if layout == "CHWN":
        x = _batch_last(x)
    g = rng.integers(-3, 4, size=(4, 2, 28, 28)).astype(np.float64)
    cx, tx = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    cy = cr.max_pool2d(cx, **kw)
    ty = torch.nn.functional.max_pool2d(tx, **kw)
    np.testing.assert_array_equal(cy.detach().numpy(), ty.detach().numpy())
    g = g[..., :cy.shape[2], :cy.shape[3]]
    cy.backward(gradient=g)
    ty.backward(gradient=torch.from_numpy(g))
    np.testing.assert_array_equal(cx.grad.detach().numpy(), tx.grad.numpy())
    if kw.get("stride", kw["kernel_size"]) == kw["kernel_size"] and not kw.get("padding"):
        # non-overlapping windows: each pixel gets at most one ȳ, so any upstream is exact
        cx.grad = None
        tx.grad = None
        gn = rng.standard_normal(cy.shape)
        cr.max_pool2d(cx, **kw).backward(gradient=gn)
        torch.nn.functional.max_pool2d(tx, **kw).backward(gradient=torch.from_numpy(gn))
        np.testing.assert_array_equal(cx.grad.detach().numpy(), tx.grad.numpy())


def test_constant_input_sends_each_window_gradient_to_its_top_left_pixel():
    x = cr.zeros(1, 1, 4, 4, dtype=cr.float64, requires_grad=True)
    cr.max_pool2d(x, 2).backward(gradient=np.array([[[[1.0, 2.0], [3.0, 4.0]]]]))
    want = np.zeros((4, 4))
    want[0, 0], want[0, 2], want[2, 0], want[2, 2] = 1.0, 2.0, 3.0, 4.0
    np.testing.assert_array_equal(x.grad.detach().numpy()[0, 0], want)
    # overlapping 3×3 windows, stride 2, on a 5×5 constant: the first maxima are the window
    # corners (0, 0), (0, 2), (2, 0), (2, 2); the shared pixel (2, 2) is not the first of any
    # window but (2, 2) is the corner of the last one
    x = cr.full((1, 1, 5, 5), 7.0, dtype=cr.float64, requires_grad=True)
    cr.max_pool2d(x, 3, stride=2).sum().backward()
    want = np.zeros((5, 5))
    want[0, 0] = want[0, 2] = want[2, 0] = want[2, 2] = 1.0
    np.testing.assert_array_equal(x.grad.detach().numpy()[0, 0], want)


def test_padding_never_wins_even_against_negative_inputs(torch):
    x = -np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    cx = cr.tensor(x, requires_grad=True)
    y = cr.max_pool2d(cx, 3, stride=1, padding=1)
    assert np.all(np.isfinite(y.detach().numpy())) and y.detach().numpy().max() == -1.0
    want = torch.nn.functional.max_pool2d(torch.tensor(x), 3, stride=1, padding=1)
    np.testing.assert_array_equal(y.detach().numpy(), want.numpy())


def test_nan_propagates_through_max_pool_like_torch(torch):
    """A NaN is the maximum of its window (torch's rule), not skipped by a `>` comparison."""
    x = np.array([[[[np.nan, 5.0, 3.0, np.nan], [0.0, 1.0, 9.0, 0.0]]]])
    cx, tx = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    cy, ty = cr.max_pool2d(cx, 2), torch.nn.functional.max_pool2d(tx, 2)
    np.testing.assert_array_equal(cy.detach().numpy(), ty.detach().numpy())  # [nan, nan]
    cy.sum().backward()
    ty.sum().backward()
    np.testing.assert_array_equal(cx.grad.detach().numpy(), tx.grad.numpy())


@pytest.mark.parametrize("ceil_mode", [False, True])
def test_a_window_of_minus_infinity_sends_its_gradient_into_the_image_like_torch(
        torch, jit_mode, ceil_mode):
    """Padding is never the argmax: a window whose pixels are all −∞ routes ȳ to its first pixel
    inside the image, as torch does (not to a padded tap that reads −∞ too)."""
    x = np.full((2, 3, 5, 5), -np.inf)
    x[:, :, 2:, 2:] = np.arange(18.0).reshape(2, 3, 3, 1)
    for layout in (x, np.ascontiguousarray(x.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)):
        cx, tx = cr.tensor(layout, requires_grad=True), torch.tensor(x, requires_grad=True)
        cy = cr.max_pool2d(cx, 3, 2, padding=1, ceil_mode=ceil_mode)
        ty = torch.nn.functional.max_pool2d(tx, 3, 2, padding=1, ceil_mode=ceil_mode)
        np.testing.assert_array_equal(cy.detach().numpy(), ty.detach().numpy())
        cy.sum().backward()
        ty.sum().backward()
        np.testing.assert_array_equal(cx.grad.detach().numpy(), tx.grad.numpy())


# ----------------------------------------------------------------- averages, hand examples
def test_avg_pool_divisors_on_a_hand_example():
    """All-ones 3×3, kernel 2, stride 2, padding 1: windows hold 1, 2, 2 and 4 real pixels."""
    x = cr.ones(1, 1, 3, 3, dtype=cr.float64)
    y = cr.avg_pool2d(x, 2, padding=1)                          # count_include_pad: ÷ 4
    np.testing.assert_array_equal(y.detach().numpy()[0, 0], [[0.25, 0.5], [0.5, 1.0]])
    y = cr.avg_pool2d(x, 2, padding=1, count_include_pad=False)  # ÷ real pixels
    np.testing.assert_array_equal(y.detach().numpy()[0, 0], np.ones((2, 2)))
    y = cr.avg_pool2d(x, 2, padding=1, divisor_override=1)       # plain window sums
    np.testing.assert_array_equal(y.detach().numpy()[0, 0], [[1.0, 2.0], [2.0, 4.0]])
    y = cr.avg_pool2d(x, 2, ceil_mode=True)                      # last windows hang over: ÷ 2, 1
    np.testing.assert_array_equal(y.detach().numpy()[0, 0], [[1.0, 1.0], [1.0, 1.0]])


@pytest.mark.parametrize("size, out", [((6, 6), 3), ((6, 4), (2, None)), ((7, 5), (3, 2)),
                                       ((5, 5), (None, 3)), ((3, 2), (5, 4)), ((7, 7), 1)])
def test_adaptive_avg_pool2d_dividing_and_not_matches_torch(torch, rng, size, out):
    x = rng.standard_normal((2, 3, *size))
    g = rng.standard_normal((2, 3, *(o or s for o, s in zip(_pair(out), size, strict=True))))
    cx, tx = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    cy = cr.adaptive_avg_pool2d(cx, out)
    ty = torch.nn.functional.adaptive_avg_pool2d(tx, out)
    assert cy.shape == tuple(ty.shape)
    np.testing.assert_allclose(cy.detach().numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-14)
    cy.backward(gradient=g)
    ty.backward(gradient=torch.from_numpy(g))
    np.testing.assert_allclose(cx.grad.detach().numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_adaptive_avg_pool2d_to_one_is_the_global_average(rng):
    x = rng.standard_normal((2, 3, 5, 7))
    y = cr.adaptive_avg_pool2d(cr.tensor(x), 1)
    np.testing.assert_allclose(y.detach().numpy(), x.mean(axis=(2, 3), keepdims=True), rtol=1e-12)


def test_pooling_keeps_float32(rng):
    x = cr.tensor(rng.standard_normal((1, 2, 6, 6)).astype(np.float32), requires_grad=True)
    for y in (cr.max_pool2d(x, 3, 2, 1), cr.avg_pool2d(x, 3, 2, 1, count_include_pad=False),
              cr.adaptive_avg_pool2d(x, (4, 5))):
        assert y.dtype == np.float32
        x.grad = None
        y.sum().backward()
        assert x.grad.dtype == np.float32


# ----------------------------------------------------------------- errors
@pytest.mark.parametrize("call, error, pattern", [
    (lambda: cr.max_pool2d(cr.ones(1, 1, 2, 2), 3), cr.ShapeError,
     r"^max_pool2d: input \(1, 1, 2, 2\) is too small for kernel \(3, 3\) with padding "
     r"\(0, 0\)"),
    (lambda: cr.avg_pool2d(cr.ones(1, 1, 4, 4), 2, padding=2), ValueError,
     r"^avg_pool2d: padding \(2, 2\) should be at most half of kernel_size \(2, 2\)"),
    (lambda: cr.max_pool2d(cr.ones(1, 1, 4, 4), 2, dilation=0), ValueError,
     r"^max_pool2d: kernel_size, stride and dilation must be positive, got \(2, 2\), "
     r"\(2, 2\) and \(0, 0\)"),
    (lambda: cr.max_pool2d(cr.ones(1, 1, 3, 3), 2, 1, 1, dilation=4), cr.ShapeError,
     r"^max_pool2d: with dilation \(4, 4\) and padding \(1, 1\) some window of the input "
     r"\(1, 1, 3, 3\) reads only padding"),
    (lambda: cr.max_pool2d(cr.ones(4, 4), 2), cr.ShapeError,
     r"^max_pool2d: expected input \(N, C, H, W\) or \(C, H, W\), got shape \(4, 4\)"),
    (lambda: cr.avg_pool2d(cr.ones(1, 1, 4, 4), 0), ValueError,
     r"^avg_pool2d: kernel_size and stride must be positive"),
    (lambda: cr.adaptive_avg_pool2d(cr.ones(5, 5), 2), cr.ShapeError,
     r"^adaptive_avg_pool2d: expected \(N, C, H, W\), got \(5, 5\)"),
])
def test_errors_name_the_op_and_the_shapes(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()
