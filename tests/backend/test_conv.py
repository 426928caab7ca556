"""The blocked convolution GEMMs (chainrule.backend.conv) against their NumPy twins, for every
block size from one output row to no blocking, with padding, stride and dilation."""

from __future__ import annotations

import os

import numpy as np
import pytest

from chainrule.backend import conv, jit, windows
from chainrule.ops.geometry import Window

CASES = [  # input (N, C, H, W), kernel, stride, dilation, padding (t, b, l, r)
    ((3, 2, 9, 8), (3, 3), (1, 1), (1, 1), (1, 1, 1, 1)),
    ((2, 1, 11, 10), (5, 5), (1, 1), (1, 1), (2, 2, 2, 2)),
    ((4, 3, 10, 12), (3, 2), (2, 3), (1, 1), (0, 1, 2, 0)),
    ((2, 2, 13, 11), (3, 3), (2, 1), (2, 2), (1, 0, 0, 1)),
    ((1, 4, 7, 7), (1, 1), (2, 2), (1, 1), (0, 0, 0, 0)),
]


@pytest.fixture(params=[1, 4096, 1 << 20, 0], ids=["one-row", "small", "default", "off"])
def block_bytes(request):
    old = conv.set_block_bytes(request.param)
    yield request.param
    conv.set_block_bytes(old)


