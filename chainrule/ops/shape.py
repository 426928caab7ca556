"""Shape ops: they move values around, so their backward moves ȳ back to where each value came
from. Selection (getitem) and scatter-add are each other's backward."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from chainrule.autograd import engine  # SumToShape: the engine's un-broadcasting, as an op
from chainrule.autograd.function import Function
from chainrule.errors import ShapeError
from chainrule.ops._helpers import as_operand, index_to_numpy, is_basic_index, norm_axis
from chainrule.tensor import Tensor


class Reshape(Function):
    """y = a with a new shape (same values in row-major order).   ā = ȳ reshaped back."""

    shape: tuple[int, ...]

    def forward(self, a):
        return a.reshape(self.shape)

    def backward(self, g, out):
        return (g.reshape(self.inputs[0].shape),)


class Permute(Function):
    """y = a with axes reordered.   ā = ȳ with the inverse permutation."""

    axes: tuple[int, ...]

    def forward(self, a):
        return np.transpose(a, self.axes)

    def backward(self, g, out):
        return (g.permute(tuple(np.argsort(self.axes))),)


class BroadcastTo(Function):
    """y = a repeated along broadcast axes.   ā = Σ of ȳ over the copies (done by the engine)."""

    shape: tuple[int, ...]

    def forward(self, a):
        return np.broadcast_to(a, self.shape)

    def backward(self, g, out):
        return (g,)


class GetItem(Function):
    """y = a[index] (slices, ints, integer arrays, boolean masks).

    ā = ȳ scattered back into a zero tensor of a's shape; an element picked k times gets the sum
    of its k error signals (each pick is a child).
    """

    op_name = "getitem"
    index: Any

    def forward(self, a):
        return a[self.index]

    def backward(self, g, out):
        return (ScatterAdd.apply(g, shape=self.inputs[0].shape, index=self.index),)



class ScatterAdd(Function):
    """y = zeros(shape) with g added at `index` (the backward of getitem).   ḡ = ȳ[index]."""

    shape: tuple[int, ...]
    index: Any

    def forward(self, g):
        out = np.zeros(self.shape, g.dtype)
        if is_basic_index(self.index):
            out[self.index] = g
        else:
            np.add.at(out, self.index, g)
        return out

    def backward(self, gg, out):
        return (GetItem.apply(gg, index=self.index),)


class Pad(Function):
    """y = a surrounded by a constant.   ā = the centre of ȳ."""

    widths: tuple[tuple[int, int], ...]
    value: float

    def forward(self, a):
        return np.pad(a, self.widths, constant_values=self.value)

    def backward(self, g, out):
        widths = zip(self.widths, g.shape, strict=True)
        return (g[tuple(slice(lo, n - hi) for (lo, hi), n in widths)],)


class Cat(Function):
    """y = [a₁; a₂; …] along `axis`.   āᵢ = the block of ȳ that aᵢ filled."""

    axis: int

    def forward(self, *arrays):
        return np.concatenate(arrays, axis=self.axis)

    def backward(self, g, out):
        grads, start = [], 0
        head = (slice(None),) * self.axis
        for i, t in enumerate(self.inputs):
            n = t.shape[self.axis]
            part = (*head, slice(start, start + n))
            grads.append(g[part] if self.needs_grad(i) else None)
            start += n
        return grads


# ----------------------------------------------------------------- functional forms
def _size_args(size: tuple[Any, ...]) -> tuple[int, ...]:
    if len(size) == 1 and isinstance(size[0], Sequence | np.ndarray):
        return tuple(int(s) for s in size[0])
    return tuple(int(s) for s in size)


def reshape(a: Tensor, *shape: Any) -> Tensor:
    """New shape with the same number of elements; one entry may be -1 (inferred)."""
    a = as_operand(a, op="reshape")
    shape = _size_args(shape)
    known = math.prod(s for s in shape if s != -1)
    bad = shape.count(-1) > 1 or any(s < -1 for s in shape)
    if not bad:
        bad = (a.numel() != known) if -1 not in shape else (known == 0 or a.numel() % known != 0)
    if bad:
        raise ShapeError(f"reshape: cannot reshape a tensor of shape {a.shape} ({a.numel()} "
                         f"elements) into shape {shape}")
    if -1 in shape:
        shape = tuple(a.numel() // known if s == -1 else s for s in shape)
    if shape == a.shape:
        return a
    return Reshape.apply(a, shape=shape)


view = reshape


def flatten(a: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims start_dim..end_dim into one (torch.flatten)."""
    if a.ndim == 0:
        return reshape(a, (1,))
    s, e = norm_axis(start_dim, a.ndim, "flatten"), norm_axis(end_dim, a.ndim, "flatten")
    if s > e:
        raise ShapeError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    return reshape(a, (*a.shape[:s], math.prod(a.shape[s:e + 1]), *a.shape[e + 1:]))


