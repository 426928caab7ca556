"""Matrix products shaped for OpenBLAS: a convolution's GEMMs are very wide and very short.

NumPy twins: `matmul_wide(a, b)` is ``a @ b``; `matmul_nt_wide(a, b)` is ``a @ b.T`` (in C
order). OpenBLAS is several times slower on one (6, 25) @ (25, 100 000) product than on 25
products of 4 096 columns each, and computes a sum over a long inner dimension faster as (b aᵀ)ᵀ.
"""

from __future__ import annotations

import numpy as np

from chainrule.backend.buffers import empty

#: GEMMs whose small side (rows × inner dim) is at most this run in column blocks of _BLOCK
_SMALL_GEMM, _BLOCK = 256, 4096
#: `matmul_nt_wide` results with at least this many entries are computed in C order directly
_DIRECT_NT = 1 << 19


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
    """a (P, M) @ b (Q, M)ᵀ for wide a and b (a sum over M), as a C-ordered (P, Q) array.

    A small result is computed as (b aᵀ)ᵀ and copied into C order (the copy is cheap, the
    product 1.2–2x faster on OpenBLAS); a large one (≥ `_DIRECT_NT` entries) directly, since
    transposing 512 × 4 608 entries back costs half as much again as the product.
    """
    p, q = a.shape[0], b.shape[0]
    m = a.shape[1]
    out = empty((p, q), np.result_type(a, b))
    if p * q >= _DIRECT_NT:
        return np.matmul(a, b.T, out=out)
    if p * q > _SMALL_GEMM or m <= 2 * _BLOCK:
        np.copyto(out, (b @ a.T).T)
        return out
    acc = b[:, :_BLOCK] @ a[:, :_BLOCK].T
    for s in range(_BLOCK, m, _BLOCK):
        acc += b[:, s:s + _BLOCK] @ a[:, s:s + _BLOCK].T
    np.copyto(out, acc.T)
    return out
