"""Pooling: each output summarises one window of its channel, by its maximum or its mean.

The windows are those of a convolution (`chainrule.ops.geometry.Window`; dilated for max
pooling, dilation 1 for the average); the backend walks them one kernel tap at a time
(`chainrule.backend.pooling`). `max_unpool2d` puts pooled values back where `return_indices`
says they came from.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from chainrule.autograd.function import Function
from chainrule.autograd.grad_mode import is_grad_enabled
from chainrule.backend import pooling as backend
from chainrule.backend.buffers import memory_order
from chainrule.errors import ArgumentError, DTypeError, ShapeError
from chainrule.ops._helpers import as_operand
from chainrule.ops.geometry import Window, pair, pool_out_size
from chainrule.ops.reductions import mean
from chainrule.ops.shape import cat, reshape, scatter
from chainrule.tensor import Tensor


class MaxPool(Function):
    """y = max over the window.   x̄ = ȳ routed to the window's first maximum in row-major order
    (PyTorch's choice among ties), 0 to the other entries. A NaN counts as the maximum (the
    window's last NaN receives ȳ, as in torch).

    Forward saves `taps`: per output, which kernel tap k = i·KW + j held the maximum.
    """

    op_name = "max_pool2d"
    window: Window

    def forward(self, x):
        y, taps = backend.max_pool(x, self.window)
        self.save(taps=taps)
        return y

    def backward(self, g, out):
        x = self.inputs[0]._data
        return (MaxPoolScatter.apply(g, shape=x.shape, taps=self.taps, window=self.window,
                                     layout=memory_order(x)),)


class MaxPoolScatter(Function):
    """x̄ = ȳ placed at each window's argmax tap `taps` (max pooling's backward).
    Its own backward picks ḡ at those positions again (`MaxPoolGather`):
    ḡ = H at each window's argmax tap, for an upstream error signal H shaped like x̄."""

    shape: tuple[int, ...]
    taps: np.ndarray
    window: Window
    layout: tuple[int, ...] | None

    def forward(self, g):
        return backend.max_pool_scatter(g, self.taps, self.window, self.shape, self.layout)

    def backward(self, gg, out):
        return (MaxPoolGather.apply(gg, taps=self.taps, window=self.window),)


class MaxPoolGather(Function):
    """y = x at each window's argmax tap `taps` (the adjoint of `MaxPoolScatter`).
    x̄ = ȳ placed back at those taps, 0 elsewhere (`MaxPoolScatter`)."""

    taps: np.ndarray
    window: Window

    def forward(self, x):
        return backend.max_pool_gather(x, self.taps, self.window)

    def backward(self, g, out):
        x = self.inputs[0]._data
        return (MaxPoolScatter.apply(g, shape=x.shape, taps=self.taps, window=self.window,
                                     layout=memory_order(x)),)


def _avg_divisor(n: int, k: int, s: int, p: int, out: int, include_pad: bool) -> np.ndarray:
    """torch's divisor per output position along one axis."""
    start = np.arange(out) * s - p
    end = np.minimum(start + k, n + p)
    size = end - start
    if include_pad:
        return size
    return np.minimum(end, n) - np.maximum(start, 0)


class AvgPool(Function):
    """y = Σ window / divisor (torch's count_include_pad / ceil_mode rules).
    x̄ = ȳ / divisor spread over the window (`AvgPoolAdjoint`)."""

    op_name = "avg_pool2d"
    window: Window
    divisor: np.ndarray

    def forward(self, x):
        return backend.window_sum(x, self.window) / self.divisor.astype(x.dtype)

    def backward(self, g, out):
        return (AvgPoolAdjoint.apply(g, shape=self.inputs[0].shape, divisor=self.divisor,
                                     window=self.window),)


class AvgPoolAdjoint(Function):
    """x̄ = Σ over windows containing the pixel of ȳ / divisor; its backward is average pooling:
    ḡ = avg_pool(H) for an upstream error signal H shaped like x̄."""

    shape: tuple[int, ...]
    window: Window
    divisor: np.ndarray

    def forward(self, g):
        return backend.scatter(g / self.divisor.astype(g.dtype), self.shape, self.window)

    def backward(self, gg, out):
        return (AvgPool.apply(gg, divisor=self.divisor, window=self.window),)