@pytest.mark.parametrize("shape, kernel, stride, dilation, pads", CASES)
def test_blocked_products_equal_the_twins(block_bytes, shape, kernel, stride, dilation, pads):
    rng = np.random.default_rng(0)
    win = Window(kernel, stride, dilation, pads)
    x = rng.standard_normal(shape)
    o = 5
    w2 = rng.standard_normal((o, shape[1] * kernel[0] * kernel[1]))
    oh, ow = win.out_shape(*shape[2:])
    g2 = rng.standard_normal((o, oh * ow * shape[0]))
    col = windows.im2col(x, win)

    np.testing.assert_allclose(conv.conv_forward(x, w2, win), w2 @ col, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(conv.conv_weight_grad(x, g2, win), g2 @ col.T, rtol=1e-12,
                               atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, kernel, stride, dilation, pads", CASES)
def test_blocked_input_gradient_equals_col2im_bit_for_bit(block_bytes, shape, kernel, stride,
                                                          dilation, pads, dtype, monkeypatch):
    """With Wᵀ the identity the products are exact, so the blocks' taps (added last output rows
    first) must give col2im's very bits; with a random W, col2im(Wᵀ ȳ) up to rounding. Blocks
    may be a single row narrower than MIN_COLUMNS here, so that these small images have many."""
    monkeypatch.setattr(conv, "MIN_COLUMNS", 1)
    rng = np.random.default_rng(2)
    win = Window(kernel, stride, dilation, pads)
    k = shape[1] * kernel[0] * kernel[1]
    oh, ow = win.out_shape(*shape[2:])
    g2 = rng.standard_normal((k, oh * ow * shape[0])).astype(dtype)
    g2[0, 0] = -0.0
    eye = np.eye(k, dtype=dtype)
    got = conv.conv_input_grad(eye, g2, shape, win)
    ref = windows.col2im(g2, shape, win)
    assert got.shape == ref.shape == shape and got.dtype == dtype
    np.testing.assert_array_equal(got, ref)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(ref))
    w2 = rng.standard_normal((3, k)).astype(dtype)
    g3 = g2[:3]
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(conv.conv_input_grad(w2, g3, shape, win),
                               windows.col2im(w2.T @ g3, shape, win), rtol=tol, atol=tol)


def test_forward_reads_an_input_in_any_layout():
    """An (N, C, H, W) view of a (C, H, W, N) buffer (what conv layers hand on) and a plain
    C-ordered array give the same result."""
    rng = np.random.default_rng(1)
    win = Window((3, 3), (1, 1), (1, 1), (0, 0, 0, 0))
    x = rng.standard_normal((4, 2, 8, 8))
    cnhw = np.ascontiguousarray(x.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)
    w2 = rng.standard_normal((3, 18))
    np.testing.assert_array_equal(conv.conv_forward(x, w2, win), conv.conv_forward(cnhw, w2, win))


def test_which_convolutions_are_blocked():
    win3, win5 = Window((3, 3)), Window((5, 5))
    assert conv.blocked(25, win5) and conv.blocked(150, win5)  # LeNet-5's 5×5 convolutions
    assert not conv.blocked(288, win3)  # a 3×3 convolution over 32 channels that keeps im2col
    assert conv.blocked(288, win3, saving=False)  # ... and one that does not (inference)
    assert not conv.blocked(64, Window((1, 1)), saving=False)  # pointwise: im2col is x itself
    assert conv.blocked(64, Window((1, 1), (2, 2)), saving=False)  # strided 1×1: a gather
    old = conv.set_block_bytes(0)
    try:
        assert not conv.blocked(25, win5) and not conv.blocked(288, win3, saving=False)
    finally:
        conv.set_block_bytes(old)


def test_an_im2col_that_fits_the_whole_bytes_is_built_whole():
    """Between one block and WHOLE_BYTES an im2col is built whole (and kept for W̄); a single
    block's worth, or one of unknown size, follows the machine-independent rules; a window the
    direct kernels take builds none."""
    win5 = Window((5, 5))
    block, whole = conv.BLOCK_BYTES, 10 * conv.BLOCK_BYTES
    old = conv.set_whole_bytes(whole)
    try:
        assert not conv.blocked(150, win5, True, whole)  # LeNet-5's C3 at batch 128
        assert not conv.blocked(288, Window((3, 3)), False, block + 1)  # inference too
        assert conv.blocked(150, win5, True, whole + 1)
        assert conv.blocked(150, win5, True, block)  # one block anyway: as on every machine
        assert conv.blocked(150, win5)
        assert conv.blocked(25, win5, True, whole) == jit.enabled()  # C1: direct kernels
        conv.set_whole_bytes(0)
        assert conv.blocked(150, win5, True, block + 1)
    finally:
        conv.set_whole_bytes(old)


def test_last_level_cache_size_is_read_from_sysfs(tmp_path):
    """The largest level's size, in sysfs's K / M suffixes; 0 when nothing can be read."""
    for name, level, size in [("index0", "1", "48K"), ("index2", "2", "2048K"),
                              ("index3", "3", "480M"), ("index9", "x", "9G")]:
        (tmp_path / name).mkdir()
        (tmp_path / name / "level").write_text(level + "\n")
        (tmp_path / name / "size").write_text(size + "\n")
    assert conv._last_level_cache_bytes(tmp_path) == 480 << 20
    assert conv._last_level_cache_bytes(tmp_path / "missing") == 0
    size = conv._last_level_cache_bytes()
    if size and "CHAINRULE_CONV_WHOLE_BYTES" not in os.environ:
        assert conv.WHOLE_BYTES == max(size // 16, conv.WHOLE_MIN_BYTES)


@pytest.mark.parametrize("n", [1, 7, 16, 33])
@pytest.mark.parametrize("pads", [(0, 0, 0, 0), (2, 2, 2, 2), (1, 0, 2, 0)])
@pytest.mark.parametrize("dtype, tol", [(np.float32, 1e-5), (np.float64, 1e-12)])
@pytest.mark.parametrize("kernel", [(5, 5), (4, 4), (7, 7), (3, 6)])
def test_direct_kernels_of_one_channel_equal_the_twins(n, pads, dtype, tol, kernel):
    """One input channel and a window of 16+ taps (a kernel row of five in one pass, of four,
    of seven and of six): the direct kernels (no im2col) against w2 @ col and g2 @ colᵀ, up to
    the rounding of the sums, and against the NumPy-only path."""
    if not jit.available():
        pytest.skip("numba not installed: pip install chainrule[jit]")
    rng = np.random.default_rng(n)
    win = Window(kernel, (1, 1), (1, 1), pads)
    x = rng.standard_normal((n, 1, 9, 11)).astype(dtype)
    w2 = rng.standard_normal((6, kernel[0] * kernel[1])).astype(dtype)
    oh, ow = win.out_shape(9, 11)
    g2 = rng.standard_normal((6, oh * ow * n)).astype(dtype)
    assert conv.direct(x, w2, win) == jit.enabled()
    old = jit.set_enabled(True)
    try:
        assert conv.direct(x, w2, win) and conv.direct(x, g2, win)
        y, gw = conv.conv_forward(x, w2, win), conv.conv_weight_grad(x, g2, win)
        with jit.disabled():
            assert not conv.direct(x, w2, win)
            y_np, gw_np = conv.conv_forward(x, w2, win), conv.conv_weight_grad(x, g2, win)
    finally:
        jit.set_enabled(old)
    col = windows.im2col(x.astype(np.float64), win)
    assert y.dtype == gw.dtype == dtype and y.shape == y_np.shape and gw.shape == gw_np.shape
    scale_y = np.abs(w2.astype(np.float64)) @ np.abs(col)
    scale_w = np.abs(g2.astype(np.float64)) @ np.abs(col).T
    assert np.all(np.abs(y - w2.astype(np.float64) @ col) <= tol * scale_y + 1e-30)
    assert np.all(np.abs(gw - g2.astype(np.float64) @ col.T) <= tol * scale_w + 1e-30)
    np.testing.assert_allclose(y, y_np, rtol=tol * 100, atol=tol * 100)
    np.testing.assert_allclose(gw, gw_np, rtol=tol * 100, atol=tol * 100)


@pytest.mark.parametrize("kernel", [(5, 5), (4, 4), (7, 7), (3, 6), (2, 11)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_weight_gradient_in_lanes_of_eight_equals_the_loop_kernel_bit_for_bit(kernel, dtype):
    """A batch of 8k entries takes `_direct_weight_grad_lanes`: the same sums in the same order
    as `_direct_weight_grad_kernel` (five taps a pass, then one at a time), so equal results."""
    if not jit.available():
        pytest.skip("numba not installed: pip install chainrule[jit]")
    rng = np.random.default_rng(sum(kernel))
    n, lanes, (kh, kw) = 24, 3, kernel
    xp = rng.standard_normal((9 + kh - 1, 11 + kw - 1, n)).astype(dtype)
    g = rng.standard_normal((4, 9, 11, n)).astype(dtype)
    loop = rng.standard_normal((4, kh, kw, n)).astype(dtype)  # both add into what is there
    in_lanes = loop.copy()
    conv._direct_weight_grad_kernel(xp, g, loop)
    conv._direct_weight_grad_lanes(xp.reshape(xp.shape[0], -1, 8), g.reshape(4, 9, -1, 8),
                                   in_lanes.reshape(4, kh, -1, 8), kw, lanes)
    np.testing.assert_array_equal(in_lanes, loop)


def test_which_convolutions_take_the_direct_kernels():
    x1 = np.zeros((2, 1, 12, 12), np.float32)
    w = np.zeros((6, 25), np.float32)
    old = jit.set_enabled(jit.available())
    try:
        assert conv.direct(x1, w, Window((5, 5))) == jit.available()  # LeNet-5's C1
        assert not conv.direct(x1, w[:, :9], Window((3, 3)))  # 9 taps: the GEMM is faster
        assert not conv.direct(np.zeros((2, 6, 12, 12), np.float32), w, Window((5, 5)))
        assert not conv.direct(x1, w, Window((5, 5), (2, 2)))  # strided
        assert not conv.direct(x1, w.astype(np.float64), Window((5, 5)))  # mixed dtypes
    finally:
        jit.set_enabled(old)


@pytest.mark.parametrize("window, hw, expect", [
    # ResNet-18's last stage at 32²: a 3×3 window padded by 1 on 1×1 is its centre tap
    (Window((3, 3), padding=(1, 1, 1, 1)), (1, 1), ((4,), Window((1, 1)))),
    # its stem on a 1×1 image: the centre of 7×7, stride 2
    (Window((7, 7), (2, 2), padding=(3, 3, 3, 3)), (1, 1), ((24,), Window((1, 1), (2, 2)))),
    # one image row: the kernel's middle row, padded left and right as before
    (Window((3, 3), padding=(1, 1, 1, 1)), (1, 5),
     ((3, 4, 5), Window((1, 3), padding=(0, 0, 1, 1)))),
    (Window((3, 3), padding=(1, 1, 1, 1)), (2, 2), None),  # every tap reads a pixel somewhere
    # 4 taps of 9 (3×3 stride 2 on 2²): more than MAX_LIVE_FRACTION, kept whole
    (Window((3, 3), (2, 2), padding=(1, 1, 1, 1)), (2, 2), None),
    # a dilated tap jumps the padding: the taps left would need negative padding
    (Window((3, 3), dilation=(2, 2), padding=(1, 1, 1, 1)), (3, 3), None),
])
def test_live_taps_leave_out_the_taps_that_read_only_padding(window, hw, expect):
    got = conv.live_taps(window, *hw)
    assert got == expect
    if got is not None:  # the same outputs
        assert got[1].out_shape(*hw) == window.out_shape(*hw)


def test_the_live_weight_and_its_full_gradient_round_trip():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    taps, win = conv.live_taps(Window((3, 3), padding=(1, 1, 1, 1)), 1, 5)
    live = conv.live_weight(w, taps, win)
    assert live.flags.c_contiguous and live.shape == (4, 3, 1, 3)
    np.testing.assert_array_equal(live, w[:, :, 1:2, :])
    full = conv.full_weight_grad(live, taps, (3, 3))
    np.testing.assert_array_equal(full[:, :, 1:2, :], live)
    assert not full[:, :, 0].any() and not full[:, :, 2].any()
