"""Pooling: each output summarises one window of its channel (max or mean).

Windows are strided views of the (padded) input combined with `np.maximum` / `+` one kernel tap
at a time, so no window array is ever copied and no Python loop runs over pixels.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from chainrule import jit
from chainrule.autograd.function import Function, copy, empty, memory_order
from chainrule.errors import ShapeError
from chainrule.ops._helpers import as_operand
from chainrule.ops.conv import Pair, pad2d, pair, window_slice
from chainrule.ops.reductions import mean
from chainrule.ops.shape import cat
from chainrule.tensor import Tensor


def _pool_out(n: int, k: int, s: int, p: int, ceil_mode: bool) -> int:
    """torch's pooling output size (a ceil-mode window must start inside input or left pad)."""
    span = n + 2 * p - k
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


class _Pool(Function):
    kernel: Pair
    stride: Pair
    padding: Pair
    out: Pair

    def _pads(self, h: int, w: int) -> tuple[int, int, int, int]:
        """`padding` on top/left; on bottom/right also what ceil_mode's last window needs."""
        (kh, kw), (sh, sw), (ph, pw) = self.kernel, self.stride, self.padding
        extra_h = max((self.out[0] - 1) * sh + kh - (h + 2 * ph), 0)
        extra_w = max((self.out[1] - 1) * sw + kw - (w + 2 * pw), 0)
        return ph, ph + extra_h, pw, pw + extra_w

    def _padded(self, x: np.ndarray, value: float) -> np.ndarray:
        return pad2d(x, self._pads(*x.shape[2:]), value)

    def _taps(self):
        for i in range(self.kernel[0]):
            for j in range(self.kernel[1]):
                yield i * self.kernel[1] + j, window_slice(i, j, self.stride, (1, 1), self.out)

    def _tiles(self, shape: tuple[int, ...]) -> bool:
        """The windows tile the input exactly: each pixel is in exactly one window."""
        return (self.kernel == self.stride and self.padding == (0, 0)
                and self.out[0] * self.kernel[0] == shape[2]
                and self.out[1] * self.kernel[1] == shape[3])

    def _scatter(self, g: np.ndarray, shape: tuple[int, ...], weight,
                 layout: tuple[int, ...] | None = None) -> np.ndarray:
        """Σ over taps of g·weight(tap) added at the positions each tap read; then un-pad.

        The result's memory follows `layout` (axis order, outermost first; C order if None).
        """
        if self._tiles(shape):  # every pixel written once: no zero fill, no accumulation
            out = empty(shape, g.dtype, layout)
            for k, (rows, cols) in self._taps():
                np.add(weight(k, g), 0, out=out[:, :, rows, cols])  # + 0: as 0 + v, -0.0 → 0.0
            return out
        t, b, l, r = self._pads(*shape[2:])
        xp = empty((*shape[:2], shape[2] + t + b, shape[3] + l + r), g.dtype, layout)
        xp.fill(0)
        for k, (rows, cols) in self._taps():
            xp[:, :, rows, cols] += weight(k, g)
        return xp[:, :, t:t + shape[2], l:l + shape[3]]


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