def _pool_window(x: Tensor, kernel_size: Any, stride: Any, padding: Any, ceil_mode: bool,
                 op: str, dilation: Any = 1) -> Window:
    if x.ndim != 4:
        raise ShapeError(f"{op}: expected input (N, C, H, W) or (C, H, W), got shape {x.shape}")
    k = pair(kernel_size, "kernel_size", op)
    s = k if stride is None or stride == () else pair(stride, "stride", op)
    p = pair(padding, "padding", op)
    d = pair(dilation, "dilation", op)
    if min(k) < 1 or min(s) < 1 or min(d) < 1:
        what = (f"kernel_size and stride must be positive, got {k} and {s}" if d == (1, 1) else
                f"kernel_size, stride and dilation must be positive, got {k}, {s} and {d}")
        raise ArgumentError(f"{op}: {what}")
    if p[0] > k[0] // 2 or p[1] > k[1] // 2 or min(p) < 0:
        raise ShapeError(f"{op}: padding {p} should be at most half of kernel_size {k}")
    h, w = x.shape[2:]
    out = (pool_out_size(h, k[0], s[0], p[0], ceil_mode, d[0]),
           pool_out_size(w, k[1], s[1], p[1], ceil_mode, d[1]))
    if out[0] < 1 or out[1] < 1:
        raise ShapeError(f"{op}: input {x.shape} is too small for kernel {k} with padding {p}"
                         + (f" and dilation {d}" if d != (1, 1) else ""))
    if d != (1, 1):  # spread-out taps can all miss the image: torch then returns −∞
        for n, o, kk, ss, pp, dd in zip((h, w), out, k, s, p, d, strict=True):
            if not all(any(0 <= j * ss - pp + i * dd < n for i in range(kk))
                       for j in range(o)):
                raise ShapeError(f"{op}: with dilation {d} and padding {p} some window of the "
                                 f"input {x.shape} reads only padding")
    # ceil_mode's last window may hang over the bottom/right edge: padding there
    extra_h = max((out[0] - 1) * s[0] + d[0] * (k[0] - 1) + 1 - (h + 2 * p[0]), 0)
    extra_w = max((out[1] - 1) * s[1] + d[1] * (k[1] - 1) + 1 - (w + 2 * p[1]), 0)
    return Window(k, s, d, (p[0], p[0] + extra_h, p[1], p[1] + extra_w))


def _batched(fn):
    """Accept (C, H, W) inputs like torch by adding and removing a batch dim."""
    def wrapper(input: Tensor, *args: Any, **kwargs: Any) -> Any:
        x = as_operand(input, op=fn.__name__)
        if x.ndim == 3:
            out = fn(x.unsqueeze(0), *args, **kwargs)
            if isinstance(out, tuple):  # (values, indices)
                return tuple(t.squeeze(0) for t in out)
            return out.squeeze(0)
        return fn(x, *args, **kwargs)
    wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
    return wrapper


