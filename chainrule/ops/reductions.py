"""Reductions and the softmax family. A reduction's ȳ is broadcast back over the reduced axes."""

from __future__ import annotations

import builtins
from typing import Any, NamedTuple

import numpy as np

from chainrule._dtypes import DTypeLike, as_dtype
from chainrule.autograd.function import Function
from chainrule.errors import DimensionError, DTypeError, ShapeError
from chainrule.ops import elementwise as _ew
from chainrule.ops._helpers import as_operand, norm_axes, norm_axis, resolve_dim
from chainrule.ops.elementwise import astype, exp, maximum, minimum, sqrt
from chainrule.ops.shape import flip, reshape
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

    reads_inputs = False

    axes: tuple[int, ...] | None
    keepdims: bool

    def forward(self, a):
        # integers in their own dtype: NumPy would widen int32 to int64, torch's dtype= does not
        dtype = a.dtype if a.dtype.kind in "iu" else None
        return np.sum(a, axis=self.axes, keepdims=self.keepdims, dtype=dtype)

    def backward(self, g, out):
        return (_expand_back(g, self.inputs[0].shape, self.axes, self.keepdims),)


class Mean(Function):
    """y = (1/N) Σ_i a_i over `axes`.   ā_i = ȳ / N."""

    reads_inputs = False

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


class CumSum(Function):
    """y_i = Σ_{j ≤ i} a_j along `axis`.   ā_j = Σ_{i ≥ j} ȳ_i: the cumulative sum of ȳ taken
    from the far end (each a_j feeds every y_i with i ≥ j)."""

    axis: int

    def forward(self, a):
        return np.cumsum(a, axis=self.axis, dtype=a.dtype if a.dtype.kind in "iu" else None)

    def backward(self, g, out):
        back = flip(CumSum.apply(flip(g, self.axis), axis=self.axis), self.axis)
        return (back,)


class Norm(Function):
    """y = ‖a‖_p = (Σ_i |a_i|^p)^(1/p) over `axes`.

    ā_i = ȳ · sign(a_i) |a_i|^(p−1) / y^(p−1)   (ȳ · a_i / y for p = 2), and 0 where y = 0 or
    a_i = 0 (torch's choice at the kinks). p = 1, ±∞ and 0 are composed from abs/sum/amax instead.
    """

    p: float
    axes: tuple[int, ...] | None
    keepdims: bool

    def forward(self, a):
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            if self.p == 2:
                return np.sqrt(np.sum(a * a, axis=self.axes, keepdims=self.keepdims))
            total = np.sum(np.abs(a) ** self.p, axis=self.axes, keepdims=self.keepdims)
            return total ** (1 / self.p)

    def backward(self, g, out):
        a, p = self.inputs[0], self.p
        y = out if self.keepdims else out.reshape(_keep(out._data, a.shape, self.axes,
                                                        False).shape)
        flat = y._data == 0
        # the masked branches are kept finite (1 in place of 0), so that differentiating this
        # backward again never meets 0 · ∞
        y1 = _ew.where(flat, 1.0, y)
        if p == 2:
            ratio = a / y1
        else:
            ratio = _ew.sign(a) * _ew.abs(_ew.where(a._data == 0, 1.0, a)) ** (p - 1)
            ratio = ratio / y1 ** (p - 1)
        ge = _expand_back(g, a.shape, self.axes, self.keepdims)
        return (_ew.where(flat, 0.0, ge * ratio),)


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


def _accumulator(a: Any, dtype: DTypeLike | None, op: str) -> Tensor:
    """a in the dtype a sum accumulates in: `dtype` if given (a is cast first, as in torch),
    else int64 for bool and integer tensors (torch's rule; NumPy would keep uint64)."""
    a = as_operand(a, op=op)
    if dtype is not None:
        return astype(a, dtype)
    if a.dtype.kind in "bu" or (a.dtype.kind == "i" and a.dtype.itemsize < 8):
        return astype(a, np.int64)
    return a


def sum(a: Tensor, dim: Any = None, keepdim: bool = False, *,  # noqa: A001
        dtype: DTypeLike | None = None, axis: Any = None, keepdims: bool | None = None
        ) -> Tensor:
    """Sum over `dim` (an int, a tuple, or None or () for all), keeping reduced axes if asked;
    `dtype` casts a first (as torch.sum)."""
    return _reduce(Sum, _accumulator(a, dtype, "sum"), dim, keepdim, axis, keepdims, "sum")


