"""3×3 convolutions by Winograd's minimal filtering F(2×2, 3×3): 2.25x fewer multiplications.

A 2×2 block of outputs of a 3×3 cross-correlation reads a 4×4 tile d of the (padded) input.
Winograd (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2015) writes it as

    y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A

with the 4×4 element-wise product ⊙ in place of 2·2·9 = 36 multiplications: 16. Summed over the
input channels c, the product for each of the 16 positions ξ of the tile is one matrix product

    M[ξ] (O, T) = U[ξ] (O, C) @ V[ξ] (C, T),    U = G g Gᵀ,  V = Bᵀ d B  for every tile t,

so a convolution becomes a weight transform (`weight_transform`), an input transform (`input_
transform`: every tile of every channel), 16 GEMMs with 4/9 of im2col's arithmetic (their
columns are the tiles, not the output pixels), and an output transform (`output_transform`:
each tile's 2×2 outputs). The matrices hold only 0, ±1 and ±½, so nothing is rounded that the
direct sum does not round as well: errors stay at float32's level (measured against float64 on
32, 64 and 256 channels: max |error| 0.6–0.85x the direct float32 sum's). F(4×4, 3×3) would
save more multiplications, but its constants (1/6, 1/24) made the error 9–10x the direct sum's,
past torch-equality.

    Bᵀ = [1  0 -1  0]     G = [ 1    0    0 ]     Aᵀ = [1  1  1  0]
         [0  1  1  0]         [ ½    ½    ½ ]          [0  1 -1 -1]
         [0 -1  1  0]         [ ½   -½    ½ ]
         [0  1  0 -1]         [ 0    0    1 ]

Images are (C, H, W, N) buffers as in `chainrule.backend.windows`: the batch is innermost, so
the compiled transforms take eight batch lanes at a time (`chainrule.backend.lanes`). Their
NumPy twins are the same additions on shifted views of a zero-padded copy, in the same order:
kernel and twin agree bit for bit. The tiles are (TH, TW) = (⌈OH/2⌉, ⌈OW/2⌉) per image, the last
row/column of tiles reading zeros past the padding and dropping the outputs past (OH, OW).

`applies` is the rule for when `Convolution` takes this path (float32, 3×3, stride 1, enough
channels and tiles for the 16 smaller GEMMs to pay), and `ConvInputGrad` too: x̄ of a stride-1
3×3 convolution is itself one, of ȳ with the flipped kernel (`conv.winograd_input_grad`).
Measured on an AMD EPYC, alternating in one process: ResNet-18's training step at 32² (batch
64) 0.92x, the wide CNN's 0.93x, the MNIST network's 1.00x (its input gradient alone 0.84x). A
training step's forward keeps im2col: its matrix is built for W̄ anyway, and taking Winograd
for y as well measured 0.97–1.06x on the same three steps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from chainrule.backend import jit
from chainrule.backend.buffers import empty
from chainrule.backend.lanes import add, gather, load, mul, splat, store, sub

if TYPE_CHECKING:
    from chainrule.ops.geometry import Pads, Window

#: fewest input and output channels. Measured alone on an AMD EPYC (2 threads, forward, against
#: im2col + GEMM), with the transforms vectorized: 16 → 16 and 16 → 32 0.82–0.91x, 32 → 64
#: 0.71–0.96x, 64 to 512 channels 0.58–0.91x; one input channel 16x and three 2x slower (the
#: 16 GEMMs of one or three rows cost more than the transforms save)
MIN_CHANNELS = 16
#: fewest tile columns T = TH·TW·N of the 16 GEMMs: ResNet's 512-channel 4² layers at batch 8
#: (T = 32) took 1.09x alone, where the weight transform (16·O·C values) costs as much as the
#: narrow GEMMs save; T = 128 (7² at batch 8) 0.86x. Inside ResNet-18's training step at 32²
#: (batch 64), as input gradients: 2² layers (T = 64) 1.01–1.31x, 4² (T = 256) 0.96–0.99x, 8²
#: 0.71x
MIN_TILES = 128
#: most multiplications of the 16 GEMMs (16 per tile: 16·TH·TW per image) against im2col's 9 per
#: output (9·OH·OW): 4/9 for even sizes, more for odd ones, whose last tiles compute outputs
#: past the edge (7²: 0.58; 5²: 0.64; 1²: 1.78, a 512-channel 1² input gradient 3.8x slower)
MAX_WORK = 0.6
#: values between the transformed arrays' 16 planes (`_planes`): planes a multiple of 4 KiB long
#: would start at the same offset in every cache way, and the transforms, which read or write
#: all 16 at once, would evict their own lines (the output transform of ResNet-18's 56² layers
#: at batch 8 on an AMD EPYC: 10.8 → 4.3 ms)
PLANE_PAD = 16


def applies(x_shape: tuple[int, ...], o: int, window: Window, dtype: np.dtype) -> bool:
    """Whether a convolution of an input of `x_shape` (N, C, H, W) into `o` channels takes the
    Winograd path: a 3×3 window, stride and dilation 1, padding at most 2 on every side,
    float32 (float64 keeps the direct sums: its tests compare to 1e-12), compiled kernels on,
    batches of 8 lanes, enough channels and tiles, and few outputs computed past the edge."""
    n, c, h, w = x_shape
    if window.kernel != (3, 3) or window.stride != (1, 1) or window.dilation != (1, 1):
        return False
    if dtype != np.float32 or max(window.padding) > 2 or not jit.enabled():
        return False
    oh, ow = window.out_shape(h, w)
    th, tw = -(-oh // 2), -(-ow // 2)
    return (min(c, o) >= MIN_CHANNELS and n % 8 == 0 and th * tw * n >= MIN_TILES
            and 16 * th * tw <= MAX_WORK * 9 * oh * ow)


def weight_transform(w: np.ndarray) -> np.ndarray:
    """U = G g Gᵀ for each (o, c): w (O, C, 3, 3) → U (16, O, C), U[4·r + s] = (G g Gᵀ)[r, s]."""
    o, c = w.shape[:2]
    u = np.empty((16, o, c), w.dtype)
    if jit.enabled_for(w) and (o * c) % 8 == 0:  # eight (o, c) pairs at a time
        _weight_kernel(np.ascontiguousarray(w).reshape(o * c, 9), u.reshape(16, -1, 8),
                       np.full(1, 0.5, w.dtype))
        return u

    def rows(a0: np.ndarray, a1: np.ndarray, a2: np.ndarray) -> list[np.ndarray]:
        return [a0, (a0 + a1 + a2) * 0.5, (a0 - a1 + a2) * 0.5, a2]

    taps = np.ascontiguousarray(w.transpose(2, 3, 0, 1))  # taps[i, j]: one (O, C) plane
    half = [rows(taps[0, j], taps[1, j], taps[2, j]) for j in range(3)]  # half[j][r]: (G g)[r, j]
    for r in range(4):
        for s, v in enumerate(rows(half[0][r], half[1][r], half[2][r])):
            u[4 * r + s] = v
    return u


def _planes(rows: int, tiles: tuple[int, int], n: int, dtype: np.dtype
            ) -> tuple[np.ndarray, np.ndarray]:
    """An uninitialised (16, rows, TH, TW, N) array of transformed tiles and the (16, S) buffer
    under it: each of the 16 planes starts `PLANE_PAD` values past the previous one's end. The
    kernels take the buffer, as C-contiguous (16, S/8, 8) lane blocks: the view's own reshape
    is not C-contiguous (the padding), and numba would compile it with run-time strides, which
    keep the lanes from vectorizing (a 56² layer at batch 8, alternating on an EPYC: 12.9–21.9
    ms with the buffer, 21.3–25.5 ms with the view)."""
    per = rows * tiles[0] * tiles[1] * n
    flat = empty((16, per + PLANE_PAD), dtype)
    return flat[:, :per].reshape(16, rows, *tiles, n), flat


def input_transform(x: np.ndarray, pads: Pads, tiles: tuple[int, int]
                    ) -> tuple[np.ndarray, np.ndarray] | None:
    """V = Bᵀ d B for every 4×4 tile d of x (C, H, W, N) padded by (t, b, l, r): (16, C, TH, TW,
    N), V[4·r + s, c, ty, tx] from the tile whose top-left corner is padded (2·ty, 2·tx); with
    the buffer under it (`_planes`).

    None where x holds an inf or a nan: the transforms would turn one inf into +inf and -inf
    in the same tile and so a nan in outputs where the direct sum gives ±inf.
    """
    c, h, w, n = x.shape
    th, tw = tiles
    v, flat = _planes(c, tiles, n, x.dtype)
    if jit.enabled_for(x) and n % 8 == 0:  # the kernel takes eight batch lanes at a time
        lanes = np.zeros(8, x.dtype)
        _input_kernel(x.reshape(c, h, w * n // 8, 8), pads[0], pads[2], n // 8, th, tw,
                      flat.reshape(16, -1, 8), lanes)
        return (v, flat) if np.isfinite(lanes).all() else None
    if not np.isfinite(x).all():
        return None
    t, l = pads[0], pads[2]
    xp = np.zeros((c, 2 * th + 2, 2 * tw + 2, n), x.dtype)  # zeros past the padding too
    hh, ww = min(h, 2 * th + 2 - t), min(w, 2 * tw + 2 - l)
    xp[:, t:t + hh, l:l + ww] = x[:, :hh, :ww]
    r = [xp[:, i:i + 2 * th:2] for i in range(4)]  # rows i of every tile: (C, TH, Wp, N)
    for a, row in enumerate(_bt(*r)):
        q = [row[:, :, j:j + 2 * tw:2] for j in range(4)]
        for s, val in enumerate(_bt(*q)):
            v[4 * a + s] = val
    return v, flat


def output_transform(m: np.ndarray, flat: np.ndarray, out: np.ndarray,
                     bias: np.ndarray | None = None) -> None:
    """out (O, OH, OW, N) = Aᵀ M A for every tile of m (16, O, TH, TW, N) (`flat`: the buffer
    under it, from `_planes`), plus bias (O,) if given (added after the sum, as the direct
    path's y += b)."""
    o, oh, ow, n = out.shape
    th, tw = m.shape[2:4]
    if jit.enabled_for(m, out) and n % 8 == 0 and out.flags.c_contiguous:
        _output_kernel(flat.reshape(16, -1, 8), th, tw, n // 8,
                       out.reshape(o, oh, ow * n // 8, 8),
                       bias if bias is not None else np.zeros(o, out.dtype), bias is not None)
        return
    mt = [[m[4 * r + s] for s in range(4)] for r in range(4)]
    u = [_at(*(mt[r][s] for r in range(4))) for s in range(4)]  # u[s][a]: (Aᵀ M)[a, s]
    full = np.empty((o, th, 2, tw, 2, n), m.dtype)
    for a in range(2):
        for b, val in enumerate(_at(*(u[s][a] for s in range(4)))):
            full[:, :, a, :, b] = val
    out[...] = full.reshape(o, 2 * th, 2 * tw, n)[:, :oh, :ow]
    if bias is not None:
        out += bias[:, None, None, None]


def _bt(d0: np.ndarray, d1: np.ndarray, d2: np.ndarray, d3: np.ndarray) -> list[np.ndarray]:
    """Bᵀ applied to the four rows (or columns) of a tile."""
    return [d0 - d2, d1 + d2, d2 - d1, d1 - d3]


def _at(m0: np.ndarray, m1: np.ndarray, m2: np.ndarray, m3: np.ndarray) -> list[np.ndarray]:
    """Aᵀ applied to the four rows (or columns) of a transformed tile."""
    return [m0 + m1 + m2, m1 - m2 - m3]


def conv3x3(x: np.ndarray, u: np.ndarray, pads: Pads, out_hw: tuple[int, int],
            bias: np.ndarray | None = None) -> np.ndarray | None:
    """y (O, OH, OW, N) of x (C, H, W, N) and U = `weight_transform`(w), padded by `pads`:
    input transform, the 16 GEMMs M[ξ] = U[ξ] V[ξ], output transform (+ bias). None where x is
    not finite (`input_transform`): the caller takes the direct path."""
    c, n = x.shape[0], x.shape[3]
    oh, ow = out_hw
    tiles = (-(-oh // 2), -(-ow // 2))
    vt = input_transform(x, pads, tiles)
    if vt is None:
        return None
    o, cols = u.shape[1], tiles[0] * tiles[1] * n
    m, m_flat = _planes(o, tiles, n, np.result_type(u, vt[0]))
    np.matmul(u, vt[1][:, :c * cols].reshape(16, c, cols), out=m_flat[:, :o * cols].reshape(
        16, o, cols))
    del vt
    y = empty((o, oh, ow, n), m.dtype)
    output_transform(m, m_flat, y, bias)
    return y


@jit.inline
def _g_rows(a0, a1, a2, half):
    """G applied to three rows (or columns) of a kernel: the twin's `rows`."""
    return a0, mul(add(add(a0, a1), a2), half), mul(add(sub(a0, a1), a2), half), a2


@jit.lane_kernel
def _weight_kernel(w, u, half):
    """U[4r + s, p] = (G g Gᵀ)[r, s] for the kernel g = w[p] (3×3, as 9 values) of each (o, c)
    pair p, for w (O·C, 9) and u (16, O·C/8, 8): eight pairs at a time, G over the rows first,
    then over the columns, as the twin does."""
    h = splat(half[0])
    for p in range(u.shape[1]):
        c0 = _g_rows(gather(w, p, 0), gather(w, p, 3), gather(w, p, 6), h)  # column 0 of G g
        c1 = _g_rows(gather(w, p, 1), gather(w, p, 4), gather(w, p, 7), h)
        c2 = _g_rows(gather(w, p, 2), gather(w, p, 5), gather(w, p, 8), h)
        for r in range(4):
            u0, u1, u2, u3 = _g_rows(c0[r], c1[r], c2[r], h)
            store(u[4 * r], p, u0)
            store(u[4 * r + 1], p, u1)
            store(u[4 * r + 2], p, u2)
            store(u[4 * r + 3], p, u3)


@jit.lane_kernel
def _input_kernel(x, t, l, nb, th, tw, v, finite):
    """V[4a + s, c, ty, tx] = (Bᵀ d B)[a, s] for the tile d = x_pad[c, 2ty:2ty+4, 2tx:2tx+4] (zeros
    outside x), for x (C, H, W·nb, 8) and v (16, rows, 8): the batch as nb blocks of 8 lanes,
    block j = column·nb + b. Per channel and row of tiles, Bᵀ first combines the tile's four
    input rows at every column (into `rows`), then B combines four columns of those per tile:
    the twin's two steps, each value computed once per row of tiles. `finite` (eight zeros of
    x's dtype) comes back non-finite where an input is: each lane adds d·0 for every input d, a
    nan for an inf or a nan."""
    c_, h, wn = x.shape[0], x.shape[1], x.shape[2]
    zero = splat(finite[0])
    bad = zero
    rows = np.zeros((4, (2 * tw + 2) * nb, 8), x.dtype)  # columns outside x stay zero
    none = np.zeros((wn, 8), x.dtype)  # a row above or below x
    cols = min(wn, rows.shape[1] - l * nb)  # the blocks of x that some tile reads
    for c in range(c_):
        for ty in range(th):
            y0 = 2 * ty - t
            x0 = x[c, y0] if 0 <= y0 < h else none
            x1 = x[c, y0 + 1] if 0 <= y0 + 1 < h else none
            x2 = x[c, y0 + 2] if 0 <= y0 + 2 < h else none
            x3 = x[c, y0 + 3] if 0 <= y0 + 3 < h else none
            for j in range(cols):
                d0, d1, d2, d3 = load(x0, j), load(x1, j), load(x2, j), load(x3, j)
                bad = add(add(bad, mul(d0, zero)), mul(d1, zero))
                bad = add(add(bad, mul(d2, zero)), mul(d3, zero))
                q = j + l * nb
                store(rows[0], q, sub(d0, d2))
                store(rows[1], q, add(d1, d2))
                store(rows[2], q, sub(d2, d1))
                store(rows[3], q, sub(d1, d3))
            base = (c * th + ty) * tw * nb
            for a in range(4):
                ra, va0, va1, va2, va3 = rows[a], v[4 * a], v[4 * a + 1], v[4 * a + 2], \
                    v[4 * a + 3]
                for tx in range(tw):
                    for b in range(nb):
                        q = 2 * tx * nb + b
                        e0, e1 = load(ra, q), load(ra, q + nb)
                        e2, e3 = load(ra, q + 2 * nb), load(ra, q + 3 * nb)
                        k = base + tx * nb + b
                        store(va0, k, sub(e0, e2))
                        store(va1, k, add(e1, e2))
                        store(va2, k, sub(e2, e1))
                        store(va3, k, sub(e1, e3))
    for i in range(8):
        finite[i] += bad[i]


@jit.lane_kernel
def _output_kernel(m, th, tw, nb, out, bias, has_bias):
    """out[o, 2ty + a, 2tx + b] = (Aᵀ M A)[a, b] (+ bias[o]) for the tile M = m[:, o, ty, tx], for
    m (16, rows, 8) and out (O, OH, OW·nb, 8) (the batch as nb blocks of 8 lanes), the outputs
    past out's edge dropped: Aᵀ over the tile's rows, then A over its columns, as the twin sums
    them."""
    o_, oh = out.shape[0], out.shape[1]
    ow = out.shape[2] // nb
    m0, m1, m2, m3, m4, m5, m6, m7 = m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7]
    m8, m9, m10, m11, m12, m13, m14, m15 = m[8], m[9], m[10], m[11], m[12], m[13], m[14], m[15]
    for o in range(o_):
        bo = splat(bias[o])
        for ty in range(th):
            y0 = 2 * ty
            row1 = y0 + 1 < oh
            out0, out1 = out[o, y0], out[o, min(y0 + 1, oh - 1)]
            base = (o * th + ty) * tw * nb
            for tx in range(tw):
                col1 = 2 * tx + 1 < ow
                for b in range(nb):
                    j = base + tx * nb + b
                    # (Aᵀ M)[a, s] for the four columns s
                    u00 = add(add(load(m0, j), load(m4, j)), load(m8, j))
                    u01 = add(add(load(m1, j), load(m5, j)), load(m9, j))
                    u02 = add(add(load(m2, j), load(m6, j)), load(m10, j))
                    u03 = add(add(load(m3, j), load(m7, j)), load(m11, j))
                    u10 = sub(sub(load(m4, j), load(m8, j)), load(m12, j))
                    u11 = sub(sub(load(m5, j), load(m9, j)), load(m13, j))
                    u12 = sub(sub(load(m6, j), load(m10, j)), load(m14, j))
                    u13 = sub(sub(load(m7, j), load(m11, j)), load(m15, j))
                    y00 = add(add(u00, u01), u02)
                    y01 = sub(sub(u01, u02), u03)
                    y10 = add(add(u10, u11), u12)
                    y11 = sub(sub(u11, u12), u13)
                    if has_bias:
                        y00, y01, y10, y11 = add(y00, bo), add(y01, bo), add(y10, bo), add(y11, bo)
                    k = 2 * tx * nb + b
                    store(out0, k, y00)
                    if col1:
                        store(out0, k + nb, y01)
                    if row1:
                        store(out1, k, y10)
                        if col1:
                            store(out1, k + nb, y11)
