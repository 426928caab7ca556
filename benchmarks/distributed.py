"""Data-parallel LeNet-5 on MPI: throughput of 1 vs N ranks (one thread each), the time each step
spends in allreduce, and the allreduce bandwidth that the scaling model in docs/distributed.md
starts from.

    python -m benchmarks.distributed                  # 1 vs 2 ranks, 3 repeats, alternating
    python -m benchmarks.distributed --ranks 1 2 --repeats 5 --steps 40 --batch 128

The launcher starts `mpiexec -n N python -m benchmarks.distributed --worker` for each N in turn
(A B A B ...), each rank with OMP/OpenBLAS threads = 1; rank 0 prints one JSON line per run.
Data: synthetic 28×28 images (the timing does not depend on the pixels), pre-batched, so data
loading is outside the timed steps.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

THREADS = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                            "NUMBA_NUM_THREADS")}
SIZES = [2**k for k in range(10, 25, 2)]  # allreduce message sizes in bytes: 1 KiB .. 16 MiB


def _worker(args: argparse.Namespace) -> None:
    import chainrule as cr
    import chainrule.distributed as dist
    from chainrule import models, nn, optim

    ranks, rank = dist.world_size(), dist.rank()
    comm = dist.communicator()
    per_rank = args.batch // ranks
    rng = np.random.default_rng(rank)
    xs = [cr.from_numpy(rng.standard_normal((per_rank, 1, 28, 28)).astype(np.float32))
          for _ in range(4)]
    ys = [cr.from_numpy(rng.integers(0, 10, per_rank)) for _ in range(4)]
    cr.manual_seed(0)
    model = dist.DistributedDataParallel(models.lenet5(), overlap=args.overlap)
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()

    def step(k: int) -> None:
        opt.zero_grad()
        loss_fn(model(xs[k % 4]), ys[k % 4]).backward()
        opt.step()

    for k in range(args.warmup):
        step(k)
    dist.barrier()
    model.comm_seconds = 0.0
    t0 = time.perf_counter()
    for k in range(args.steps):
        step(k)
    dist.barrier()
    seconds = time.perf_counter() - t0
    comm_s = dist.all_reduce(model.comm_seconds, dist.ReduceOp.MAX)
    # allreduce alone, every rank entering together: bandwidth by message size
    bandwidth = {}
    if comm is not None:
        from mpi4py import MPI

        for size in SIZES:
            buf = np.ones(size // 4, np.float32)
            reps = max(3, min(200, (1 << 24) // size))
            comm.Allreduce(MPI.IN_PLACE, buf)
            comm.Barrier()
            t = time.perf_counter()
            for _ in range(reps):
                comm.Allreduce(MPI.IN_PLACE, buf)
            bandwidth[size] = dist.all_reduce((time.perf_counter() - t) / reps,
                                              dist.ReduceOp.MAX)
    grad_floats = sum(p.numel() for p in model.parameters())
    if rank == 0:
        print(json.dumps({"ranks": ranks, "batch": args.batch, "steps": args.steps,
                          "overlap": args.overlap, "step_s": seconds / args.steps,
                          "examples_per_s": args.batch * args.steps / seconds,
                          "allreduce_s_per_step": comm_s / args.steps,
                          "buckets": len(model._buckets), "grad_bytes": grad_floats * 4,
                          "allreduce_s_by_bytes": bandwidth}), flush=True)


def _mpiexec() -> str:
    found = shutil.which("mpiexec", path=str(Path(sys.executable).parent)) or \
        shutil.which("mpiexec")
    if found is None:
        sys.exit("benchmarks.distributed: no mpiexec found (pip install 'chainrule[mpi]')")
    return found


def _launch(n: int, args: argparse.Namespace, overlap: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "OMPI_", "PMIX_"))}
    env.update(THREADS, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    env.pop("OPENBLAS_CORETYPE", None)
    env.pop("OPENBLAS_L2_SIZE", None)
    cmd = [_mpiexec(), "-n", str(n), sys.executable, "-m", "benchmarks.distributed", "--worker",
           "--batch", str(args.batch), "--steps", str(args.steps), "--warmup",
           str(args.warmup)] + ([] if overlap else ["--no-overlap"])
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600,
                          cwd=Path(__file__).resolve().parents[1])
    if proc.returncode != 0:
        sys.exit(f"benchmarks.distributed: {' '.join(cmd)} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _report(runs: dict[tuple[int, bool], list[dict]], args: argparse.Namespace) -> str:
    lines = [f"# Data-parallel LeNet-5 on MPI ({os.cpu_count()} CPUs, one thread per rank, "
             f"global batch {args.batch}, {args.steps} timed steps, {args.repeats} repeats "
             f"alternating; medians, min-max in brackets)", "",
             "| ranks | overlap | step (ms) | examples/s | speed-up | allreduce per step (ms) |",
             "|---|---|---|---|---|---|"]
    base = statistics.median(r["examples_per_s"] for r in runs[(1, True)])
    for (n, overlap), rs in sorted(runs.items()):
        step = [r["step_s"] * 1e3 for r in rs]
        eps = [r["examples_per_s"] for r in rs]
        comm = [r["allreduce_s_per_step"] * 1e3 for r in rs]
        lines.append(f"| {n} | {'yes' if overlap else 'no'} | {statistics.median(step):.1f} "
                     f"[{min(step):.1f}-{max(step):.1f}] | {statistics.median(eps):.0f} | "
                     f"{statistics.median(eps) / base:.2f}x | {statistics.median(comm):.2f} "
                     f"[{min(comm):.2f}-{max(comm):.2f}] |")
    multi = [r for (n, _), rs in runs.items() if n > 1 for r in rs]
    if multi:
        n = multi[0]["ranks"]
        lines += ["", f"Allreduce alone ({n} ranks, float32, in place; algorithm bandwidth = "
                  f"bytes / time, bus bandwidth = 2(n-1)/n x that):", "",
                  "| bytes | time (us) | algbw (GB/s) | busbw (GB/s) |", "|---|---|---|---|"]
        for size in SIZES:
            t = statistics.median(r["allreduce_s_by_bytes"][str(size)] for r in multi
                                  if r["ranks"] == n)
            lines.append(f"| {size:,} | {t * 1e6:.1f} | {size / t / 1e9:.2f} | "
                         f"{2 * (n - 1) / n * size / t / 1e9:.2f} |")
        lines.append(f"\nLeNet-5's gradient: {multi[0]['grad_bytes']:,} bytes in "
                     f"{multi[0]['buckets']} buckets per step.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--no-overlap", dest="overlap", action="store_false")
    p.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--batch", type=int, default=128, help="the global batch")
    p.add_argument("--both", action="store_true",
                   help="also time the allreduces after backward (no overlap)")
    args = p.parse_args(argv)
    if args.worker:
        _worker(args)
        return 0
    runs: dict[tuple[int, bool], list[dict]] = {}
    variants = [(n, True) for n in args.ranks]
    if args.both:
        variants += [(n, False) for n in args.ranks if n > 1]
    for _ in range(args.repeats):
        for n, overlap in variants:
            runs.setdefault((n, overlap), []).append(_launch(n, args, overlap))
    print(_report(runs, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
