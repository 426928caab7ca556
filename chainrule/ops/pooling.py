"""Pooling: each output summarises one window of its channel, by its maximum or its mean.

The windows are those of a convolution with dilation 1 (`chainrule.ops.geometry.Window`); the
backend walks them one kernel tap at a time (`chainrule.backend.pooling`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from chainrule.autograd.function import Function
from chainrule.backend import pooling as backend
from chainrule.backend.buffers import memory_order
from chainrule.errors import ShapeError
from chainrule.ops._helpers import as_operand
from chainrule.ops.geometry import Window, pair, pool_out_size
from chainrule.ops.reductions import mean
from chainrule.ops.shape import cat
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
    Its own backward picks ḡ at those positions again (`MaxPoolGather`)."""

    shape: tuple[int, ...]
    taps: np.ndarray
    window: Window
    layout: tuple[int, ...] | None

    def forward(self, g):
        return backend.max_pool_scatter(g, self.taps, self.window, self.shape, self.layout)

    def backward(self, gg, out):
        return (MaxPoolGather.apply(gg, taps=self.taps, window=self.window),)


class MaxPoolGather(Function):
    """y = x at each window's argmax tap `taps` (the adjoint of `MaxPoolScatter`)."""

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
    """x̄ = Σ over windows containing the pixel of ȳ / divisor; its backward is average pooling."""

    shape: tuple[int, ...]
    window: Window
    divisor: np.ndarray

    def forward(self, g):
        return backend.scatter(g / self.divisor.astype(g.dtype), self.shape, self.window)

    def backward(self, gg, out):
        return (AvgPool.apply(gg, divisor=self.divisor, window=self.window),)


def _pool_window(x: Tensor, kernel_size: Any, stride: Any, padding: Any, ceil_mode: bool,
                 op: str) -> Window:
    if x.ndim != 4:
        raise ShapeError(f"{op}: expected input (N, C, H, W) or (C, H, W), got shape {x.shape}")
    k = pair(kernel_size, "kernel_size", op)
    s = k if stride is None or stride == () else pair(stride, "stride", op)
    p = pair(padding, "padding", op)
    if min(k) < 1 or min(s) < 1:
        raise ValueError(f"{op}: kernel_size and stride must be positive, got {k} and {s}")
    if p[0] > k[0] // 2 or p[1] > k[1] // 2 or min(p) < 0:
        raise ValueError(f"{op}: padding {p} should be at most half of kernel_size {k}")
    h, w = x.shape[2:]
    out = (pool_out_size(h, k[0], s[0], p[0], ceil_mode),
           pool_out_size(w, k[1], s[1], p[1], ceil_mode))
    if out[0] < 1 or out[1] < 1:
        raise ShapeError(f"{op}: input {x.shape} is too small for kernel {k} with padding {p}")
    # ceil_mode's last window may hang over the bottom/right edge: padding there
    extra_h = max((out[0] - 1) * s[0] + k[0] - (h + 2 * p[0]), 0)
    extra_w = max((out[1] - 1) * s[1] + k[1] - (w + 2 * p[1]), 0)
    return Window(k, s, (1, 1), (p[0], p[0] + extra_h, p[1], p[1] + extra_w))


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
    window = _pool_window(input, kernel_size, stride, padding, ceil_mode, "max_pool2d")
    return MaxPool.apply(input, window=window)


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
