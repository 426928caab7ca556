"""Elementwise ops. Each states v̄ → parent error signals; broadcasting is undone by the engine."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule import _dtypes
from chainrule._dtypes import DTypeLike, as_dtype
from chainrule.autograd.function import Function
from chainrule.backend import elementwise as backend
from chainrule.errors import ArgumentError, DTypeError, ShapeError
from chainrule.ops._helpers import as_operand, operands
from chainrule.tensor import Tensor


def _zeros_for(a: Tensor) -> Tensor:
    return Tensor._make(np.zeros(a.shape, a.dtype), False, None)


class Add(Function):
    """y = a + b.   ā = ȳ,   b̄ = ȳ."""

    reads_inputs = False

    def forward(self, a, b):
        return backend.add(a, b)

    def backward(self, g, out):
        return g, g


class Sub(Function):
    """y = a − b.   ā = ȳ,   b̄ = −ȳ."""

    reads_inputs = False

    def forward(self, a, b):
        return backend.sub(a, b)

    def backward(self, g, out):
        return g, (-g if self.needs_grad(1) else None)


class Mul(Function):
    """y = a · b.   ā = ȳ · b,   b̄ = ȳ · a."""

    def forward(self, a, b):
        return backend.mul(a, b)

    def backward(self, g, out):
        a, b = self.inputs
        return (g * b if self.needs_grad(0) else None, g * a if self.needs_grad(1) else None)


class Div(Function):
    """y = a / b.   ā = ȳ / b,   b̄ = −ȳ · a / b² = −ȳ · y / b."""

    def forward(self, a, b):
        with np.errstate(divide="ignore", invalid="ignore"):
            return a / b

    def backward(self, g, out):
        _, b = self.inputs
        return (g / b if self.needs_grad(0) else None,
                -g * out / b if self.needs_grad(1) else None)


class Pow(Function):
    """y = a^b (tensor exponent).   ā = ȳ · b · a^(b−1) (0 where b = 0),
    b̄ = ȳ · y · log a (0 where a = 0, b ≥ 0)."""

    def forward(self, a, b):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.power(a, b)

    def backward(self, g, out):
        a, b = self.inputs
        ga = gb = None
        with np.errstate(invalid="ignore"):  # the 0 · inf entries below are masked by where
            if self.needs_grad(0):  # a^0 = 1 is flat, also at a = 0 where b · a^(b−1) = 0 · inf
                ga = where(b._data == 0, 0.0, g * b * a ** (b - 1))
            if self.needs_grad(1):
                zero = (a._data == 0) & (b._data >= 0)
                gb = where(zero, 0.0, g * out * log(a))
        return ga, gb


class PowScalar(Function):
    """y = a^p for a constant number p.   ā = ȳ · p · a^(p−1)."""

    op_name = "pow"
    exponent: float

    def forward(self, a):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.power(a, self.exponent)

    def backward(self, g, out):
        (a,) = self.inputs
        p = self.exponent
        if p == 0:
            return (_zeros_for(a),)
        if p == 1:
            return (g,)
        if p == 2:
            return (g * 2 * a,)
        return (g * p * a ** (p - 1),)



class Neg(Function):
    """y = −a.   ā = −ȳ."""

    reads_inputs = False

    def forward(self, a):
        return -a

    def backward(self, g, out):
        return (-g,)


class Abs(Function):
    """y = |a|.   ā = ȳ · sign(a)   (0 at a = 0, as in torch)."""

    def forward(self, a):
        return np.abs(a)

    def backward(self, g, out):
        (a,) = self.inputs
        return (g * np.sign(a._data),)


class Exp(Function):
    """y = e^a.   ā = ȳ · y."""

    def forward(self, a):
        with np.errstate(over="ignore"):
            return np.exp(a)

    def backward(self, g, out):
        return (g * out,)


class Log(Function):
    """y = log a.   ā = ȳ / a."""

    def forward(self, a):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(a)

    def backward(self, g, out):
        return (g / self.inputs[0],)


class Log1p(Function):
    """y = log(1 + a).   ā = ȳ / (1 + a)."""

    def forward(self, a):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log1p(a)

    def backward(self, g, out):
        return (g / (1 + self.inputs[0]),)


class Sqrt(Function):
    """y = √a.   ā = ȳ / (2y)."""

    def forward(self, a):
        with np.errstate(invalid="ignore"):
            return np.sqrt(a)

    def backward(self, g, out):
        return (g / (2 * out),)


class Sin(Function):
    """y = sin a.   ā = ȳ · cos a."""

    def forward(self, a):
        return np.sin(a)

    def backward(self, g, out):
        return (g * cos(self.inputs[0]),)


class Cos(Function):
    """y = cos a.   ā = −ȳ · sin a."""

    def forward(self, a):
        return np.cos(a)

    def backward(self, g, out):
        return (-g * sin(self.inputs[0]),)


class Sign(Function):
    """y = sign(a).   ā = 0: piecewise constant, so no error signal flows (as in torch)."""

    def forward(self, a):
        return np.sign(a)

    def backward(self, g, out):
        return (_zeros_for(self.inputs[0]),)


class _Flat(Function):
    """A piecewise-constant op: ā = 0, so no error signal flows (as in torch)."""

    def backward(self, g, out):
        return (_zeros_for(self.inputs[0]),)


class Floor(_Flat):
    """y = ⌊a⌋.   ā = 0."""

    def forward(self, a):
        return np.floor(a)


class Ceil(_Flat):
    """y = ⌈a⌉.   ā = 0."""

    def forward(self, a):
        return np.ceil(a)


class Trunc(_Flat):
    """y = a rounded towards zero.   ā = 0."""

    def forward(self, a):
        return np.trunc(a)


class Round(_Flat):
    """y = a rounded to `decimals` places, halves to even (as torch.round).   ā = 0."""

    decimals: int

    def forward(self, a):
        return np.round(a, self.decimals)


class Maximum(Function):
    """y = max(a, b) elementwise.   ā = ȳ · 1[a > b],  b̄ = ȳ · 1[b > a];  a tie splits ȳ in half."""

    def forward(self, a, b):
        return np.maximum(a, b)

    def backward(self, g, out):
        a, b = self.inputs
        share = (a._data > b._data) + 0.5 * (a._data == b._data)
        return (g * share.astype(g.dtype) if self.needs_grad(0) else None,
                g * (1 - share).astype(g.dtype) if self.needs_grad(1) else None)


class Minimum(Function):
    """y = min(a, b) elementwise.   ā = ȳ · 1[a < b],  b̄ = ȳ · 1[b < a];  a tie splits ȳ in half."""

    def forward(self, a, b):
        return np.minimum(a, b)

    def backward(self, g, out):
        a, b = self.inputs
        share = (a._data < b._data) + 0.5 * (a._data == b._data)
        return (g * share.astype(g.dtype) if self.needs_grad(0) else None,
                g * (1 - share).astype(g.dtype) if self.needs_grad(1) else None)


class Clip(Function):
    """y = min(max(a, lo), hi).   ā = ȳ · 1[lo ≤ a ≤ hi]   (bounds inclusive, as torch.clamp)."""

    lo: float | None
    hi: float | None

    def forward(self, a):
        if self.lo is not None and self.hi is not None and self.lo > self.hi:
            return np.full_like(a, self.hi)
        return np.clip(a, self.lo, self.hi)

    def backward(self, g, out):
        a = self.inputs[0]._data
        inside = np.ones(a.shape, bool)
        if self.lo is not None:
            inside &= a >= self.lo
        if self.hi is not None:
            inside &= a <= self.hi
        return (g * inside.astype(g.dtype),)


class Where(Function):
    """y = a where cond else b.   ā = ȳ · 1[cond],   b̄ = ȳ · 1[not cond]."""

    cond: np.ndarray

    def forward(self, a, b):
        return np.where(self.cond, a, b)

    def backward(self, g, out):
        zero = Tensor._make(np.zeros((), g.dtype), False, None)
        return (Where.apply(g, zero, cond=self.cond) if self.needs_grad(0) else None,
                Where.apply(zero, g, cond=self.cond) if self.needs_grad(1) else None)


class Astype(Function):
    """y = a converted to another float dtype.   ā = ȳ converted back to a's dtype."""

    reads_inputs = False

    dtype: np.dtype
    copy: bool

    def forward(self, a):
        return a.astype(self.dtype, copy=self.copy)

    def backward(self, g, out):
        return (g.astype(self.inputs[0].dtype),)


