"""Argument handling shared by the ops: operands, axes, indices."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.errors import ShapeError
from chainrule.tensor import Tensor

_SCALARS = (bool, int, float, np.generic)


def as_operand(x: Any, like: Tensor | None = None, op: str = "op") -> Tensor:
    """A Tensor for x. Python scalars take the dtype NumPy would give them next to `like`."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, _SCALARS) and not isinstance(x, np.generic):
        dtype = np.result_type(like.dtype, x) if like is not None else None
        return Tensor._make(np.asarray(x, dtype=dtype), False, None)
    if isinstance(x, np.ndarray | np.generic | list | tuple):
        return Tensor._make(np.asarray(x), False, None)
    raise TypeError(f"{op}: unsupported operand of type {type(x).__name__}; expected a Tensor, "
                    "a Python number or a NumPy array")


def operands(a: Any, b: Any, op: str) -> tuple[Tensor, Tensor]:
    if isinstance(a, Tensor):
        return a, as_operand(b, a, op)
    b = as_operand(b, None, op)
    return as_operand(a, b, op), b


def resolve_dim(dim: Any, axis: Any) -> Any:
    """Accept PyTorch's `dim` or NumPy's `axis` (one of them)."""
    if axis is not None:
        if dim is not None:
            raise TypeError("pass either dim or axis, not both")
        return axis
    return dim


def norm_axis(axis: int, ndim: int, op: str) -> int:
    lo, hi = -max(ndim, 1), max(ndim, 1) - 1
    if not isinstance(axis, int | np.integer) or not lo <= axis <= hi:
        raise ShapeError(f"{op}: dim {axis!r} is out of range for a tensor with {ndim} "
                         f"dimension(s) (expected an int in [{lo}, {hi}])")
    return int(axis) % max(ndim, 1)


def norm_axes(axis: Any, ndim: int, op: str) -> tuple[int, ...] | None:
    """None (all axes) or a sorted tuple of distinct non-negative axes.

    A 0-d tensor accepts dim 0 or -1 (as in torch), meaning all of it: None.
    """
    if axis is None:
        return None
    axes = tuple(axis) if isinstance(axis, list | tuple) else (axis,)
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
