"""Datasets as `torch.utils.data` has them: `Dataset`, `IterableDataset`, `TensorDataset`,
`ConcatDataset`, `Subset`, `random_split`, and torch's `default_collate` / `default_convert`.

Besides torch's `__getitem__`/`__len__`, a chainrule dataset may have `get_batch(indices, rng)`,
which returns the whole batch at once: a tuple of NumPy arrays, exactly what `default_collate`
would make of `[dataset[i] for i in indices]` (as tensors). Array-backed datasets implement it
by fancy indexing (one NumPy operation per field, no per-sample Python loop); the base class
falls back to fetching samples one by one and collating them.
"""

from __future__ import annotations

import bisect
import collections.abc
import copy
import math
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from chainrule.tensor import Tensor, default_generator, from_numpy

_ERR = ("default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
        "found {}")


def _as_array(x: Any) -> np.ndarray:
    if isinstance(x, Tensor):
        return x.detach().numpy()
    return np.asarray(x)


def _is_text_array(a: np.ndarray) -> bool:
    return a.dtype.kind in "OSUV"   # torch refuses object and string arrays


def _stack(arrays: list[np.ndarray]) -> Tensor:
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        first = arrays[0].shape
        k, other = next((k, a.shape) for k, a in enumerate(arrays) if a.shape != first)
        raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(first)} "
                           f"at entry 0 and {list(other)} at entry {k}")
    return from_numpy(np.stack(arrays))


def _ints(values: Sequence[Any]) -> Tensor:
    """torch.tensor(list of Python ints): int64; all bools: bool; a float among them: float32."""
    arr = np.asarray(values)
    if arr.dtype.kind == "f":
        arr = arr.astype(np.float32)
    elif arr.dtype.kind in "iu":
        arr = arr.astype(np.int64)
    return from_numpy(arr)


