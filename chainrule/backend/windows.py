"""Windows of an image as matrices: padding, im2col and its adjoint col2im.

Images here are read as (C, H, W, N) buffers (batch innermost): an (N, C, H, W) array that is a
view of such a buffer costs nothing to read that way, and every im2col row, col2im update and
pooling tap then is one long contiguous run (W·N entries) instead of a few pixels. Convolution
and pooling layers hand their outputs on in that layout.

NumPy twins: `im2col` equals stacking ``x_pad[:, c, oh·s + i·d, ow·s + j·d]`` for every (c, i, j)
(``np.lib.stride_tricks.sliding_window_view`` and a transpose); `col2im` is its adjoint, the
``np.add.at`` of those entries back into the image. `window` is the op's geometry
(`chainrule.ops.geometry.Window`).

col2im's NumPy path adds one shifted tap at a time into a zeroed image (KH·KW read-modify-write
passes over it); its compiled kernel (`chainrule.backend.jit`) gathers instead: each pixel
sums the taps that read it, in the same (i, j) order, and is written once (3×3, 32 channels,
26², batch 64: 14.5 → 7 ms, 1 thread). im2col's compiled copy takes the matrices whose runs are
short (`SHORT_RUN`: a strided window at a small batch), where NumPy's copy loops once per run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.lib.stride_tricks import as_strided

from chainrule.backend import jit
from chainrule.backend.buffers import copy, empty

if TYPE_CHECKING:
    from chainrule.ops.geometry import Pads, Window


def pad2d(x: np.ndarray, pads: Pads, value: float = 0.0) -> np.ndarray:
    """Pad the last two axes by (top, bottom, left, right) with `value` (np.pad, faster)."""
    t, b, l, r = pads
    if not (t or b or l or r):
        return x
    out = np.full((*x.shape[:-2], x.shape[-2] + t + b, x.shape[-1] + l + r), value, x.dtype)
    out[..., t:t + x.shape[-2], l:l + x.shape[-1]] = x
    return out


def padded_cnhw(x: np.ndarray, pads: Pads) -> np.ndarray:
    """x (N, C, H, W) zero-padded as a contiguous (C, H + t + b, W + l + r, N) buffer (free when
    x is a view of such a buffer and there is no padding)."""
    n, c, h, w = x.shape
    t, b, l, r = pads
    xp = x.transpose(1, 2, 3, 0)
    if t or b or l or r or not xp.flags.c_contiguous:
        xp = empty((c, h + t + b, w + l + r, n), x.dtype)
        xp[:, :t] = 0
        xp[:, t + h:] = 0
        xp[:, t:t + h, :l] = 0
        xp[:, t:t + h, l + w:] = 0
        xp[:, t:t + h, l:l + w] = x.transpose(1, 2, 3, 0)
    return xp


def channel_rows(a: np.ndarray) -> np.ndarray:
    """(N, C, H, W) as its (C, H·W·N) matrix: free when `a` is a view of a (C, H, W, N) buffer."""
    rows = a.transpose(1, 2, 3, 0)
    if not rows.flags.c_contiguous:
        rows = copy(rows)
    return rows.reshape(a.shape[1], -1)


def pointwise(window: Window) -> bool:
    """A 1×1 window with stride 1 and no padding (ResNet-50's bottleneck convolutions)."""
    return window.kernel == (1, 1) and window.stride == (1, 1) and not any(window.padding)


def im2col(x: np.ndarray, window: Window) -> np.ndarray:
    """col[(c, i, j), (oh, ow, n)] = x_pad[n, c, oh·s + i·d, ow·s + j·d] (C·KH·KW, OH·OW·N).

    Each (c, i, j, oh) row of col is one run of OW·N consecutive entries, whatever the channel
    count. A pointwise window (1×1, stride 1, no padding) reads every pixel once: its im2col is
    the image's (C, H·W·N) matrix itself, free when x is a view of a (C, H, W, N) buffer.
    """
    if pointwise(window):
        return channel_rows(x)
    oh, ow = window.out_shape(*x.shape[2:])
    return im2col_rows(padded_cnhw(x, window.padding), window, ow, 0, oh)


#: an im2col whose contiguous runs are shorter than this many entries takes the compiled copy
SHORT_RUN = 64


def im2col_rows(xp: np.ndarray, window: Window, out_w: int, a: int, b: int) -> np.ndarray:
    """The columns of `im2col` for output rows [a, b): (C·KH·KW, (b − a)·OW·N), read from the
    padded (C, H, W, N) buffer xp (`padded_cnhw`).

    Each (c, i, j, oh) row copies runs of N entries (OW·N when the window moves one pixel at a
    time). NumPy's copy loops once per run, which costs more than the copy when runs are short:
    a strided window at batch 8 (ResNet's 7×7 stride-2 stem at 224²: 59 MB in runs of 8
    entries, 8.9 ms). The compiled copy (`chainrule.backend.jit`) takes those: 4.4 ms.
    """
    c, n = xp.shape[0], xp.shape[3]
    (kh, kw), (st, sl), (dh, dw) = window.kernel, window.stride, window.dilation
    sc, sh, sw, sn = xp.strides
    col = empty((c, kh, kw, b - a, out_w, n), xp.dtype)
    run = out_w * n if (sl, dw) == (1, 1) else n
    if run < SHORT_RUN and jit.enabled_for(xp) and xp.flags.c_contiguous:
        _rows_kernel(xp, col, st, sl, dh, dw, a, True)
    else:
        np.copyto(col, as_strided(xp[:, a * st:], col.shape,
                                  (sc, sh * dh, sw * dw, sh * st, sw * sl, sn), writeable=False))
    return col.reshape(c * kh * kw, (b - a) * out_w * n)


def col2im(dcol: np.ndarray, shape: tuple[int, ...], window: Window) -> np.ndarray:
    """The adjoint of `im2col`: x̄[n, c, h, w] = Σ of dcol over the entries that copied
    x[n, c, h, w]. Returned as an (N, C, H, W) view of a (C, H, W, N) buffer."""
    n, c, h, w = shape
    t, b, l, r = window.padding
    out = window.out_shape(h, w)
    taps = dcol.reshape(c, window.kernel[0], window.kernel[1], *out, n)
    if jit.enabled_for(dcol) and taps.flags.c_contiguous:
        dx = empty((c, h, w, n), dcol.dtype)
        _col2im_kernel(taps, dx, *window.stride, *window.dilation, t, l)
        return dx.transpose(3, 0, 1, 2)
    xp = empty((c, h + t + b, w + l + r, n), dcol.dtype)
    xp.fill(0)
    col2im_rows(taps, xp, window, 0, compiled=False)
    return xp[:, t:t + h, l:l + w].transpose(3, 0, 1, 2)


def col2im_rows(taps: np.ndarray, xp: np.ndarray, window: Window, a: int,
                compiled: bool = True) -> None:
    """The adjoint of `im2col_rows`: add the taps (C, KH, KW, R, OW, N) of output rows
    [a, a + R) into the padded (C, H, W, N) image xp where `im2col_rows` read them, one tap
    (i, j) after another, so each pixel adds its taps in (i, j) order. NumPy twin: a shifted
    add per tap; the compiled kernel (`compiled` and numba there) makes one pass per row."""
    (kh, kw), (sh, sw), (dh, dw) = window.kernel, window.stride, window.dilation
    rows, ow = taps.shape[3], taps.shape[4]
    if compiled and jit.enabled_for(xp, taps) and xp.flags.c_contiguous:
        _rows_kernel(xp, taps, sh, sw, dh, dw, a, False)
        return
    for i in range(kh):
        for j in range(kw):
            r0, q0 = a * sh + i * dh, j * dw
            xp[:, r0:r0 + sh * (rows - 1) + 1:sh, q0:q0 + sw * (ow - 1) + 1:sw] += taps[:, i, j]


def patches(x: np.ndarray, window: Window) -> np.ndarray:
    """im2col as a contiguous (N, OH, OW, C, KH, KW) array."""
    n, c = x.shape[:2]
    out = window.out_shape(*x.shape[2:])
    col = im2col(x, window).reshape(c, *window.kernel, *out, n)
    return np.ascontiguousarray(col.transpose(5, 3, 4, 0, 1, 2))


def patches_adjoint(g: np.ndarray, shape: tuple[int, ...], window: Window) -> np.ndarray:
    """col2im of a (N, OH, OW, C, KH, KW) array of patch error signals."""
    dcol = np.ascontiguousarray(g.transpose(3, 4, 5, 1, 2, 0)).reshape(
        g.shape[3] * g.shape[4] * g.shape[5], -1)
    return col2im(dcol, shape, window)


@jit.kernel
def _col2im_kernel(taps, dx, sh, sw, dh, dw, pt, pl):
    """dx[c, y, x, n] = Σ_{i, j} taps[c, i, j, oh, ow, n] over the outputs (oh, ow) whose tap
    (i, j) reads padded pixel (y + pt, x + pl), i.e. oh·sh + i·dh = y + pt and ow·sw + j·dw =
    x + pl. One image row at a time (it stays in L1): zeroed, then each tap adds its run in
    (i, j) order, so every pixel sums from 0 in the order the NumPy path adds. Arrays indexed
    (C, ·, ·, N)."""
    c_, kh, kw, oh_, ow_, n_ = taps.shape
    w_ = dx.shape[2]
    for c in range(c_):
        for y in range(dx.shape[1]):
            for x in range(w_):
                for n in range(n_):
                    dx[c, y, x, n] = 0.0
            for i in range(kh):
                r = y + pt - i * dh
                if r < 0 or r % sh != 0 or r // sh >= oh_:
                    continue
                oh = r // sh
                for j in range(kw):
                    # outputs ow with 0 <= ow·sw + j·dw − pl < W
                    lo = pl - j * dw
                    ow0 = 0 if lo <= 0 else (lo + sw - 1) // sw
                    ow1 = min(ow_, (w_ - 1 + lo) // sw + 1) if w_ - 1 + lo >= 0 else 0
                    for ow in range(ow0, ow1):
                        x = ow * sw - lo
                        for n in range(n_):
                            dx[c, y, x, n] += taps[c, i, j, oh, ow, n]


@jit.kernel
def _rows_kernel(xp, col, sh, sw, dh, dw, a, to_col):
    """Output rows [a, a + R) between the padded image xp (C, H, W, N) and their im2col block
    col (C, KH, KW, R, OW, N): with `to_col`, col[c, i, j, r, q, n] = xp[c, (a + r)·sh + i·dh,
    q·sw + j·dw, n] (`im2col_rows`); without, col is added back into xp at those entries, tap
    after tap in (i, j) order (`col2im_rows`)."""
    c_, kh, kw, rows, ow_, n_ = col.shape
    for c in range(c_):
        for i in range(kh):
            for j in range(kw):
                for r in range(rows):
                    img = xp[c, (a + r) * sh + i * dh]
                    blk = col[c, i, j, r]
                    for q in range(ow_):
                        p = img[q * sw + j * dw]
                        d = blk[q]
                        if to_col:
                            for n in range(n_):
                                d[n] = p[n]
                        else:
                            for n in range(n_):
                                p[n] += d[n]
