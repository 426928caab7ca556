"""Argument handling shared by the ops: operands, axes, indices."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule import _dtypes
from chainrule.errors import DimensionError, DTypeError, ShapeError
from chainrule.tensor import Tensor

_SCALARS = (bool, int, float, np.generic)
#: Python numbers (np.float64 is a float): "wrapped numbers" in PyTorch's type promotion
_NUMBERS = (bool, int, float)


def _category(dtype: np.dtype) -> int:
    return 0 if dtype.kind == "b" else 2 if dtype.kind in "fc" else 1


def _scalar_dtype(x: Any, like: np.dtype | None) -> np.dtype:
    """PyTorch's dtype for a Python number next to a tensor of dtype `like`: the tensor's own
    dtype unless the number is of a higher kind (an int tensor times 1.5 is float32, the
    default float, where NumPy would give float64)."""
    kind = np.dtype(np.bool_) if isinstance(x, bool) else (
        np.dtype(np.int64) if isinstance(x, int) else _dtypes.default_float)
    if like is None:
        return kind
    if _category(kind) <= _category(like):
        return like
    return kind if like.kind == "b" or kind.kind != "f" else _promote(like, kind)


def as_operand(x: Any, like: Tensor | None = None, op: str = "op") -> Tensor:
    """A Tensor for x. Python numbers take PyTorch's dtype next to `like` (see `_scalar_dtype`)."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, _NUMBERS):
        dtype = _scalar_dtype(x, None if like is None else like.dtype)
        return Tensor._make(np.asarray(x, dtype=dtype), False, None)
    if isinstance(x, np.ndarray | np.generic | list | tuple):
        return Tensor._make(np.asarray(x), False, None)
    raise TypeError(f"{op}: unsupported operand of type {type(x).__name__}; expected a Tensor, "
                    "a Python number or a NumPy array")


def operands(a: Any, b: Any, op: str) -> tuple[Tensor, Tensor]:
    """Both operands as tensors of PyTorch's result dtype.

    Tensors with dimensions decide the dtype, then 0-d ones, then Python numbers; a lower rank
    only counts when it is of a higher kind (bool < integer < floating point). So a float32
    tensor times a float64 0-d tensor or NumPy scalar stays float32, and an int64 tensor plus a
    float32 one is float32 (NumPy gives float64 in both cases). A NumPy array operand follows
    NumPy's rule, as it does in torch."""
    raw_a, raw_b = a, b
    if isinstance(a, Tensor):
        if isinstance(b, Tensor):
            if a._data.dtype == b._data.dtype:
                return a, b
        elif isinstance(b, _NUMBERS):
            b = as_operand(b, a, op)
            return (a if a.dtype == b.dtype else a.astype(b.dtype)), b
        else:
            b = as_operand(b, a, op)
    else:
        b = as_operand(b, None, op)
        if not isinstance(a, _NUMBERS):
            a = as_operand(a, b, op)
        else:
            a = as_operand(a, b, op)
            return a, (b if a.dtype == b.dtype else b.astype(a.dtype))
    dtype = (np.result_type(a._data, b._data) if isinstance(raw_a, np.ndarray)
             or isinstance(raw_b, np.ndarray) else result_type(a, b))
    return ((a if a.dtype == dtype else a.astype(dtype)),
            (b if b.dtype == dtype else b.astype(dtype)))


def result_type(a: Tensor, b: Tensor) -> np.dtype:
    """PyTorch's type promotion for two tensors (see `operands`)."""
    (hi, lo) = (a.dtype, b.dtype) if (a.ndim > 0) >= (b.ndim > 0) else (b.dtype, a.dtype)
    if (a.ndim > 0) == (b.ndim > 0):
        return _promote(a.dtype, b.dtype)
    if _category(hi) >= _category(lo) and hi.kind != "b":
        return hi
    return _promote(hi, lo) if hi.kind == "b" or lo.kind == "f" else hi


def _promote(x: np.dtype, y: np.dtype) -> np.dtype:
    """NumPy's promotion, except that an integer with a float gives the float (as in torch)."""
    if x.kind in "biu" and y.kind == "f":
        return y
    if y.kind in "biu" and x.kind == "f":
        return x
    return np.promote_types(x, y)


def resolve_dim(dim: Any, axis: Any) -> Any:
    """Accept PyTorch's `dim` or NumPy's `axis` (one of them)."""
    if axis is not None:
        if dim is not None:
            raise TypeError("pass either dim or axis, not both")
        return axis
    return dim


def norm_axis(axis: int, ndim: int, op: str) -> int:
    """`axis` as an index in [0, ndim); one out of range raises torch's IndexError (as a
    DimensionError, which is also a ShapeError)."""
    lo, hi = -max(ndim, 1), max(ndim, 1) - 1
    if isinstance(axis, bool) or not isinstance(axis, int | np.integer):
        raise TypeError(f"{op}: dim must be an int, got {type(axis).__name__} {axis!r}")
    if not lo <= axis <= hi:
        raise DimensionError(f"{op}: dim {axis} is out of range for a tensor with {ndim} "
                             f"dimension(s) (expected to be in range of [{lo}, {hi}])")
    return int(axis) % max(ndim, 1)


def norm_axes(axis: Any, ndim: int, op: str) -> tuple[int, ...] | None:
    """None (all axes) or a sorted tuple of distinct non-negative axes.

    A 0-d tensor accepts dim 0 or -1 (as in torch), meaning all of it: None. An empty tuple or
    list also means all axes, as torch's sum/mean/amax/var read it.
    """
    if axis is None:
        return None
    axes = tuple(axis) if isinstance(axis, list | tuple) else (axis,)
    if not axes:
        return None
    out = tuple(sorted({norm_axis(a, ndim, op) for a in axes}))
    if len(out) != len(axes):
        raise ShapeError(f"{op}: dim {axis} contains a repeated axis")
    return out if ndim else None


def index_to_numpy(index: Any) -> Any:
    """Replace Tensors (and lists) inside an index by arrays NumPy understands."""
    if isinstance(index, Tensor):
        return index._data
    if isinstance(index, tuple):
        return tuple(index_to_numpy(i) for i in index)
    if isinstance(index, list):
        return np.asarray([i.item() if isinstance(i, Tensor) else i for i in index])
    return index


def is_basic_index(index: Any) -> bool:
    """Slices, ints, None, Ellipsis and boolean masks select each element at most once."""
    items = index if isinstance(index, tuple) else (index,)
    for i in items:
        if isinstance(i, np.ndarray) and i.dtype != np.bool_:
            return False
    return True


_LAYER_OPERANDS = ("input", "weight", "bias", "running_mean")


def same_dtype(op: str, *operands: Any, names: tuple[str, ...] = _LAYER_OPERANDS) -> None:
    """Products and layers take one dtype, as in torch (which promotes nothing there): a float64
    input into a float32 layer is an error, not a silent run in float64. Operands that are not
    tensors (None, numbers) are not checked; `names` label the operands in the message."""
    dtype = None
    for t in operands:
        if isinstance(t, Tensor):
            if dtype is None:
                dtype = t.dtype
            elif t.dtype != dtype:
                break
    else:
        return
    labelled = zip(names, operands, strict=False)  # (more names than operands is fine)
    got = ", ".join(f"{k} {t.dtype}" for k, t in labelled if isinstance(t, Tensor))
    raise DTypeError(f"{op}: expected the same dtype for all operands, got {got} (convert "
                     f"with .float() / .double(), or the model with .to(dtype))")
