"""Reductions and the softmax family. A reduction's ȳ is broadcast back over the reduced axes."""

from __future__ import annotations

import builtins
from typing import Any, NamedTuple

import numpy as np

from chainrule.autograd.function import Function
from chainrule.ops._helpers import as_operand, norm_axes, norm_axis, resolve_dim
from chainrule.ops.elementwise import exp, maximum, minimum, sqrt
from chainrule.tensor import Tensor


def _expand_back(g: Tensor, shape: tuple[int, ...], axes: tuple[int, ...] | None,
                 keepdims: bool) -> Tensor:
    """Reshape ȳ of a reduction so it broadcasts against the input again."""
    if not keepdims:
        kept = [1 if axes is None or i in axes else n for i, n in enumerate(shape)]
        g = g.reshape(tuple(kept))
    return g.broadcast_to(shape)


def _keep(out: np.ndarray, shape: tuple[int, ...], axes, keepdims: bool) -> np.ndarray:
    if keepdims:
        return out
    return out.reshape([1 if axes is None or i in axes else n for i, n in enumerate(shape)])


class Sum(Function):
    """y = Σ_i a_i over `axes`.   ā_i = ȳ   (each a_i has the sum as its only child)."""

    axes: tuple[int, ...] | None
    keepdims: bool

    def forward(self, a):
        return np.sum(a, axis=self.axes, keepdims=self.keepdims)

    def backward(self, g, out):
        return (_expand_back(g, self.inputs[0].shape, self.axes, self.keepdims),)


class Mean(Function):
    """y = (1/N) Σ_i a_i over `axes`.   ā_i = ȳ / N."""

    axes: tuple[int, ...] | None
    keepdims: bool

    def forward(self, a):
        return np.mean(a, axis=self.axes, keepdims=self.keepdims)

    def backward(self, g, out):
        a = self.inputs[0]
        n = a.numel() // builtins.max(out.numel(), 1) if a.numel() else 1
        return (_expand_back(g / n, a.shape, self.axes, self.keepdims),)


class Amax(Function):
    """y = max_i a_i over `axes`.   ā_i = ȳ · 1[a_i = y] / #ties   (torch's amax/max() rule)."""

    axes: tuple[int, ...] | None
    keepdims: bool

    def forward(self, a):
        return np.max(a, axis=self.axes, keepdims=self.keepdims)

    def backward(self, g, out):
        a = self.inputs[0]
        hit = a._data == _keep(out._data, a.shape, self.axes, self.keepdims)
        share = hit / hit.sum(axis=self.axes, keepdims=True)
        return (_expand_back(g, a.shape, self.axes, self.keepdims) * share.astype(g.dtype),)


class Amin(Amax):
    """y = min_i a_i over `axes`.   ā_i = ȳ · 1[a_i = y] / #ties."""

    def forward(self, a):
        return np.min(a, axis=self.axes, keepdims=self.keepdims)


class MaxAlong(Function):
    """y = a[argmax] along one axis.   ā = ȳ at the returned index (the first maximum), else 0."""

    op_name = "max"
    axis: int
    keepdims: bool

    def forward(self, a):
        indices = np.expand_dims(self.pick(a, axis=self.axis), self.axis)
        self.save(indices=indices)
        out = np.take_along_axis(a, indices, axis=self.axis)
        return out if self.keepdims else np.squeeze(out, self.axis)

    def backward(self, g, out):
        a = self.inputs[0]
        onehot = np.zeros(a.shape, g.dtype)
        np.put_along_axis(onehot, self.indices, 1, axis=self.axis)
        return (_expand_back(g, a.shape, (self.axis,), self.keepdims) * onehot,)

    pick = staticmethod(np.argmax)


class MinAlong(MaxAlong):
    """y = a[argmin] along one axis.   ā = ȳ at the returned index (the first minimum), else 0."""

    op_name = "min"
    pick = staticmethod(np.argmin)