def cumsum(input: Tensor, dim: int, *, dtype: DTypeLike | None = None) -> Tensor:
    """Running sum along dim (torch.cumsum); bool and integer tensors accumulate in int64."""
    a = _accumulator(input, dtype, "cumsum")
    d = norm_axis(dim, a.ndim, "cumsum")
    if a.ndim == 0:
        return reshape(CumSum.apply(reshape(a, (1,)), axis=0), ())
    return CumSum.apply(a, axis=d)


def _any_all(fn: Any, a: Any, dim: Any, keepdim: bool, op: str) -> Tensor:
    a = as_operand(a, op=op)
    if isinstance(dim, tuple | list) and not dim:  # torch: no dims, nothing reduced
        out = a._data.astype(np.bool_)
    else:
        out = fn(a._data, axis=norm_axes(dim, a.ndim, op), keepdims=keepdim)
    # torch keeps uint8 for uint8 inputs (a legacy rule); everything else gives bool
    return Tensor._make(np.asarray(out, np.uint8 if a.dtype == np.uint8 else np.bool_),
                        False, None)


def any(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """Whether any entry (over dim, or all) is non-zero; a bool tensor outside the graph."""
    return _any_all(np.any, input, dim, keepdim, "any")


def all(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """Whether every entry (over dim, or all) is non-zero; a bool tensor outside the graph."""
    return _any_all(np.all, input, dim, keepdim, "all")


def norm(input: Tensor, p: Any = "fro", dim: Any = None, keepdim: bool = False,
         dtype: DTypeLike | None = None) -> Tensor:
    """The vector p-norm over dim (None or (): all entries), as torch.norm: p a number, ±inf
    or 'fro' (the 2-norm of the entries). `dtype` casts the input first (float only, no
    narrowing). The nuclear norm ('nuc') needs an SVD and is not available."""
    a = as_operand(input, op="norm")
    if dtype is not None:
        dt = as_dtype(dtype)
        if dt.kind != "f" or np.promote_types(a.dtype, dt) != dt:
            raise DTypeError(f"norm: dtype {dt} must be a floating-point dtype that holds the "
                             f"input's {a.dtype} without narrowing")
        a = astype(a, dt)
    if a.dtype.kind != "f":
        raise DTypeError(f"norm: needs a floating-point tensor, got {a.dtype}")
    if isinstance(p, str):
        if p == "nuc":
            raise NotImplementedError("norm: the nuclear norm (p='nuc') needs a singular value "
                                      "decomposition, which chainrule does not have")
        if p != "fro":
            raise RuntimeError(f"norm: p={p!r} is not supported; use a number, inf or 'fro'")
        if isinstance(dim, tuple | list) and len(dim) > 2:
            raise ShapeError(f"norm: p='fro' takes at most 2 dims, got {tuple(dim)}")
        p = 2
    axes = norm_axes(dim, a.ndim, "norm")
    p = float(p)
    if p == np.inf:
        return amax(_ew.abs(a), axes, keepdim)
    if p == -np.inf:
        return amin(_ew.abs(a), axes, keepdim)
    if p == 0:  # the count of non-zero entries, with zero gradient
        return sum(_ew.abs(_ew.sign(a)), axes, keepdim)
    if p == 1:
        return sum(_ew.abs(a), axes, keepdim)
    return Norm.apply(a, p=p, axes=axes, keepdims=bool(keepdim))


def mean(a: Tensor, dim: Any = None, keepdim: bool = False, *,
         axis: Any = None, keepdims: bool | None = None) -> Tensor:
    a = as_operand(a, op="mean")
    if a.dtype.kind != "f":
        raise DTypeError(f"mean: needs a floating-point tensor, got {a.dtype}")
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
        raise ShapeError(f"{op}: cannot reduce an empty tensor of shape {a.shape}")
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
    if d is not None:
        d = norm_axis(d, a.ndim, op)
    if a.numel() == 0 and (d is None or a.shape[d] == 0):  # torch: an IndexError
        raise DimensionError(f"{op}: cannot reduce an empty tensor of shape {a.shape} "
                             + ("without a dim" if d is None else f"along dim {d} of size 0"))
    if d is None:
        return Tensor._make(np.asarray(fn(a._data), np.int64), False, None)
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
        raise DTypeError(f"{op}: needs a floating-point tensor, got {z.dtype}")
    return cls.apply(z, axis=norm_axis(d, z.ndim, op))


def softmax(z: Tensor, dim: Any = None, *, axis: Any = None) -> Tensor:
    """Softmax along `dim` (default: the last axis)."""
    return _along(SoftmaxAlong, z, dim, axis, "softmax")


def log_softmax(z: Tensor, dim: Any = None, *, axis: Any = None) -> Tensor:
    """log(softmax(z)) along `dim`, computed without forming softmax (stable)."""
    return _along(LogSoftmaxAlong, z, dim, axis, "log_softmax")
