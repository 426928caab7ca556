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
the compiled transforms (`chainrule.backend.jit`) work on whole batch lanes at a time. Their
NumPy twins are the same additions on shifted views of a zero-padded copy, in the same order:
kernel and twin agree bit for bit. The tiles are (TH, TW) = (⌈OH/2⌉, ⌈OW/2⌉) per image, the last
row/column of tiles reading zeros past the padding and dropping the outputs past (OH, OW).

`applies` is the rule for when `Convolution` takes this path (float32, 3×3, stride 1, enough
channels and tiles for the 16 smaller GEMMs to pay). A training step's input gradient, itself a
3×3 convolution of ȳ with the flipped kernel, was tried on this path and dropped: ResNet-18's
64-channel 8² layers at batch 64 took 2.19 against 3.22 ms alone, but 4.04 against 2.83 ms
inside a step, where its transforms ran at half their speed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from chainrule.backend import jit
from chainrule.backend.buffers import empty

if TYPE_CHECKING:
    from chainrule.ops.geometry import Pads, Window

#: fewest input and output channels. Measured alone (2 threads, against im2col + GEMM): 64 and
#: 128 channels 0.68–0.93x; 32 → 64 (the MNIST net's and wide CNN's second convolutions)
#: 0.87–1.0x forward, and 64 → 32 1.5–1.65x as an input gradient, where the transformed
#: arrays (four times the image) cost more memory traffic than the 16 narrower GEMMs save
MIN_CHANNELS = 64
#: fewest tile columns T = TH·TW·N of the 16 GEMMs: with fewer (ResNet's 14² and 7² stages at
#: batch 8) the GEMMs are too narrow, and the weight transform (16·O·C) costs as much as it saves
MIN_TILES = 512


