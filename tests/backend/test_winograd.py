"""Winograd's F(2×2, 3×3) (chainrule.backend.winograd) against the direct sum: the NumPy twin in
float64, the compiled transforms against the twin bit for bit, float32 errors at the direct
product's level, and the rule for when a convolution takes the path."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.backend import jit, winograd
from chainrule.ops.geometry import Window

CASES = [  # N, C, O, H, W, padding (t, b, l, r): odd and even sizes, every padding up to 2
    (8, 3, 4, 7, 6, (1, 1, 1, 1)),
    (8, 2, 5, 8, 9, (0, 0, 0, 0)),
    (16, 4, 3, 6, 5, (2, 1, 0, 2)),
    (8, 1, 2, 3, 3, (0, 0, 0, 0)),
    (8, 3, 3, 1, 2, (1, 2, 2, 1)),
    (5, 2, 3, 6, 7, (1, 1, 1, 1)),  # not a multiple of 8 lanes: the twin, compiled or not
]


def direct(x: np.ndarray, w: np.ndarray, pads: tuple[int, int, int, int]) -> np.ndarray:
    """y[n, o, p, q] = Σ_{c,i,j} w[o, c, i, j] · x_pad[n, c, p + i, q + j], summed in float64."""
    t, b, l, r = pads
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (t, b), (l, r)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (3, 3), axis=(2, 3))
    return np.einsum("ncpqij,ocij->nopq", win, w.astype(np.float64))


def run(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, pads, compiled: bool) -> np.ndarray:
    """conv3x3 of x (N, C, H, W) as (N, O, OH, OW), with the compiled transforms or the twin."""
    oh, ow = Window((3, 3), (1, 1), (1, 1), pads).out_shape(*x.shape[2:])
    with jit.disabled() if not compiled else _nothing():
        y = winograd.conv3x3(np.ascontiguousarray(x.transpose(1, 2, 3, 0)),
                             winograd.weight_transform(w), pads, (oh, ow), b)
    return y.transpose(3, 0, 1, 2)


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


@pytest.mark.parametrize("n, c, o, h, w, pads", CASES)
def test_twin_equals_the_direct_sum_in_float64(n, c, o, h, w, pads):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c, h, w))
    wt = rng.standard_normal((o, c, 3, 3))
    b = rng.standard_normal(o)
    want = direct(x, wt, pads) + b[None, :, None, None]
    np.testing.assert_allclose(run(x, wt, b, pads, compiled=False), want, rtol=1e-12,
                               atol=1e-12)
    np.testing.assert_allclose(run(x, wt, None, pads, compiled=False), want - b[None, :, None,
                               None], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n, c, o, h, w, pads", CASES)
def test_compiled_transforms_equal_the_twin_bit_for_bit(n, c, o, h, w, pads, dtype):
    if not jit.available():
        pytest.skip("numba not installed: pip install chainrule[jit]")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    wt = rng.standard_normal((o, c, 3, 3)).astype(dtype)
    b = rng.standard_normal(o).astype(dtype)
    for bias in (b, None):
        np.testing.assert_array_equal(run(x, wt, bias, pads, compiled=True),
                                      run(x, wt, bias, pads, compiled=False))


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
@pytest.mark.parametrize("compiled", [True, False])
def test_an_input_that_is_not_finite_is_left_to_the_direct_sums(bad, compiled):
    """One inf would become +inf and -inf in the same transformed tile, and so nan outputs where
    the direct sum (and torch) gives ±inf: both paths say None, and conv2d gives the direct
    sums' infinities."""
    if compiled and not jit.available():
        pytest.skip("numba not installed: pip install chainrule[jit]")
    rng = np.random.default_rng(4)
    x = rng.standard_normal((8, 64, 12, 14)).astype(np.float32)
    x[3, 5, 2, 4] = bad
    wt = rng.standard_normal((64, 64, 3, 3)).astype(np.float32)
    oh, ow = 12, 14
    with jit.disabled() if not compiled else _nothing():
        assert winograd.conv3x3(np.ascontiguousarray(x.transpose(1, 2, 3, 0)),
                                winograd.weight_transform(wt), (1, 1, 1, 1), (oh, ow)) is None
    if compiled:
        xs = np.concatenate([x] * 2)
        assert winograd.applies(xs.shape, 64, Window((3, 3), (1, 1), (1, 1), (1, 1, 1, 1)),
                                xs.dtype)
        with cr.no_grad():
            got = cr.nn.functional.conv2d(cr.tensor(xs), cr.tensor(wt), padding=1).numpy()
        want = cr.nn.functional.conv2d(cr.tensor(xs), cr.tensor(wt, requires_grad=True),
                                       padding=1).detach().numpy()
        np.testing.assert_array_equal(np.isinf(got), np.isinf(want))
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))