def default_collate(batch: Sequence[Any]) -> Any:
    """Merge a list of samples into a batch, as torch's `default_collate` does.

    Tensors and NumPy arrays are stacked into a tensor with a new first axis; NumPy scalars
    become a 1-D tensor of their dtype, Python floats a float64 tensor, Python ints an int64
    one (bools a bool one); strings stay a list. Dicts collate per key, namedtuples per
    field, and tuples and lists per position — a tuple of samples gives a *list* of batches,
    as in torch.
    """
    if not len(batch):
        raise IndexError("default_collate: the batch is empty")
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack([_as_array(b) for b in batch])
    if isinstance(elem, np.ndarray):
        if _is_text_array(elem):
            raise TypeError(_ERR.format(elem.dtype))
        return _stack([np.asarray(b) for b in batch])
    if isinstance(elem, np.bool_ | np.number):
        return from_numpy(np.asarray(batch))
    if isinstance(elem, float):
        return from_numpy(np.asarray(batch, dtype=np.float64))
    if isinstance(elem, int):
        return _ints(batch)
    if isinstance(elem, str | bytes):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        collated = {key: default_collate([d[key] for d in batch]) for key in elem}
        try:
            if isinstance(elem, collections.abc.MutableMapping):
                clone = copy.copy(elem)
                clone.update(collated)
                return clone
            return type(elem)(collated)  # type: ignore[call-arg]
        except TypeError:
            return collated
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):   # namedtuple
        return type(elem)(*(default_collate(s) for s in zip(*batch, strict=False)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(s) != size for s in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        columns = [default_collate(s) for s in zip(*batch, strict=True)]
        if isinstance(elem, tuple):
            return columns
        try:
            return type(elem)(columns)  # type: ignore[call-arg]
        except TypeError:
            return columns
    raise TypeError(_ERR.format(type(elem)))


def default_convert(data: Any) -> Any:
    """torch's `default_convert`: NumPy arrays and scalars inside `data` become tensors (what a
    DataLoader with `batch_size=None` yields); tuples become lists; anything else is kept."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray):
        return data if _is_text_array(data) else from_numpy(data)
    if isinstance(data, np.bool_ | np.number):
        return from_numpy(np.asarray(data))
    if isinstance(data, collections.abc.Mapping):
        converted = {k: default_convert(v) for k, v in data.items()}
        try:
            return type(data)(converted)  # type: ignore[call-arg]
        except TypeError:
            return converted
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, str | bytes):
        try:
            return type(data)([default_convert(d) for d in data])  # type: ignore[call-arg]
        except TypeError:
            return [default_convert(d) for d in data]
    return data


def transform_sample(transform: Any, x: Any, rng: np.random.Generator | None = None) -> Any:
    """`transform(x)` on one sample, passing `rng` to chainrule transforms (which accept it)
    so that random ones draw from the DataLoader's generator."""
    if transform is None:
        return x
    if getattr(transform, "accepts_rng", False):
        return transform(x, rng=rng)
    return transform(x)


def is_batchable(transform: Any) -> bool:
    """Whether `transform.batch(xs)` gives the stack of `transform(x)` for each sample."""
    return transform is None or bool(getattr(transform, "batchable", False))


def apply_transform(transform: Any, xs: Any, rng: np.random.Generator | None = None) -> Any:
    """`transform` (a per-sample transform, as in torchvision) on a stack of samples `xs`:
    one NumPy pass when it is batchable (chainrule's own transforms), else sample by sample
    and collated. Either way the result is the stack of `transform(x)` for each row."""
    if transform is None:
        return xs
    if is_batchable(transform):
        return transform.batch(xs, rng=rng)
    if not len(xs):
        raise ValueError("apply_transform: an empty batch cannot go through a per-sample "
                         "transform")
    out = default_collate([transform_sample(transform, x, rng) for x in xs])
    return out.detach().numpy() if isinstance(out, Tensor) else out


class Dataset:
    """Abstract map-style dataset: subclasses define `__getitem__` (and usually `__len__`).

    Override `get_batch` for a fast batched path (see the module docstring). `a + b` is a
    `ConcatDataset`, as in torch.
    """

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])

    def get_batch(self, indices: np.ndarray, rng: np.random.Generator | None = None) -> Any:
        """The samples at `indices` collated (generic per-sample fallback)."""
        return default_collate([self[int(i)] for i in indices])


class IterableDataset(Dataset):
    """A stream of samples: subclasses define `__iter__`. A DataLoader batches it in order
    (no shuffling or samplers, as in torch)."""

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")

    def __add__(self, other: Dataset) -> ConcatDataset:
        raise TypeError("IterableDataset: concatenate streams with itertools.chain")


def get_batch(dataset: Any, indices: np.ndarray, rng: np.random.Generator | None = None) -> Any:
    """`dataset.get_batch(indices, rng)`, or per-sample fetching for plain `__getitem__`
    objects (torch's `__getitems__` when the dataset has it)."""
    if hasattr(dataset, "get_batch"):
        return dataset.get_batch(indices, rng)
    if hasattr(dataset, "__getitems__"):
        return default_collate(dataset.__getitems__([int(i) for i in indices]))
    return default_collate([dataset[int(i)] for i in indices])


class TensorDataset(Dataset):
    """Samples are the rows of equally long tensors/arrays: `ds[i] == (a[i], b[i], ...)`."""

    def __init__(self, *tensors: Any) -> None:
        if not tensors:
            raise ValueError("TensorDataset: give at least one array or tensor")
        arrays = tuple(_as_array(t) for t in tensors)
        for k, a in enumerate(arrays):
            if a.ndim == 0:
                raise ValueError(f"TensorDataset: argument {k} is a scalar; every argument "
                                 "needs a leading sample dimension")
        if len({a.shape[0] for a in arrays}) != 1:
            raise ValueError("Size mismatch between tensors: TensorDataset needs the same first "
                             f"dimension in every argument, got shapes "
                             f"{[a.shape for a in arrays]}")
        self.arrays = arrays

    @property
    def tensors(self) -> tuple[Tensor, ...]:
        return tuple(from_numpy(a) for a in self.arrays)

    def __getitem__(self, index: int) -> tuple[Tensor, ...]:
        return tuple(from_numpy(np.asarray(a[index])) for a in self.arrays)

    def __len__(self) -> int:
        return self.arrays[0].shape[0]

    def get_batch(self, indices: np.ndarray,
                  rng: np.random.Generator | None = None) -> tuple[np.ndarray, ...]:
        return tuple(a[indices] for a in self.arrays)


