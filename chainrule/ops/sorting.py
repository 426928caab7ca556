"""Sorting along a dim: sort, argsort, topk.

The indices are int64 tensors outside the graph. The values are the input gathered at those
indices (`chainrule.ops.shape.gather`), so each value's error signal goes back to the entry it
came from: ā = ȳ scattered to the sorted positions, the backward of gather.

Order: equal entries keep their order in the input (a stable sort), descending too, and NaN
counts as larger than every number, as in torch. torch's topk picks among tied entries in an
unspecified order (its values agree with ours; its indices of ties may differ).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from chainrule.errors import DTypeError, ShapeError
from chainrule.ops._helpers import as_operand, norm_axis
from chainrule.ops.shape import gather
from chainrule.tensor import Tensor


class ValuesIndices(NamedTuple):
    """(values, indices), as torch.sort and torch.topk return."""

    values: Tensor
    indices: Tensor


def _order(x: np.ndarray, axis: int, descending: bool) -> np.ndarray:
    """The stable sorting permutation along axis; descending keeps ties in input order too."""
    if not descending:
        return np.argsort(x, axis=axis, kind="stable")
    # ascending on the reversed axis puts ties last-first; reversing back restores input order
    up = np.argsort(np.flip(x, axis), axis=axis, kind="stable")
    return x.shape[axis] - 1 - np.flip(up, axis)


def _sorted(a: Tensor, dim: int, descending: bool, op: str) -> tuple[int, np.ndarray]:
    d = norm_axis(dim, a.ndim, op)
    if a.ndim == 0:
        return d, np.zeros((), np.int64)
    return d, _order(a._data, d, descending).astype(np.int64)


def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False
         ) -> ValuesIndices:
    """(values, indices) of input sorted along dim. The sort is always stable (`stable` is
    accepted for torch's signature)."""
    a = as_operand(input, op="sort")
    d, idx = _sorted(a, dim, descending, "sort")
    return ValuesIndices(gather(a, d, idx), Tensor._make(idx, False, None))


def argsort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False
            ) -> Tensor:
    """The indices that sort input along dim (stable; see `sort`)."""
    a = as_operand(input, op="argsort")
    return Tensor._make(_sorted(a, dim, descending, "argsort")[1], False, None)


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True
         ) -> ValuesIndices:
    """The k largest (or smallest) entries along dim and their indices, largest first (also with
    sorted=False, which allows any order). Ties go to the lower index."""
    a = as_operand(input, op="topk")
    if a.dtype == np.bool_:
        raise DTypeError("topk: bool tensors are not supported (convert with .int() first)")
    d, idx = _sorted(a, dim, largest, "topk")
    n = a.shape[d] if a.ndim else 1
    if not 0 <= k <= n:
        raise ShapeError(f"topk: k={k} is out of range for dim {d} of size {n} (shape "
                         f"{a.shape})")
    if a.ndim:
        idx = np.take(idx, np.arange(k), axis=d)
    return ValuesIndices(gather(a, d, idx), Tensor._make(idx, False, None))
