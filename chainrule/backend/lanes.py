"""Lanes of eight values, for the compiled kernels whose contiguous runs are short.

A (C, H, W, N) buffer at batch N = 8 has runs of eight values: one AVX2 vector of float32. numba
vectorizes only long contiguous loops by default (LLVM's loop vectorizer); a loop over 8 lanes is
unrolled into eight scalar operations instead. LLVM's SLP vectorizer turns eight scalar
operations on neighbouring addresses back into one vector operation, but only where all eight
loads come before any store (numba cannot tell LLVM that two arrays do not overlap) and the
addresses are provable neighbours (a constant last index). These helpers are written that way: a
lane block is a tuple of eight values, row i of a (rows, 8) view of a buffer. Kernels that use
them are `jit.lane_kernel`s (compiled with the SLP vectorizer on) and import them by name; each
helper is inlined into its caller (`jit.inline`).

In plain Python they are what they say, lane by lane; the kernels' NumPy twins do not use them.
numba's on-disk cache keys each kernel by its own file only: after editing this file, delete
the ``__pycache__/*.nbi`` and ``*.nbc`` files of the modules that use it.
"""

from __future__ import annotations

from chainrule.backend import jit


@jit.inline
def load(a, i):
    """Row i of a (rows, 8) array: one lane block, as a tuple of 8 values."""
    return (a[i, 0], a[i, 1], a[i, 2], a[i, 3], a[i, 4], a[i, 5], a[i, 6], a[i, 7])


@jit.inline
def store(a, i, v):
    """a[i, :] = the 8 values of v."""
    a[i, 0], a[i, 1], a[i, 2], a[i, 3] = v[0], v[1], v[2], v[3]
    a[i, 4], a[i, 5], a[i, 6], a[i, 7] = v[4], v[5], v[6], v[7]


@jit.inline
def gather(a, p, k):
    """Column k of rows 8p … 8p + 7 of a: one lane block, as a tuple of 8 values."""
    i = 8 * p
    return (a[i, k], a[i + 1, k], a[i + 2, k], a[i + 3, k], a[i + 4, k], a[i + 5, k],
            a[i + 6, k], a[i + 7, k])


@jit.inline
def splat(s):
    """Eight lanes of the value s."""
    return (s, s, s, s, s, s, s, s)


@jit.inline
def add(p, q):
    """p + q, lane by lane."""
    return (p[0] + q[0], p[1] + q[1], p[2] + q[2], p[3] + q[3],
            p[4] + q[4], p[5] + q[5], p[6] + q[6], p[7] + q[7])


@jit.inline
def sub(p, q):
    """p - q, lane by lane."""
    return (p[0] - q[0], p[1] - q[1], p[2] - q[2], p[3] - q[3],
            p[4] - q[4], p[5] - q[5], p[6] - q[6], p[7] - q[7])


@jit.inline
def mul(p, q):
    """p · q, lane by lane."""
    return (p[0] * q[0], p[1] * q[1], p[2] * q[2], p[3] * q[3],
            p[4] * q[4], p[5] * q[5], p[6] * q[6], p[7] * q[7])


@jit.inline
def takes(v, m):
    """Lane by lane, whether v replaces the running maximum m: v > m, or v is a NaN (no short
    circuit: no branch)."""
    return ((v[0] > m[0]) | (v[0] != v[0]), (v[1] > m[1]) | (v[1] != v[1]),
            (v[2] > m[2]) | (v[2] != v[2]), (v[3] > m[3]) | (v[3] != v[3]),
            (v[4] > m[4]) | (v[4] != v[4]), (v[5] > m[5]) | (v[5] != v[5]),
            (v[6] > m[6]) | (v[6] != v[6]), (v[7] > m[7]) | (v[7] != v[7]))


@jit.inline
def where(t, a, b):
    """a where t, else b, lane by lane."""
    return (a[0] if t[0] else b[0], a[1] if t[1] else b[1], a[2] if t[2] else b[2],
            a[3] if t[3] else b[3], a[4] if t[4] else b[4], a[5] if t[5] else b[5],
            a[6] if t[6] else b[6], a[7] if t[7] else b[7])