class ConcatDataset(Dataset):
    """The samples of several datasets one after another."""

    def __init__(self, datasets: Iterable[Any]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = list(np.cumsum([len(d) for d in self.datasets]))

    def __len__(self) -> int:
        return int(self.cumulative_sizes[-1])

    def __getitem__(self, index: int) -> Any:
        n = len(self)
        if index < 0:
            if -index > n:
                raise ValueError("absolute value of index should not exceed dataset length")
            index += n
        k = bisect.bisect_right(self.cumulative_sizes, index)
        start = 0 if k == 0 else int(self.cumulative_sizes[k - 1])
        return self.datasets[k][index - start]


class Subset(Dataset):
    """The samples of `dataset` at `indices`, in that order; batches index the parent in one go."""

    def __init__(self, dataset: Any, indices: Sequence[int] | np.ndarray) -> None:
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        n = len(dataset)
        if self.indices.size and (self.indices.min() < -n or self.indices.max() >= n):
            raise IndexError(f"Subset: indices out of range for a dataset of length {n}")

    def __getitem__(self, index: int) -> Any:
        return self.dataset[int(self.indices[index])]

    def __getitems__(self, indices: list[int]) -> list[Any]:
        return [self[i] for i in indices]

    def __len__(self) -> int:
        return int(self.indices.size)

    def get_batch(self, indices: np.ndarray, rng: np.random.Generator | None = None) -> Any:
        return get_batch(self.dataset, self.indices[np.asarray(indices)], rng)


def _resolve_lengths(n: int, lengths: Sequence[int | float]) -> list[int]:
    if all(isinstance(x, int | np.integer) for x in lengths):
        sizes = [int(x) for x in lengths]
        if any(s < 0 for s in sizes) or sum(sizes) != n:
            raise ValueError(f"random_split: lengths {list(lengths)} must be non-negative and "
                             f"sum to the dataset length {n}")
        return sizes
    if not math.isclose(sum(lengths), 1.0, abs_tol=1e-6) or any(f < 0 for f in lengths):
        raise ValueError(f"random_split: fractions {list(lengths)} must be non-negative and "
                         "sum to 1 (or give integer lengths summing to the dataset length)")
    sizes = [int(math.floor(n * f)) for f in lengths]
    for k in range(n - sum(sizes)):  # torch: the remainder goes round-robin from the first
        sizes[k % len(sizes)] += 1
    return sizes


def random_split(dataset: Any, lengths: Sequence[int | float],
                 generator: np.random.Generator | int | None = None) -> list[Subset]:
    """Split `dataset` into non-overlapping random `Subset`s of the given lengths or fractions.

    `generator`: a NumPy Generator or seed; default: chainrule's global generator
    (`cr.manual_seed` makes the split reproducible).
    """
    n = len(dataset)
    sizes = _resolve_lengths(n, lengths)
    if generator is None:
        generator = default_generator()
    elif not isinstance(generator, np.random.Generator):
        generator = np.random.default_rng(generator)
    perm = generator.permutation(n)
    bounds = np.cumsum([0, *sizes])
    return [Subset(dataset, perm[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def get_worker_info() -> None:
    """torch's worker information; always None: chainrule loads batches in the main process."""
    return None
