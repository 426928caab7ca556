"""The blocked convolution GEMMs (chainrule.backend.conv) against their NumPy twins, for every
block size from one output row to no blocking, with padding, stride and dilation."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule.backend import conv, windows
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
