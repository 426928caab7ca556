"""chainrule.backend.windows: pad2d, im2col / col2im and patches against plain NumPy loops.

im2col is checked entry by entry against a Python loop over (c, i, j, oh, ow, n) and against
``sliding_window_view``, for C-ordered (N, C, H, W) inputs and for (N, C, H, W) views of
(C, H, W, N) buffers (the zero-copy path that reads x's own memory). col2im is checked as
im2col's adjoint, <im2col(x), G> = <x, col2im(G)>, and against a naive scatter-add.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chainrule.backend import jit
from chainrule.backend.buffers import memory_order
from chainrule.backend import windows as windows_module
from chainrule.backend.windows import (
    col2im, col2im_rows, im2col, im2col_rows, pad2d, padded_cnhw, patches, patches_adjoint,
)
from chainrule.ops.geometry import Window


# ----------------------------------------------------------------- references
def _naive_im2col(x: np.ndarray, window: Window) -> np.ndarray:
    """col[(c, i, j), (oh, ow, n)] = x_pad[n, c, oh·s + i·d, ow·s + j·d], one entry at a time."""
    n_, c_, h, w = x.shape
    (kh, kw), (sh, sw), (dh, dw) = window.kernel, window.stride, window.dilation
    t, _, l, _ = window.padding
    oh_, ow_ = window.out_shape(h, w)
    col = np.zeros((c_, kh, kw, oh_, ow_, n_), x.dtype)
    for c in range(c_):
        for i in range(kh):
            for j in range(kw):
                for oh in range(oh_):
                    for ow in range(ow_):
                        r, q = oh * sh + i * dh - t, ow * sw + j * dw - l
                        if 0 <= r < h and 0 <= q < w:
                            for n in range(n_):
                                col[c, i, j, oh, ow, n] = x[n, c, r, q]
    return col.reshape(c_ * kh * kw, oh_ * ow_ * n_)


def _sliding_im2col(x: np.ndarray, window: Window) -> np.ndarray:
    """The same matrix from np.pad and sliding_window_view."""
    (kh, kw), (sh, sw), (dh, dw) = window.kernel, window.stride, window.dilation
    t, b, l, r = window.padding
    xp = np.pad(x, ((0, 0), (0, 0), (t, b), (l, r)))
    span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    v = np.lib.stride_tricks.sliding_window_view(xp, (span_h, span_w), axis=(2, 3))
    v = v[:, :, ::sh, ::sw, ::dh, ::dw]  # (N, C, OH, OW, KH, KW)
    oh, ow = window.out_shape(*x.shape[2:])
    assert v.shape[2:4] == (oh, ow)
    return v.transpose(1, 4, 5, 2, 3, 0).reshape(x.shape[1] * kh * kw, -1)


def _naive_col2im(dcol: np.ndarray, shape: tuple[int, ...], window: Window) -> np.ndarray:
    n_, c_, h, w = shape
    (kh, kw), (sh, sw), (dh, dw) = window.kernel, window.stride, window.dilation
    t, _, l, _ = window.padding
    oh_, ow_ = window.out_shape(h, w)
    taps = dcol.reshape(c_, kh, kw, oh_, ow_, n_)
    dx = np.zeros(shape, dcol.dtype)
    for c in range(c_):
        for i in range(kh):
            for j in range(kw):
                for oh in range(oh_):
                    for ow in range(ow_):
                        r, q = oh * sh + i * dh - t, ow * sw + j * dw - l
                        if 0 <= r < h and 0 <= q < w:
                            dx[:, c, r, q] += taps[c, i, j, oh, ow]
    return dx


def _batch_last(x: np.ndarray) -> np.ndarray:
    """x's values as an (N, C, H, W) view of a C-ordered (C, H, W, N) buffer."""
    buf = np.empty((*x.shape[1:], x.shape[0]), x.dtype)
    buf[...] = x.transpose(1, 2, 3, 0)
    view = buf.transpose(3, 0, 1, 2)
    assert view.base is buf
    return view


@st.composite
def conv_cases(draw, pad: bool = True):
    """(shape, Window) with at least one output position."""
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    pads = tuple(draw(st.integers(0, 2)) for _ in range(4)) if pad else (0, 0, 0, 0)
    t, b, l, r = pads
    h = draw(st.integers(max(1, dh * (kh - 1) + 1 - t - b), 7))
    w = draw(st.integers(max(1, dw * (kw - 1) + 1 - l - r), 7))
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    return (n, c, h, w), Window((kh, kw), (sh, sw), (dh, dw), pads)


