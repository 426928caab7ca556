"""Matrix products shaped for OpenBLAS: a convolution's GEMMs are very wide and very short.

NumPy twins: `matmul_wide(a, b)` is ``a @ b``; `matmul_nt_wide(a, b)` is ``a @ b.T``. OpenBLAS
is several times slower on one (6, 25) @ (25, 100 000) product than on 25 products of 4 096
columns each, and computes a sum over a long inner dimension faster as (b aᵀ)ᵀ.
"""

from __future__ import annotations

import numpy as np

from chainrule.backend.buffers import empty

#: GEMMs whose small side (rows × inner dim) is at most this run in column blocks of _BLOCK
_SMALL_GEMM, _BLOCK = 256, 4096


def matmul_wide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a (P, K) @ b (K, M) for a small a and a wide b, into a fresh (P, M) array."""
    out = empty((a.shape[0], b.shape[1]), np.result_type(a, b))
    m = b.shape[1]
    if a.size > _SMALL_GEMM or m <= 2 * _BLOCK:
        return np.matmul(a, b, out=out)
    for s in range(0, m, _BLOCK):
        np.matmul(a, b[:, s:s + _BLOCK], out=out[:, s:s + _BLOCK])
    return out


def matmul_nt_wide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a (P, M) @ b (Q, M)ᵀ for wide a and b (a sum over M)."""
    m = a.shape[1]
    if a.shape[0] * b.shape[0] > _SMALL_GEMM or m <= 2 * _BLOCK:
        return (b @ a.T).T
    out = b[:, :_BLOCK] @ a[:, :_BLOCK].T
    for s in range(_BLOCK, m, _BLOCK):
        out += b[:, s:s + _BLOCK] @ a[:, s:s + _BLOCK].T
    return out.T
