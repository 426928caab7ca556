"""chainrule.backend.gemm: the column-blocked products equal a @ b and a @ b.T.

The blocked path runs when the small side (rows × inner dimension, or rows × rows) has at most
256 entries and there are more than 2 · 4096 columns; shapes on both sides of each threshold,
and column counts that are not a multiple of the block, are checked.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

from chainrule.backend import gemm
from chainrule.backend.gemm import matmul_nt_wide, matmul_wide

BLOCK = gemm._BLOCK
WIDE = [2 * BLOCK + 1, 3 * BLOCK, 3 * BLOCK + 123]   # blocked when the small side is small
NARROW = [1, 7, BLOCK, 2 * BLOCK]                    # never blocked


@pytest.fixture(autouse=True)
def _one_blas_thread():
    """These tall-thin products take OpenBLAS seconds on an oversubscribed pool and
    milliseconds on one thread; results do not depend on it. Restored afterwards."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        limits = contextlib.nullcontext()
    else:
        limits = threadpool_limits(1, user_api="blas")
    with limits:
        yield


def _mm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b computed as (bᵀ aᵀ)ᵀ: OpenBLAS takes seconds on (6, M) @ (M, 25) for large M."""
    return (b.T @ a.T).T


def _close(out: np.ndarray, a: np.ndarray, b: np.ndarray) -> None:
    """out == a @ b up to rounding: compared with the float64 product, to a few units of
    the dtype's precision times |a| @ |b| (any other summation order is fine; a missing or
    doubled column block is off by far more)."""
    assert out.shape == (a.shape[0], b.shape[1]) and out.dtype == np.result_type(a, b)
    exact = _mm(a.astype(np.float64), b.astype(np.float64))
    scale = _mm(np.abs(a).astype(np.float64), np.abs(b).astype(np.float64))
    eps = 1e-12 if out.dtype == np.float64 else 2e-5
    bad = np.abs(out - exact) > eps * scale
    assert not bad.any(), (f"{bad.sum()} of {bad.size} entries off: max error "
                           f"{np.abs(out - exact).max()}, scale {scale.max()}")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("p, k, m", [(6, 25, c) for c in WIDE + NARROW]
                         + [(16, 16, WIDE[0]), (17, 16, WIDE[0]), (3, 200, 50)])
def test_matmul_wide_equals_a_at_b(dtype, p, k, m):
    rng = np.random.default_rng(p * 1000 + m)
    a, b = rng.standard_normal((p, k)).astype(dtype), rng.standard_normal((k, m)).astype(dtype)
    _close(matmul_wide(a, b), a, b)


def test_matmul_wide_takes_the_blocked_path_and_fills_every_column():
    a = np.arange(6, dtype=np.float64).reshape(2, 3)   # 6 entries: small
    b = np.ones((3, 2 * BLOCK + 7))
    assert a.size <= gemm._SMALL_GEMM and b.shape[1] > 2 * BLOCK
    out = matmul_wide(a, b)
    np.testing.assert_array_equal(out, np.tile([[3.0], [12.0]], (1, b.shape[1])))


def test_matmul_wide_of_a_non_contiguous_b():
    rng = np.random.default_rng(7)
    a = rng.standard_normal((4, 5))
    b = rng.standard_normal((2 * BLOCK + 99, 5)).T   # an F-ordered (5, M) view
    _close(matmul_wide(a, b), a, b)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("p, q, m", [(6, 25, c) for c in WIDE + NARROW]
                         + [(16, 16, WIDE[0]), (16, 17, WIDE[0]), (1, 1, WIDE[1])])
def test_matmul_nt_wide_equals_a_at_b_transposed(dtype, p, q, m):
    rng = np.random.default_rng(p * 1000 + q + m)
    a, b = rng.standard_normal((p, m)).astype(dtype), rng.standard_normal((q, m)).astype(dtype)
    _close(matmul_nt_wide(a, b), a, b.T)


def test_matmul_nt_wide_sums_every_column_block():
    a = np.ones((2, 3 * BLOCK + 5))
    b = np.full((3, 3 * BLOCK + 5), 2.0)
    np.testing.assert_array_equal(matmul_nt_wide(a, b), np.full((2, 3), 2.0 * a.shape[1]))


@pytest.mark.parametrize("p, q, m", [(6, 25, WIDE[0]), (16, 150, 300), (512, 1024, 64)])
def test_matmul_nt_wide_returns_c_order(p, q, m):
    """Its result becomes a weight's `.grad`: C order, as the weight (each of its three paths:
    blocked, transposed product, direct product)."""
    rng = np.random.default_rng(p + q + m)
    a = rng.standard_normal((p, m)).astype(np.float32)
    b = rng.standard_normal((q, m)).astype(np.float32)
    out = matmul_nt_wide(a, b)
    assert out.flags.c_contiguous
    _close(out, a, b.T)