def _flat_indices(taps: np.ndarray, window: Window, width: int) -> np.ndarray:
    """torch's return_indices: where each maximum sits in its channel's image, row · W + col,
    from the tap k = i·KW + j of each window (oh, ow)."""
    (_, kw), (sh, sw), (dh, dw), (top, _, left, _) = window
    k = taps.astype(np.int64)
    oh = np.arange(taps.shape[2]).reshape(-1, 1)
    ow = np.arange(taps.shape[3])
    return (oh * sh + (k // kw) * dh - top) * width + ow * sw + (k % kw) * dw - left


@_batched
def max_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               dilation: Any = 1, ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """Max over kernel_size windows (taps `dilation` apart) every `stride` (default:
    kernel_size) pixels. With return_indices, also where each maximum came from (int64 row · W
    + col within its channel, as torch; `max_unpool2d` takes them)."""
    window = _pool_window(input, kernel_size, stride, padding, ceil_mode, "max_pool2d",
                          dilation)
    if not return_indices:
        return MaxPool.apply(input, window=window)
    if input.requires_grad and is_grad_enabled():  # recorded: the node keeps its taps
        y = MaxPool.apply(input, window=window)
        taps = y.grad_fn.taps  # type: ignore[union-attr]
    else:
        y_data, taps = backend.max_pool(input._data, window)
        y = Tensor._make(y_data, False, None)
    idx = _flat_indices(taps, window, input.shape[3])
    return y, Tensor._make(idx, False, None)


@_batched
def avg_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    """Mean over kernel_size windows (torch's divisor rules for padding and ceil_mode)."""
    window = _pool_window(input, kernel_size, stride, padding, ceil_mode, "avg_pool2d")
    (kh, kw), (sh, sw), (ph, _, pw, _) = window.kernel, window.stride, window.padding
    oh, ow = window.out_shape(*input.shape[2:])
    if divisor_override is not None:
        divisor = np.full((oh, ow), divisor_override)
    else:
        divisor = np.outer(_avg_divisor(input.shape[2], kh, sh, ph, oh, count_include_pad),
                           _avg_divisor(input.shape[3], kw, sw, pw, ow, count_include_pad))
    return AvgPool.apply(input, divisor=divisor, window=window)


def _as_2d(v: Any) -> tuple[int, int]:
    return (1, int(v if isinstance(v, int | np.integer) else v[0]))


def max_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               dilation: Any = 1, ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """Max pooling over (N, C, L) or (C, L); with return_indices also each maximum's position."""
    x = as_operand(input, op="max_pool1d")
    y = max_pool2d(x.unsqueeze(-2), _as_2d(kernel_size),
                   None if stride is None else _as_2d(stride), (0, _as_2d(padding)[1]),
                   _as_2d(dilation), ceil_mode, return_indices)
    if return_indices:  # a row of width L: the index is the column
        return y[0].squeeze(-2), y[1].squeeze(-2)
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


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size: Any, stride: Any = None,
                 padding: Any = 0, output_size: Any = None) -> Tensor:
    """The inverse of max_pool2d as far as it goes: zeros of the unpooled size, each pooled
    value put back at its `indices` (from max_pool2d(return_indices=True)); ā = ȳ at those
    indices. An index two windows share gets the value written last (as torch on CPU).

    The size is (H − 1)·stride − 2·padding + kernel_size unless output_size (its last two
    entries) says otherwise, within stride of that size, as in torch.
    """
    x = as_operand(input, op="max_unpool2d")
    if x.ndim == 3:
        return max_unpool2d(x.unsqueeze(0), indices.unsqueeze(0), kernel_size, stride, padding,
                            output_size).squeeze(0)
    if x.ndim != 4:
        raise ShapeError(f"max_unpool2d: expected input (N, C, H, W) or (C, H, W), got shape "
                         f"{x.shape}")
    if not isinstance(indices, Tensor) or indices.shape != x.shape:
        shape = indices.shape if isinstance(indices, Tensor) else type(indices).__name__
        raise ShapeError(f"max_unpool2d: indices must be a tensor of the input's shape "
                         f"{x.shape}, got {shape}")
    if indices.dtype != np.int64:
        raise DTypeError(f"max_unpool2d: indices must be int64, got {indices.dtype}")
    k = pair(kernel_size, "kernel_size", "max_unpool2d")
    s = k if stride is None else pair(stride, "stride", "max_unpool2d")
    p = pair(padding, "padding", "max_unpool2d")
    default = [(x.shape[2 + i] - 1) * s[i] - 2 * p[i] + k[i] for i in range(2)]
    size = default
    if output_size is not None:
        size = [int(v) for v in tuple(output_size)[-2:]]
        if len(size) != 2:
            raise ValueError(f"max_unpool2d: output_size {output_size} needs at least 2 entries")
        for i in range(2):
            if not default[i] - s[i] <= size[i] <= default[i] + s[i]:
                raise ValueError(f"max_unpool2d: output_size {tuple(output_size)} is invalid: "
                                 f"dim {i} must be between {default[i] - s[i]} and "
                                 f"{default[i] + s[i]}")
    n, c = x.shape[:2]
    flat = indices._data.reshape(n, c, -1)
    if flat.size and (flat.min() < 0 or flat.max() >= size[0] * size[1]):
        bad = flat.min() if flat.min() < 0 else flat.max()
        raise RuntimeError(f"max_unpool2d: index {bad} is out of range for an output of size "
                           f"{size[0]}x{size[1]}")
    zeros = Tensor._make(np.zeros((n, c, size[0] * size[1]), x.dtype), False, None)
    return reshape(scatter(zeros, 2, flat, reshape(x, (n, c, -1))), (n, c, *size))
