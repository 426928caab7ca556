"""`DataLoader`: in-process batching with reproducible, resumable shuffling."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from chainrule.data.dataset import apply_transform, default_collate, get_batch
from chainrule.tensor import Tensor, as_tensor, default_generator, from_numpy


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
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray):
        return from_numpy(x)
    if isinstance(x, tuple | list):
        return tuple(_to_tensor(v) for v in x)
    if isinstance(x, dict):
        return {k: _to_tensor(v) for k, v in x.items()}
    return as_tensor(x)


class DataLoader:
    """Iterate over `dataset` in batches of `batch_size`, yielding tuples of `cr.Tensor`.

    Array-backed datasets (`TensorDataset`, `MNIST`, `Subset`s of them) are batched by fancy
    indexing over whole arrays. `transform` is applied to the first field of each batch (the
    inputs) after the dataset's own transform. `collate_fn`, if given, receives the list of
    samples `[dataset[i] for i in batch]` (torch's contract) instead.

    Randomness (shuffling, random transforms) comes from one NumPy Generator: `generator`, or a
    new one seeded with `seed`, or else one derived from chainrule's global generator on first
    use, so `cr.manual_seed` makes runs reproducible. `state_dict()` / `load_state_dict()` save
    and restore it (JSON-safe) together with the epoch count and the position inside an epoch:
    a restored loader yields exactly the batches the original would have yielded next.
    """

    def __init__(self, dataset: Any, batch_size: int = 1, shuffle: bool = False,
                 drop_last: bool = False, seed: int | None = None,
                 generator: np.random.Generator | None = None,
                 transform: Callable[..., Any] | None = None,
                 collate_fn: Callable[[list[Any]], Any] | None = None) -> None:
        if int(batch_size) < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive integer, got "
                             f"{batch_size}")
        if seed is not None and generator is not None:
            raise ValueError("DataLoader: give seed or generator, not both")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.transform = transform
        self.collate_fn = collate_fn
        self._generator = generator if generator is not None else (
            None if seed is None else np.random.default_rng(seed))
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
        return self._generator

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _order(self, rng: np.random.Generator) -> np.ndarray:
        n = len(self.dataset)
        return rng.permutation(n) if self.shuffle else np.arange(n)

    def __iter__(self) -> Iterator[Any]:
        # A generator: nothing happens (no permutation is drawn) until the first batch is asked
        # for, so a state_dict() taken before that still describes the loader exactly.
        rng = self.generator
        if self._resume and self._epoch_start is not None:
            current = generator_state(rng)
            set_generator_state(rng, self._epoch_start)
            order = self._order(rng)
            set_generator_state(rng, current)
            start = self._batches_done
        else:
            if self._batches_done:   # the previous epoch was abandoned part-way
                self.epoch += 1
            self._epoch_start = generator_state(rng)
            order = self._order(rng)
            start = 0
        self._resume = False
        self._batches_done = start
        bs = self.batch_size
        for k in range(start, len(self)):
            idx = order[k * bs:(k + 1) * bs]
            if self.collate_fn is not None:
                batch = self.collate_fn([self.dataset[int(i)] for i in idx])
            else:
                batch = get_batch(self.dataset, idx, rng)
            if self.transform is not None:
                if isinstance(batch, tuple | list):
                    batch = (apply_transform(self.transform, batch[0], rng), *batch[1:])
                else:
                    batch = apply_transform(self.transform, batch, rng)
            self._batches_done = k + 1
            yield _to_tensor(batch)
        self.epoch += 1
        self._batches_done = 0
        self._epoch_start = None

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
        g = self._generator if self._generator is not None else np.random.default_rng(0)
        self._generator = set_generator_state(g, state["generator"])
        self.epoch = int(state["epoch"])
        self._batches_done = int(state["batches_done"])
        self._epoch_start = state.get("epoch_start_generator")
        self._resume = self._batches_done > 0 and self._epoch_start is not None
        if self._batches_done and self._epoch_start is None:
            raise ValueError("DataLoader.load_state_dict: a state saved mid-epoch needs "
                             "'epoch_start_generator'")


__all__ = ["DataLoader", "default_collate", "generator_state", "set_generator_state"]