# ----------------------------------------------------------------- im2col
@pytest.mark.parametrize("layout", ["c_order", "batch_last"])
@pytest.mark.parametrize("pad", [True, False], ids=["padded", "unpadded"])
@given(data=st.data())
def test_im2col_equals_a_naive_loop_and_sliding_window_view(layout, pad, data):
    shape, window = data.draw(conv_cases(pad=pad))
    seed = data.draw(st.integers(0, 2**16))
    x = np.random.default_rng(seed).standard_normal(shape)
    if layout == "batch_last":
        x = _batch_last(x)
    col = im2col(x, window)
    ref = _naive_im2col(x, window)
    assert col.shape == ref.shape and col.dtype == x.dtype
    np.testing.assert_array_equal(col, ref, err_msg=f"{shape} {window}")
    np.testing.assert_array_equal(col, _sliding_im2col(x, window), err_msg=f"{shape} {window}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_im2col_of_a_batch_last_view_without_padding_reads_its_memory(dtype):
    """The zero-copy path: stride 2, dilation 2, asymmetric sizes, float32 and float64."""
    rng = np.random.default_rng(1)
    x = _batch_last(rng.standard_normal((4, 3, 9, 8)).astype(dtype))
    for window in (Window((3, 2), (2, 1), (2, 3)), Window((1, 1)), Window((2, 2), (2, 2))):
        np.testing.assert_array_equal(im2col(x, window), _naive_im2col(x, window))


def test_im2col_does_not_alias_or_modify_its_input():
    rng = np.random.default_rng(2)
    x = _batch_last(rng.standard_normal((2, 2, 5, 5)))
    before = x.copy()
    col = im2col(x, Window((2, 2)))
    col[...] = 7.0
    np.testing.assert_array_equal(x, before)


# ----------------------------------------------------------------- col2im
def _inner(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """<a, b> and the sum of |a·b| (the scale of its rounding error)."""
    return float(np.sum(a * b)), float(np.sum(np.abs(a * b)))


@pytest.mark.usefixtures("jit_mode")
@pytest.mark.parametrize("layout", ["c_order", "batch_last"])
@given(data=st.data())
def test_col2im_is_the_adjoint_of_im2col(layout, data):
    shape, window = data.draw(conv_cases())
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    x = rng.standard_normal(shape)
    if layout == "batch_last":
        x = _batch_last(x)
    col = im2col(x, window)
    g = rng.standard_normal(col.shape)
    dx = col2im(g, shape, window)
    assert dx.shape == shape and dx.dtype == np.float64
    lhs, scale_l = _inner(col, g)
    rhs, scale_r = _inner(x, dx)
    assert abs(lhs - rhs) <= 1e-10 * max(1.0, scale_l, scale_r), (lhs, rhs, shape, window)
    np.testing.assert_allclose(dx, _naive_col2im(g, shape, window), rtol=1e-12, atol=1e-12)


@given(data=st.data())
def test_im2col_kernel_equals_the_numpy_copy_for_every_block_of_rows(data):
    """The compiled copy (short runs) against NumPy's strided copy, for a block of output rows
    [a, b) as the blocked convolution asks for them."""
    if not jit.available():
        pytest.skip("numba not installed: pip install chainrule[jit]")
    shape, window = data.draw(conv_cases())
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    x = rng.standard_normal(shape).astype(data.draw(st.sampled_from([np.float32, np.float64])))
    xp = padded_cnhw(x, window.padding)
    oh, ow = window.out_shape(*shape[2:])
    a = data.draw(st.integers(0, oh - 1))
    b = data.draw(st.integers(a + 1, oh))
    old = jit.set_enabled(True)
    try:
        got = im2col_rows(xp, window, ow, a, b)
        with jit.disabled():
            ref = im2col_rows(xp, window, ow, a, b)
    finally:
        jit.set_enabled(old)
    assert got.dtype == ref.dtype == x.dtype and got.shape == ref.shape
    np.testing.assert_array_equal(got, ref)
    per_row = ow * shape[0]
    np.testing.assert_array_equal(got, im2col(x, window)[:, a * per_row:b * per_row])


@given(data=st.data())
def test_col2im_rows_kernel_and_twin_add_a_block_of_rows_bit_for_bit(data):
    """A block of output rows [a, b) added into a padded image: the compiled kernel and the
    shifted adds of the NumPy twin give the same bits, and equal col2im of a matrix that is
    zero outside the block."""
    if not jit.available():
        pytest.skip("numba not installed: pip install chainrule[jit]")
    shape, window = data.draw(conv_cases())
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    n, c, h, w = shape
    oh, ow = window.out_shape(h, w)
    a = data.draw(st.integers(0, oh - 1))
    b = data.draw(st.integers(a + 1, oh))
    taps = rng.standard_normal((c, *window.kernel, b - a, ow, n))
    t, bo, lp, r = window.padding
    images = []
    old = jit.set_enabled(True)
    try:
        for compiled in (True, False):
            xp = np.zeros((c, h + t + bo, w + lp + r, n))
            col2im_rows(taps, xp, window, a, compiled=compiled)
            images.append(xp)
    finally:
        jit.set_enabled(old)
    np.testing.assert_array_equal(images[0], images[1])
    full = np.zeros((c, *window.kernel, oh, ow, n))
    full[:, :, :, a:b] = taps
    ref = col2im(full.reshape(c * window.kernel[0] * window.kernel[1], -1), shape, window)
    np.testing.assert_allclose(images[0][:, t:t + h, lp:lp + w].transpose(3, 0, 1, 2), ref,
                               rtol=1e-12, atol=1e-12)


def test_short_runs_take_the_compiled_copy(monkeypatch):
    """A stride-2 window over a batch of 8 copies runs of 8 entries: the kernel's case."""
    if not jit.available():
        pytest.skip("numba not installed: pip install chainrule[jit]")
    calls = []
    real = windows_module._rows_kernel
    monkeypatch.setattr(windows_module, "_rows_kernel",
                        lambda *args: calls.append(args[2:]) or real(*args))
    x = np.zeros((8, 3, 20, 20), np.float32)
    old = jit.set_enabled(True)
    try:
        im2col(x, Window((7, 7), (2, 2), (1, 1), (3, 3, 3, 3)))
        assert calls == [(2, 2, 1, 1, 0, True)]
        im2col(np.zeros((64, 3, 20, 20), np.float32), Window((3, 3)))  # runs of 18·64
        assert len(calls) == 1
    finally:
        jit.set_enabled(old)


@given(data=st.data())
def test_col2im_kernel_equals_the_numpy_path_bit_for_bit(data):
    if not jit.available():
        pytest.skip("numba not installed: pip install chainrule[jit]")
    shape, window = data.draw(conv_cases())
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    dtype = data.draw(st.sampled_from([np.float32, np.float64]))
    k = shape[1] * window.kernel[0] * window.kernel[1]
    g = rng.standard_normal((k, int(np.prod(window.out_shape(*shape[2:]))) * shape[0]))
    g = g.astype(dtype)
    g[0, 0] = -0.0
    old = jit.set_enabled(True)
    try:
        dx_jit = col2im(g, shape, window)
        with jit.disabled():
            dx_np = col2im(g, shape, window)
    finally:
        jit.set_enabled(old)
    assert dx_jit.dtype == dx_np.dtype == dtype
    np.testing.assert_array_equal(dx_jit, dx_np)
    np.testing.assert_array_equal(np.signbit(dx_jit), np.signbit(dx_np))  # −0.0 as NumPy's


@pytest.mark.usefixtures("jit_mode")
def test_col2im_returns_a_view_of_a_batch_last_buffer():
    window = Window((3, 3), (1, 1), (1, 1), (1, 1, 1, 1))
    shape = (2, 3, 4, 5)
    dx = col2im(np.ones((3 * 9, 4 * 5 * 2)), shape, window)
    assert dx.shape == shape and memory_order(dx) == (1, 2, 3, 0)
    # with all-ones G every pixel counts the windows that read it: 9 in the interior
    assert dx[0, 0, 1, 1] == 9 and dx[0, 0, 0, 0] == 4


# ----------------------------------------------------------------- patches
@given(data=st.data())
def test_patches_and_their_adjoint_agree_with_im2col_and_col2im(data):
    shape, window = data.draw(conv_cases())
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    x = rng.standard_normal(shape)
    n, c = shape[:2]
    oh, ow = window.out_shape(*shape[2:])
    kh, kw = window.kernel

    p = patches(x, window)
    assert p.shape == (n, oh, ow, c, kh, kw) and p.flags.c_contiguous
    col = im2col(x, window).reshape(c, kh, kw, oh, ow, n)
    np.testing.assert_array_equal(p, col.transpose(5, 3, 4, 0, 1, 2))

    g = rng.standard_normal(p.shape)
    dx = patches_adjoint(g, shape, window)
    dcol = g.transpose(3, 4, 5, 1, 2, 0).reshape(c * kh * kw, -1)
    np.testing.assert_array_equal(dx, col2im(dcol, shape, window))
    lhs, scale_l = _inner(p, g)
    rhs, scale_r = _inner(x, dx)
    assert abs(lhs - rhs) <= 1e-10 * max(1.0, scale_l, scale_r), (lhs, rhs, shape, window)


# ----------------------------------------------------------------- pad2d
@given(pads=st.tuples(*[st.integers(0, 3)] * 4), lead=st.sampled_from([(), (2,), (2, 3)]),
       value=st.sampled_from([0.0, -np.inf, 3.5]), dtype=st.sampled_from([np.float32, np.float64]))
def test_pad2d_equals_np_pad_with_a_constant(pads, lead, value, dtype):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((*lead, 4, 5)).astype(dtype)
    t, b, l, r = pads
    ref = np.pad(x, [(0, 0)] * len(lead) + [(t, b), (l, r)], constant_values=value)
    out = pad2d(x, pads, value)
    assert out.dtype == x.dtype
    np.testing.assert_array_equal(out, ref)


def test_pad2d_of_a_transposed_view():
    x = np.arange(2 * 3 * 4 * 5, dtype=np.float64).reshape(3, 4, 5, 2).transpose(3, 0, 1, 2)
    ref = np.pad(x, [(0, 0), (0, 0), (1, 0), (0, 2)], constant_values=-1.0)
    np.testing.assert_array_equal(pad2d(x, (1, 0, 0, 2), -1.0), ref)
