"""The program the tests start under `mpiexec -n N` (and as one process for the reference run).

    python tests/distributed/worker.py train OUT.npz --model mlp,lenet5,bn --steps 3
    python tests/distributed/worker.py fail --where before|collective|interrupt
    python tests/distributed/worker.py mismatch
    python tests/distributed/worker.py unused

`train` trains each model on fixed synthetic data with DistributedDataParallel and
DistributedSampler, in three variants (small buckets overlapped with backward; one bucket
reduced after backward; gradient accumulation over two micro-batches with no_sync), and on
rank 0 saves the parameters (and BatchNorm buffers) after the last step, with each rank's
indices of one epoch, for the test to compare with the one-process run. `bn` is a small CNN
whose BatchNorm is converted to SyncBatchNorm.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

import numpy as np

import chainrule as cr
import chainrule.distributed as dist
from chainrule import models, nn, optim
from chainrule.data import DataLoader, TensorDataset


def data(n: int) -> TensorDataset:
    rng = np.random.default_rng(123)
    x = rng.standard_normal((n, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, n)
    return TensorDataset(cr.from_numpy(x), cr.from_numpy(y))


def bn_net() -> nn.Module:
    """A small CNN with batch norm, for SyncBatchNorm."""
    return nn.Sequential(nn.Conv2d(1, 4, 5, stride=2), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.Flatten(), nn.Linear(4 * 12 * 12, 10))


def build(name: str) -> nn.Module:
    # Each rank starts from other weights: DistributedDataParallel must hand out rank 0's.
    cr.manual_seed(0 if dist.rank() == 0 else 1000 + dist.rank())
    if name == "mlp":
        return models.mlp(784, (32,), 10, "relu")
    if name == "lenet5":
        return models.lenet5()
    return nn.SyncBatchNorm.convert_sync_batchnorm(bn_net())


def train(args: argparse.Namespace) -> None:
    world, rank = dist.world_size(), dist.rank()
    dataset = data(args.n)
    results: dict[str, np.ndarray] = {}
    variants = {"overlap": {"bucket_cap_mb": 0.01}, "after": {"overlap": False},
                "accumulate": {}}
    for (net, variant) in [(m, v) for m in args.model.split(",") for v in variants]:
        options = variants[variant]
        model = dist.DistributedDataParallel(build(net), **options)
        opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        sampler = dist.DistributedSampler(dataset, shuffle=True, seed=7)
        micro = 2 if variant == "accumulate" else 1
        loader = DataLoader(dataset, batch_size=args.batch // world // micro, sampler=sampler)
        loss_fn = nn.CrossEntropyLoss()
        step, epoch = 0, 0
        while step < args.steps:
            sampler.set_epoch(epoch)
            batches = iter(loader)
            for first in batches:
                group = [first] + [next(batches) for _ in range(micro - 1)]
                opt.zero_grad()
                for k, (x, y) in enumerate(group):
                    if k < micro - 1:
                        with model.no_sync():
                            (loss_fn(model(x), y) / micro).backward()
                    else:
                        (loss_fn(model(x), y) / micro).backward()
                opt.step()
                step += 1
                if step == args.steps:
                    break
            epoch += 1
        for name, t in model.module.state_dict().items():
            results[f"{net}/{variant}/{name}"] = t.detach().numpy().copy()
    sampler = dist.DistributedSampler(dataset, shuffle=True, seed=7)
    shares = dist.all_gather_object(list(sampler))
    if rank == 0:
        for r, share in enumerate(shares):
            results[f"indices/{r}"] = np.asarray(share)
        np.savez(args.out, **results)


def fail(args: argparse.Namespace) -> None:
    dist.init()
    x = np.ones(3)
    dist.all_reduce(x)
    if dist.rank() == 1:
        if args.where == "interrupt":
            os.kill(os.getpid(), signal.SIGINT)
        raise ValueError("bad input file data/part-1.idx")
    dist.all_reduce(x)      # rank 0 waits here for a rank that will never come
    dist.all_reduce(x)


def mismatch(args: argparse.Namespace) -> None:
    hidden = 32 if dist.rank() == 0 else 16
    dist.DistributedDataParallel(models.mlp(784, (hidden,), 10, "relu"))


class PartlyUsed(nn.Module):
    """`spare` takes part only on rank 1 (and only when `use_spare`)."""

    def __init__(self) -> None:
        super().__init__()
        self.used = nn.Linear(4, 2)
        self.spare = nn.Linear(4, 2)
        self.never = nn.Linear(4, 2)

    def forward(self, x: cr.Tensor, use_spare: bool) -> cr.Tensor:
        y = self.used(x)
        return y + self.spare(x) if use_spare else y


def unused(args: argparse.Namespace) -> None:
    """find_unused_parameters: a parameter used on one rank only is averaged with zeros from
    the other; one used nowhere keeps .grad None. Without it, the next forward refuses."""
    cr.manual_seed(0)
    x = cr.ones(3, 4) * (dist.rank() + 1)
    model = dist.DistributedDataParallel(PartlyUsed(), find_unused_parameters=True)
    model(x, use_spare=dist.rank() == 1).sum().backward()
    spare = model.module.spare.weight.grad.detach().numpy()
    np.testing.assert_allclose(spare, np.full((2, 4), 3.0))   # (0 + 3·2) / 2 ranks
    used = model.module.used.weight.grad.detach().numpy()
    np.testing.assert_allclose(used, np.full((2, 4), (3.0 + 6.0) / 2))
    assert model.module.never.weight.grad is None
    strict = dist.DistributedDataParallel(PartlyUsed())
    strict(x, use_spare=True).sum().backward()    # never: its bucket cannot complete
    try:
        strict(x, use_spare=True)
    except RuntimeError as e:
        assert "find_unused_parameters=True" in str(e)
        print(f"rank {dist.rank()}: refused")
        return
    raise AssertionError("the unfinished reduction was not noticed")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=("train", "fail", "mismatch", "unused"))
    p.add_argument("out", nargs="?")
    p.add_argument("--model", default="mlp")
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--where", default="before")
    args = p.parse_args()
    {"train": train, "fail": fail, "mismatch": mismatch, "unused": unused}[args.mode](args)


if __name__ == "__main__":
    sys.exit(main())
