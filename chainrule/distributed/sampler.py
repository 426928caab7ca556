"""`DistributedSampler`: each rank's share of a dataset, with torch's index rules."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sized

import numpy as np

from chainrule.data.sampler import Sampler
from chainrule.distributed import _comm


class DistributedSampler(Sampler):
    """The indices of `dataset` that rank `rank` of `num_replicas` visits in an epoch.

    torch's rules: the epoch's order (0..n-1, or with `shuffle` a permutation drawn from
    `seed + epoch`) is padded by repeating its start until every rank gets the same count
    (`drop_last=False`), or cut to a multiple of `num_replicas` (`drop_last=True`); rank r takes
    positions r, r + num_replicas, .... So the ranks' k-th batches of b/num_replicas examples
    together are positions k·b .. (k+1)·b of the order: one process's k-th batch of b.
    Call `set_epoch(epoch)` before each epoch for a new order (`fit` does it). The permutation
    is NumPy's (`default_rng(seed + epoch)`), not torch's randperm.
    """

    def __init__(self, dataset: Sized, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None:
            num_replicas = _comm.world_size()
        if rank is None:
            rank = _comm.rank()
        if not isinstance(num_replicas, int) or num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be a positive integer, "
                             f"got {num_replicas}")
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        n = len(dataset)
        if drop_last and n % num_replicas:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def _indices(self) -> np.ndarray:
        n = len(self.dataset)
        order = (np.random.default_rng(self.seed + self.epoch).permutation(n) if self.shuffle
                 else np.arange(n))
        if not self.drop_last:
            pad = self.total_size - n
            if pad > 0:
                order = np.concatenate([order, np.resize(order, pad)])
        else:
            order = order[:self.total_size]
        return order[self.rank:self.total_size:self.num_replicas]

    def __iter__(self) -> Iterator[int]:
        return (int(i) for i in self._indices())

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """The epoch whose order the next iteration gives (with `shuffle`)."""
        self.epoch = int(epoch)


__all__ = ["DistributedSampler"]
