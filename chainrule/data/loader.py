"""`DataLoader`: torch's loader, in-process, with batched fetching and exact resume.

It takes torch's arguments and yields what torch's yields (`default_collate` of the samples:
for `(x, y)` samples a list `[x_batch, y_batch]` of tensors). Array-backed datasets
(`TensorDataset`, `MNIST`, `Subset`s of them) are batched by fancy indexing over whole arrays,
with their transforms run on the whole batch when every transform allows it (same values as
sample by sample). `num_workers` is accepted, but batches are always made in this process, in
order: for NumPy datasets that is faster than shipping arrays between processes, and the
results are those of torch's `num_workers=0` (so `worker_init_fn` is not called,
`get_worker_info()` is None, `pin_memory` does nothing: there is only the CPU).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from chainrule.data.dataset import (
    IterableDataset,
    apply_transform,
    default_collate,
    default_convert,
    get_batch,
    is_batchable,
    transform_sample,
)
from chainrule.data.sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler
from chainrule.tensor import Tensor, default_generator, from_numpy


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating):
        return float(x)
    return x


def generator_state(g: np.random.Generator) -> dict[str, Any]:
    """The bit generator state of `g` as JSON-safe data (plain dicts, lists and ints)."""
    return _jsonable(g.bit_generator.state)


def set_generator_state(g: np.random.Generator, state: dict[str, Any]) -> np.random.Generator:
    """Restore `state` (from `generator_state`) into `g`, or into a fresh generator when it was
    saved from another bit generator type; returns the generator now holding it."""
    name = state["bit_generator"]
    if type(g.bit_generator).__name__ != name:
        g = np.random.Generator(getattr(np.random, name)())
    st = dict(state)
    if name == "MT19937":
        st["state"] = dict(st["state"], key=np.asarray(st["state"]["key"], np.uint32))
    g.bit_generator.state = st
    return g


def _to_tensor(x: Any) -> Any:
    """A fast-path batch (`get_batch`'s arrays, a tuple for several fields) as torch's
    default_collate gives it: tensors, in a list. Already collated batches are kept."""
    if isinstance(x, np.ndarray):
        return from_numpy(x)
    if type(x) is tuple:   # (default_collate never makes one; namedtuples are kept)
        return [from_numpy(v) if isinstance(v, np.ndarray) else v for v in x]
    return x


def _array(x: Any) -> np.ndarray:
    return x.detach().numpy() if isinstance(x, Tensor) else np.asarray(x)


class DataLoader:
    """Iterate over `dataset` in batches, with torch's arguments and results.

    torch's keywords: `batch_size` (None: no batching, each sample converted to tensors),
    `shuffle`, `sampler`, `batch_sampler`, `collate_fn`, `drop_last`, `generator` (a NumPy
    Generator: it drives shuffling), and — accepted, with no effect beyond validation, since
    batches are made in this process — `num_workers`, `pin_memory`, `timeout`,
    `worker_init_fn`, `multiprocessing_context`, `prefetch_factor`, `persistent_workers`,
    `pin_memory_device`, `in_order`. chainrule's own: `seed` (a new generator from it) and
    `transform`, applied to the first field of every sample (the input) after the dataset's
    own transform — on the whole batch when it is batchable.

    Randomness (shuffling, random transforms) comes from one NumPy Generator: `generator`, or a
    new one seeded with `seed`, or else one derived from chainrule's global generator on first
    use, so `cr.manual_seed` makes runs reproducible. `state_dict()` / `load_state_dict()` save
    and restore it (JSON-safe) together with the epoch count and the position inside an epoch:
    a restored loader yields exactly the batches the original would have yielded next (within
    an epoch, for loaders that choose their own order: `shuffle`, not a custom sampler).
    """

    def __init__(self, dataset: Any, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler: Any = None, batch_sampler: Any = None, num_workers: int = 0,
                 collate_fn: Callable[[Any], Any] | None = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Callable[[int], Any] | None = None,
                 multiprocessing_context: Any = None,
                 generator: np.random.Generator | None = None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False,
                 pin_memory_device: str = "", in_order: bool = True, seed: int | None = None,
                 transform: Callable[..., Any] | None = None) -> None:
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to "
                             "disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in "
                             "multiprocessing.let num_workers > 0 to enable multiprocessing, "
                             "otherwise set prefetch_factor to None.")
        if prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if multiprocessing_context is not None and num_workers == 0:
            raise ValueError("multiprocessing_context can only be used with multi-process "
                             "loading (num_workers > 0), but got num_workers=0")
        if seed is not None and generator is not None:
            raise ValueError("DataLoader: give seed or generator, not both")
        if generator is not None and not isinstance(generator, np.random.Generator):
            raise TypeError(f"DataLoader: generator must be a numpy.random.Generator "
                            f"(chainrule's random numbers are NumPy's), got "
                            f"{type(generator).__name__}")
        iterable = isinstance(dataset, IterableDataset)
        if iterable:
            for name, value in (("shuffle", shuffle), ("sampler", sampler),
                                ("batch_sampler", batch_sampler)):
                if value not in (None, False):
                    raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                     f"{name} option, but got {name}={value}")
        elif sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None:
            if drop_last:
                raise ValueError("batch_size=None option disables auto-batching and is "
                                 "mutually exclusive with drop_last")
        elif isinstance(batch_size, bool) or int(batch_size) != batch_size or batch_size < 1:
            raise ValueError(f"batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size}")
        self.dataset = dataset
        self.batch_size = None if batch_size is None else int(batch_size)
        self.drop_last = bool(drop_last)
        self.shuffle = bool(shuffle)
        self.num_workers = num_workers
        self.collate_fn = collate_fn
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.prefetch_factor = prefetch_factor
        self.persistent_workers = persistent_workers
        self.in_order = in_order
        self.transform = transform
        self._generator = generator if generator is not None else (
            None if seed is None else np.random.default_rng(seed))
        # The loader's own samplers take their order from its generator (torch hands them
        # `generator=` too); custom ones keep theirs.
        self._own_sampler = sampler is None and batch_sampler is None and not iterable
        if sampler is None and not iterable:
            sampler = RandomSampler(dataset, generator=self._generator) if self.shuffle \
                else SequentialSampler(dataset)
        self.sampler: Any = sampler
        if batch_sampler is None and self.batch_size is not None and not iterable:
            batch_sampler = BatchSampler(sampler, self.batch_size, self.drop_last)
        self.batch_sampler = batch_sampler
        self.epoch = 0              # epochs finished (or abandoned by starting a new one)
        self._batches_done = 0      # batches yielded in the epoch in progress
        self._epoch_start: dict[str, Any] | None = None   # generator state when it began
        self._resume = False

    @property
    def generator(self) -> np.random.Generator:
        """The loader's generator (derived from chainrule's global generator on first use)."""
        if self._generator is None:
            seed = default_generator().integers(0, 2**63 - 1)
            self._generator = np.random.default_rng(int(seed))
        if self._own_sampler and isinstance(self.sampler, RandomSampler):
            self.sampler.generator = self._generator
        return self._generator

    def __len__(self) -> int:
        if isinstance(self.dataset, IterableDataset):
            n = len(self.dataset)  # type: ignore[arg-type]
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return len(self.sampler)

    # ------------------------------------------------------------------ one epoch
    def _order(self) -> list[Any]:
        """The epoch's batches of indices (index arrays; single ints without batching)."""
        if self._own_sampler:
            idx = self.sampler._indices()
            if self.batch_size is None:
                return [int(i) for i in idx]
            bs, n = self.batch_size, len(idx)
            stop = n - n % bs if self.drop_last else n
            return [idx[k:k + bs] for k in range(0, stop, bs)]
        if self.batch_sampler is not None:
            return [np.asarray(list(b), dtype=np.int64) for b in self.batch_sampler]
        return [int(i) for i in self.sampler]

    def _fetch(self, indices: Any, rng: np.random.Generator) -> Any:
        ds, t = self.dataset, self.transform
        if not isinstance(indices, np.ndarray):          # batch_size=None: one sample
            sample = self._with_transform(ds[indices], rng)
            return (self.collate_fn or default_convert)(sample)
        fast = self.collate_fn in (None, default_collate) and is_batchable(t)
        if not fast:
            if hasattr(ds, "__getitems__"):
                samples = ds.__getitems__([int(i) for i in indices])
            else:
                samples = [ds[int(i)] for i in indices]
            samples = [self._with_transform(s, rng) for s in samples]
            return (self.collate_fn or default_collate)(samples)
        batch = get_batch(ds, indices, rng)
        if t is not None:
            if isinstance(batch, tuple | list):
                batch = (apply_transform(t, _array(batch[0]), rng), *batch[1:])
            else:
                batch = apply_transform(t, _array(batch), rng)
        return _to_tensor(batch)

    def _with_transform(self, sample: Any, rng: np.random.Generator) -> Any:
        if self.transform is None:
            return sample
        if isinstance(sample, tuple | list):
            return (transform_sample(self.transform, sample[0], rng), *sample[1:])
        return transform_sample(self.transform, sample, rng)

    def _iter_stream(self, rng: np.random.Generator) -> Iterator[Any]:
        collate = self.collate_fn or (default_convert if self.batch_size is None
                                      else default_collate)
        chunk: list[Any] = []
        for sample in self.dataset:
            sample = self._with_transform(sample, rng)
            if self.batch_size is None:
                yield collate(sample)
                continue
            chunk.append(sample)
            if len(chunk) == self.batch_size:
                yield collate(chunk)
                chunk = []
        if chunk and not self.drop_last:
            yield collate(chunk)

    def __iter__(self) -> Iterator[Any]:
        # A generator: nothing happens (no permutation is drawn) until the first batch is asked
        # for, so a state_dict() taken before that still describes the loader exactly.
        rng = self.generator
        if self._resume and self._epoch_start is not None:
            current = generator_state(rng)
            set_generator_state(rng, self._epoch_start)
            order = self._order()
            set_generator_state(rng, current)
            start = self._batches_done
        else:
            if self._batches_done:   # the previous epoch was abandoned part-way
                self.epoch += 1
            self._epoch_start = generator_state(rng)
            order = [] if isinstance(self.dataset, IterableDataset) else self._order()
            start = 0
        self._resume = False
        self._batches_done = start
        if isinstance(self.dataset, IterableDataset):
            for batch in self._iter_stream(rng):
                self._batches_done += 1
                yield batch
        else:
            for k in range(start, len(order)):
                batch = self._fetch(order[k], rng)
                self._batches_done = k + 1
                yield batch
        self.epoch += 1
        self._batches_done = 0
        self._epoch_start = None

    # ------------------------------------------------------------------ resuming
    def state_dict(self) -> dict[str, Any]:
        """JSON-safe state: epochs done, position in the current epoch, generator states."""
        return {
            "epoch": self.epoch,
            "batches_done": self._batches_done,
            "epoch_start_generator": self._epoch_start if self._batches_done else None,
            "generator": generator_state(self.generator),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore `state_dict()` output: the next `iter()` continues where that loader was."""
        batches_done = int(state["batches_done"])
        if batches_done and not self._own_sampler:
            what = ("an IterableDataset" if isinstance(self.dataset, IterableDataset)
                    else "a custom sampler or batch_sampler")
            raise ValueError(f"DataLoader.load_state_dict: the state was saved in the middle of "
                             f"an epoch, and a loader over {what} cannot replay its order; "
                             "save at an epoch boundary instead")
        if batches_done and state.get("epoch_start_generator") is None:
            raise ValueError("DataLoader.load_state_dict: a state saved mid-epoch needs "
                             "'epoch_start_generator'")
        g = self._generator if self._generator is not None else np.random.default_rng(0)
        self._generator = set_generator_state(g, state["generator"])
        self.generator  # noqa: B018  (hands the restored generator to the loader's sampler)
        self.epoch = int(state["epoch"])
        self._batches_done = batches_done
        self._epoch_start = state.get("epoch_start_generator")
        self._resume = self._batches_done > 0 and self._epoch_start is not None


__all__ = ["DataLoader", "Sampler", "default_collate", "generator_state",
           "set_generator_state"]