def test_float32_error_is_the_direct_products_level():
    """F(2, 3)'s constants are 0, ±1 and ±½: its float32 error stays at the level of the im2col
    product's (F(4, 3)'s would be about ten times that)."""
    rng = np.random.default_rng(2)
    for c, h in ((64, 14), (256, 7)):
        x = rng.standard_normal((8, c, h, h)).astype(np.float32)
        wt = (rng.standard_normal((c, c, 3, 3)) * np.sqrt(2 / (9 * c))).astype(np.float32)
        want = direct(x, wt, (1, 1, 1, 1))
        col = np.lib.stride_tricks.sliding_window_view(
            np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1))), (3, 3), axis=(2, 3))
        im2col = np.einsum("ncpqij,ocij->nopq", col, wt)  # float32 sums
        got = run(x, wt, None, (1, 1, 1, 1), compiled=jit.available())
        scale = np.abs(want).max()
        assert np.abs(got - want).max() / scale < 2e-6
        assert np.abs(got - want).max() < 2 * np.abs(im2col - want).max()


def test_the_rule():
    win = Window((3, 3), (1, 1), (1, 1), (1, 1, 1, 1))
    f32 = np.dtype(np.float32)
    big = (8, 64, 56, 56)
    assert winograd.applies(big, 64, win, f32) == jit.enabled()
    assert not winograd.applies(big, 64, win, np.dtype(np.float64))  # keeps the direct sums
    assert not winograd.applies((6, 64, 56, 56), 64, win, f32)  # lanes of 8
    assert not winograd.applies((8, 8, 56, 56), 64, win, f32)  # too few channels
    assert not winograd.applies((8, 64, 56, 56), 8, win, f32)
    assert winograd.applies((8, 512, 7, 7), 512, win, f32) == jit.enabled()  # 4·4·8 tiles
    assert not winograd.applies((8, 512, 4, 4), 512, win, f32)  # too few: 2·2·8
    assert not winograd.applies((256, 64, 1, 1), 64, win, f32)  # 1²: 16 products for 9
    assert not winograd.applies((256, 64, 5, 5), 64, win, f32)  # 5²: 9 tiles for 25 outputs
    assert winograd.applies((64, 64, 7, 7), 64, win, f32) == jit.enabled()
    assert not winograd.applies(big, 64, Window((3, 3), (2, 2), (1, 1), (1, 1, 1, 1)), f32)
    assert not winograd.applies(big, 64, Window((3, 3), (1, 1), (2, 2), (2, 2, 2, 2)), f32)
    assert not winograd.applies(big, 64, Window((5, 5), (1, 1), (1, 1), (2, 2, 2, 2)), f32)
    assert not winograd.applies(big, 64, Window((3, 3), (1, 1), (1, 1), (3, 3, 3, 3)), f32)
    with jit.disabled():  # a NumPy-only install keeps im2col
        assert not winograd.applies(big, 64, win, f32)


def test_inference_convolution_takes_the_path_and_matches_training_mode():
    """conv2d under no_grad of a shape the rule takes equals the im2col product (within float32
    rounding), bias included, in both layouts an input arrives in."""
    if not jit.available():
        pytest.skip("numba not installed: pip install chainrule[jit]")
    rng = np.random.default_rng(3)
    w = cr.tensor(rng.standard_normal((64, 64, 3, 3)).astype(np.float32) * 0.05,
                  requires_grad=True)
    b = cr.tensor(rng.standard_normal(64).astype(np.float32))
    for x in (rng.standard_normal((8, 64, 20, 19)).astype(np.float32),
              np.ascontiguousarray(rng.standard_normal((64, 20, 19, 8)).astype(np.float32)
                                   ).transpose(3, 0, 1, 2)):
        assert winograd.applies(x.shape, 64, Window((3, 3), (1, 1), (1, 1), (1, 1, 1, 1)),
                                x.dtype)
        xt = cr.tensor(x)
        want = cr.nn.functional.conv2d(xt, w, b, padding=1)  # records a graph: im2col
        with cr.no_grad():
            got = cr.nn.functional.conv2d(xt, w, b, padding=1)
        ref = direct(x, w.detach().numpy(), (1, 1, 1, 1)) + b.numpy()[None, :, None, None]
        np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=1e-4, atol=1e-5)
        assert np.abs(got.numpy() - ref).max() <= 2 * np.abs(want.detach().numpy() - ref).max()