class MaxPool2d(_Pool):
    """y = max over the window.   x̄ = ȳ routed to the window's first maximum in row-major order
    (PyTorch's choice among ties), 0 to the other entries. A NaN counts as the maximum (the
    window's last NaN receives ȳ, as in torch).

    Backward needs, per output, which kernel tap k = i·KW + j held the maximum (`index`, uint8).
    The compiled path records it in the forward pass at almost no cost; the NumPy path finds it
    from x and y when backward runs.
    """

    def forward(self, x):
        xt = x.transpose(1, 2, 3, 0)
        if jit.enabled() and xt.flags.c_contiguous:
            # a (C, H, W, N) buffer, as conv layers produce it: the kernel's loops run along
            # memory; outputs use the same layout
            n, c = x.shape[:2]
            best = empty((c, *self.out, n), x.dtype)
            index = empty((c, *self.out, n), _index_dtype(self.kernel))
            _max_pool_kernel(xt, best, index, *self.kernel, *self.stride, *self.padding)
            self.index = index.transpose(3, 0, 1, 2)
            return best.transpose(3, 0, 1, 2)
        xp = self._padded(x, -np.inf)
        best = None
        for _, (rows, cols) in self._taps():
            v = xp[:, :, rows, cols]
            if best is None:
                best = copy(v, memory_order(v))
            else:
                np.maximum(best, v, out=best)  # NaN wins
        return best

    def argmax_taps(self, x: np.ndarray, best: np.ndarray) -> np.ndarray:
        """For each output, the tap holding its window's first maximum (row-major), or, in a
        window holding a NaN, its last NaN (as torch)."""
        xp = self._padded(x, -np.inf)
        taps = [xp[:, :, rows, cols] for _, (rows, cols) in self._taps()]
        order = memory_order(best)
        index = empty(best.shape, _index_dtype(self.kernel), order)
        index.fill(0)
        hit, taken = empty(best.shape, np.bool_, order), None
        for k, v in enumerate(taps):
            np.equal(v, best, out=hit)
            if taken is None:
                taken = copy(hit, order)
                continue
            np.greater(hit, taken, out=hit)  # hit and not taken
            taken |= hit
            np.copyto(index, k, where=hit)
        if best.size and np.isnan(best.max()):  # max propagates NaN: one pass, no array
            nan = np.isnan(best)
            for k in range(len(taps) - 1, -1, -1):
                last = nan & np.isnan(taps[k])
                nan &= ~last
                np.copyto(index, k, where=last)
        return index

    def backward(self, g, out):
        x = self.inputs[0].data
        index = self.__dict__.get("index")
        if index is None:
            index = self.argmax_taps(x, out.data)
        return (MaxPoolScatter.apply(g, shape=x.shape, index=index, layout=memory_order(x),
                                     kernel=self.kernel, stride=self.stride,
                                     padding=self.padding, out=self.out),)


class MaxPoolScatter(_Pool):
    """x̄ = ȳ placed at each window's argmax tap `index` (max pooling's backward).
    Its own backward picks ḡ at those positions again (`MaxPoolGather`)."""

    shape: tuple[int, ...]
    index: np.ndarray
    layout: tuple[int, ...] | None

    def forward(self, g):
        index_t = self.index.transpose(1, 2, 3, 0)
        if jit.enabled() and index_t.flags.c_contiguous:  # saved by the compiled forward
            gt = g.transpose(1, 2, 3, 0)
            if not gt.flags.c_contiguous:  # small (pooled size): one copy into that layout
                gt = copy(gt)
            n, c, h, w = self.shape
            dx = empty((c, h, w, n), g.dtype)
            _max_pool_scatter_kernel(gt, index_t, dx, *self.kernel, *self.stride, *self.padding,
                                     self._tiles(self.shape))
            return dx.transpose(3, 0, 1, 2)
        order = memory_order(self.index)
        if memory_order(g) != order:  # one transposing copy here instead of one in every tap
            g = copy(g, order)
        hit = empty(g.shape, np.bool_, order)
        return self._scatter(g, self.shape,
                             lambda k, g: _select(np.equal(self.index, k, out=hit), g),
                             self.layout)

    def backward(self, gg, out):
        return (MaxPoolGather.apply(gg, index=self.index, kernel=self.kernel,
                                    stride=self.stride, padding=self.padding, out=self.out),)


class MaxPoolGather(_Pool):
    """y = x at each window's argmax tap `index` (the adjoint of `MaxPoolScatter`)."""

    index: np.ndarray

    def forward(self, x):
        xp = self._padded(x, 0)
        y = np.zeros(self.index.shape, x.dtype)
        for k, (rows, cols) in self._taps():
            np.copyto(y, xp[:, :, rows, cols], where=self.index == k)
        return y

    def backward(self, g, out):
        x = self.inputs[0].data
        return (MaxPoolScatter.apply(g, shape=x.shape, index=self.index,
                                     layout=memory_order(x), kernel=self.kernel,
                                     stride=self.stride, padding=self.padding, out=self.out),)


def _index_dtype(kernel: Pair) -> type:
    return np.uint8 if kernel[0] * kernel[1] <= 256 else np.uint32


