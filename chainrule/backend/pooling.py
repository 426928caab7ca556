"""Pooling windows: max with the tap of each window's maximum, and the sums and scatters over taps.

Every function walks the window's kernel taps: tap k = i·KW + j of all outputs at once is one
strided view of the padded input (`Window.taps`), so no window array is copied and no Python loop
runs over pixels. `max_pool` and `max_pool_scatter` also have compiled kernels for (C, H, W, N)
buffers, the layout conv layers produce, where the inner loop runs along memory; their NumPy
twins give the same values and the same taps.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from chainrule.backend import jit
from chainrule.backend.buffers import copy, empty, memory_order
from chainrule.backend.lanes import load, splat, store, takes, where
from chainrule.backend.windows import pad2d

if TYPE_CHECKING:
    from chainrule.ops.geometry import Window

Layout = tuple[int, ...] | None

#: batches (multiples of 8) below this take the lanes kernel of max pooling, and so do larger ones
#: for windows of more than 4 taps: at fewer than about 16 entries the plain kernel's batch loop
#: is LLVM's scalar remainder. Measured on an AMD EPYC: ResNet's 3×3 stride-2 pool of (8, 64,
#: 112, 112) 53 → 9.8 ms (torch: 34 ms), at batch 16, 24, 32, 64 0.57–0.87x; a 2×2 pool at
#: batch 8 1.01 → 0.35 ms, but at batch 64 2.3x slower than the plain kernel's unrolled taps
LANES_MAX_BATCH = 32


def tap_dtype(window: Window) -> type:
    """The smallest unsigned integer type that numbers the window's taps."""
    return np.uint8 if window.kernel[0] * window.kernel[1] <= 256 else np.uint32


