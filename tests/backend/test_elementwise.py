"""chainrule.backend.elementwise: relu and gate against their NumPy twins, bit for bit.

gate(x, m) must equal ``x * (m > 0).astype(x.dtype)`` exactly, including the IEEE corner cases
of multiplying by 0: NaN · 0 = NaN, ±∞ · 0 = NaN, −x · 0 = −0.0, and −0.0 · 1 = −0.0 (signbit
compared separately, since −0.0 == 0.0). Both the NumPy path and the compiled kernel run, on
C-ordered and transposed layouts.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chainrule.backend.buffers import memory_order
from chainrule.backend import elementwise
from chainrule.backend.elementwise import gate, relu, relu_

# every test runs on the NumPy path and on the compiled kernels; ±∞ · 0 = NaN warns in NumPy
pytestmark = [pytest.mark.usefixtures("jit_mode"),
              pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")]

SPECIAL = [np.nan, np.inf, -np.inf, -0.0, 0.0, 1.0, -1.0, 2.5, -2.5, 1e-310, -1e-310]

LAYOUTS = {
    "c_order": lambda a: a,
    "transposed": lambda a: np.ascontiguousarray(a.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2),
    "reversed": lambda a: np.ascontiguousarray(a.T).T,
    "strided": lambda a: np.repeat(a, 2, axis=3)[..., ::2],  # not one dense block
}


def _special(rng: np.random.Generator, shape: tuple[int, ...], dtype) -> np.ndarray:
    """Random normals with the IEEE corner cases sprinkled in."""
    a = rng.standard_normal(shape)
    pick = rng.random(shape) < 0.5
    a[pick] = rng.choice(SPECIAL, size=int(pick.sum()))
    return a.astype(dtype)


def _layout(a: np.ndarray) -> tuple[int, ...]:
    """memory_order without the axes of length 1 (their strides say nothing)."""
    return tuple(i for i in memory_order(a) if a.shape[i] > 1)


def _assert_bits_equal(out: np.ndarray, ref: np.ndarray, nan_signs: bool = True) -> None:
    """Equal values, zeros' signs and NaNs; the NaNs' signs too unless `nan_signs` is False
    (where two NaNs meet, x86 keeps the first operand's, and LLVM may swap a product's)."""
    assert out.dtype == ref.dtype and out.shape == ref.shape
    np.testing.assert_array_equal(out, ref)
    nan = np.isnan(ref)
    np.testing.assert_array_equal(np.isnan(out), nan)
    keep = slice(None) if nan_signs else ~nan
    np.testing.assert_array_equal(np.signbit(out)[keep], np.signbit(ref)[keep])


@pytest.mark.parametrize("x_layout", list(LAYOUTS))
@given(shape=st.tuples(*[st.integers(1, 4)] * 4), seed=st.integers(0, 2**16),
       dtype=st.sampled_from([np.float32, np.float64]),
       m_layout=st.sampled_from(["c_order", "transposed", "same_as_x"]))
def test_gate_equals_multiplying_by_the_cast_mask(x_layout, shape, seed, dtype, m_layout):
    m_layout = x_layout if m_layout == "same_as_x" else m_layout
    rng = np.random.default_rng(seed)
    x = LAYOUTS[x_layout](_special(rng, shape, dtype))
    m = LAYOUTS[m_layout](_special(rng, shape, dtype))
    out = gate(x, m)
    _assert_bits_equal(out, x * (m > 0).astype(x.dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gate_every_pair_of_special_values(dtype):
    """Every x in SPECIAL against every m in SPECIAL, large enough for the buffer cache."""
    xs, ms = np.meshgrid(np.array(SPECIAL, dtype), np.array(SPECIAL, dtype), indexing="ij")
    x, m = np.tile(xs, (40, 30)), np.tile(ms, (40, 30))  # 440 × 330: over 128 KiB
    for xx, mm in ((x, m), (x.T, m.T), (np.asfortranarray(x), np.asfortranarray(m))):
        _assert_bits_equal(gate(xx, mm), xx * (mm > 0).astype(xx.dtype))


def test_gate_keeps_the_layout_of_x_and_accepts_a_bool_mask():
    rng = np.random.default_rng(4)
    x = LAYOUTS["transposed"](_special(rng, (3, 2, 4, 5), np.float32))
    m = LAYOUTS["transposed"](_special(rng, (3, 2, 4, 5), np.float32))
    out = gate(x, m)
    assert memory_order(out) == memory_order(x) == (1, 2, 3, 0)
    mask = m > 0
    _assert_bits_equal(gate(x, mask), x * mask.astype(x.dtype))


def test_gate_of_a_mixed_dtype_mask():
    rng = np.random.default_rng(5)
    x = _special(rng, (4, 6), np.float32)
    m = _special(rng, (4, 6), np.float64)
    _assert_bits_equal(gate(x, m), x * (m > 0).astype(x.dtype))


@pytest.mark.parametrize("layout", list(LAYOUTS))
@given(shape=st.tuples(*[st.integers(1, 4)] * 4), seed=st.integers(0, 2**16),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_relu_equals_np_maximum_and_keeps_the_layout(layout, shape, seed, dtype):
    z = LAYOUTS[layout](_special(np.random.default_rng(seed), shape, dtype))
    out = relu(z)
    _assert_bits_equal(out, np.maximum(z, 0))
    assert _layout(out) == _layout(z), (memory_order(out), memory_order(z), z.strides)


def test_relu_of_a_large_batch_last_buffer_stays_batch_last():
    z = np.random.default_rng(6).standard_normal((6, 28, 28, 64)).astype(np.float32)
    z = z.transpose(3, 0, 1, 2)  # (N, C, H, W) view of (C, H, W, N): over the cache minimum
    out = relu(z)
    assert memory_order(out) == (1, 2, 3, 0)
    _assert_bits_equal(out, np.maximum(z, 0))


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_and_relu_in_place_of_special_values_over_the_kernels_minimum(layout, dtype):
    """NaN stays NaN, −0.0 and negatives become +0.0, as np.maximum gives them, on arrays
    large enough (over 128 KiB) for the compiled kernels, out of place and in place."""
    z = LAYOUTS[layout](_special(np.random.default_rng(9), (6, 20, 20, 40), dtype))
    want = np.maximum(z, 0)
    _assert_bits_equal(relu(z), want)
    relu_(z)
    _assert_bits_equal(z, want)


def test_relu_of_integers():
    z = np.array([[-2, 0, 3]], np.int64)
    np.testing.assert_array_equal(relu(z), np.maximum(z, 0))
    assert relu(z).dtype == np.int64


def test_gate_and_relu_of_float16(jit_mode):
    """float16 is a chainrule dtype: numba compiles none, so the compiled path falls back to
    NumPy for it (it used to raise NotImplementedError)."""
    rng = np.random.default_rng(8)
    x, m = _special(rng, (3, 5), np.float16), _special(rng, (3, 5), np.float16)
    _assert_bits_equal(relu(x), np.maximum(x, 0))
    _assert_bits_equal(gate(x, m), x * (m > 0).astype(x.dtype))


@pytest.mark.parametrize("name, twin", [("add", np.add), ("sub", np.subtract),
                                        ("mul", np.multiply)])
@pytest.mark.parametrize("a_shape, b_shape", [((64, 32, 8, 8), (64, 32, 8, 8)),
                                              ((64, 32, 8, 8), (1, 32, 1, 1)),
                                              ((1, 32, 1, 1), (64, 32, 8, 8)),
                                              ((3, 4), (3, 4))])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binary_ops_equal_numpy_and_keep_the_layout(name, twin, a_shape, b_shape, dtype):
    rng = np.random.default_rng(0)
    a = rng.standard_normal(a_shape).astype(dtype)
    b = rng.standard_normal(b_shape).astype(dtype)
    if a.ndim == 4 and a.shape[0] > 1:  # a conv layer's batch-last buffer
        a = np.ascontiguousarray(a.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)
    out = getattr(elementwise, name)(a, b)
    np.testing.assert_array_equal(out, twin(a, b))
    assert out.dtype == twin(a, b).dtype
    big = a if a.shape == out.shape else b
    assert memory_order(out) == memory_order(big)


def test_binary_ops_leave_mixed_dtypes_to_numpy():
    a, b = np.ones((600, 600), np.float32), np.ones((600, 600), np.float64)
    assert elementwise.add(a, b).dtype == np.float64
    i = np.ones((600, 600), np.int64)
    assert elementwise.mul(i, i).dtype == np.int64


@pytest.mark.parametrize("with_s, with_t", [(True, True), (True, False), (False, True),
                                            (False, False)])
def test_affine_equals_x_times_s_plus_t_in_a_new_array(with_s, with_t):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 32, 8, 8)).astype(np.float32)
    s = rng.standard_normal((1, 32, 1, 1)).astype(np.float32) if with_s else None
    t = rng.standard_normal((1, 32, 1, 1)).astype(np.float32) if with_t else None
    expected = x * (1 if s is None else s) + (0 if t is None else t)
    out = elementwise.affine(x, s, t)
    np.testing.assert_array_equal(out, expected)
    assert not np.shares_memory(out, x)


@pytest.mark.parametrize("layout", list(LAYOUTS) + ["2d", "2d_fortran"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_affine_per_channel_is_bit_equal_to_numpy_and_keeps_the_layout(layout, dtype):
    """The compiled one-pass path (large enough for the buffer cache, per-channel s and t; a
    BatchNorm1d input is (N, C)) against x · s + t in NumPy, special values included."""
    rng = np.random.default_rng(2)
    if layout.startswith("2d"):
        x = _special(rng, (4096, 64), dtype)
        x = np.asfortranarray(x) if layout == "2d_fortran" else x
    else:
        x = LAYOUTS[layout](_special(rng, (64, 32, 8, 8), dtype))
    per_channel = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    s, t = _special(rng, per_channel, dtype), _special(rng, per_channel, dtype)
    out = elementwise.affine(x, s, t)
    _assert_bits_equal(out, x * s + t)
    if layout != "strided":
        assert memory_order(out) == memory_order(x)


@pytest.mark.parametrize("layout", list(LAYOUTS) + ["2d", "mixed"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batch_norm_input_grad_is_bit_equal_to_numpy_and_keeps_the_layout(layout, dtype):
    """The compiled one-pass x̄ against scale · (ȳ − mean ȳ − x̂ · mean ȳx̂), x̂ = (x − μ) · r, in
    NumPy, special values included; ȳ and x in another layout each ("mixed") take the NumPy
    expression."""
    rng = np.random.default_rng(3)
    if layout == "2d":
        g, x = _special(rng, (4096, 64), dtype), _special(rng, (4096, 64), dtype)
    else:
        shape = (64, 32, 8, 8)
        lay = LAYOUTS["transposed" if layout == "mixed" else layout]
        g, x = lay(_special(rng, shape, dtype)), _special(rng, shape, dtype)
        x = x if layout == "mixed" else lay(x)
    per_channel = (1, g.shape[1]) + (1,) * (g.ndim - 2)
    mean, rstd, scale, g_mean, gx_mean = (_special(rng, per_channel, dtype) for _ in range(5))
    out = elementwise.batch_norm_input_grad(g, x, mean, rstd, scale, g_mean, gx_mean)
    # μ and r are special values too: NaNs meet NaNs, whose sign no NumPy op promises
    _assert_bits_equal(out, scale * (g - g_mean - ((x - mean) * rstd) * gx_mean), nan_signs=False)
    if layout not in ("strided", "mixed"):
        assert memory_order(out) == memory_order(g)


def _batch_norm_twin(x, eps, gamma, beta):
    axes = tuple(i for i in range(x.ndim) if i != 1)
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) * (x - mean)).mean(axis=axes, keepdims=True)
    rstd = 1 / np.sqrt(var + eps)
    xhat = (x - mean) * rstd
    y = xhat.copy() if gamma is None else xhat * gamma + beta
    return y, mean, var, rstd


@pytest.mark.parametrize("layout", list(LAYOUTS) + ["2d"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_forward_equals_numpy_and_keeps_the_layout(layout, dtype, affine):
    """Training-mode batch norm against the NumPy expression: μ exactly (both take NumPy's
    mean), σ² to a few ulps (the kernel sums (x − μ)² in float32 blocks and float64), and x̂
    and y bit for bit once given the same σ² (the kernel's expression is the twin's). A mean
    far from zero checks that nothing cancels."""
    rng = np.random.default_rng(5)
    shape = (4096, 64) if layout == "2d" else (64, 32, 8, 8)
    x = rng.standard_normal(shape) * 3 + 40
    x = (x if layout == "2d" else LAYOUTS[layout](x)).astype(dtype)
    per_channel = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    gamma = rng.standard_normal(per_channel).astype(dtype) if affine else None
    beta = rng.standard_normal(per_channel).astype(dtype) if affine else None
    y, mean, var, rstd = elementwise.batch_norm_forward(x, 1e-5, gamma, beta)
    w = _batch_norm_twin(x, 1e-5, gamma, beta)
    np.testing.assert_array_equal(mean, w[1])
    exact = np.var(x.astype(np.float64), axis=tuple(i for i in range(x.ndim) if i != 1),
                   keepdims=True)
    # as close to the exact variance as the twin's (both subtract the rounded μ in x's dtype)
    twin_error = np.abs(w[2] - exact).max()
    assert np.abs(var - exact).max() <= max(2 * twin_error, 4 * np.finfo(dtype).eps * exact.max())
    # given the kernel's σ², y is the twin's expression exactly
    _assert_bits_equal(rstd, 1 / np.sqrt(var + 1e-5))
    xhat = (x - mean) * rstd  # as the backward recomputes it
    _assert_bits_equal(y, xhat if gamma is None else xhat * gamma + beta)
    assert not np.shares_memory(y, x)
    if layout != "strided":
        assert memory_order(y) == memory_order(x)


@pytest.mark.parametrize("layout", list(LAYOUTS) + ["2d", "mixed"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batch_norm_grad_sums_equal_numpy(layout, dtype):
    """β̄ = Σ ȳ and γ̄ = Σ ȳ·x̂ per channel, x̂ = (x − μ) · r, against NumPy's sums, as close to
    the exact (float64) sums as NumPy's own; ȳ and x in different layouts ("mixed") take
    NumPy's path."""
    rng = np.random.default_rng(6)
    if layout == "2d":
        g, x = rng.standard_normal((4096, 64)), rng.standard_normal((4096, 64)) * 2 + 5
    else:
        shape = (64, 32, 8, 8)
        lay = LAYOUTS["transposed" if layout == "mixed" else layout]
        g, x = lay(rng.standard_normal(shape) + 3), rng.standard_normal(shape) * 2 + 5
        x = x if layout == "mixed" else lay(x)
    g, x = g.astype(dtype), x.astype(dtype)
    axes = tuple(i for i in range(g.ndim) if i != 1)
    per_channel = (1, g.shape[1]) + (1,) * (g.ndim - 2)
    mean = (5 + rng.standard_normal(per_channel) * 0.1).astype(dtype)
    rstd = (0.5 + rng.random(per_channel)).astype(dtype)
    got = elementwise.batch_norm_grad_sums(g, x, mean, rstd)
    xhat = (x - mean) * rstd  # rounded as in the forward pass
    twin = (g.sum(axis=axes, keepdims=True), (g * xhat).sum(axis=axes, keepdims=True))
    exact = (g.astype(np.float64).sum(axis=axes, keepdims=True),
             (g.astype(np.float64) * xhat).sum(axis=axes, keepdims=True))
    for a, t, e in zip(got, twin, exact, strict=True):
        assert a.dtype == dtype and a.shape == t.shape
        scale = np.abs(g).sum(axis=axes, keepdims=True).max() * np.abs(xhat).max()
        assert np.abs(a - e).max() <= max(2 * np.abs(t - e).max(), 4 * np.finfo(dtype).eps * scale)
    if layout == "mixed":
        for a, t in zip(got, twin, strict=True):
            np.testing.assert_array_equal(a, t)