@jit.kernel
def _max_pool_kernel(x, best, index, kh, kw, sh, sw, ph, pw):
    """best[c, oh, ow, n] = max over the window and index = its tap: the first maximum in
    row-major order, or the last NaN. Arrays indexed (C, H, W, N), so the innermost loop runs
    along memory; taps in the padding read as −∞."""
    c_, h_, w_, n_ = x.shape
    for c in range(c_):
        for oh in range(best.shape[1]):
            for ow in range(best.shape[2]):
                for n in range(n_):
                    best[c, oh, ow, n] = -np.inf
                    index[c, oh, ow, n] = 0
                for i in range(kh):
                    r = oh * sh + i - ph
                    for j in range(kw):
                        q = ow * sw + j - pw
                        if r < 0 or r >= h_ or q < 0 or q >= w_:
                            continue
                        k = i * kw + j
                        for n in range(n_):
                            v = x[c, r, q, n]
                            if k == 0 or v > best[c, oh, ow, n] or v != v:
                                best[c, oh, ow, n] = v
                                index[c, oh, ow, n] = k


@jit.kernel
def _max_pool_scatter_kernel(g, index, dx, kh, kw, sh, sw, ph, pw, tiles):
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
                    r = oh * sh + i - ph
                    for j in range(kw):
                        q = ow * sw + j - pw
                        if r < 0 or r >= h_ or q < 0 or q >= w_:
                            continue
                        k = i * kw + j
                        for n in range(dx.shape[3]):
                            hit = index[c, oh, ow, n] == k
                            if tiles:
                                dx[c, r, q, n] = g[c, oh, ow, n] + 0.0 if hit else 0.0
                            elif hit:
                                dx[c, r, q, n] += g[c, oh, ow, n]


def _avg_divisor(n: int, k: int, s: int, p: int, out: int, include_pad: bool) -> np.ndarray:
    """torch's divisor per output position along one axis."""
    start = np.arange(out) * s - p
    end = np.minimum(start + k, n + p)
    size = end - start
    if include_pad:
        return size
    return np.minimum(end, n) - np.maximum(start, 0)


class AvgPool2d(_Pool):
    """y = Σ window / divisor (torch's count_include_pad / ceil_mode rules).
    x̄ = ȳ / divisor spread over the window (`AvgPoolAdjoint`)."""

    divisor: np.ndarray

    def forward(self, x):
        xp = self._padded(x, 0)
        total = None
        for _, (rows, cols) in self._taps():
            v = xp[:, :, rows, cols]
            total = v.copy(order="K") if total is None else np.add(total, v, out=total)
        return total / self.divisor.astype(x.dtype)

    def backward(self, g, out):
        return (AvgPoolAdjoint.apply(g, shape=self.inputs[0].shape, divisor=self.divisor,
                                     kernel=self.kernel, stride=self.stride,
                                     padding=self.padding, out=self.out),)


class AvgPoolAdjoint(_Pool):
    """x̄ = Σ over windows containing the pixel of ȳ / divisor; its backward is average pooling."""

    shape: tuple[int, ...]
    divisor: np.ndarray

    def forward(self, g):
        scaled = g / self.divisor.astype(g.dtype)
        return self._scatter(scaled, self.shape, lambda k, g: g)

    def backward(self, gg, out):
        return (AvgPool2d.apply(gg, divisor=self.divisor, kernel=self.kernel, stride=self.stride,
                                padding=self.padding, out=self.out),)


def _pool_args(x: Tensor, kernel_size: Any, stride: Any, padding: Any, ceil_mode: bool,
               op: str) -> dict[str, Any]:
    if x.ndim != 4:
        raise ShapeError(f"{op}: expected input (N, C, H, W) or (C, H, W), got shape {x.shape}")
    k = pair(kernel_size, "kernel_size", op)
    s = k if stride is None or stride == () else pair(stride, "stride", op)
    p = pair(padding, "padding", op)
    if min(k) < 1 or min(s) < 1:
        raise ValueError(f"{op}: kernel_size and stride must be positive, got {k} and {s}")
    if p[0] > k[0] // 2 or p[1] > k[1] // 2 or min(p) < 0:
        raise ValueError(f"{op}: padding {p} should be at most half of kernel_size {k}")
    out = (_pool_out(x.shape[2], k[0], s[0], p[0], ceil_mode),
           _pool_out(x.shape[3], k[1], s[1], p[1], ceil_mode))
    if out[0] < 1 or out[1] < 1:
        raise ShapeError(f"{op}: input {x.shape} is too small for kernel {k} with padding {p}")
    return {"kernel": k, "stride": s, "padding": p, "out": out}