@pytest.mark.parametrize("n, c, o, h, w, pads", CASES)
def test_input_gradient_as_a_correlation_equals_col2im_in_float64(n, c, o, h, w, pads):
    """x̄ = the correlation of ȳ with the flipped, transposed kernel, padded by 2 − p
    (`conv.winograd_input_grad`), equals col2im(Wᵀ ȳ) for every padding up to 2 (float64:
    the transforms of the compiled path where there are lanes of 8, the twin otherwise)."""
    from chainrule.backend import conv

    rng = np.random.default_rng(5)
    win = Window((3, 3), (1, 1), (1, 1), pads)
    oh, ow = win.out_shape(h, w)
    g = rng.standard_normal((n, o, oh, ow))
    wt = rng.standard_normal((o, c, 3, 3))
    got = conv.winograd_input_grad(wt, g, win)
    want = conv.conv_input_grad(wt.reshape(o, -1), np.ascontiguousarray(
        g.transpose(1, 2, 3, 0)).reshape(o, -1), (n, c, h, w), win)
    assert got is not None and got.shape == (n, c, h, w)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_a_training_steps_input_gradient_takes_the_path_and_matches_torch():
    """conv2d's x̄ for a float32 3×3 convolution the rule takes (ȳ of 64 channels into 32, as
    the MNIST network's second convolution) within float32 rounding of torch's; a window padded
    by more than 2 keeps col2im."""
    if not jit.available():
        pytest.skip("numba not installed: pip install chainrule[jit]")
    torch = pytest.importorskip("torch")
    from chainrule.backend import conv

    rng = np.random.default_rng(6)
    x = rng.standard_normal((16, 32, 14, 13)).astype(np.float32)
    w = (rng.standard_normal((64, 32, 3, 3)) * 0.1).astype(np.float32)
    win = Window((3, 3), (1, 1), (1, 1), (0, 0, 0, 0))
    full = conv.winograd_input_window(win)
    assert full is not None and winograd.applies((16, 64, 12, 11), 32, full, np.dtype("float32"))
    assert conv.winograd_input_window(win._replace(padding=(3, 3, 3, 3))) is None
    for pad in (0, 1):
        xc, wc = cr.tensor(x, requires_grad=True), cr.tensor(w, requires_grad=True)
        y = cr.nn.functional.conv2d(xc, wc, padding=pad)
        g = rng.standard_normal(y.shape).astype(np.float32)
        y.backward(cr.tensor(g))
        xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
        torch.nn.functional.conv2d(xt, wt, padding=pad).backward(torch.tensor(g))
        want = xt.grad.numpy()
        assert np.abs(xc.grad.numpy() - want).max() <= 1e-5 * np.abs(want).max()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("o, c", [(8, 3), (4, 2), (16, 5), (3, 3)])
def test_weight_transform_kernel_equals_the_twin_bit_for_bit(o, c, dtype):
    """U = G g Gᵀ from the compiled kernel (eight (o, c) pairs at a time, where O·C is a
    multiple of 8) and from the twin, also for a flipped, transposed view (the input
    gradient's kernel)."""
    if not jit.available():
        pytest.skip("numba not installed: pip install chainrule[jit]")
    w = np.random.default_rng(7).standard_normal((o, c, 3, 3)).astype(dtype)
    for wt in (w, w.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1]):
        got = winograd.weight_transform(wt)
        with jit.disabled():
            want = winograd.weight_transform(wt)
        assert got.dtype == dtype and got.shape == (16, *wt.shape[:2])
        np.testing.assert_array_equal(got, want)