def max_pool(x: np.ndarray, window: Window) -> tuple[np.ndarray, np.ndarray]:
    """(y, taps): y = the maximum of each window of x (N, C, H, W), a NaN if the window holds one;
    taps = which tap k = i·KW + j held it: the first maximum in row-major order, or the last NaN
    (PyTorch's choices). Taps in the padding never win, even over a window of −∞."""
    out = window.out_shape(*x.shape[2:])
    xt = x.transpose(1, 2, 3, 0)
    if jit.enabled_for(x) and xt.flags.c_contiguous:
        n, c = x.shape[:2]
        best = empty((c, *out, n), x.dtype)
        taps = empty((c, *out, n), tap_dtype(window))
        (kh, kw), (sh, sw), (dh, dw), (ph, _, pw, _) = window
        if n % 8 == 0 and (n < LANES_MAX_BATCH or kh * kw > 4):  # blocks of 8 batch lanes
            _max_pool_lanes_kernel(xt.reshape(-1, 8), best.reshape(-1, 8), taps.reshape(-1, 8),
                                   np.array([c, *xt.shape[1:3], n // 8, *out]),
                                   np.arange(kh * kw, dtype=x.dtype), kh, kw, sh, sw, dh, dw,
                                   ph, pw)
        else:
            _max_pool_kernel(xt, best, taps, kh, kw, sh, sw, dh, dw, ph, pw)
        return best.transpose(3, 0, 1, 2), taps.transpose(3, 0, 1, 2)
    views = [v for _, v in _tap_views(pad2d(x, window.padding, -np.inf), window, out)]
    best = copy(views[0], memory_order(views[0]))
    for v in views[1:]:
        np.maximum(best, v, out=best)  # NaN wins
    inside = None
    if any(window.padding):  # a tap in the padding never holds the maximum, even one of −∞
        mask = pad2d(np.ones(x.shape[2:], np.bool_), window.padding, False)
        inside = [v for _, v in _tap_views(mask[None, None], window, out)]
    return best, _argmax_taps(views, best, window, inside)


def _tap_views(xp: np.ndarray, window: Window, out: tuple[int, int]
               ) -> list[tuple[int, np.ndarray]]:
    return [(k, xp[:, :, rows, cols]) for k, (rows, cols) in window.taps(out)]


def _argmax_taps(views: list[np.ndarray], best: np.ndarray, window: Window,
                 inside: list[np.ndarray] | None) -> np.ndarray:
    """For each output, the first tap inside the image equal to its maximum, or in a window with
    a NaN its last NaN. `inside[k]` marks where tap k reads the image, not its padding."""
    order = memory_order(best)
    taps = empty(best.shape, tap_dtype(window), order)
    taps.fill(0)
    hit, taken = empty(best.shape, np.bool_, order), None
    for k, v in enumerate(views):
        np.equal(v, best, out=hit)
        if inside is not None:
            hit &= inside[k]
        if taken is None:
            taken = copy(hit, order)
            continue
        np.greater(hit, taken, out=hit)  # hit and not taken
        taken |= hit
        np.copyto(taps, k, where=hit)
    if best.size and np.isnan(best.max()):  # max propagates NaN: one pass, no array
        nan = np.isnan(best)
        for k in range(len(views) - 1, -1, -1):
            last = nan & np.isnan(views[k])
            nan &= ~last
            np.copyto(taps, k, where=last)
    return taps


def max_pool_scatter(g: np.ndarray, taps: np.ndarray, window: Window, shape: tuple[int, ...],
                     layout: Layout = None) -> np.ndarray:
    """x̄ of shape `shape`: each g placed where its window's `taps` entry points, summed where
    windows overlap (max pooling's backward). NumPy twin: `scatter` of g masked per tap."""
    taps_t = taps.transpose(1, 2, 3, 0)
    if jit.enabled_for(g) and taps_t.flags.c_contiguous:  # (C, H, W, N), as the kernel saves them
        gt = g.transpose(1, 2, 3, 0)
        if not gt.flags.c_contiguous:  # small (pooled size): one copy into that layout
            gt = copy(gt)
        n, c, h, w = shape
        dx = empty((c, h, w, n), g.dtype)
        (kh, kw), (sh, sw), (dh, dw), (ph, _, pw, _) = window
        _max_pool_scatter_kernel(gt, taps_t, dx, kh, kw, sh, sw, dh, dw, ph, pw,
                                 window.tiles(h, w))
        return dx.transpose(3, 0, 1, 2)
    order = memory_order(taps)
    if memory_order(g) != order:  # one transposing copy here instead of one in every tap
        g = copy(g, order)
    hit = empty(g.shape, np.bool_, order)
    return scatter(g, shape, window, lambda k, g: _select(np.equal(taps, k, out=hit), g),
                   layout)


def max_pool_gather(x: np.ndarray, taps: np.ndarray, window: Window) -> np.ndarray:
    """y = x at each window's tap `taps` (the adjoint of `max_pool_scatter`)."""
    xp = pad2d(x, window.padding, 0)
    y = np.zeros(taps.shape, x.dtype)
    for k, v in _tap_views(xp, window, taps.shape[2:]):
        np.copyto(y, v, where=taps == k)
    return y


def window_sum(x: np.ndarray, window: Window) -> np.ndarray:
    """Σ of each window of x (zero padding)."""
    total = None
    for _, v in _tap_views(pad2d(x, window.padding, 0), window, window.out_shape(*x.shape[2:])):
        total = v.copy(order="K") if total is None else np.add(total, v, out=total)
    assert total is not None
    return total


def scatter(g: np.ndarray, shape: tuple[int, ...], window: Window,
            weight: Callable[[int, np.ndarray], np.ndarray] | None = None,
            layout: Layout = None) -> np.ndarray:
    """x̄ of shape `shape`: Σ over taps k of weight(k, g) added at the positions tap k read, then
    un-padded (the adjoint of reading the windows). `layout` orders the result's memory (axis
    order, outermost first; C order if None)."""
    if weight is None:
        def weight(k: int, g: np.ndarray) -> np.ndarray:
            return g
    out = g.shape[2:]
    h, w = shape[2:]
    if window.tiles(h, w):  # every pixel written once: no zero fill, no accumulation
        dx = empty(shape, g.dtype, layout)
        for k, (rows, cols) in window.taps(out):
            np.add(weight(k, g), 0, out=dx[:, :, rows, cols])  # + 0: as 0 + v, -0.0 → 0.0
        return dx
    t, b, l, r = window.padding
    xp = empty((*shape[:2], h + t + b, w + l + r), g.dtype, layout)
    xp.fill(0)
    for k, (rows, cols) in window.taps(out):
        xp[:, :, rows, cols] += weight(k, g)
    return xp[:, :, t:t + h, l:l + w]


_UINT = {2: np.uint16, 4: np.uint32, 8: np.uint64}


def _select(hit: np.ndarray, g: np.ndarray) -> np.ndarray:
    """np.where(hit, g, 0) without branches (a bit mask): much faster on scattered hits."""
    u = _UINT.get(g.dtype.itemsize)
    if g.dtype.kind != "f" or u is None or hit.shape != g.shape:
        return np.where(hit, g, 0)
    mask = empty(g.shape, u, memory_order(g))
    np.copyto(mask, hit)
    np.negative(mask, out=mask)  # 1 → all bits set
    return np.bitwise_and(g.view(u), mask, out=mask).view(g.dtype)


@jit.inline
def _inside(o, s, d, p, k, size):
    """(lo, hi): the taps lo ≤ i < hi of window o along one axis (stride s, dilation d, padding
    p, k taps) that read inside an image of that size, not its padding."""
    lo = 0
    while o * s + lo * d - p < 0:
        lo += 1
    hi = k
    while hi > lo and o * s + (hi - 1) * d - p >= size:
        hi -= 1
    return lo, hi


@jit.kernel
def _max_pool_kernel(x, best, index, kh, kw, sh, sw, dh, dw, ph, pw):
    """best[c, oh, ow, n] = max over the window (taps dh, dw apart) and index = its tap: the
    first maximum in row-major order, or the last NaN; taps in the padding are skipped (every
    window has one inside the image). Arrays indexed (C, H, W, N).

    The running maximum is a register, not best[...]: a store and reload per tap kept the batch
    loop from vectorizing. LLVM vectorizes only innermost loops, so 2×2 and 3×3 windows inside
    the image get literal (unrolled) taps and the batch loop innermost: LeNet-5's 2×2 pool at
    batch 128 2.4 → 0.57 ms; 3×3 stride 2 over (32, 64, 56, 56) 9.5 ms (torch: 35 ms). Below
    about 16 entries the batch loop runs LLVM's scalar remainder (batch 8: unchanged, 53 ms):
    there `_max_pool_lanes_kernel` takes over.
    The 2×2 and 3×3 blocks differ only in their literal trip counts, which is what unrolls
    them: a runtime `range(kh)` would leave the tap loops innermost."""
    c_, h_, w_, n_ = x.shape
    for c in range(c_):
        for oh in range(best.shape[1]):
            i0, i1 = _inside(oh, sh, dh, ph, kh, h_)  # the window's rows inside the image
            for ow in range(best.shape[2]):
                j0, j1 = _inside(ow, sw, dw, pw, kw, w_)
                r0 = oh * sh + i0 * dh - ph
                q0 = ow * sw + j0 * dw - pw
                inside = i0 == 0 and j0 == 0 and i1 == kh and j1 == kw
                if inside and kh == 3 and kw == 3:  # literal taps: unrolled, n vectorizes
                    for n in range(n_):
                        m = x[c, r0, q0, n]
                        arg = 0
                        for i in range(3):
                            for j in range(3):
                                v = x[c, r0 + i * dh, q0 + j * dw, n]
                                take = (v > m) | (v != v)
                                m = v if take else m
                                arg = i * 3 + j if take else arg
                        best[c, oh, ow, n] = m
                        index[c, oh, ow, n] = arg
                    continue
                if inside and kh == 2 and kw == 2:
                    for n in range(n_):
                        m = x[c, r0, q0, n]
                        arg = 0
                        for i in range(2):
                            for j in range(2):
                                v = x[c, r0 + i * dh, q0 + j * dw, n]
                                take = (v > m) | (v != v)
                                m = v if take else m
                                arg = i * 2 + j if take else arg
                        best[c, oh, ow, n] = m
                        index[c, oh, ow, n] = arg
                    continue
                for n in range(n_):
                    m = x[c, r0, q0, n]  # the first tap inside the image (PyTorch's start)
                    arg = i0 * kw + j0
                    for i in range(i0, i1):
                        r = oh * sh + i * dh - ph
                        for j in range(j0, j1):
                            v = x[c, r, ow * sw + j * dw - pw, n]
                            take = (v > m) | (v != v)  # no short-circuit: no branch
                            m = v if take else m
                            arg = i * kw + j if take else arg
                    best[c, oh, ow, n] = m
                    index[c, oh, ow, n] = arg


@jit.lane_kernel
def _max_pool_lanes_kernel(x, best, index, shape, tap, kh, kw, sh, sw, dh, dw, ph, pw):
    """`_max_pool_kernel` for x (C·H·W·N/8, 8) and best, index (C·OH·OW·N/8, 8): (C, H, W, N)
    arrays as rows of 8 batch lanes (`shape` = (C, H, W, N/8, OH, OW)), the same comparisons in
    the same order, so the same maxima and taps. `tap` holds the tap numbers 0 … KH·KW − 1 in
    x's dtype: a lane's tap is kept beside its maximum in the same vector width, and stored as
    an integer."""
    c_, h_, w_, nb, oh_, ow_ = shape[0], shape[1], shape[2], shape[3], shape[4], shape[5]
    for c in range(c_):
        for oh in range(oh_):
            i0, i1 = _inside(oh, sh, dh, ph, kh, h_)  # the window's rows inside the image
            for ow in range(ow_):
                j0, j1 = _inside(ow, sw, dw, pw, kw, w_)
                first = ((c * h_ + oh * sh + i0 * dh - ph) * w_ + ow * sw + j0 * dw - pw) * nb
                out = ((c * oh_ + oh) * ow_ + ow) * nb
                for b in range(nb):
                    m = load(x, first + b)  # the first tap inside the image
                    arg = splat(tap[i0 * kw + j0])
                    for i in range(i0, i1):
                        row = (c * h_ + oh * sh + i * dh - ph) * w_ + ow * sw - pw
                        for j in range(j0, j1):
                            v = load(x, (row + j * dw) * nb + b)
                            t = takes(v, m)
                            m = where(t, v, m)
                            arg = where(t, splat(tap[i * kw + j]), arg)
                    store(best, out + b, m)
                    store(index, out + b, arg)


@jit.kernel
def _max_pool_scatter_kernel(g, index, dx, kh, kw, sh, sw, dh, dw, ph, pw, tiles):
    """dx[c, h, w, n] = Σ of g over the windows whose argmax tap reads (h, w) (arrays indexed
    (C, H, W, N)). When the windows tile the input every entry is written exactly once, so
    there is no zero fill. `+ 0.0` turns −0.0 into 0.0, as 0 + v does in the NumPy path."""
    h_, w_ = dx.shape[1], dx.shape[2]
    if not tiles:
        dx[...] = 0
    for c in range(dx.shape[0]):
        for oh in range(g.shape[1]):
            for ow in range(g.shape[2]):
                for i in range(kh):
                    r = oh * sh + i * dh - ph
                    for j in range(kw):
                        q = ow * sw + j * dw - pw
                        if r < 0 or r >= h_ or q < 0 or q >= w_:
                            continue
                        k = i * kw + j
                        for n in range(dx.shape[3]):
                            hit = index[c, oh, ow, n] == k
                            if tiles:
                                dx[c, r, q, n] = g[c, oh, ow, n] + 0.0 if hit else 0.0
                            else:  # adding +0.0 changes nothing (dx starts at +0.0): no branch
                                dx[c, r, q, n] += g[c, oh, ow, n] if hit else 0.0