def _batched(fn):
    """Accept (C, H, W) inputs like torch by adding and removing a batch dim."""
    def wrapper(input: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        x = as_operand(input, op=fn.__name__)
        if x.ndim == 3:
            return fn(x.unsqueeze(0), *args, **kwargs).squeeze(0)
        return fn(x, *args, **kwargs)
    wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
    return wrapper


@_batched
def max_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               dilation: Any = 1, ceil_mode: bool = False) -> Tensor:
    """Max over kernel_size windows every `stride` (default: kernel_size) pixels."""
    if pair(dilation, "dilation", "max_pool2d") != (1, 1):
        raise ValueError("max_pool2d: dilation other than 1 is not supported")
    return MaxPool2d.apply(input, **_pool_args(input, kernel_size, stride, padding, ceil_mode,
                                               "max_pool2d"))


@_batched
def avg_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    """Mean over kernel_size windows (torch's divisor rules for padding and ceil_mode)."""
    args = _pool_args(input, kernel_size, stride, padding, ceil_mode, "avg_pool2d")
    (kh, kw), (sh, sw), (ph, pw), (oh, ow) = args["kernel"], args["stride"], args["padding"], \
        args["out"]
    if divisor_override is not None:
        divisor = np.full((oh, ow), divisor_override)
    else:
        divisor = np.outer(_avg_divisor(input.shape[2], kh, sh, ph, oh, count_include_pad),
                           _avg_divisor(input.shape[3], kw, sw, pw, ow, count_include_pad))
    return AvgPool2d.apply(input, divisor=divisor, **args)


def _as_2d(v: Any) -> tuple[int, int]:
    return (1, int(v if isinstance(v, int | np.integer) else v[0]))


def max_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               dilation: Any = 1, ceil_mode: bool = False) -> Tensor:
    """Max pooling over (N, C, L) or (C, L)."""
    x = as_operand(input, op="max_pool1d")
    y = max_pool2d(x.unsqueeze(-2), _as_2d(kernel_size),
                   None if stride is None else _as_2d(stride), (0, _as_2d(padding)[1]),
                   dilation, ceil_mode)
    return y.squeeze(-2)


def avg_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               ceil_mode: bool = False, count_include_pad: bool = True) -> Tensor:
    """Average pooling over (N, C, L) or (C, L)."""
    x = as_operand(input, op="avg_pool1d")
    y = avg_pool2d(x.unsqueeze(-2), _as_2d(kernel_size),
                   None if stride is None else _as_2d(stride), (0, _as_2d(padding)[1]),
                   ceil_mode, count_include_pad)
    return y.squeeze(-2)


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    """Average over torch's adaptive bins: bin i spans [⌊iH/OH⌋, ⌈(i+1)H/OH⌉)."""
    x = as_operand(input, op="adaptive_avg_pool2d")
    if x.ndim == 3:
        return adaptive_avg_pool2d(x.unsqueeze(0), output_size).squeeze(0)
    if x.ndim != 4:
        raise ShapeError(f"adaptive_avg_pool2d: expected (N, C, H, W), got {x.shape}")
    h, w = x.shape[2:]
    if isinstance(output_size, int | np.integer):
        output_size = (output_size, output_size)
    oh = h if output_size[0] is None else int(output_size[0])
    ow = w if output_size[1] is None else int(output_size[1])
    if h % oh == 0 and w % ow == 0:  # equal bins: an ordinary average pool
        return avg_pool2d(x, (h // oh, w // ow))
    rows = [(i * h // oh, math.ceil((i + 1) * h / oh)) for i in range(oh)]
    cols = [(j * w // ow, math.ceil((j + 1) * w / ow)) for j in range(ow)]
    out = [cat([mean(x[:, :, r0:r1, c0:c1], dim=(2, 3), keepdim=True) for c0, c1 in cols], 3)
           for r0, r1 in rows]
    return cat(out, dim=2)