def applies(x_shape: tuple[int, ...], o: int, window: Window, dtype: np.dtype) -> bool:
    """Whether a convolution of an input of `x_shape` (N, C, H, W) into `o` channels takes the
    Winograd path: a 3×3 window, stride and dilation 1, padding at most 2 on every side,
    float32 (float64 keeps the direct sums: its tests compare to 1e-12), compiled kernels on,
    batches of 8 lanes, and enough channels and tiles."""
    n, c, h, w = x_shape
    if window.kernel != (3, 3) or window.stride != (1, 1) or window.dilation != (1, 1):
        return False
    if dtype != np.float32 or max(window.padding) > 2 or not jit.enabled():
        return False
    oh, ow = window.out_shape(h, w)
    return (min(c, o) >= MIN_CHANNELS and n % 8 == 0
            and -(-oh // 2) * -(-ow // 2) * n >= MIN_TILES)


def weight_transform(w: np.ndarray) -> np.ndarray:
    """U = G g Gᵀ for each (o, c): w (O, C, 3, 3) → U (16, O, C), U[4·r + s] = (G g Gᵀ)[r, s]."""
    def rows(a0: np.ndarray, a1: np.ndarray, a2: np.ndarray) -> list[np.ndarray]:
        return [a0, (a0 + a1 + a2) * 0.5, (a0 - a1 + a2) * 0.5, a2]

    taps = np.ascontiguousarray(w.transpose(2, 3, 0, 1))  # taps[i, j]: one (O, C) plane
    half = [rows(taps[0, j], taps[1, j], taps[2, j]) for j in range(3)]  # half[j][r]: (G g)[r, j]
    u = np.empty((16, *w.shape[:2]), w.dtype)
    for r in range(4):
        for s, v in enumerate(rows(half[0][r], half[1][r], half[2][r])):
            u[4 * r + s] = v
    return u


def input_transform(x: np.ndarray, pads: Pads, tiles: tuple[int, int]) -> np.ndarray | None:
    """V = Bᵀ d B for every 4×4 tile d of x (C, H, W, N) padded by (t, b, l, r): (16, C, TH, TW,
    N), V[4·r + s, c, ty, tx] from the tile whose top-left corner is padded (2·ty, 2·tx).

    None where x holds an inf or a nan: the transforms would turn one inf into +inf and -inf
    in the same tile and so a nan in outputs where the direct sum gives ±inf.
    """
    c, h, w, n = x.shape
    th, tw = tiles
    v = empty((16, c, th, tw, n), x.dtype)
    if jit.enabled_for(x) and n % 8 == 0:  # the kernel takes eight batch lanes at a time
        lanes = np.zeros(8, x.dtype)
        _input_kernel(x, pads[0], pads[2], v, lanes)
        return v if np.isfinite(lanes).all() else None
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
    return v


def output_transform(m: np.ndarray, out: np.ndarray, bias: np.ndarray | None = None) -> None:
    """out (O, OH, OW, N) = Aᵀ M A for every tile of m (16, O, TH, TW, N), plus bias (O,) if
    given (added after the sum, as the direct path's y += b)."""
    if jit.enabled_for(m, out) and out.shape[3] % 8 == 0:
        _output_kernel(m, out, bias if bias is not None else np.zeros(out.shape[0], out.dtype),
                       bias is not None)
        return
    o, oh, ow, n = out.shape
    th, tw = m.shape[2:4]
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
    v = input_transform(x, pads, tiles)
    if v is None:
        return None
    o = u.shape[1]
    m = empty((16, o, *tiles, n), np.result_type(u, v))
    np.matmul(u, v.reshape(16, c, -1), out=m.reshape(16, o, -1))
    del v
    y = empty((o, oh, ow, n), m.dtype)
    output_transform(m, y, bias)
    return y


@jit.kernel
def _input_kernel(x, t, l, v, lanes):
    """V[4a + s, c, ty, tx, n] = (Bᵀ d B)[a, s] for the tile d = x_pad[c, 2ty:2ty+4, 2tx:2tx+4, n]
    (zeros outside x). Per channel and row of tiles, Bᵀ first combines the tile's four input rows
    at every column (into `rows`), then B combines four columns of those per tile: the twin's two
    steps, each value computed once per row of tiles. The batch goes eight lanes at a time (N is
    a multiple of 8): a loop of a constant eight is one vector, where a loop of N lanes would
    not vectorise at N = 8. `lanes` (eight zeros of x's dtype) comes back non-finite where an
    input is: each lane adds (d0 + d1 + d2 + d3)·0, a nan for an inf or nan (one accumulator per
    lane, as a single float sum would not vectorise without reordering)."""
    c_, h, w, n_ = x.shape
    th, tw = v.shape[2], v.shape[3]
    wp = 2 * tw + 2
    z = lanes[0]
    rows = np.zeros((4, wp, n_), x.dtype)  # columns outside x stay zero
    for c in range(c_):
        for ty in range(th):
            y0 = 2 * ty - t
            ok0, ok1, ok2, ok3 = (0 <= y0 < h), (0 <= y0 + 1 < h), (0 <= y0 + 2 < h), \
                (0 <= y0 + 3 < h)
            r0, r1 = min(max(y0, 0), h - 1), min(max(y0 + 1, 0), h - 1)
            r2, r3 = min(max(y0 + 2, 0), h - 1), min(max(y0 + 3, 0), h - 1)
            x0, x1, x2, x3 = x[c, r0], x[c, r1], x[c, r2], x[c, r3]
            for xx in range(max(0, -l), min(w, wp - l)):
                q = xx + l
                for n0 in range(0, n_, 8):
                    for i in range(8):
                        n = n0 + i
                        d0 = x0[xx, n] if ok0 else z
                        d1 = x1[xx, n] if ok1 else z
                        d2 = x2[xx, n] if ok2 else z
                        d3 = x3[xx, n] if ok3 else z
                        lanes[i] += (d0 + d1 + d2 + d3) * z
                        rows[0, q, n] = d0 - d2
                        rows[1, q, n] = d1 + d2
                        rows[2, q, n] = d2 - d1
                        rows[3, q, n] = d1 - d3
            for a in range(4):
                ra = rows[a]
                va0, va1, va2, va3 = v[4 * a, c, ty], v[4 * a + 1, c, ty], v[4 * a + 2, c, ty], \
                    v[4 * a + 3, c, ty]
                for tx in range(tw):
                    q = 2 * tx
                    for n0 in range(0, n_, 8):
                        for i in range(8):
                            n = n0 + i
                            e0, e1, e2, e3 = ra[q, n], ra[q + 1, n], ra[q + 2, n], ra[q + 3, n]
                            va0[tx, n] = e0 - e2
                            va1[tx, n] = e1 + e2
                            va2[tx, n] = e2 - e1
                            va3[tx, n] = e1 - e3


@jit.kernel
def _output_kernel(m, out, bias, has_bias):
    """out[o, 2ty + a, 2tx + b, n] = (Aᵀ M A)[a, b] (+ bias[o]) for the tile M = m[:, o, ty, tx, n],
    the outputs past out's edge dropped: Aᵀ over the tile's rows, then A over its columns, as the
    twin sums them; eight batch lanes at a time, as in `_input_kernel`."""
    o_, oh, ow, n_ = out.shape
    th, tw = m.shape[2], m.shape[3]
    for o in range(o_):
        bo = bias[o]
        for ty in range(th):
            y0 = 2 * ty
            row1 = y0 + 1 < oh
            m0, m1, m2, m3 = m[0, o, ty], m[1, o, ty], m[2, o, ty], m[3, o, ty]
            m4, m5, m6, m7 = m[4, o, ty], m[5, o, ty], m[6, o, ty], m[7, o, ty]
            m8, m9, m10, m11 = m[8, o, ty], m[9, o, ty], m[10, o, ty], m[11, o, ty]
            m12, m13, m14, m15 = m[12, o, ty], m[13, o, ty], m[14, o, ty], m[15, o, ty]
            out0, out1 = out[o, y0], out[o, min(y0 + 1, oh - 1)]
            for tx in range(tw):
                x0 = 2 * tx
                col1 = x0 + 1 < ow
                for n0 in range(0, n_, 8):
                    for i in range(8):
                        n = n0 + i
                        # (Aᵀ M)[a, s] for the four columns s
                        u00 = m0[tx, n] + m4[tx, n] + m8[tx, n]
                        u01 = m1[tx, n] + m5[tx, n] + m9[tx, n]
                        u02 = m2[tx, n] + m6[tx, n] + m10[tx, n]
                        u03 = m3[tx, n] + m7[tx, n] + m11[tx, n]
                        u10 = m4[tx, n] - m8[tx, n] - m12[tx, n]
                        u11 = m5[tx, n] - m9[tx, n] - m13[tx, n]
                        u12 = m6[tx, n] - m10[tx, n] - m14[tx, n]
                        u13 = m7[tx, n] - m11[tx, n] - m15[tx, n]
                        y00 = u00 + u01 + u02
                        y01 = u01 - u02 - u03
                        y10 = u10 + u11 + u12
                        y11 = u11 - u12 - u13
                        if has_bias:
                            y00 += bo
                            y01 += bo
                            y10 += bo
                            y11 += bo
                        out0[x0, n] = y00
                        if col1:
                            out0[x0 + 1, n] = y01
                        if row1:
                            out1[x0, n] = y10
                            if col1:
                                out1[x0 + 1, n] = y11