class LogSumExp(Function):
    """y = log Σ_i e^(a_i).   ā_i = ȳ · e^(a_i − y) = ȳ · softmax(a)_i.

    Shifted by the maximum before exponentiating, so inputs of ±1e4 in float32 are fine.
    """

    axes: tuple[int, ...] | None
    keepdims: bool

    def forward(self, a):
        m = np.max(a, axis=self.axes, keepdims=True)
        m = np.where(np.isfinite(m), m, 0)
        out = np.log(np.sum(np.exp(a - m), axis=self.axes, keepdims=True)) + m
        return out if self.keepdims else np.squeeze(out, self.axes)

    def backward(self, g, out):
        a = self.inputs[0]
        y = out if self.keepdims else out.reshape(_keep(out._data, a.shape, self.axes, False).shape)
        return (_expand_back(g, a.shape, self.axes, self.keepdims) * exp(a - y),)


class SoftmaxAlong(Function):
    """y_k = e^(z_k) / Σ_ℓ e^(z_ℓ) along `axis`.   z̄ = y ∘ (ȳ − Σ_k ȳ_k y_k)."""

    op_name = "softmax"

    axis: int

    def forward(self, z):
        e = np.exp(z - np.max(z, axis=self.axis, keepdims=True))
        e /= np.sum(e, axis=self.axis, keepdims=True)
        return e

    def backward(self, g, out):
        return (out * (g - (g * out).sum(axis=self.axis, keepdims=True)),)


class LogSoftmaxAlong(Function):
    """y_k = z_k − log Σ_ℓ e^(z_ℓ) along `axis`.   z̄ = ȳ − softmax(z) · Σ_k ȳ_k."""

    op_name = "log_softmax"

    axis: int

    def forward(self, z):
        return log_softmax_array(z, self.axis)

    def backward(self, g, out):
        return (g - exp(out) * g.sum(axis=self.axis, keepdims=True),)


