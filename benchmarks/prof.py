"""Profile one library's side of a workload with cProfile: where does the time go?

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m benchmarks.prof --only xor-step
    python -m benchmarks.prof --only mlp-step --iters 300 --top 30

Prints the top functions by own time (tottime) and a summary of own time per source area
(chainrule's tensor.py / autograd / ops, NumPy, builtins). cProfile adds its own cost to every
Python call, so the split overstates Python overhead somewhat; use it for ranking, not absolute
times.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from collections import defaultdict

from benchmarks.registry import LIBS, select


def area(filename: str) -> str:
    f = filename.replace("\\", "/")
    if "chainrule/" in f:
        return "chainrule/" + f.split("chainrule/", 1)[1]
    if "benchmarks/" in f:
        return "benchmarks (model code)"
    if "numpy" in f:
        return "numpy (Python part)"
    if "torch" in f:
        return "torch (Python part)"
    if f.startswith("~") or f == "<built-in>":
        return "builtins / C functions (numpy ufuncs, BLAS, ...)"
    return "other Python (" + f.rsplit("/", 1)[-1] + ")"


def profile(workload_name: str, lib: str, iters: int, top: int, seed: int,
            clock: str = "wall") -> None:
    (w,) = select([workload_name])
    fn = w.model.build(lib, seed).phase(w.phase)
    for _ in range(max(3, iters // 10)):  # warm-up
        fn()
    t0 = time.perf_counter()
    for _ in range(iters):
        fn()
    plain = (time.perf_counter() - t0) / iters
    # "cpu" counts only this thread's CPU time: robust when other processes share the CPUs,
    # but it leaves out work done by BLAS worker threads.
    prof = cProfile.Profile(time.thread_time) if clock == "cpu" else cProfile.Profile()
    prof.enable()
    for _ in range(iters):
        fn()
    prof.disable()
    st = pstats.Stats(prof)
    total = st.total_tt
    print(f"\n=== {w.name} [{lib}]: {iters} iterations, {plain * 1e6:.1f} µs/iter unprofiled, "
          f"{total / iters * 1e6:.1f} µs/iter under cProfile ({clock} clock) ===")
    rows = sorted(st.stats.items(), key=lambda kv: kv[1][2], reverse=True)
    print(f"{'tottime/iter':>13} {'%':>6} {'calls/iter':>10} {'cumtime/iter':>13}  function")
    for (file, line, name), (_cc, nc, tt, ct, _callers) in rows[:top]:
        where = f"{area(file)}:{line}" if line else area(file)
        print(f"{tt / iters * 1e6:10.2f} µs {tt / total * 100:5.1f}% {nc / iters:10.1f} "
              f"{ct / iters * 1e6:10.2f} µs  {name}  ({where})")
    by_area: dict[str, float] = defaultdict(float)
    calls: dict[str, float] = defaultdict(float)
    for (file, _line, _name), (_cc, nc, tt, _ct, _callers) in st.stats.items():
        by_area[area(file)] += tt
        calls[area(file)] += nc
    print("\nown time by source file:")
    for k, v in sorted(by_area.items(), key=lambda kv: kv[1], reverse=True)[:15]:
        print(f"{v / iters * 1e6:10.2f} µs/iter {v / total * 100:5.1f}%  "
              f"{calls[k] / iters:8.1f} calls/iter  {k}")


def main(argv: list[str] | None = None) -> int:
    import benchmarks.workloads  # noqa: F401  (registers the models)

    ap = argparse.ArgumentParser(prog="python -m benchmarks.prof", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", action="append", metavar="NAME",
                    help="workload to profile (repeatable; default xor-step and mlp-step)")
    ap.add_argument("--lib", choices=LIBS, default="chainrule")
    ap.add_argument("--iters", type=int, default=None,
                    help="profiled iterations (default 2000 for µs workloads, 200 for ms ones)")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="cProfile timer: wall clock, or this thread's CPU time (use 'cpu' when "
                         "the machine is shared)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    from threadpoolctl import threadpool_limits

    if args.lib == "torch":
        import torch

        torch.set_num_threads(args.threads)
    names = args.only or ["xor-step", "mlp-step"]
    with threadpool_limits(limits=args.threads):
        for name in names:
            for w in select([name]):
                iters = args.iters or (2000 if w.model.unit == "us" else 200)
                profile(w.name, args.lib, iters, args.top, args.seed, args.clock)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