def permute(a: Tensor, *dims: Any) -> Tensor:
    dims = _size_args(dims)
    if len(dims) != a.ndim:
        raise ShapeError(f"permute: got {len(dims)} dims {dims} for a tensor of shape {a.shape}")
    axes = tuple(norm_axis(d, a.ndim, "permute") for d in dims)
    if sorted(axes) != list(range(a.ndim)):
        raise ShapeError(f"permute: dims {dims} are not a permutation of 0..{a.ndim - 1}")
    return Permute.apply(a, axes=axes)


def transpose(a: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two axes."""
    d0, d1 = norm_axis(dim0, a.ndim, "transpose"), norm_axis(dim1, a.ndim, "transpose")
    axes = list(range(a.ndim))
    if axes:  # a 0-d tensor accepts dims 0/-1 (as in torch) and stays as it is
        axes[d0], axes[d1] = axes[d1], axes[d0]
    return Permute.apply(a, axes=tuple(axes))


def squeeze(a: Tensor, dim: Any = None) -> Tensor:
    """Remove axes of length 1 (all, or the given ones that have length 1, as in torch)."""
    if dim is None:
        dims: tuple[int, ...] = tuple(i for i, n in enumerate(a.shape) if n == 1)
    else:
        ds = dim if isinstance(dim, tuple | list) else (dim,)
        dims = tuple(d for d in (norm_axis(d, a.ndim, "squeeze") for d in ds)
                     if a.ndim and a.shape[d] == 1)  # 0-d: dims 0/-1 are valid, nothing to do
    return reshape(a, tuple(n for i, n in enumerate(a.shape) if i not in dims))


def unsqueeze(a: Tensor, dim: int) -> Tensor:
    """Insert an axis of length 1 at `dim` (negative dims count from the new end)."""
    d = norm_axis(dim, a.ndim + 1, "unsqueeze")
    return reshape(a, (*a.shape[:d], 1, *a.shape[d:]))


def broadcast_to(a: Tensor, *shape: Any) -> Tensor:
    a = as_operand(a, op="broadcast_to")
    shape = _size_args(shape)
    if shape == a.shape:
        return a
    try:  # a's dims must fit the trailing dims of shape: a size 1 may grow, nothing shrinks
        if len(shape) < a.ndim or np.broadcast_shapes(a.shape, shape) != shape:
            raise ValueError
    except ValueError:
        raise ShapeError(f"broadcast_to: cannot broadcast shape {a.shape} to {shape}") from None
    return BroadcastTo.apply(a, shape=shape)


def sum_to_size(a: Tensor, *size: Any) -> Tensor:
    """torch's sum_to_size: sum a down to `size`, which must broadcast to a's shape."""
    a = as_operand(a, op="sum_to_size")
    # the engine calls this for every broadcast term with a shape tuple: skip the parsing then
    shape = size[0] if len(size) == 1 and type(size[0]) is tuple else _size_args(size)
    if shape == a.shape:
        return a
    lead = a.ndim - len(shape)
    if lead < 0 or any(n != 1 and n != a.shape[lead + i] for i, n in enumerate(shape)):
        raise ShapeError(f"sum_to_size: size {shape} is not expandable to the tensor's shape "
                         f"{a.shape}")
    return engine.SumToShape.apply(a, shape=shape)


def expand(a: Tensor, *sizes: Any) -> Tensor:
    """torch's expand: like broadcast_to, and -1 keeps that dim's size."""
    sizes = _size_args(sizes)
    lead = len(sizes) - a.ndim
    shape = tuple(a.shape[i - lead] if s == -1 and i >= lead else s
                  for i, s in enumerate(sizes))
    return broadcast_to(a, shape)


def getitem(a: Tensor, index: Any) -> Tensor:
    return GetItem.apply(a, index=index_to_numpy(index))


def pad(a: Tensor, pad: Sequence[int], value: float = 0.0, mode: str = "constant") -> Tensor:
    """Constant padding in torch.nn.functional.pad's convention: `pad` lists (before, after)
    pairs starting from the last dim, e.g. (left, right, top, bottom) for an image."""
    if mode != "constant":
        raise ValueError(f"pad: only mode='constant' is supported, got {mode!r}")
    if len(pad) % 2 or len(pad) // 2 > a.ndim:
        raise ShapeError(f"pad: pad {tuple(pad)} must have an even length of at most "
                         f"2 × {a.ndim} for a tensor of shape {a.shape}")
    if any(p < 0 for p in pad):
        raise ValueError(f"pad: negative padding {tuple(pad)} is not supported")
    widths = [(0, 0)] * a.ndim
    for i in range(len(pad) // 2):
        widths[a.ndim - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
    return Pad.apply(a, widths=tuple(widths), value=value)


def cat(tensors: Sequence[Tensor], dim: int = 0, *, axis: int | None = None) -> Tensor:
    """Join tensors along an existing axis."""
    ts = [as_operand(t, op="cat") for t in tensors]
    if not ts:
        raise ValueError("cat: expected a non-empty sequence of tensors")
    d = norm_axis(dim if axis is None else axis, ts[0].ndim, "cat")
    ref = ts[0].shape
    for t in ts[1:]:
        if t.ndim != len(ref) or any(
                x != y for i, (x, y) in enumerate(zip(t.shape, ref, strict=True)) if i != d):
            raise ShapeError(f"cat: shapes {[tuple(t.shape) for t in ts]} must match except "
                             f"along dim {d}")
    return Cat.apply(*ts, axis=d)


concatenate = cat


def stack(tensors: Sequence[Tensor], dim: int = 0, *, axis: int | None = None) -> Tensor:
    """Join tensors of equal shape along a new axis."""
    ts = [as_operand(t, op="stack") for t in tensors]
    if not ts:
        raise ValueError("stack: expected a non-empty sequence of tensors")
    if any(t.shape != ts[0].shape for t in ts):
        raise ShapeError(f"stack: all tensors must have the same shape, got "
                         f"{[tuple(t.shape) for t in ts]}")
    d = norm_axis(dim if axis is None else axis, ts[0].ndim + 1, "stack")
    return cat([unsqueeze(t, d) for t in ts], dim=d)


def split(a: Tensor, split_size_or_sections: int | Sequence[int], dim: int = 0
          ) -> tuple[Tensor, ...]:
    """Pieces of `split_size` along dim (the last may be smaller), or of the listed sizes."""
    if a.ndim == 0:
        raise ShapeError(f"split: expects at least a 1-dimensional tensor, got shape {a.shape}")
    d = norm_axis(dim, a.ndim, "split")
    n = a.shape[d]
    if isinstance(split_size_or_sections, int):
        if split_size_or_sections <= 0:
            raise ValueError(f"split: split_size must be positive, got {split_size_or_sections}")
        sizes = [min(split_size_or_sections, n - s) for s in range(0, n,
                                                                    split_size_or_sections)]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != n:
            raise ShapeError(f"split: sections {sizes} sum to {sum(sizes)} but dim {d} has "
                             f"size {n}")
    head = (slice(None),) * d
    pieces, start = [], 0
    for s in sizes:
        pieces.append(getitem(a, (*head, slice(start, start + s))))
        start += s
    return tuple(pieces)


def chunk(a: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """Split into `chunks` pieces of ceil(n / chunks) (fewer if n is small), as torch.chunk."""
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be positive, got {chunks}")
    if a.ndim == 0:
        raise ShapeError(f"chunk: expects at least a 1-dimensional tensor, got shape {a.shape}")
    n = a.shape[norm_axis(dim, a.ndim, "chunk")]
    return split(a, max(math.ceil(n / chunks), 1), dim)