def log_softmax_array(z: np.ndarray, axis: int) -> np.ndarray:
    """log softmax(z) along `axis`, shifted by the maximum so that e^z never overflows."""
    shifted = z - np.max(z, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


# ----------------------------------------------------------------- functional forms
def _reduce(cls: type[Function], a: Any, dim: Any, keepdim: bool, axis: Any,
            keepdims: bool | None, op: str) -> Tensor:
    a = as_operand(a, op=op)
    axes = norm_axes(resolve_dim(dim, axis), a.ndim, op)
    keep = keepdim if keepdims is None else keepdims
    return cls.apply(a, axes=axes, keepdims=bool(keep))


def sum(a: Tensor, dim: Any = None, keepdim: bool = False, *,  # noqa: A001
        axis: Any = None, keepdims: bool | None = None) -> Tensor:
    """Sum over `dim` (an int, a tuple, or None for all), keeping reduced axes if asked."""
    return _reduce(Sum, a, dim, keepdim, axis, keepdims, "sum")


def mean(a: Tensor, dim: Any = None, keepdim: bool = False, *,
         axis: Any = None, keepdims: bool | None = None) -> Tensor:
    a = as_operand(a, op="mean")
    if a.dtype.kind != "f":
        raise TypeError(f"mean: needs a floating-point tensor, got {a.dtype}")
    return _reduce(Mean, a, dim, keepdim, axis, keepdims, "mean")


def var(a: Tensor, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: float | None = None, axis: Any = None,
        keepdims: bool | None = None) -> Tensor:
    """Variance Σ(a − ā)² / (N − correction). correction=1 (unbiased) by default, as in torch."""
    a = as_operand(a, op="var")
    if correction is None:
        correction = 0 if unbiased is False else 1
    axes = norm_axes(resolve_dim(dim, axis), a.ndim, "var")
    keep = keepdim if keepdims is None else keepdims
    n = a.numel() if axes is None else int(np.prod([a.shape[i] for i in axes]))
    centred = a - a.mean(dim=axes, keepdim=True)
    return (centred * centred).sum(dim=axes, keepdim=keep) / builtins.max(n - correction, 0)


def std(a: Tensor, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: float | None = None, axis: Any = None,
        keepdims: bool | None = None) -> Tensor:
    """Standard deviation √var (same `unbiased`/`correction` semantics as `var`)."""
    a = as_operand(a, op="std")
    norm_axes(resolve_dim(dim, axis), a.ndim, "std")  # so that a bad dim is reported as std's
    return sqrt(var(a, dim, unbiased, keepdim, correction=correction, axis=axis,
                    keepdims=keepdims))


class MinMax(NamedTuple):
    """(values, indices), as torch.max(x, dim) returns."""

    values: Tensor
    indices: Tensor


def _minmax(a: Any, dim: Any, keepdim: bool, axis: Any, smallest: bool) -> Any:
    op = "min" if smallest else "max"
    if isinstance(dim, Tensor):  # torch.max(a, b) is the elementwise maximum
        return minimum(a, dim) if smallest else maximum(a, dim)
    a = as_operand(a, op=op)
    d = resolve_dim(dim, axis)
    if a.numel() == 0:
        raise ValueError(f"{op}: cannot reduce an empty tensor of shape {a.shape}")
    if d is None:
        return (Amin if smallest else Amax).apply(a, axes=None, keepdims=False)
    d = norm_axis(d, a.ndim, op)
    if a.ndim == 0:  # torch: the value itself, at index 0
        values = (Amin if smallest else Amax).apply(a, axes=None, keepdims=False)
        return MinMax(values, Tensor._make(np.zeros((), np.int64), False, None))
    values = (MinAlong if smallest else MaxAlong).apply(a, axis=d, keepdims=keepdim)
    pick = np.argmin if smallest else np.argmax
    idx = pick(a._data, axis=d, keepdims=keepdim)
    return MinMax(values, Tensor._make(idx.astype(np.int64), False, None))


def max(a: Tensor, dim: Any = None, keepdim: bool = False, *, axis: Any = None) -> Any:  # noqa: A001
    """`max(a)`: the largest value (ties share ȳ); `max(a, dim)`: (values, indices), ȳ to the
    index returned; `max(a, b)`: elementwise maximum. All as in PyTorch."""
    return _minmax(a, dim, keepdim, axis, smallest=False)


def min(a: Tensor, dim: Any = None, keepdim: bool = False, *, axis: Any = None) -> Any:  # noqa: A001
    """Mirror of `max`."""
    return _minmax(a, dim, keepdim, axis, smallest=True)


def amax(a: Tensor, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
         keepdims: bool | None = None) -> Tensor:
    """Largest values over `dim`; ȳ is shared equally among tied maxima."""
    return _reduce(Amax, a, dim, keepdim, axis, keepdims, "amax")


def amin(a: Tensor, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
         keepdims: bool | None = None) -> Tensor:
    return _reduce(Amin, a, dim, keepdim, axis, keepdims, "amin")


def _arg(a: Any, dim: Any, keepdim: bool, axis: Any, fn, op: str) -> Tensor:
    a = as_operand(a, op=op)
    d = resolve_dim(dim, axis)
    if d is None:
        return Tensor._make(np.asarray(fn(a._data), np.int64), False, None)
    d = norm_axis(d, a.ndim, op)
    return Tensor._make(fn(a._data, axis=d, keepdims=keepdim).astype(np.int64), False, None)


def argmax(a: Tensor, dim: Any = None, keepdim: bool = False, *, axis: Any = None) -> Tensor:
    """Index of the (first) maximum; int64, outside the graph."""
    return _arg(a, dim, keepdim, axis, np.argmax, "argmax")


def argmin(a: Tensor, dim: Any = None, keepdim: bool = False, *, axis: Any = None) -> Tensor:
    return _arg(a, dim, keepdim, axis, np.argmin, "argmin")


def logsumexp(a: Tensor, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
              keepdims: bool | None = None) -> Tensor:
    return _reduce(LogSumExp, a, dim, keepdim, axis, keepdims, "logsumexp")


def _along(cls: type[Function], z: Any, dim: Any, axis: Any, op: str) -> Tensor:
    z = as_operand(z, op=op)
    d = resolve_dim(dim, axis)
    if d is None:
        d = -1
    if z.dtype.kind != "f":
        raise TypeError(f"{op}: needs a floating-point tensor, got {z.dtype}")
    return cls.apply(z, axis=norm_axis(d, z.ndim, op))


def softmax(z: Tensor, dim: Any = None, *, axis: Any = None) -> Tensor:
    """Softmax along `dim` (default: the last axis)."""
    return _along(SoftmaxAlong, z, dim, axis, "softmax")


def log_softmax(z: Tensor, dim: Any = None, *, axis: Any = None) -> Tensor:
    """log(softmax(z)) along `dim`, computed without forming softmax (stable)."""
    return _along(LogSoftmaxAlong, z, dim, axis, "log_softmax")
