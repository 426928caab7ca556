"""Profile one library's side of a workload with cProfile: where does the time go?

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m benchmarks.prof --only xor-step
    python -m benchmarks.prof --only mlp-step --iters 300 --top 30
    python -m benchmarks.prof --ops --only lenet5-epoch-b128     # per-op table, no cProfile

Prints the top functions by own time (tottime) and a summary of own time per source area
(chainrule's tensor.py / autograd / ops, NumPy, builtins). cProfile adds its own cost to every
Python call, so the split overstates Python overhead somewhat; use it for ranking, not absolute
times.

With --ops (chainrule only) cProfile is not used: every op's `Function.forward` and
`Function.backward` and the optimizer's `step` are wrapped with a timer, and each op's
*exclusive* time is reported (an op's backward written with other ops is charged only for what
those ops do not account for), plus what is left outside them (graph bookkeeping, the engine,
module calls, Python glue). Two perf_counter calls per op: a small overhead, shown as the
difference between the wrapped and the plain time per iteration.
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


def _all_subclasses(cls: type) -> list[type]:
    out, todo = [], [cls]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in out:
                out.append(sub)
                todo.append(sub)
    return out


def _shape(a: tuple) -> str:
    """Shape of an op's first argument (an array in forward, the grad Tensor in backward)."""
    shape = getattr(a[0], "shape", None) if a else None
    if shape is None:
        return ""
    return " " + ("x".join(str(d) for d in shape) if shape else "scalar")


def op_profile(workload_name: str, iters: int, seed: int, by_shape: bool = False) -> None:
    """Exclusive wall time per chainrule op (forward / backward) and optimizer step."""
    from chainrule.autograd.function import Function
    from chainrule.optim.optimizer import Optimizer

    (w,) = select([workload_name])
    fn = w.model.build("chainrule", seed).phase(w.phase)
    for _ in range(max(3, iters // 10)):  # warm-up
        fn()
    t0 = time.perf_counter()
    for _ in range(iters):
        fn()
    plain = (time.perf_counter() - t0) / iters

    own: dict[tuple[str, str], float] = defaultdict(float)
    calls: dict[tuple[str, str], int] = defaultdict(int)
    stack: list[float] = []  # time spent in nested wrapped calls, per open frame
    in_backward = [0]  # depth of open Function.backward calls
    clock = time.perf_counter

    def wrap(method, kind: str):
        def timed(self, *a, **k):
            start = clock()
            stack.append(0.0)
            is_bwd = kind == "backward"
            in_backward[0] += is_bwd
            # an op run inside another op's backward belongs to the backward pass
            where = "forward [in backward]" if kind == "forward" and in_backward[0] else kind
            try:
                return method(self, *a, **k)
            finally:
                in_backward[0] -= is_bwd
                dt = clock() - start
                inner = stack.pop()
                key = (type(self).__name__ + (_shape(a) if by_shape else ""), where)
                own[key] += dt - inner
                calls[key] += 1
                if stack:
                    stack[-1] += dt
        return timed

    patched: list[tuple[type, str, object]] = []
    targets = [(c, m, k) for c in [Function, *_all_subclasses(Function)]
               for m, k in (("forward", "forward"), ("backward", "backward"))]
    targets += [(c, "step", "step") for c in [Optimizer, *_all_subclasses(Optimizer)]]
    for cls, meth, kind in targets:
        if meth in cls.__dict__:
            orig = cls.__dict__[meth]
            patched.append((cls, meth, orig))
            setattr(cls, meth, wrap(orig, kind))
    try:
        t0 = time.perf_counter()
        for _ in range(iters):
            fn()
        total = time.perf_counter() - t0
    finally:
        for cls, meth, orig in patched:
            setattr(cls, meth, orig)
    per = total / iters
    print(f"\n=== {w.name} [chainrule] per op: {iters} iterations, {plain * 1e3:.3f} ms/iter "
          f"plain, {per * 1e3:.3f} ms/iter with the op timers ===")
    print(f"{'ms/iter':>9} {'%':>6} {'calls/iter':>10}  op (exclusive wall time)")
    rows = sorted(own.items(), key=lambda kv: kv[1], reverse=True)
    for (name, kind), t in rows:
        print(f"{t / iters * 1e3:9.3f} {t / total * 100:5.1f}% {calls[(name, kind)] / iters:10.1f}"
              f"  {name}.{kind}")
    inside = sum(own.values())
    print(f"{(total - inside) / iters * 1e3:9.3f} {(total - inside) / total * 100:5.1f}%"
          "             outside op forward/backward/step: graph recording, engine, module "
          "calls, glue")
    by_pass: dict[str, float] = defaultdict(float)
    for (_name, kind), t in own.items():
        by_pass[{"forward": "forward pass ops", "step": "optimizer step"}.get(
            kind, "backward pass ops")] += t
    by_op: dict[str, float] = defaultdict(float)
    for (name, _kind), t in own.items():
        by_op[name.split(" ")[0]] += t
    print("by pass: " + ", ".join(f"{k} {v / iters * 1e3:.3f} ms ({v / total * 100:.0f}%)"
                                  for k, v in sorted(by_pass.items(), key=lambda kv: -kv[1]))
          + f", outside ops {(total - inside) / iters * 1e3:.3f} ms "
            f"({(total - inside) / total * 100:.0f}%)")
    print("by op class (forward + backward + use inside other ops' backward): " + ", ".join(
        f"{k} {v / iters * 1e3:.2f} ms ({v / total * 100:.0f}%)"
        for k, v in sorted(by_op.items(), key=lambda kv: -kv[1])[:8]))


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
    ap.add_argument("--ops", action="store_true",
                    help="per-op exclusive times (chainrule ops' forward/backward, optimizer "
                         "step) from timers around each op instead of cProfile")
    ap.add_argument("--by-shape", action="store_true",
                    help="with --ops: one row per op and input shape (e.g. tells C1 from C3)")
    args = ap.parse_args(argv)
    if args.ops and args.lib != "chainrule":
        ap.error("--ops profiles chainrule's ops; use it without --lib torch")
    from threadpoolctl import threadpool_limits

    if args.lib == "torch":
        import torch

        torch.set_num_threads(args.threads)
    names = args.only or ["xor-step", "mlp-step"]
    with threadpool_limits(limits=args.threads):
        for name in names:
            for w in select([name]):
                iters = args.iters or (2000 if w.model.unit == "us" else 200)
                if args.ops:
                    op_profile(w.name, iters, args.seed, args.by_shape)
                else:
                    profile(w.name, args.lib, iters, args.top, args.seed, args.clock)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
