"""Shape ops: they move values around, so their backward moves ȳ back to where each value came
from. Selection (getitem) and scatter-add are each other's backward."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from chainrule.autograd import engine  # SumToShape: the engine's un-broadcasting, as an op
from chainrule.autograd.function import Function
from chainrule.errors import ArgumentError, DimensionError, DTypeError, ShapeError
from chainrule.ops._helpers import as_operand, index_to_numpy, is_basic_index, norm_axis
from chainrule.ops.elementwise import where as _where
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


class IndexPut(Function):
    """y = a with y[index] = v (the value of `a[index] = v`, out of place).

    ā = ȳ with zeros at index (those elements of a were overwritten);
    v̄ = ȳ[index], summed over the axes v was broadcast along (done by the engine).
    """

    op_name = "setitem"
    index: Any

    def forward(self, a, v):
        out = a.copy()
        out[self.index] = v
        return out

    def backward(self, g, out):
        ga = IndexPut.apply(g, Tensor._make(np.zeros((), g.dtype), False, None),
                            index=self.index) if self.needs_grad(0) else None
        return ga, (GetItem.apply(g, index=self.index) if self.needs_grad(1) else None)


class Pad(Function):
    """y = a surrounded by a constant; a negative width crops that side instead (as in torch).

    ā = ȳ padded by the negated widths with zeros: the centre of ȳ where a was padded, and zeros
    where a was cropped, so Pad is its own backward.
    """

    widths: tuple[tuple[int, int], ...]
    value: float

    def forward(self, a):
        crop = tuple(slice(-min(lo, 0), n + min(hi, 0))
                     for (lo, hi), n in zip(self.widths, a.shape, strict=True))
        grow = tuple((max(lo, 0), max(hi, 0)) for lo, hi in self.widths)
        return np.pad(a[crop], grow, constant_values=self.value)  # a copy, also when cropping

    def backward(self, g, out):
        return (Pad.apply(g, widths=tuple((-lo, -hi) for lo, hi in self.widths), value=0.0),)


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


def index_put(a: Tensor, index: Any, value: Any) -> Tensor:
    """`a` with `a[index] = value` (out of place; `Tensor.__setitem__` writes it in place)."""
    a = as_operand(a, op="setitem")
    v = value if isinstance(value, Tensor) else Tensor._make(np.asarray(value, a.dtype), False,
                                                             None)
    return IndexPut.apply(a, v, index=index_to_numpy(index))


def pad(a: Tensor, pad: Sequence[int], value: float = 0.0, mode: str = "constant") -> Tensor:
    """Constant padding in torch.nn.functional.pad's convention: `pad` lists (before, after)
    pairs starting from the last dim, e.g. (left, right, top, bottom) for an image. A negative
    width removes that many entries from its side."""
    if mode != "constant":
        raise ValueError(f"pad: only mode='constant' is supported, got {mode!r}")
    if len(pad) % 2 or len(pad) // 2 > a.ndim:
        raise ShapeError(f"pad: pad {tuple(pad)} must have an even length of at most "
                         f"2 × {a.ndim} for a tensor of shape {a.shape}")
    widths = [(0, 0)] * a.ndim
    for i in range(len(pad) // 2):
        widths[a.ndim - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
    for d, ((lo, hi), n) in enumerate(zip(widths, a.shape, strict=True)):
        if n + min(lo, 0) + min(hi, 0) < 0:  # torch crops first, then pads
            raise ShapeError(f"pad: negative padding {(lo, hi)} crops more than the {n} "
                             f"entries of dim {d} of a tensor of shape {a.shape}")
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
        raise ArgumentError("stack: expected a non-empty sequence of tensors")
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
            raise ArgumentError(f"split: split_size must be positive, got "
                                f"{split_size_or_sections}")
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
        raise ArgumentError(f"chunk: chunks must be positive, got {chunks}")
    if a.ndim == 0:
        raise ShapeError(f"chunk: expects at least a 1-dimensional tensor, got shape {a.shape}")
    n = a.shape[norm_axis(dim, a.ndim, "chunk")]
    return split(a, max(math.ceil(n / chunks), 1), dim)


# ----------------------------------------------------------------- gather / scatter, flip, repeat
class Scatter(Function):
    """y = a with the entries at `index` overwritten by src (torch.scatter; with repeated
    positions the last write wins).

    ā = ȳ with the overwritten entries set to 0,   s̄rc = ȳ[index] (each src entry's only child is
    the entry it wrote).
    """

    index: Any  # a NumPy advanced index (a tuple of integer arrays) into a

    def forward(self, a, src):
        out = a.copy()
        out[self.index] = src
        return out

    def backward(self, g, out):
        ga = gsrc = None
        if self.needs_grad(0):
            written = np.zeros(g.shape, np.bool_)
            written[self.index] = True
            ga = _where(written, Tensor._make(np.zeros((), g.dtype), False, None), g)
        if self.needs_grad(1):
            gsrc = GetItem.apply(g, index=self.index)
        return ga, gsrc


class Contiguous(Function):
    """y = a copied into row-major memory (the same values).   ā = ȳ."""

    reads_inputs = False

    def forward(self, a):
        return np.ascontiguousarray(a)

    def backward(self, g, out):
        return (g,)


class Flip(Function):
    """y = a reversed along `axes`.   ā = ȳ reversed along the same axes."""

    axes: tuple[int, ...]

    def forward(self, a):
        return np.flip(a, self.axes).copy()  # torch.flip copies: y never shares a's memory

    def backward(self, g, out):
        return (Flip.apply(g, axes=self.axes),)


class Repeat(Function):
    """y = a tiled `reps` times along each dim (torch's Tensor.repeat; `a` already has
    len(reps) dims).   ā = Σ of ȳ over the copies: ȳ viewed as (r₀, n₀, r₁, n₁, …), summed over
    every r."""

    reps: tuple[int, ...]

    def forward(self, a):
        return np.tile(a, self.reps)

    def backward(self, g, out):
        a = self.inputs[0]
        split = tuple(x for r, n in zip(self.reps, a.shape, strict=True) for x in (r, n))
        return (g.reshape(split).sum(dim=tuple(range(0, len(split), 2))),)


def _index_array(index: Any, op: str) -> np.ndarray:
    idx = index._data if isinstance(index, Tensor) else np.asarray(index)
    if idx.dtype.kind not in "iu":
        raise DTypeError(f"{op}: index must be an integer tensor (int64), got dtype {idx.dtype}")
    return idx


def _check_bounds(idx: np.ndarray, size: int, dim: int, op: str,
                  kind: type[Exception] = RuntimeError) -> None:
    """Indices in [0, size) (no negative ones, as in torch's gather/scatter/index_select)."""
    if idx.size and (idx.min() < 0 or idx.max() >= size):
        bad = idx.min() if idx.min() < 0 else idx.max()
        raise kind(f"{op}: index {bad} is out of bounds for dim {dim} with size {size}")


def _along(idx: np.ndarray, axis: int) -> tuple[np.ndarray, ...]:
    """The advanced index that picks a[i₀, …, idx[i₀, …], …] for every position of idx: torch's
    gather/scatter addressing (`idx` replaces the coordinate along `axis`)."""
    grid: list[np.ndarray] = list(np.indices(idx.shape, sparse=True))
    grid[axis] = idx
    return tuple(grid)


def _along_args(a: Tensor, dim: int, index: Any, op: str) -> tuple[int, np.ndarray]:
    """dim as an index, and index as an integer array of at least one dim, checked as torch
    does (a 0-d input or index reads as one of shape (1,))."""
    idx = _index_array(index, op)
    d = norm_axis(dim, a.ndim, op)
    shape: tuple[int, ...] = a.shape or (1,)
    idx = idx.reshape(idx.shape or (1,))
    if idx.ndim != len(shape):
        raise ShapeError(f"{op}: index of shape {idx.shape} must have as many dims as the "
                         f"input of shape {a.shape}")
    if any(i != d and idx.shape[i] > shape[i] for i in range(len(shape))):
        raise ShapeError(f"{op}: index of shape {idx.shape} must be no larger than the input "
                         f"of shape {a.shape} apart from dim {d}")
    _check_bounds(idx, shape[d], d, op)
    return d, idx


def _at_least_1d(a: Tensor) -> Tensor:
    return a if a.ndim else reshape(a, (1,))


def _shaped(y: Tensor, index: Any) -> Tensor:
    """y shaped as the index the caller gave: 0-d for a 0-d index."""
    return y if np.ndim(index._data if isinstance(index, Tensor) else index) else reshape(y, ())


def gather(input: Tensor, dim: int, index: Any) -> Tensor:
    """y[i][j] = input[index[i][j]][j] for dim 0 (and so on for other dims), as torch.gather:
    y has index's shape; `index` may be smaller than input along the other dims."""
    a = as_operand(input, op="gather")
    d, idx = _along_args(a, dim, index, "gather")
    return _shaped(GetItem.apply(_at_least_1d(a), index=_along(idx, d)), index)


def _src(src: Any, idx: np.ndarray, like: Tensor, op: str) -> Tensor:
    """src cut to index's shape (torch reads only that corner of it) in like's dtype."""
    if not isinstance(src, Tensor):
        return Tensor._make(np.full(idx.shape, src, like.dtype), False, None)
    src = _at_least_1d(src)
    if src.ndim != idx.ndim or any(n > m for n, m in zip(idx.shape, src.shape, strict=True)):
        raise ShapeError(f"{op}: index of shape {idx.shape} must be no larger than src of "
                         f"shape {src.shape}")
    if src.dtype != like.dtype:
        raise DTypeError(f"{op}: src has dtype {src.dtype} but the input has {like.dtype} "
                         "(they must match)")
    if src.shape != idx.shape:
        src = getitem(src, tuple(slice(0, n) for n in idx.shape))
    return src


def scatter(input: Tensor, dim: int, index: Any, src: Any = None, *, value: Any = None
            ) -> Tensor:
    """A copy of input with input[index[i][j]][j] = src[i][j] for dim 0 (and so on), as
    torch.scatter; `src` may be a tensor or a number (or pass `value=`). Where index repeats
    a position the last write wins (torch leaves that case unspecified)."""
    a = as_operand(input, op="scatter")
    if (src is None) == (value is None):
        raise TypeError("scatter: pass exactly one of src and value")
    d, idx = _along_args(a, dim, index, "scatter")
    s = _src(src if value is None else value, idx, a, "scatter")
    y = Scatter.apply(_at_least_1d(a), s, index=_along(idx, d))
    return y if a.ndim else reshape(y, ())


def scatter_add(input: Tensor, dim: int, index: Any, src: Tensor) -> Tensor:
    """input + src added at `index` along dim (repeated positions add up), as
    torch.scatter_add.   s̄rc = ȳ[index]."""
    a = as_operand(input, op="scatter_add")
    d, idx = _along_args(a, dim, index, "scatter_add")
    s = _src(src, idx, a, "scatter_add")
    added = ScatterAdd.apply(s, shape=a.shape or (1,), index=_along(idx, d))
    return a + (added if a.ndim else reshape(added, ()))


def index_select(input: Tensor, dim: int, index: Any) -> Tensor:
    """The entries at `index` (a 1-D integer tensor) along dim, as torch.index_select."""
    a = as_operand(input, op="index_select")
    idx = _index_array(index, "index_select")
    if idx.ndim > 1:
        raise ShapeError(f"index_select: index must be 0-d or 1-d, got shape {idx.shape}")
    d = norm_axis(dim, a.ndim, "index_select")
    _check_bounds(idx, a.shape[d] if a.ndim else 1, d, "index_select", IndexError)
    if a.ndim == 0:
        if idx.size != 1:
            raise ShapeError(f"index_select: a 0-d input takes one index, got {idx.size}")
        return reshape(GetItem.apply(reshape(a, (1,)), index=(idx.reshape(-1),)), ())
    return GetItem.apply(a, index=(slice(None),) * d + (idx.reshape(-1),))


def masked_select(input: Tensor, mask: Any) -> Tensor:
    """The entries where mask (broadcast against input) is True, as a 1-D tensor."""
    a = as_operand(input, op="masked_select")
    m = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype != np.bool_:
        raise DTypeError(f"masked_select: mask must be a bool tensor, got dtype {m.dtype}")
    try:
        shape = np.broadcast_shapes(a.shape, m.shape)
    except ValueError:
        raise ShapeError(f"masked_select: mask of shape {m.shape} does not broadcast with the "
                         f"input of shape {a.shape}") from None
    return getitem(broadcast_to(a, shape), np.broadcast_to(m, shape))


def contiguous(input: Tensor) -> Tensor:
    """input itself if its values lie in row-major order in memory, else a row-major copy (as
    torch's Tensor.contiguous)."""
    a = as_operand(input, op="contiguous")
    return a if a._data.flags.c_contiguous else Contiguous.apply(a)


def flip(input: Tensor, dims: Any) -> Tensor:
    """input reversed along each of `dims` (a copy, as torch.flip)."""
    a = as_operand(input, op="flip")
    ds = tuple(dims) if isinstance(dims, list | tuple) else (dims,)
    axes = tuple(norm_axis(d, a.ndim, "flip") for d in ds)
    if len(set(axes)) != len(axes):
        raise ShapeError(f"flip: dims {tuple(ds)} contain a repeated dim")
    return Flip.apply(a, axes=axes if a.ndim else ())


def repeat(input: Tensor, *sizes: Any) -> Tensor:
    """torch's Tensor.repeat: tile along each dim; extra leading sizes add new dims."""
    a = as_operand(input, op="repeat")
    reps = _size_args(sizes)
    if len(reps) < a.ndim:
        raise ShapeError(f"repeat: {len(reps)} repeat sizes {reps} for a tensor of shape "
                         f"{a.shape}; give at least one per dim")
    if any(r < 0 for r in reps):
        raise ShapeError(f"repeat: repeat sizes {reps} must be non-negative")
    a = reshape(a, (1,) * (len(reps) - a.ndim) + a.shape)
    return Repeat.apply(a, reps=reps)


def t(input: Tensor) -> Tensor:
    """The transpose of a matrix; a 0-d or 1-d tensor is returned as it is (torch.t)."""
    a = as_operand(input, op="t")
    if a.ndim > 2:
        raise ShapeError(f"t: expects a tensor with at most 2 dims, got shape {a.shape} "
                         "(use transpose or permute)")
    return Permute.apply(a, axes=tuple(range(a.ndim))[::-1])


def unbind(input: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    """The slices along dim, that dim removed (torch.unbind)."""
    a = as_operand(input, op="unbind")
    if a.ndim == 0:
        raise DimensionError("unbind: a 0-d tensor has no dim to unbind")
    d = norm_axis(dim, a.ndim, "unbind")
    head = (slice(None),) * d
    return tuple(getitem(a, (*head, i)) for i in range(a.shape[d]))


def nonzero(input: Tensor, *, as_tuple: bool = False) -> Any:
    """Indices of the non-zero entries: an (n, ndim) int64 tensor, or one 1-D tensor per dim."""
    a = as_operand(input, op="nonzero")
    if as_tuple:
        where_ = np.nonzero(a._data) if a.ndim else (np.flatnonzero(a._data),)
        return tuple(Tensor._make(i.astype(np.int64), False, None) for i in where_)
    return Tensor._make(np.argwhere(a._data).astype(np.int64), False, None)
