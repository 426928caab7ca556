"""chainrule.signal: the lecture's convolution examples, every mode against numpy.convolve, a direct
translate-and-scale reference and scipy.signal (when installed), the algebra (a ∗ b = b ∗ a,
distributivity), correlation = convolution with the flipped kernel, convolution matrices, first and
second derivatives (finite differences and torch) and the lecture's filters."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import chainrule as cr
from chainrule import signal as sig

try:
    import scipy.signal as scipy_signal
except ImportError:  # scipy is optional: only the comparisons with it are skipped
    scipy_signal = None

MODES = ("full", "valid", "same")
sizes = st.integers(1, 7)
seeds = st.integers(0, 2**32 - 1)


def _values(seed, *shapes):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=s) for s in shapes]


def _reference(a, b, mode):
    """Translate-and-scale (the lecture's method 1): Σ_s a_s · (b shifted by s), then the mode's
    window: 'same' keeps a's size starting at ⌊(K−1)/2⌋, 'valid' the |N−K|+1 full overlaps."""
    a, b = np.atleast_2d(a), np.atleast_2d(b)
    full = np.zeros(np.add(a.shape, b.shape) - 1)
    for (s, t), v in np.ndenumerate(a):
        full[s:s + b.shape[0], t:t + b.shape[1]] += v * b
    spans = []
    for n, k in zip(a.shape, b.shape, strict=True):
        start, length = {"full": (0, n + k - 1), "same": ((k - 1) // 2, n),
                         "valid": (min(n, k) - 1, abs(n - k) + 1)}[mode]
        spans.append(slice(start, start + length))
    return full[tuple(spans)]


# ----------------------------------------------------------------- the lecture's numbers
def test_lecture_1d_example():
    y = sig.convolve1d([2, -1, 1], [1, 1, 2])
    np.testing.assert_array_equal(y.numpy(), [2, 1, 4, -1, 2])
    assert y.dtype == np.float32  # integer inputs become float32


def test_lecture_2d_example():
    a = [[1, 3, 1], [0, -1, 1], [2, 2, -1]]
    b = [[1, 2], [0, -1]]
    want = [[1, 5, 7, 2], [0, -2, -4, 1], [2, 6, 4, -3], [0, -2, -2, 1]]
    np.testing.assert_array_equal(sig.convolve2d(a, b).numpy(), want)
    np.testing.assert_array_equal(_reference(np.array(a), np.array(b), "full"), want)


def test_lecture_convolution_matrix():
    m = sig.conv_matrix([1, 1, 2], 3)
    np.testing.assert_array_equal(
        m.numpy(), [[1, 0, 0], [1, 1, 0], [2, 1, 1], [0, 2, 1], [0, 0, 2]])
    np.testing.assert_array_equal((m @ cr.tensor([2.0, -1.0, 1.0])).numpy(), [2, 1, 4, -1, 2])


# ----------------------------------------------------------------- modes against references
@given(n=sizes, k=sizes, seed=seeds)
def test_convolve1d_matches_numpy_in_every_mode(n, k, seed):
    a, b = _values(seed, n, k)
    for mode in MODES:
        got = sig.convolve1d(a, b, mode).numpy()
        np.testing.assert_allclose(got, _reference(a, b, mode)[0], atol=1e-12)
        if mode != "same" or n >= k:  # numpy's 'same' has max(N, K) outputs; ours has N
            np.testing.assert_allclose(got, np.convolve(a, b, mode), atol=1e-12)
        if scipy_signal is not None:
            np.testing.assert_allclose(got, scipy_signal.convolve(a, b, mode), atol=1e-12)


@given(h=sizes, w=sizes, kh=sizes, kw=sizes, seed=seeds)
def test_convolve2d_matches_reference_and_scipy_in_every_mode(h, w, kh, kw, seed):
    a, b = _values(seed, (h, w), (kh, kw))
    modes = MODES if (h >= kh) == (w >= kw) or h == kh or w == kw else ("full", "same")
    for mode in modes:
        got = sig.convolve2d(a, b, mode).numpy()
        np.testing.assert_allclose(got, _reference(a, b, mode), atol=1e-12)
        if scipy_signal is not None:
            np.testing.assert_allclose(got, scipy_signal.convolve2d(a, b, mode), atol=1e-12)


def test_valid_mode_needs_one_input_to_contain_the_other():
    with pytest.raises(ValueError, match=r"convolve2d: .*valid.*\(3, 5\) and \(5, 3\)"):
        sig.convolve2d(np.ones((3, 5)), np.ones((5, 3)), "valid")


# ----------------------------------------------------------------- the algebra
@given(n=sizes, k=sizes, seed=seeds)
def test_commutativity(n, k, seed):
    a, b = _values(seed, n, k)
    np.testing.assert_allclose(sig.convolve1d(a, b).numpy(), sig.convolve1d(b, a).numpy(),
                               atol=1e-12)
    a2, b2 = _values(seed, (n, k), (k, 3))
    np.testing.assert_allclose(sig.convolve2d(a2, b2).numpy(), sig.convolve2d(b2, a2).numpy(),
                               atol=1e-12)


@given(n=sizes, k=sizes, mode=st.sampled_from(MODES), seed=seeds,
       lam=st.tuples(st.floats(-3, 3), st.floats(-3, 3)))
def test_distributivity(n, k, mode, seed, lam):
    a, b, c = _values(seed, (n, n + 1), (k, k), (k, k))
    l1, l2 = lam
    lhs = sig.convolve2d(a, l1 * b + l2 * c, mode).numpy()
    rhs = l1 * sig.convolve2d(a, b, mode).numpy() + l2 * sig.convolve2d(a, c, mode).numpy()
    np.testing.assert_allclose(lhs, rhs, atol=1e-10)
    lhs1 = sig.convolve1d(a[0], l1 * b[0] + l2 * c[0], mode).numpy()
    rhs1 = (l1 * sig.convolve1d(a[0], b[0], mode) + l2 * sig.convolve1d(a[0], c[0], mode))
    np.testing.assert_allclose(lhs1, rhs1.numpy(), atol=1e-10)


# ----------------------------------------------------------------- correlation
@given(n=sizes, k=sizes, seed=seeds)
def test_correlate_is_convolve_with_the_flipped_kernel(n, k, seed):
    a, b = _values(seed, n, k)
    a2, b2 = _values(seed, (n, n), (k, k))
    for mode in MODES:
        got = sig.correlate1d(a, b, mode).numpy()
        np.testing.assert_allclose(got, sig.convolve1d(a, b[::-1].copy(), mode).numpy(),
                                   atol=1e-12)
        if mode != "same" or n >= k:
            np.testing.assert_allclose(got, np.correlate(a, b, mode), atol=1e-12)
        got2 = sig.correlate2d(a2, b2, mode).numpy()
        np.testing.assert_allclose(got2, sig.convolve2d(a2, b2[::-1, ::-1].copy(), mode).numpy(),
                                   atol=1e-12)
        if scipy_signal is not None:
            np.testing.assert_allclose(got2, scipy_signal.correlate(a2, b2, mode), atol=1e-12)


def test_correlation_is_what_conv_layers_compute(rng):
    x, w = rng.normal(size=(6, 7)), rng.normal(size=(3, 2))
    layer = cr.conv2d(cr.tensor(x)[None, None], cr.tensor(w)[None, None])[0, 0]
    np.testing.assert_allclose(sig.correlate2d(x, w, "valid").numpy(), layer.numpy())
    x1, w1 = rng.normal(size=9), rng.normal(size=3)
    layer1 = cr.conv1d(cr.tensor(x1)[None, None], cr.tensor(w1)[None, None])[0, 0]
    np.testing.assert_allclose(sig.correlate1d(x1, w1, "valid").numpy(), layer1.numpy())
    # odd kernels: 'same' is conv2d(padding='same') too (even kernels centre one step apart)
    w3 = rng.normal(size=(3, 5))
    layer3 = cr.conv2d(cr.tensor(x)[None, None], cr.tensor(w3)[None, None], padding="same")
    np.testing.assert_allclose(sig.correlate2d(x, w3, "same").numpy(), layer3[0, 0].numpy())


# ----------------------------------------------------------------- batches and dtypes
def test_a_leading_batch_dimension_is_filtered_item_by_item(rng):
    a, b = rng.normal(size=(4, 5, 6)), rng.normal(size=(3, 2))
    for mode in MODES:
        got = sig.convolve2d(a, b, mode).numpy()
        np.testing.assert_allclose(got, [sig.convolve2d(x, b, mode).numpy() for x in a])
        got1 = sig.correlate1d(a[0], b[:, 0], mode).numpy()
        np.testing.assert_allclose(got1, [sig.correlate1d(x, b[:, 0], mode).numpy()
                                          for x in a[0]])


def test_dtypes():
    f32, f64 = np.ones(4, np.float32), np.ones(2, np.float64)
    assert sig.convolve1d(f32, f32).dtype == np.float32
    assert sig.convolve1d(f64, f64).dtype == np.float64
    assert sig.convolve1d(f32, f64).dtype == np.float64
    assert sig.convolve1d(np.ones(3, np.int64), [True, False]).dtype == np.float32
    assert sig.convolve1d([1.0, 2.0], [0.5]).dtype == np.float32  # lists follow cr.tensor
    assert sig.conv_matrix(np.ones((2, 2), np.uint8), (3, 3)).dtype == np.float32


# ----------------------------------------------------------------- convolution matrices
@given(n=sizes, k=sizes, mode=st.sampled_from(MODES), seed=seeds)
def test_conv_matrix_times_x_is_the_convolution(n, k, mode, seed):
    x, b = _values(seed, n, k)
    m = sig.conv_matrix(b, n, mode)
    np.testing.assert_allclose(m.numpy() @ x, sig.convolve1d(x, b, mode).numpy(), atol=1e-12)
    (h, w), (kh, kw) = (n, max(n - 1, 1)), (k, max(k - 2, 1))
    x2, b2 = _values(seed, (h, w), (kh, kw))
    if mode == "valid" and (h - kh) * (w - kw) < 0:
        with pytest.raises(ValueError, match="conv_matrix"):
            sig.conv_matrix(b2, (h, w), mode)
        return
    m2 = sig.conv_matrix(b2, (h, w), mode)
    want = sig.convolve2d(x2, b2, mode).numpy().ravel()
    assert m2.shape == (want.size, h * w)
    np.testing.assert_allclose(m2.numpy() @ x2.ravel(), want, atol=1e-12)


def test_conv_matrix_is_differentiable_in_the_kernel(rng):
    k = cr.tensor(rng.normal(size=(2, 3)), requires_grad=True)
    x = cr.tensor(rng.normal(size=12))
    assert cr.gradcheck(lambda k: sig.conv_matrix(k, (3, 4), "same") @ x, [k])


# ----------------------------------------------------------------- gradients
@pytest.mark.parametrize("mode", MODES)
def test_gradcheck_convolve1d_both_arguments(mode, rng):
    a = cr.tensor(rng.normal(size=(2, 6)), requires_grad=True)
    b = cr.tensor(rng.normal(size=3), requires_grad=True)
    assert cr.gradcheck(lambda a, b: sig.convolve1d(a, b, mode), [a, b])
    assert cr.gradcheck(lambda a, b: sig.correlate1d(b, a[0], mode), [a, b])  # kernel > signal


@pytest.mark.parametrize("mode", MODES)
def test_gradcheck_convolve2d_both_arguments(mode, rng):
    a = cr.tensor(rng.normal(size=(4, 5)), requires_grad=True)
    b = cr.tensor(rng.normal(size=(2, 3)), requires_grad=True)
    assert cr.gradcheck(lambda a, b: sig.convolve2d(a, b, mode), [a, b])
    assert cr.gradcheck(lambda a, b: sig.correlate2d(b, a, mode), [a, b])


def test_second_derivatives(rng):
    a = cr.tensor(rng.normal(size=(3, 4)), requires_grad=True)
    b = cr.tensor(rng.normal(size=(2, 2)), requires_grad=True)

    def grads(a, b):
        y = (sig.convolve2d(a, b, "same") ** 2).sum()
        return cr.autograd.grad(y, [a, b], create_graph=True)

    assert cr.gradcheck(grads, [a, b])


@pytest.mark.torch
@pytest.mark.parametrize("mode", MODES)
def test_values_and_gradients_match_torch(torch, mode, rng):
    fn = torch.nn.functional

    def torch_convolve(x, w):  # zero-pad to the mode's window, then correlate with flip(w)
        pads = []
        for n, k in zip(x.shape[-2:], w.shape, strict=True):
            start, length = {"full": (0, n + k - 1), "same": ((k - 1) // 2, n),
                             "valid": (0, n - k + 1)}[mode]
            lo = k - 1 - start if mode != "valid" else 0
            pads.append((lo, length + k - 1 - n - lo))
        xp = fn.pad(x, (*pads[1], *pads[0]))
        return fn.conv2d(xp[:, None], w.flip(0, 1)[None, None])[:, 0]

    x, w = rng.normal(size=(2, 6, 5)), rng.normal(size=(3, 2))
    g = rng.normal(size=sig.convolve2d(x, w, mode).shape)
    ours = [cr.tensor(x, requires_grad=True), cr.tensor(w, requires_grad=True)]
    theirs = [torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)]
    y, ty = sig.convolve2d(*ours, mode), torch_convolve(*theirs)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), atol=1e-12)
    y.backward(cr.tensor(g))
    ty.backward(torch.tensor(g))
    for o, t in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), atol=1e-12)
    # 1-D through conv1d: the full convolution of a and b, with gradients
    a, b = rng.normal(size=7), rng.normal(size=3)
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    ca, cb = cr.tensor(a, requires_grad=True), cr.tensor(b, requires_grad=True)
    ty1 = fn.conv1d(ta[None, None], tb.flip(0)[None, None], padding=2)[0, 0]
    y1 = sig.convolve1d(ca, cb)
    np.testing.assert_allclose(y1.detach().numpy(), ty1.detach().numpy(), atol=1e-12)
    (y1 ** 3).sum().backward()
    (ty1 ** 3).sum().backward()
    np.testing.assert_allclose(ca.grad.numpy(), ta.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(cb.grad.numpy(), tb.grad.numpy(), atol=1e-12)


# ----------------------------------------------------------------- the lecture's filters
def test_kernels_are_the_lectures_float32_read_only_arrays():
    assert set(sig.KERNELS) == {"blur", "sharpen", "edge", "sobel_x", "sobel_y"}
    np.testing.assert_array_equal(sig.KERNELS["blur"], [[0, 1, 0], [1, 4, 1], [0, 1, 0]])
    np.testing.assert_array_equal(sig.get_kernel("laplacian"), sig.KERNELS["edge"])
    np.testing.assert_array_equal(sig.get_kernel("sobel").T, sig.KERNELS["sobel_y"])
    for k in sig.KERNELS.values():
        assert k.dtype == np.float32 and not k.flags.writeable
    copy = sig.get_kernel("blur")
    copy[0, 0] = 9  # a copy: the table is untouched
    assert sig.KERNELS["blur"][0, 0] == 0
    assert sig.get_kernel("blur", normalize=True).sum() == pytest.approx(1)
    assert np.abs(sig.get_kernel("sobel", normalize=True)).sum() == pytest.approx(1)
    with pytest.raises(ValueError, match="get_kernel: unknown kernel 'gauss'"):
        sig.get_kernel("gauss")


def test_blur_and_sharpen_keep_a_constant_image_constant_inside():
    img = np.full((2, 6, 7), 3.0)
    inside = (slice(None), slice(1, -1), slice(1, -1))
    for name, scale in [("blur", 8), ("sharpen", 4)]:
        np.testing.assert_allclose(sig.filter_image(img, name).numpy()[inside], 3.0 * scale)
        np.testing.assert_allclose(
            sig.filter_image(img, name, normalize=True).numpy()[inside], 3.0, rtol=1e-6)


def test_laplacian_of_a_constant_image_is_zero_inside():
    out = sig.filter_image(np.full((6, 6), 5, np.uint8), "edge")
    assert out.dtype == np.float32 and out.shape == (6, 6)
    np.testing.assert_array_equal(out.numpy()[1:-1, 1:-1], 0)
    assert np.any(out.numpy()[0] != 0)  # zeros outside the image: the border sees an edge


def test_sobel_responds_to_a_vertical_edge_with_the_expected_sign():
    img = np.zeros((5, 8))
    img[:, 4:] = 1.0  # dark | bright, left to right
    gx = sig.filter_image(img, "sobel_x", mode="valid").numpy()
    np.testing.assert_array_equal(gx[:, [2, 3]], 4)  # the two columns that straddle the edge
    np.testing.assert_array_equal(np.delete(gx, [2, 3], axis=1), 0)
    np.testing.assert_array_equal(sig.filter_image(img, "sobel_y", mode="valid").numpy(), 0)
    np.testing.assert_array_equal(sig.filter_image(img.T, "sobel_y", mode="valid").numpy(),
                                  gx.T)
    ramp = np.tile(np.arange(6.0), (4, 1))  # I_ij = j has slope 1
    np.testing.assert_allclose(
        sig.filter_image(ramp, "sobel", "valid", normalize=True).numpy(), 1.0)


def test_filter_image_takes_array_kernels_and_keeps_gradients(rng):
    k = cr.tensor(rng.normal(size=(3, 3)), requires_grad=True)
    img = rng.normal(size=(2, 5, 5))
    assert cr.gradcheck(lambda k: sig.filter_image(img, k, normalize=True), [k])


# ----------------------------------------------------------------- errors
@pytest.mark.parametrize("fn, a, b, match", [
    (sig.convolve1d, np.ones((2, 3, 4)), np.ones(2), r"convolve1d: .*\(2, 3, 4\) and \(2,\)"),
    (sig.convolve1d, np.ones(4), np.ones((2, 2)), r"convolve1d: .*\(4,\) and \(2, 2\)"),
    (sig.correlate1d, np.ones(4), 3.0, r"correlate1d: .*\(4,\) and \(\)"),
    (sig.convolve2d, np.ones(4), np.ones((2, 2)), r"convolve2d: .*\(4,\) and \(2, 2\)"),
    (sig.correlate2d, np.ones((3, 3)), np.ones(2), r"correlate2d: .*\(3, 3\) and \(2,\)"),
    (sig.convolve1d, np.ones(0), np.ones(2), r"convolve1d: .*empty.*\(0,\) and \(2,\)"),
])
def test_wrong_shapes_raise_value_errors_naming_the_function(fn, a, b, match):
    with pytest.raises(ValueError, match=match):
        fn(a, b)


@pytest.mark.parametrize("fn", [sig.convolve1d, sig.convolve2d, sig.correlate1d,
                                sig.correlate2d])
def test_a_bad_mode_raises(fn):
    with pytest.raises(ValueError, match=rf"{fn.__name__}: mode .*'circular'"):
        fn(np.ones((3, 3)), np.ones((2, 2)), "circular")


def test_conv_matrix_and_filter_image_errors():
    with pytest.raises(ValueError, match=r"conv_matrix: mode .*'wrap'"):
        sig.conv_matrix([1.0], 3, "wrap")
    with pytest.raises(ValueError, match=r"conv_matrix: .*\(3, 3\).*kernel \(2,\)"):
        sig.conv_matrix([1.0, 2.0], (3, 3))
    with pytest.raises(ValueError, match="conv_matrix: input_length_or_shape"):
        sig.conv_matrix([1.0, 2.0], (1, 2, 3))
    with pytest.raises(ValueError, match=r"filter_image: .*\(2, 2, 2, 2\)"):
        sig.filter_image(np.ones((2, 2, 2, 2)), "blur")
    with pytest.raises(ValueError, match=r"filter_image: .*kernel.*\(3,\)"):
        sig.filter_image(np.ones((4, 4)), [1.0, 2.0, 3.0])
