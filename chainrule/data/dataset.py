"""Datasets: `Dataset`, `TensorDataset`, `Subset`, `random_split`.

Besides torch's `__getitem__`/`__len__`, a chainrule dataset has `get_batch(indices, rng)`, which
returns the whole batch as a tuple of NumPy arrays. Array-backed datasets implement it by fancy
indexing (one NumPy operation per field, no per-sample Python loop); the base class falls back to
fetching samples one by one and stacking them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from chainrule.tensor import Tensor, default_generator, from_numpy


def _as_array(x: Any) -> np.ndarray:
    if isinstance(x, Tensor):
        return x._data
    return np.asarray(x)


def _collate_field(values: list[Any]) -> np.ndarray:
    first = values[0]
    if isinstance(first, Tensor | np.ndarray | np.generic):
        return np.stack([_as_array(v) for v in values])
    if isinstance(first, bool):
        return np.asarray(values, dtype=np.bool_)
    if isinstance(first, int):
        return np.asarray(values, dtype=np.int64)
    if isinstance(first, float):
        return np.asarray(values, dtype=np.float32)
    return np.stack([np.asarray(v) for v in values])


def default_collate(samples: Sequence[Any]) -> Any:
    """Stack samples into a batch of arrays: a tuple of samples gives a tuple of batch arrays.

    Python ints become int64 and floats float32 (chainrule's default float).
    """
    if not samples:
        raise ValueError("default_collate: empty batch")
    first = samples[0]
    if isinstance(first, tuple | list):
        return tuple(_collate_field([s[k] for s in samples]) for k in range(len(first)))
    return _collate_field(list(samples))


def apply_transform(transform: Any, x: Any, rng: np.random.Generator | None = None) -> Any:
    """Call `transform(x)`, passing `rng` to chainrule transforms (which accept it)."""
    if transform is None:
        return x
    if getattr(transform, "accepts_rng", False):
        return transform(x, rng=rng)
    return transform(x)


class Dataset:
    """Abstract map-style dataset: subclasses define `__getitem__` and `__len__`.

    Override `get_batch` for a fast batched path (see the module docstring).
    """

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def get_batch(self, indices: np.ndarray, rng: np.random.Generator | None = None) -> Any:
        """The samples at `indices` collated into arrays (generic per-sample fallback)."""
        return default_collate([self[int(i)] for i in indices])


def get_batch(dataset: Any, indices: np.ndarray, rng: np.random.Generator | None = None) -> Any:
    """`dataset.get_batch(indices, rng)`, or per-sample fetching for plain `__getitem__` objects."""
    if hasattr(dataset, "get_batch"):
        return dataset.get_batch(indices, rng)
    return default_collate([dataset[int(i)] for i in indices])


class TensorDataset(Dataset):
    """Samples are the rows of equally long arrays/tensors: `ds[i] == (a[i], b[i], ...)`."""

    def __init__(self, *tensors: Any) -> None:
        if not tensors:
            raise ValueError("TensorDataset: give at least one array or tensor")
        arrays = tuple(_as_array(t) for t in tensors)
        for k, a in enumerate(arrays):
            if a.ndim == 0:
                raise ValueError(f"TensorDataset: argument {k} is a scalar; every argument "
                                 "needs a leading sample dimension")
        n = {a.shape[0] for a in arrays}
        if len(n) != 1:
            raise ValueError("TensorDataset: all arguments need the same first dimension, got "
                             f"shapes {[a.shape for a in arrays]}")
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