# ----------------------------------------------------------------- functional forms
def add(a: Any, b: Any) -> Tensor:
    return Add.apply(*operands(a, b, "add"))


def sub(a: Any, b: Any) -> Tensor:
    return Sub.apply(*operands(a, b, "sub"))


def mul(a: Any, b: Any) -> Tensor:
    return Mul.apply(*operands(a, b, "mul"))


def div(a: Any, b: Any) -> Tensor:
    """True division; integers divide into the default float dtype, as in torch."""
    a, b = operands(a, b, "div")
    if a.dtype.kind in "biu":
        a, b = a.astype(_dtypes.default_float), b.astype(_dtypes.default_float)
    return Div.apply(a, b)


def pow(a: Any, b: Any) -> Tensor:  # noqa: A001
    if isinstance(a, Tensor) and isinstance(b, int | float) and not isinstance(b, bool):
        if a.dtype.kind in "biu" and isinstance(b, float):
            a = a.astype(_dtypes.default_float)
        return PowScalar.apply(a, exponent=b)
    return Pow.apply(*operands(a, b, "pow"))


def neg(a: Tensor) -> Tensor:
    return Neg.apply(as_operand(a, op="neg"))


def abs(a: Tensor) -> Tensor:  # noqa: A001
    return Abs.apply(as_operand(a, op="abs"))


