"""`chainrule train`'s default recipe, a whole epoch, against the same recipe written in PyTorch.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE CHAINRULE_DATA=DIR python -m benchmarks.recipe
    python -m benchmarks.recipe --rounds 3 --epochs 1 --model lenet5

The chainrule side is the command itself, `chainrule.cli.main(["train", ...])`, so everything
it does is timed: reading the IDX files, shuffling, per-sample augmentation (random shifts of up
to ±2 px), normalisation, LeNet-5 training with SGD(momentum 0.9, weight decay 5e-4) under the
cosine schedule, and the evaluation on the 10,000 test images. The torch side is what a PyTorch
user writes for that recipe (torchvision does not import beside this torch, so the dataset is a
TensorDataset of the same uint8 arrays, and the shift is done per batch with torch ops, as the
chainrule loader does): the same data read from the same files, the same model, optimizer,
schedule, batch sizes and evaluation. Each run is in its own subprocess (fresh imports, as a
user's run), A B A B with an idle gap, each library limited to the same number of threads.
The report gives each run's wall time, test accuracy, and the ratio of medians.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from typing import Any

from benchmarks.registry import LIBS


def _torch_run(args: argparse.Namespace) -> dict[str, Any]:
    import math
    import os
    from pathlib import Path

    import torch
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset

    from benchmarks.workloads.nets import _find, _read_idx, lenet5_torch

    start = time.perf_counter()
    torch.manual_seed(args.seed)
    folder = Path(os.environ["CHAINRULE_DATA"]) / "mnist"

    def split(kind: str) -> TensorDataset:
        img, lab = (_find(folder, f"{kind}-{what}-idx{n}-ubyte")
                    for what, n in (("images", 3), ("labels", 1)))
        if img is None or lab is None:
            raise SystemExit(f"MNIST {kind} files not found under {folder}")
        return TensorDataset(torch.from_numpy(_read_idx(img).copy()),
                             torch.from_numpy(_read_idx(lab).astype("int64")))

    mean, std, shift = 0.1307, 0.3081, 2

    def prepare(x: torch.Tensor, augment: bool) -> torch.Tensor:
        x = x.unsqueeze(1).float().div_(255)
        if augment:  # a random translation of up to ±shift px per image, zero fill
            n, _, h, w = x.shape
            padded = nn.functional.pad(x, (shift, shift, shift, shift))
            d = torch.randint(0, 2 * shift + 1, (n, 2))
            rows = (d[:, 0, None] + torch.arange(h))[:, None, :, None]
            cols = (d[:, 1, None] + torch.arange(w))[:, None, None, :]
            channel = torch.zeros((1, 1, 1, 1), dtype=torch.long)
            x = padded[torch.arange(n)[:, None, None, None], channel, rows, cols]
        return (x - mean) / std

    train = DataLoader(split("train"), batch_size=128, shuffle=True)
    test = DataLoader(split("t10k"), batch_size=1000)
    model = lenet5_torch()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(args.epochs):
        model.train()
        for x, y in train:
            opt.zero_grad()
            loss = loss_fn(model(prepare(x, True)), y)
            loss.backward()
            opt.step()
        sched.step()
        model.eval()
        correct = 0
        with torch.no_grad():
            for x, y in test:
                correct += int((model(prepare(x, False)).argmax(1) == y).sum())
    assert not math.isnan(float(loss))
    return {"seconds": time.perf_counter() - start, "accuracy": correct / len(test.dataset)}


def _chainrule_run(args: argparse.Namespace) -> dict[str, Any]:
    import contextlib
    import io
    import re

    from chainrule import cli

    start = time.perf_counter()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = cli.main(["train", "--model", "lenet5", "--epochs", str(args.epochs),
                       "--seed", str(args.seed), "--no-progress", "--no-download"])
    seconds = time.perf_counter() - start
    if rc != 0:
        raise SystemExit(f"chainrule train failed:\n{out.getvalue()}")
    found = re.findall(r"accuracy[ =:]+([0-9.]+)%", out.getvalue())
    return {"seconds": seconds, "accuracy": float(found[-1]) / 100 if found else None}


def child(lib: str, args: argparse.Namespace) -> dict[str, Any]:
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=args.threads)
    if lib == "torch":
        import torch

        torch.set_num_threads(args.threads)
        return _torch_run(args)
    return _chainrule_run(args)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.recipe", description=__doc__)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--gap", type=float, default=2.0, help="idle seconds between runs")
    p.add_argument("--child", choices=LIBS, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args)))
        return 0
    times: dict[str, list[float]] = {lib: [] for lib in LIBS}
    for r in range(args.rounds):
        for lib in LIBS:
            time.sleep(args.gap)
            cmd = [sys.executable, "-m", "benchmarks.recipe", "--child", lib,
                   "--epochs", str(args.epochs), "--threads", str(args.threads),
                   "--seed", str(args.seed)]
            done = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if done.returncode:
                print(done.stderr, file=sys.stderr)
                return 1
            res = json.loads(done.stdout.strip().splitlines()[-1])
            times[lib].append(res["seconds"])
            print(f"round {r + 1} {lib:>9}: {res['seconds']:7.1f} s, test accuracy "
                  f"{res['accuracy']:.2%}", flush=True)
    med = {lib: statistics.median(v) for lib, v in times.items()}
    print(f"\n{args.epochs} epoch(s) of the lenet5 recipe, {args.threads} threads: chainrule "
          f"{med['chainrule']:.1f} s, torch {med['torch']:.1f} s (medians of {args.rounds}): "
          f"chainrule / torch = {med['chainrule'] / med['torch']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
