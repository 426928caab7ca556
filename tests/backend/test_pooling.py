"""chainrule.backend.pooling: max pooling's values and taps, its scatter and gather, and the
window sum / scatter pair, on the NumPy path and on the compiled kernels.

The reference is a Python loop over windows written from the documented rules: padding reads as
−∞, the tap is the first maximum in row-major order (k = i·KW + j), and a window holding a NaN
gives NaN with the tap of its last NaN. Data are small integers stored as floats, so ties are
common; batch-last inputs (N, C, H, W views of (C, H, W, N) buffers) take the kernels' path.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chainrule.backend import jit
from chainrule.backend.pooling import (
    max_pool, max_pool_gather, max_pool_scatter, scatter, tap_dtype, window_sum,
)
from chainrule.ops.geometry import Window

# every test runs on the NumPy path and on the compiled kernels
pytestmark = pytest.mark.usefixtures("jit_mode")


# ----------------------------------------------------------------- references
def _read(x: np.ndarray, window: Window, oh: int, ow: int, i: int, j: int):
    """What tap (i, j) of window (oh, ow) reads: a pixel of x, or None in the padding."""
    (sh, sw), (dh, dw) = window.stride, window.dilation
    t, _, l, _ = window.padding
    r, q = oh * sh + i * dh - t, ow * sw + j * dw - l
    if 0 <= r < x.shape[2] and 0 <= q < x.shape[3]:
        return r, q
    return None


def _naive_max_pool(x: np.ndarray, window: Window) -> tuple[np.ndarray, np.ndarray]:
    n_, c_, h, w = x.shape
    kh, kw = window.kernel
    oh_, ow_ = window.out_shape(h, w)
    y = np.empty((n_, c_, oh_, ow_), x.dtype)
    taps = np.empty((n_, c_, oh_, ow_), np.int64)
    for n in range(n_):
        for c in range(c_):
            for oh in range(oh_):
                for ow in range(ow_):
                    vals = {}  # tap -> value, for the taps inside the image (as PyTorch)
                    for i in range(kh):
                        for j in range(kw):
                            pos = _read(x, window, oh, ow, i, j)
                            if pos is not None:
                                vals[i * kw + j] = x[n, c, pos[0], pos[1]]
                    nans = [k for k, v in vals.items() if np.isnan(v)]
                    if nans:
                        y[n, c, oh, ow], taps[n, c, oh, ow] = np.nan, nans[-1]
                        continue
                    best = max(vals.values())
                    y[n, c, oh, ow] = best
                    taps[n, c, oh, ow] = next(k for k, v in vals.items() if v == best)
    return y, taps


def _naive_tap_scatter(g: np.ndarray, taps: np.ndarray, window: Window,
                       shape: tuple[int, ...]) -> np.ndarray:
    """dx[n, c, r, q] += g[n, c, oh, ow] where window (oh, ow)'s tap reads (r, q)."""
    kw = window.kernel[1]
    dx = np.zeros(shape, g.dtype)
    for n, c, oh, ow in np.ndindex(*g.shape):
        k = int(taps[n, c, oh, ow])
        pos = _read(dx, window, oh, ow, k // kw, k % kw)
        if pos is not None:
            dx[n, c, pos[0], pos[1]] += g[n, c, oh, ow]
    return dx


def _batch_last(x: np.ndarray) -> np.ndarray:
    """x's values as x = buf.transpose(3, 0, 1, 2) for a C-ordered buf of shape (C, H, W, N)."""
    buf = np.empty((*x.shape[1:], x.shape[0]), x.dtype)
    buf[...] = x.transpose(1, 2, 3, 0)
    return buf.transpose(3, 0, 1, 2)


@st.composite
def pool_cases(draw, overlap: bool | None = None):
    """(shape, Window): torch-like padding (≤ kernel // 2) plus ceil-mode-like extra padding
    at the bottom and right (< stride), dilation 1–2 (max pooling's). overlap=True: stride <
    kernel; False: stride = kernel."""
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    if overlap is None:
        sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    elif overlap:
        kh, kw = max(kh, 2), max(kw, 2)
        sh, sw = draw(st.integers(1, kh - 1)), draw(st.integers(1, kw - 1))
    else:
        sh, sw = kh, kw
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
    eb, er = draw(st.integers(0, sh - 1)), draw(st.integers(0, sw - 1))
    h = draw(st.integers(max(1, dh * (kh - 1) + 1 - 2 * ph), 7))
    w = draw(st.integers(max(1, dw * (kw - 1) + 1 - 2 * pw), 7))
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    window = Window((kh, kw), (sh, sw), (dh, dw), (ph, ph + eb, pw, pw + er))
    oh, ow = window.out_shape(h, w)
    if (oh - 1) * sh >= h + ph or (ow - 1) * sw >= w + pw:
        # as in ceil mode, the last window must start inside the input or the top/left padding
        window = Window((kh, kw), (sh, sw), (dh, dw), (ph, ph, pw, pw))
    oh, ow = window.out_shape(h, w)
    x = np.zeros((1, 1, h, w))
    if not all(any(_read(x, window, i, j, a, b) is not None
                   for a in range(kh) for b in range(kw)) for i in range(oh) for j in range(ow)):
        # max_pool2d rejects a window of padding only (torch gives −∞ there)
        window = Window((kh, kw), (sh, sw), (1, 1), (ph, ph, pw, pw))
    return (n, c, h, w), window


def _data(seed: int, shape, dtype, nan: bool, neginf: bool = True) -> np.ndarray:
    """Small integers as floats (many ties, negatives so padding must never win), a few −∞
    unless told not to, and NaNs when asked."""
    rng = np.random.default_rng(seed)
    x = rng.integers(-3, 3, shape).astype(dtype)
    if neginf:
        x[rng.random(shape) < 0.05] = -np.inf
    if nan:
        x[rng.random(shape) < 0.15] = np.nan
    return x


# ----------------------------------------------------------------- max_pool
@pytest.mark.parametrize("layout", ["c_order", "batch_last"])
@given(data=st.data(), dtype=st.sampled_from([np.float32, np.float64]), nan=st.booleans())
def test_max_pool_values_and_taps_match_a_naive_loop(layout, data, dtype, nan):
    shape, window = data.draw(pool_cases())
    x = _data(data.draw(st.integers(0, 2**16)), shape, dtype, nan)
    if layout == "batch_last":
        x = _batch_last(x)
    y, taps = max_pool(x, window)
    ref_y, ref_taps = _naive_max_pool(x, window)
    assert y.shape == ref_y.shape and y.dtype == x.dtype
    assert taps.dtype == tap_dtype(window) and taps.shape == ref_y.shape
    np.testing.assert_array_equal(y, ref_y, err_msg=f"{shape} {window}")
    np.testing.assert_array_equal(taps, ref_taps, err_msg=f"{shape} {window}")


def _assert_kernel_equals_twin(x: np.ndarray, window: Window) -> None:
    """max_pool with the compiled kernels on gives the NumPy twin's maxima and taps."""
    old = jit.set_enabled(True)
    try:
        y_jit, taps_jit = max_pool(x, window)
        with jit.disabled():
            y_np, taps_np = max_pool(x, window)
    finally:
        jit.set_enabled(old)
    np.testing.assert_array_equal(y_jit, y_np)
    np.testing.assert_array_equal(taps_jit, taps_np)


@given(data=st.data())
def test_max_pool_kernel_and_numpy_twin_agree_on_batch_last_buffers(data):
    if not jit.available():
        pytest.skip("numba not installed: pip install chainrule[jit]")
    shape, window = data.draw(pool_cases())
    x = _batch_last(_data(data.draw(st.integers(0, 2**16)), shape, np.float32,
                          data.draw(st.booleans())))
    _assert_kernel_equals_twin(x, window)


@given(data=st.data(), dtype=st.sampled_from([np.float32, np.float64]))
def test_max_pool_lanes_kernel_and_numpy_twin_agree_on_batches_of_eight(data, dtype):
    """Batches that are multiples of 8 (below LANES_MAX_BATCH) take the lanes kernel: the same
    maxima and taps as the NumPy twin, ties, NaNs, −∞ and padding included."""
    if not jit.available():
        pytest.skip("numba not installed: pip install chainrule[jit]")
    shape, window = data.draw(pool_cases())
    shape = (8 * data.draw(st.integers(1, 3)), *shape[1:])
    x = _batch_last(_data(data.draw(st.integers(0, 2**16)), shape, dtype,
                          data.draw(st.booleans())))
    _assert_kernel_equals_twin(x, window)


UNROLLED = {"2x2s2": Window((2, 2), (2, 2)),
            "3x3s2p1": Window((3, 3), (2, 2), (1, 1), (1, 1, 1, 1)),
            "3x3d2p2": Window((3, 3), (1, 1), (2, 2), (2, 2, 2, 2))}


@pytest.mark.parametrize("window", list(UNROLLED.values()), ids=list(UNROLLED))
@pytest.mark.parametrize("n", [1, 8, 33])
def test_max_pool_unrolled_windows_match_a_naive_loop(window, n):
    """2×2 and 3×3 windows inside the image take the kernel's unrolled taps (vectorised over
    the batch): ties, NaNs and −∞ at batch sizes around the vector width."""
    x = _batch_last(_data(n, (n, 3, 9, 10), np.float32, nan=True))
    y, taps = max_pool(x, window)
    ref_y, ref_taps = _naive_max_pool(x, window)
    np.testing.assert_array_equal(y, ref_y)
    np.testing.assert_array_equal(taps, ref_taps)


def test_max_pool_hand_example_with_ties_nan_and_padding():
    x = np.array([[[[1., 1., -2.],
                    [1., 0., np.nan],
                    [-5., np.nan, -1.]]]])
    window = Window((2, 2), (1, 1), (1, 1), (1, 1, 1, 1))
    for arr in (x, _batch_last(x)):
        y, taps = max_pool(arr, window)
        ref_y, ref_taps = _naive_max_pool(arr, window)
        np.testing.assert_array_equal(y, ref_y)
        np.testing.assert_array_equal(taps, ref_taps)
    # window (oh, ow) reads rows oh − 1, oh and columns ow − 1, ow
    assert (y[0, 0, 0, 0], taps[0, 0, 0, 0]) == (1.0, 3)   # only x[0, 0] is real: tap 3
    assert (y[0, 0, 1, 1], taps[0, 0, 1, 1]) == (1.0, 0)   # 1, 1, 1, 0: the first 1
    assert (y[0, 0, 1, 0], taps[0, 0, 1, 0]) == (1.0, 1)   # pad, 1, pad, 1: the first 1
    assert np.isnan(y[0, 0, 2, 2]) and taps[0, 0, 2, 2] == 2  # 0, NaN, NaN, −1: the last NaN
    assert np.isnan(y[0, 0, 3, 2]) and taps[0, 0, 3, 2] == 0  # NaN, −1, pad, pad
    assert np.isnan(y[0, 0, 2, 3]) and taps[0, 0, 2, 3] == 0  # NaN, pad, −1, pad


def test_max_pool_and_its_scatter_of_float16_batch_last_buffers(jit_mode):
    """float16 is a chainrule dtype: numba compiles none, so the compiled path falls back to
    NumPy for it (it used to raise NotImplementedError)."""
    shape, window = (2, 3, 5, 4), Window((2, 2), (2, 1), (1, 1), (1, 1, 0, 0))
    x = _batch_last(_data(9, shape, np.float16, nan=True))
    y, taps = max_pool(x, window)
    ref_y, ref_taps = _naive_max_pool(x, window)
    np.testing.assert_array_equal(y, ref_y)
    np.testing.assert_array_equal(taps, ref_taps)
    g = _batch_last(np.ones(y.shape, np.float16))
    np.testing.assert_array_equal(max_pool_scatter(g, taps, window, shape),
                                  _naive_tap_scatter(g, taps, window, shape))


# ----------------------------------------------------------------- max_pool_scatter
@pytest.mark.parametrize("layout", ["c_order", "batch_last"])
@pytest.mark.parametrize("overlap", [True, False], ids=["overlapping", "tiling"])
@given(data=st.data())
def test_max_pool_scatter_equals_a_naive_scatter_add(layout, overlap, data):
    shape, window = data.draw(pool_cases(overlap=overlap))
    if not overlap and data.draw(st.booleans()):  # exact tiling: no padding, h, w multiples
        kh, kw = window.kernel
        shape = (*shape[:2], kh * data.draw(st.integers(1, 3)), kw * data.draw(st.integers(1, 3)))
        window = Window(window.kernel, window.stride)
        assert window.tiles(*shape[2:])
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    x = _data(int(rng.integers(2**16)), shape, np.float64, nan=False)
    if layout == "batch_last":
        x = _batch_last(x)
    _, taps = max_pool(x, window)
    g = rng.standard_normal(taps.shape)
    g[rng.random(g.shape) < 0.2] = -0.0
    if data.draw(st.booleans()):  # g's layout need not match the taps'
        g = _batch_last(g)
    dx = max_pool_scatter(g, taps, window, shape)
    ref = _naive_tap_scatter(g, taps, window, shape)
    assert dx.shape == shape and dx.dtype == g.dtype
    np.testing.assert_allclose(dx, ref, rtol=1e-12, atol=1e-12, err_msg=f"{shape} {window}")
    # an entry that receives only −0.0 (or nothing) is +0.0, as the sum 0 + v gives
    zero = ref == 0
    np.testing.assert_array_equal(dx[zero], 0.0)
    assert not np.signbit(dx[zero]).any(), f"-0.0 in max_pool_scatter's result: {window}"


@given(data=st.data())
def test_max_pool_gather_is_the_adjoint_of_max_pool_scatter(data):
    shape, window = data.draw(pool_cases())
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    x = _data(int(rng.integers(2**16)), shape, np.float64, nan=False)
    if data.draw(st.booleans()):
        x = _batch_last(x)
    _, taps = max_pool(x, window)
    g = rng.standard_normal(taps.shape)
    u = rng.standard_normal(shape)
    lhs = float(np.sum(max_pool_scatter(g, taps, window, shape) * u))
    rhs = float(np.sum(g * max_pool_gather(u, taps, window)))
    assert abs(lhs - rhs) <= 1e-10 * max(1.0, float(np.sum(np.abs(g)) * np.abs(u).max()))
    # gather reads x at the taps: the pooled maximum itself (finite data: no tap in padding)
    x = _data(int(rng.integers(2**16)), shape, np.float64, nan=False, neginf=False)
    y, taps = max_pool(x, window)
    np.testing.assert_array_equal(max_pool_gather(x, taps, window), y)


# ----------------------------------------------------------------- window_sum / scatter
@given(data=st.data())
def test_scatter_is_the_adjoint_of_window_sum(data):
    shape, window = data.draw(pool_cases())
    if data.draw(st.booleans()):  # dilated windows too
        window = Window(window.kernel, window.stride, (2, 2), window.padding)
        shape = (*shape[:2], shape[2] + 2 * window.kernel[0], shape[3] + 2 * window.kernel[1])
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    x = rng.standard_normal(shape)
    s = window_sum(x, window)
    assert s.shape == (*shape[:2], *window.out_shape(*shape[2:]))
    g = rng.standard_normal(s.shape)
    dx = scatter(g, shape, window)
    assert dx.shape == shape
    lhs, rhs = float(np.sum(s * g)), float(np.sum(x * dx))
    scale = float(np.sum(np.abs(s) * np.abs(g))) + float(np.sum(np.abs(x) * np.abs(dx)))
    assert abs(lhs - rhs) <= 1e-10 * max(1.0, scale), (lhs, rhs, shape, window)
    # scatter of all-ones counts the windows reading each pixel; the naive scatter agrees
    ones = np.ones(s.shape)
    kh, kw = window.kernel
    counts = sum(_naive_tap_scatter(ones, np.full(s.shape, k), window, shape)
                 for k in range(kh * kw))
    np.testing.assert_array_equal(scatter(ones, shape, window), counts)


def test_scatter_on_tiling_windows_writes_each_pixel_once_and_follows_layout():
    window = Window((2, 2), (2, 2))
    shape = (3, 2, 4, 6)
    g = np.arange(3 * 2 * 2 * 3, dtype=np.float64).reshape(3, 2, 2, 3) - 5
    g[0, 0, 0, 0] = -0.0
    dx = scatter(g, shape, window, layout=(1, 2, 3, 0))
    ref = np.repeat(np.repeat(g, 2, axis=2), 2, axis=3) + 0.0
    np.testing.assert_array_equal(dx, ref)
    np.testing.assert_array_equal(np.signbit(dx), np.signbit(ref))
    assert dx.transpose(1, 2, 3, 0).flags.c_contiguous