def exp(a: Tensor) -> Tensor:
    return Exp.apply(as_operand(a, op="exp"))


def log(a: Tensor) -> Tensor:
    return Log.apply(as_operand(a, op="log"))


def log1p(a: Tensor) -> Tensor:
    return Log1p.apply(as_operand(a, op="log1p"))


def sqrt(a: Tensor) -> Tensor:
    return Sqrt.apply(as_operand(a, op="sqrt"))


def sin(a: Tensor) -> Tensor:
    return Sin.apply(as_operand(a, op="sin"))


def cos(a: Tensor) -> Tensor:
    return Cos.apply(as_operand(a, op="cos"))


def sign(a: Tensor) -> Tensor:
    return Sign.apply(as_operand(a, op="sign"))


def maximum(a: Any, b: Any) -> Tensor:
    return Maximum.apply(*operands(a, b, "maximum"))


def minimum(a: Any, b: Any) -> Tensor:
    return Minimum.apply(*operands(a, b, "minimum"))


def clip(a: Tensor, min: float | None = None, max: float | None = None) -> Tensor:  # noqa: A002
    if min is None and max is None:
        raise ArgumentError("clip: at least one of min and max must be given")
    return Clip.apply(as_operand(a, op="clip"), lo=min, hi=max)


clamp = clip


def where(condition: Any, a: Any = None, b: Any = None) -> Any:
    """Select a where condition holds, else b (broadcasting all three). `where(condition)` alone
    is `nonzero(condition, as_tuple=True)`: one int64 index tensor per dim."""
    cond = condition._data if isinstance(condition, Tensor) else np.asarray(condition)
    if a is None and b is None:
        hits = np.nonzero(cond) if cond.ndim else (np.flatnonzero(cond),)
        return tuple(Tensor._make(i.astype(np.int64), False, None) for i in hits)
    if a is None or b is None:
        raise TypeError("where: pass both a and b, or neither")
    if cond.dtype != np.bool_:
        raise DTypeError(f"where: condition must be a bool tensor, got dtype {cond.dtype}")
    a, b = operands(a, b, "where")
    try:
        np.broadcast_shapes(cond.shape, a.shape, b.shape)
    except ValueError:
        raise ShapeError(f"where: condition, a and b of shapes {cond.shape}, {a.shape} and "
                         f"{b.shape} do not broadcast together") from None
    return Where.apply(a, b, cond=cond)


def astype(a: Tensor, dtype: DTypeLike, copy: bool = False) -> Tensor:
    """Convert to `dtype`; float → float stays on the graph, anything else leaves it."""
    dt = as_dtype(dtype)
    if dt.kind != "f" or a.dtype.kind != "f":
        return Tensor._make(a._data.astype(dt, copy=copy), False, None)
    if dt == a.dtype and not copy:
        return a
    return Astype.apply(a, dtype=dt, copy=copy)


# ----------------------------------------------------------------- comparisons (no gradient)
def _compare(ufunc: np.ufunc, name: str):
    def compare(a: Any, b: Any) -> Tensor:
        a, b = operands(a, b, name)
        try:
            return Tensor._make(ufunc(a._data, b._data), False, None)
        except ValueError as e:
            raise ShapeError(f"{name}: {e} (input shapes {a.shape}, {b.shape})") from None

    compare.__name__ = name
    compare.__doc__ = f"Elementwise {name}; a bool tensor outside the graph."
    return compare


eq = _compare(np.equal, "eq")
ne = _compare(np.not_equal, "ne")
lt = _compare(np.less, "lt")
le = _compare(np.less_equal, "le")
gt = _compare(np.greater, "gt")
ge = _compare(np.greater_equal, "ge")


def logical_not(a: Tensor) -> Tensor:
    return Tensor._make(np.logical_not(a._data), False, None)


