"""Where a convolution's time goes: one forward pass at a time, torch against chainrule, and the
matrix product inside chainrule's.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m benchmarks.convshapes
    python -m benchmarks.convshapes --rounds 5 --threads 2 --only resnet

For each of the benchmark workloads' convolutions (forward, under no_grad) the report gives

* torch: `torch.nn.functional.conv2d` on an (N, C, H, W) tensor (oneDNN on x86);
* chainrule: `chainrule.nn.functional.conv2d` on an (N, C, H, W) view of a (C, H, W, N) buffer,
  the layout chainrule's layers hand on;
* its product alone: W (O, C·KH·KW) @ col (C·KH·KW, OH·OW·N) of a ready im2col matrix in NumPy
  (the BLAS chainrule uses), and the same product in torch (MKL);

as medians over `--rounds` rounds of `--reps` calls each, one block of calls per column in turn
(A B C D A B C D), each block after an idle gap of `--gap` seconds and one untimed call (torch's
OpenMP threads and OpenBLAS's both spin for a while after their work: calls interleaved one by
one would time each library fighting the other's idle threads), and GFLOP/s =
2·O·C·KH·KW·OH·OW·N / time. When torch's whole convolution takes less time than NumPy's product
alone, no rearranging of chainrule's other work can reach torch's time on that shape.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks.runner import env_warnings, environment, save

#: (name, batch N, in channels C, out channels O, input size H (= W), kernel, stride, padding)
SHAPES: list[tuple[str, int, int, int, int, int, int, int]] = [
    ("lenet5 C1", 128, 1, 6, 28, 5, 1, 2),
    ("lenet5 C3", 128, 6, 16, 14, 5, 1, 0),
    ("mnist-net conv1", 64, 1, 32, 28, 3, 1, 0),
    ("mnist-net conv2", 64, 32, 64, 26, 3, 1, 0),
    ("wide-cnn conv2", 128, 32, 64, 14, 3, 1, 1),
    ("resnet stem 7×7/2", 8, 3, 64, 224, 7, 2, 3),
    ("resnet 56² 3×3", 8, 64, 64, 56, 3, 1, 1),
    ("resnet 28² 3×3", 8, 128, 128, 28, 3, 1, 1),
    ("resnet 14² 3×3", 8, 256, 256, 14, 3, 1, 1),
    ("resnet 7² 3×3", 8, 512, 512, 7, 3, 1, 1),
    ("resnet18-step 8² 3×3", 64, 64, 64, 8, 3, 1, 1),
]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.convshapes",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=5, help="timed calls per block (default 5)")
    ap.add_argument("--rounds", type=int, default=3, help="blocks of each (default 3)")
    ap.add_argument("--gap", type=float, default=0.2, help="idle seconds before each block")
    ap.add_argument("--threads", type=int, default=2, help="threads for both (default 2)")
    ap.add_argument("--only", action="append", default=None,
                    help="shapes whose name contains this (repeatable)")
    ap.add_argument("--no-save", action="store_true", help="print only")
    args = ap.parse_args(argv)
    if args.reps < 1 or args.rounds < 1 or args.threads < 1 or args.gap < 0:
        ap.error("--reps, --rounds and --threads must be >= 1, --gap >= 0")
    return args


def _time_in_turn(fns: list[Callable[[], Any]], args: argparse.Namespace) -> list[float]:
    """Median seconds of each function: `rounds` blocks of `reps` calls, one block of each in
    turn, each block after an idle gap and one untimed call."""
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(args.rounds):
        for f, ts in zip(fns, times, strict=True):
            time.sleep(args.gap)
            f()
            for _ in range(args.reps):
                t0 = time.perf_counter()
                f()
                ts.append(time.perf_counter() - t0)
    return [statistics.median(ts) for ts in times]


def measure(shape: tuple[str, int, int, int, int, int, int, int], args: argparse.Namespace
            ) -> dict[str, Any]:
    import torch

    import chainrule as cr
    from chainrule.backend import windows
    from chainrule.ops.geometry import Window

    name, n, c, o, h, k, s, p = shape
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c, h, h)).astype(np.float32)
    w = (rng.standard_normal((o, c, k, k)) * 0.1).astype(np.float32)
    tx, tw = torch.from_numpy(x), torch.from_numpy(w)
    batch_last = np.ascontiguousarray(x.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)
    cx, cw = cr.tensor(batch_last), cr.tensor(w)
    col = windows.im2col(batch_last, Window((k, k), (s, s), (1, 1), (p, p, p, p)))
    w2 = w.reshape(o, -1)
    tw2, tcol = torch.from_numpy(w2), torch.from_numpy(col)

    def torch_conv() -> Any:
        with torch.no_grad():
            return torch.nn.functional.conv2d(tx, tw, stride=s, padding=p)

    def chainrule_conv() -> Any:
        with cr.no_grad():
            return cr.nn.functional.conv2d(cx, cw, stride=s, padding=p)

    ref = torch_conv().numpy()
    got = chainrule_conv().numpy()
    err = float(np.abs(got - ref).max() / max(np.abs(ref).max(), 1e-30))
    times = _time_in_turn([torch_conv, chainrule_conv, lambda: w2 @ col, lambda: tw2 @ tcol],
                          args)
    oh = (h + 2 * p - k) // s + 1
    gflop = 2 * o * c * k * k * oh * oh * n / 1e9
    return {"name": name, "shape": f"{n}×{c}×{h}² → {o}, {k}×{k}/{s}", "gflop": gflop,
            "times": times, "err": err}


def table(rows: list[dict[str, Any]]) -> list[str]:
    out = ["| convolution | N×C×H² → O, kernel/stride | GFLOP | torch conv | chainrule conv | "
           "NumPy product alone | torch product alone | chainrule / torch | "
           "NumPy product / torch conv | max rel. diff |",
           "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for r in rows:
        cells = [f"{t * 1e3:.2f} ms ({r['gflop'] / t:.0f})" for t in r["times"]]
        tc, cc, npp = r["times"][0], r["times"][1], r["times"][2]
        out.append(f"| {r['name']} | {r['shape']} | {r['gflop']:.2f} | {' | '.join(cells)} | "
                   f"**{cc / tc:.2f}x** | {npp / tc:.2f}x | {r['err']:.1e} |")
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(args.threads)
    shapes = [sh for sh in SHAPES if not args.only or any(o in sh[0] for o in args.only)]
    if not shapes:
        raise SystemExit(f"convshapes: no shape matches {args.only}")
    with threadpool_limits(limits=args.threads, user_api="blas"):
        env = environment(args.threads)
        rows = []
        for sh in shapes:
            rows.append(measure(sh, args))
            print(table(rows[-1:])[-1], flush=True)
    doc = "\n".join([
        "# One convolution forward at a time: torch, chainrule, and chainrule's product",
        "",
        "Command: `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m benchmarks.convshapes"
        + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip()
        + "`",
        "",
        *[f"- {line}" for line in env + env_warnings()],
        f"- medians of {args.rounds} blocks of {args.reps} calls, one block of each column in "
        f"turn after {args.gap} s idle; in brackets GFLOP/s",
        "",
        *table(rows),
        "",
    ])
    if not args.no_save:
        print(f"wrote {save(doc, 'convshapes')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
