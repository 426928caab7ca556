"""Samplers, as `torch.utils.data` has them: which indices a `DataLoader` visits, in what order.

`Sampler` yields dataset indices; `BatchSampler` groups another sampler's indices into lists.
Randomness comes from a NumPy Generator (`generator=`), or else, as torch does without one,
from a fresh seed drawn from chainrule's global generator each time the sampler is iterated
(so `cr.manual_seed` makes it reproducible). The orders are NumPy's, not torch's: the same
seed does not give the same permutation in both libraries.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence, Sized
from typing import Any

import numpy as np

from chainrule.tensor import Tensor, default_generator


def _rng(generator: np.random.Generator | None) -> np.random.Generator:
    if generator is None:
        return np.random.default_rng(int(default_generator().integers(0, 2**63 - 1)))
    return generator


def _check_generator(generator: Any, where: str) -> None:
    if generator is not None and not isinstance(generator, np.random.Generator):
        raise TypeError(f"{where}: generator must be a numpy.random.Generator (chainrule's "
                        f"random numbers are NumPy's), got {type(generator).__name__}")


class Sampler:
    """Base class: `__iter__` yields dataset indices; `__len__` (optional) counts them."""

    def __init__(self, data_source: Sized | None = None) -> None:
        pass

    def __iter__(self) -> Iterator[int]:
        return (int(i) for i in self._indices())

    def _indices(self) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def _indices(self) -> np.ndarray:
        return np.arange(len(self.data_source))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random permutation of the indices each time it is iterated; with `replacement`,
    `num_samples` indices drawn independently. `num_samples` > len without replacement gives
    whole permutations one after another (torch's rule)."""

    def __init__(self, data_source: Sized, replacement: bool = False,
                 num_samples: int | None = None,
                 generator: np.random.Generator | None = None) -> None:
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got replacement="
                            f"{replacement}")
        _check_generator(generator, "RandomSampler")
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(self.num_samples, int) or isinstance(self.num_samples, bool) or (
                self.num_samples <= 0):
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={self.num_samples}")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def _indices(self) -> np.ndarray:
        n, m = len(self.data_source), self.num_samples
        rng = _rng(self.generator)
        if self.replacement:
            return rng.integers(0, n, size=m)
        parts = [rng.permutation(n) for _ in range(m // n)]
        if m % n:
            parts.append(rng.permutation(n)[:m % n])
        return np.concatenate(parts) if parts else np.zeros(0, np.int64)

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a random order, a new one each time it is iterated."""

    def __init__(self, indices: Sequence[int] | np.ndarray,
                 generator: np.random.Generator | None = None) -> None:
        _check_generator(generator, "SubsetRandomSampler")
        self.indices = indices
        self.generator = generator

    def _indices(self) -> np.ndarray:
        idx = np.asarray(self.indices, dtype=np.int64).reshape(-1)
        return idx[_rng(self.generator).permutation(idx.size)]

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """`num_samples` indices drawn with probabilities proportional to `weights`."""

    def __init__(self, weights: Sequence[float] | np.ndarray | Tensor, num_samples: int,
                 replacement: bool = True,
                 generator: np.random.Generator | None = None) -> None:
        if not isinstance(num_samples, int) or isinstance(num_samples, bool) or (
                num_samples <= 0):
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got replacement="
                             f"{replacement}")
        _check_generator(generator, "WeightedRandomSampler")
        w = np.asarray(weights.detach().numpy() if isinstance(weights, Tensor) else weights,
                       dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape "
                             f"{tuple(w.shape)}")
        if np.any(w < 0) or not np.all(np.isfinite(w)) or w.sum() <= 0:
            raise RuntimeError("WeightedRandomSampler: weights must be finite, non-negative "
                               "and not all zero")
        if not replacement and num_samples > np.count_nonzero(w):
            raise RuntimeError(f"WeightedRandomSampler: cannot draw {num_samples} samples "
                               f"without replacement from {np.count_nonzero(w)} non-zero "
                               "weights")
        self.weights = w
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def _indices(self) -> np.ndarray:
        return _rng(self.generator).choice(self.weights.size, size=self.num_samples,
                                           replace=self.replacement,
                                           p=self.weights / self.weights.sum())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Lists of `batch_size` indices from `sampler`; the last one shorter unless `drop_last`."""

    def __init__(self, sampler: Sampler | Sequence[int], batch_size: int,
                 drop_last: bool) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last="
                             f"{drop_last}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[int]]:  # type: ignore[override]
        batch: list[int] = []
        for i in self.sampler:
            batch.append(int(i))
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


__all__ = ["BatchSampler", "RandomSampler", "Sampler", "SequentialSampler",
           "SubsetRandomSampler", "WeightedRandomSampler"]