def isclose(a: Any, b: Any, rtol: float = 1e-5, atol: float = 1e-8,
            equal_nan: bool = False) -> Tensor:
    """|a − b| ≤ atol + rtol · |b| elementwise (torch.isclose); NaNs are equal only with
    equal_nan. Two tensors must share a dtype, as in torch."""
    if isinstance(a, Tensor) and isinstance(b, Tensor) and a.dtype != b.dtype:
        raise DTypeError(f"isclose: dtypes {a.dtype} and {b.dtype} differ (convert one first)")
    a, b = operands(a, b, "isclose")
    try:
        close = np.isclose(a._data, b._data, rtol=rtol, atol=atol, equal_nan=equal_nan)
    except ValueError:
        raise ShapeError(f"isclose: shapes {a.shape} and {b.shape} do not broadcast "
                         "together") from None
    return Tensor._make(np.asarray(close), False, None)


def allclose(a: Any, b: Any, rtol: float = 1e-5, atol: float = 1e-8,
             equal_nan: bool = False) -> bool:
    """Whether every entry `isclose` (torch.allclose)."""
    return bool(isclose(a, b, rtol, atol, equal_nan)._data.all())


logical_and = _compare(np.logical_and, "logical_and")
logical_or = _compare(np.logical_or, "logical_or")
logical_xor = _compare(np.logical_xor, "logical_xor")


def _test(ufunc: np.ufunc, name: str):
    def test(a: Tensor) -> Tensor:
        a = as_operand(a, op=name)
        return Tensor._make(np.asarray(ufunc(a._data)), False, None)

    test.__name__ = name
    test.__doc__ = f"Elementwise {name}; a bool tensor outside the graph."
    return test


isnan = _test(np.isnan, "isnan")
isinf = _test(np.isinf, "isinf")
isfinite = _test(np.isfinite, "isfinite")


# ----------------------------------------------------------------- composed forms
def _flat(cls: type[Function], a: Any, op: str, **settings: Any) -> Tensor:
    a = as_operand(a, op=op)
    if a.dtype.kind in "biu":  # already whole numbers: torch returns them unchanged (a copy)
        return Tensor._make(a._data.copy(), False, None)
    return cls.apply(a, **settings)


def floor(a: Tensor) -> Tensor:
    return _flat(Floor, a, "floor")


def ceil(a: Tensor) -> Tensor:
    return _flat(Ceil, a, "ceil")


def trunc(a: Tensor) -> Tensor:
    return _flat(Trunc, a, "trunc")


def round(a: Tensor, decimals: int = 0) -> Tensor:  # noqa: A001
    """Round half to even, to `decimals` places (torch.round)."""
    return _flat(Round, a, "round", decimals=int(decimals))


def _floating(a: Any, op: str) -> Tensor:
    """Integer and bool tensors as float32, as torch promotes them for reciprocal/rsqrt."""
    a = as_operand(a, op=op)
    return astype(a, np.float32) if a.dtype.kind in "biu" else a


def square(a: Tensor) -> Tensor:
    """a² (see `pow`)."""
    return pow(as_operand(a, op="square"), 2)


def reciprocal(a: Tensor) -> Tensor:
    """1 / a (see `div`)."""
    return div(1, _floating(a, "reciprocal"))


def rsqrt(a: Tensor) -> Tensor:
    """1 / √a = a^(−1/2) (see `pow`)."""
    return pow(_floating(a, "rsqrt"), -0.5)


def clone(a: Tensor) -> Tensor:
    """A copy that owns its memory; on the graph, with ā = ȳ."""
    a = as_operand(a, op="clone")
    return astype(a, a.dtype, copy=True)


def masked_fill(input: Tensor, mask: Any, value: Any) -> Tensor:
    """input with `value` where mask (broadcast against it) is True (torch.masked_fill).

    value is a number or a 0-d tensor (then ȳ summed over the filled entries flows into it);
    the result keeps input's dtype.
    """
    a = as_operand(input, op="masked_fill")
    m = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype != np.bool_:
        raise DTypeError(f"masked_fill: mask must be a bool tensor, got dtype {m.dtype}")
    if isinstance(value, Tensor):
        if value.ndim:
            raise ShapeError(f"masked_fill: value must be a number or a 0-d tensor, got shape "
                             f"{value.shape}")
        v = astype(value, a.dtype) if value.dtype != a.dtype else value
    else:
        v = Tensor._make(np.asarray(value, dtype=a.dtype), False, None)
    try:
        np.broadcast_shapes(m.shape, a.shape)
    except ValueError:
        raise ShapeError(f"masked_fill: mask of shape {m.shape} does not broadcast with the "
                         f"input of shape {a.shape}") from None
    return Where.apply(v, a, cond=m)
