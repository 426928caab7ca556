"""Time chainrule against PyTorch on the registered workloads, in one process, side by side.

Method: both libraries are limited to the same number of threads (torch.set_num_threads and
threadpoolctl's threadpool_limits for NumPy's BLAS). Each workload is built in both libraries from
the same NumPy weights and data, checked to agree, then timed alternately, A B A B: after the
warm-up, every round takes one sample of chainrule then one of torch, so drift in the machine (
frequency, other load) hits both alike. A sample times `inner` consecutive iterations and is
divided by `inner`; the report gives medians over rounds, the interquartile range, and the ratio
chainrule / torch of the medians. Nothing here asserts performance.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.registry import LIBS, MODELS, NOTES, PHASE_DOC, Model, Workload, select

RESULTS_DIR = Path(__file__).resolve().parent / "results"
SLOW_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
WRAP = "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE"
LOSS_RTOL = 1e-4  # relative tolerance on the first-step loss (float32, different BLAS)
GRAD_RTOL = 1e-4  # max |Δgrad| relative to max |grad|


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="chainrule vs PyTorch, alternating samples in one run. Run it as "
                    f"`{WRAP} python -m benchmarks` (those variables force a slow BLAS kernel).")
    ap.add_argument("--rounds", type=int, default=None,
                    help="timed rounds per workload, each one chainrule + one torch sample "
                         "(default 30, or 7 with --quick; the heavy network workloads default "
                         "to their own 7-20, or 2 with --quick)")
    ap.add_argument("--warmup", type=int, default=None,
                    help="untimed A B rounds before timing (default 3, or 1 with --quick; "
                         "1 for the heavy network workloads)")
    ap.add_argument("--threads", type=int, default=2,
                    help="threads for both libraries: torch and NumPy's BLAS (default 2)")
    ap.add_argument("--only", action="append", metavar="NAME",
                    help="run only this workload, or all phases of this model (repeatable)")
    ap.add_argument("--quick", action="store_true",
                    help="fewer rounds and iterations per sample: a smoke run, noisy numbers")
    ap.add_argument("--gap", type=float, default=0.1,
                    help="idle seconds before each sample, so the other library's spinning "
                         "worker threads are asleep (default 0.1)")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="wall: elapsed time (default); cpu: this process's CPU time, all "
                         "threads (with --threads 1, robust to other load on a shared machine)")
    ap.add_argument("--seed", type=int, default=0, help="seed for weights and data (default 0)")
    ap.add_argument("--label", default=None,
                    help="suffix of the results file name (default 'full' or 'quick')")
    ap.add_argument("--no-save", action="store_true",
                    help="print the results but do not write benchmarks/results/*.md")
    ap.add_argument("--memory", action="store_true",
                    help="also measure peak RSS of a LeNet-5 training run, chainrule vs torch, "
                         "each in its own subprocess (see benchmarks/memory.py)")
    ap.add_argument("--memory-steps", type=int, default=100, metavar="N",
                    help="training steps of the --memory run (default 100, batch 128)")
    ap.add_argument("--list", action="store_true", help="list the workloads and exit")
    args = ap.parse_args(argv)
    if ((args.rounds is not None and args.rounds < 1) or args.threads < 1
            or (args.warmup is not None and args.warmup < 0) or args.gap < 0
            or args.memory_steps < 1):
        ap.error("--rounds, --threads and --memory-steps must be >= 1, --warmup and --gap >= 0")
    if args.label is None:
        args.label = "quick" if args.quick else "full"
    args.label = re.sub(r"[^A-Za-z0-9._-]+", "-", args.label).strip("-") or "run"
    return args


# ----------------------------------------------------------------- environment
def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _git_commit() -> str:
    """HEAD's short hash, and whether chainrule/ differs from it (the timed code is the tree's)."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=5, cwd=here)
        commit = out.stdout.strip() or "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "chainrule"],
                               capture_output=True, text=True, timeout=5, cwd=here.parent)
        if dirty.returncode == 0 and dirty.stdout.strip():
            n = len(dirty.stdout.strip().splitlines())
            commit += f" + uncommitted changes in {n} file(s) under chainrule/"
        return commit
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def blas_line(info: list[dict]) -> str:
    """NumPy's BLAS as threadpoolctl reports it, internal kernel included."""
    import numpy

    np_dir = Path(numpy.__file__).resolve().parent.parent
    blas = [d for d in info if d.get("user_api") == "blas"]
    # prefer the BLAS shipped with numpy (numpy.libs/…) over others loaded in the process
    blas.sort(key=lambda d: not str(d.get("filepath", "")).startswith(str(np_dir)))
    if not blas:
        return "numpy BLAS: not detected by threadpoolctl"
    parts = []
    for d in blas:
        parts.append(f"{d.get('internal_api')} {d.get('version')}, kernel "
                     f"{d.get('architecture', 'n/a')}, num_threads {d.get('num_threads')}, "
                     f"threading {d.get('threading_layer', 'n/a')} ({d.get('prefix')})")
    return "numpy BLAS: " + "; ".join(parts)


def environment(threads: int) -> list[str]:
    import threadpoolctl
    import torch

    import chainrule

    info = threadpoolctl.threadpool_info()
    others = [f"{d.get('internal_api')} ({d.get('prefix')}) num_threads {d.get('num_threads')}"
              for d in info if d.get("user_api") != "blas"]
    cfg = torch.__config__.show()
    m = re.search(r"BLAS_INFO=(\w+)", cfg)
    torch_blas = m.group(1) if m else "unknown"
    try:
        capability = torch.backends.cpu.get_cpu_capability()
    except AttributeError:
        capability = "unknown"
    return [
        f"machine: {platform.platform()}, {platform.machine()}, {_cpu_model()}, "
        f"os.cpu_count()={os.cpu_count()}",
        f"python {platform.python_version()}, numpy {np.__version__}, torch {torch.__version__}, "
        f"chainrule {chainrule.__version__} (commit {_git_commit()}), "
        f"threadpoolctl {threadpoolctl.__version__}",
        f"threads: {threads} (torch.get_num_threads()={torch.get_num_threads()}; "
        f"threadpool_limits({threads}) on NumPy's BLAS)",
        blas_line(info),
        f"torch BLAS: {torch_blas}, CPU capability {capability}; other thread pools: "
        + (", ".join(others) or "none"),
    ]


def env_warnings() -> list[str]:
    return [f"WARNING: {k}={os.environ[k]} is set: OpenBLAS may use a slow kernel. Run as "
            f"`{WRAP} python -m benchmarks`." for k in SLOW_ENV if k in os.environ]


def _cpu_times() -> tuple[int, int] | None:
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields), idle


def load_line(window: float = 0.5) -> tuple[str, bool]:
    """How busy the machine is while we are idle: other processes distort every number."""
    a = _cpu_times()
    time.sleep(window)
    b = _cpu_times()
    try:
        la = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        la = "n/a"
    if a is None or b is None or b[0] == a[0]:
        return f"machine load: load average {la}", False
    busy = 1 - (b[1] - a[1]) / (b[0] - a[0])
    line = (f"machine load before timing: {busy * 100:.0f}% of all CPUs busy over {window:g} s "
            f"with this process idle; load average {la}")
    return line, busy > 0.10


def _cpu_fields() -> list[int] | None:
    try:
        return [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return None


class LoadMeter:
    """CPU time used by *other* processes over a stretch: all CPUs' busy time from /proc/stat
    (user, nice, system, irq, softirq) minus this process's and its waited-for children's CPU
    time; and the time the hypervisor stole from this virtual machine, if any."""

    def __init__(self) -> None:
        self.start = _cpu_fields()
        self.own = self._own()

    @staticmethod
    def _own() -> float:
        t = os.times()
        return t.user + t.system + t.children_user + t.children_system

    def line(self) -> tuple[str, bool]:
        end = _cpu_fields()
        if self.start is None or end is None or len(end) < 4 or sum(end) == sum(self.start):
            return "machine load during the run: n/a", False
        d = [b - a for a, b in zip(self.start, end, strict=True)] + [0] * 8
        hz = os.sysconf("SC_CLK_TCK")
        total = sum(d[:8]) / hz
        busy = (d[0] + d[1] + d[2] + d[5] + d[6]) / hz
        steal = d[7] / hz
        other = max(0.0, busy - (self._own() - self.own)) / total
        return (f"machine load during the run: other processes used {other * 100:.1f}% of all "
                f"CPU time (all CPUs {busy / total * 100:.0f}% busy, stolen by the hypervisor "
                f"{steal / total * 100:.1f}%)"), other > 0.05 or steal / total > 0.05


# ----------------------------------------------------------------- correctness
def check_model(model: Model, seed: int) -> tuple[bool, str]:
    """First-step loss and gradients of both libraries must agree within float32 tolerance;
    for models with an optimizer, so must the loss on the next batch after the update, and for
    cases that give one (`timed_output`), the output of the timed float32 forward."""
    cases = [model.build(lib, seed) for lib in LIBS]
    (cl, cg), (tl, tg) = (c.first_step() for c in cases)
    cl2, tl2 = (c.after_step_loss() for c in cases)
    loss_rel = abs(cl - tl) / max(abs(tl), 1e-12)
    ok = bool(np.isfinite(cl)) and loss_rel <= LOSS_RTOL
    after = ""
    if cl2 is not None and tl2 is not None:
        rel2 = abs(cl2 - tl2) / max(abs(tl2), 1e-12)
        ok = ok and bool(np.isfinite(cl2)) and rel2 <= LOSS_RTOL
        after = (f"; after the optimizer step, next-batch loss chainrule {cl2:.7g} torch "
                 f"{tl2:.7g} (rel diff {rel2:.1e})")
    worst = 0.0
    for k in tg:
        scale = max(float(np.abs(tg[k]).max()), 1e-12)
        rel = float(np.abs(cg[k] - tg[k]).max()) / scale
        worst = max(worst, rel)
        ok = ok and cg[k].shape == tg[k].shape and rel <= GRAD_RTOL
    outs = [getattr(c, "timed_output", lambda: None)() for c in cases]
    timed = ""
    if outs[0] is not None and outs[1] is not None:
        rel_out = float(np.abs(outs[0] - outs[1]).max()) / max(float(np.abs(outs[1]).max()),
                                                               1e-12)
        ok = ok and outs[0].shape == outs[1].shape and rel_out <= GRAD_RTOL
        timed = (f"; float32 output of the timed forward max|Δ| / max|y| {rel_out:.1e} "
                 f"(tol {GRAD_RTOL:g})")
    name = model.check_grad or next(iter(tg))
    gdiff = float(np.abs(cg[name] - tg[name]).max())
    line = (f"check {model.name}: loss chainrule {cl:.7g} torch {tl:.7g} "
            f"(rel diff {loss_rel:.1e}); "
            f"grad {name}[0,0] chainrule {cg[name].flat[0]:.7g} torch {tg[name].flat[0]:.7g}, "
            f"max|Δ| {gdiff:.1e}; worst of {len(tg)} grads rel {worst:.1e} "
            f"(tol {GRAD_RTOL:g}){after}{timed} -> {'OK' if ok else 'MISMATCH'}")
    return ok, line


# ----------------------------------------------------------------- timing
@dataclass
class Stats:
    median: float
    q1: float
    q3: float
    best: float
    n: int

    @classmethod
    def of(cls, samples: list[float]) -> Stats:
        q1, med, q3 = np.percentile(samples, [25, 50, 75])
        return cls(float(med), float(q1), float(q3), float(min(samples)), len(samples))

    @property
    def spread(self) -> float:
        """Interquartile range as a fraction of the median."""
        return (self.q3 - self.q1) / self.median if self.median else float("nan")


@dataclass
class Result:
    workload: Workload
    inner: int
    stats: dict[str, Stats]
    rounds: int = 0
    warmup: int = 0

    @property
    def ratio(self) -> float:
        return self.stats["chainrule"].median / self.stats["torch"].median

    @property
    def best_ratio(self) -> float:
        """Ratio of the fastest samples: less sensitive to other load on the machine."""
        return self.stats["chainrule"].best / self.stats["torch"].best


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def _sample(fn, inner: int, gap: float, begin=None, clock=time.perf_counter) -> float:
    """Mean seconds per call over `inner` calls of fn, after an idle gap and one untimed call.

    The gap lets the other library's worker threads go to sleep: OpenBLAS's threads spin for
    ~0.1 s after each BLAS call and, on a machine with as many cores as threads, they would steal
    a core from torch's sample that follows (measured: torch's mlp step 1.3 ms alone, 2.3 ms
    right after a chainrule sample). The untimed call wakes this library's own pools again.
    `begin` (if given) runs just before the timed calls: the epoch workloads rewind there to
    the first batch of their slice. `clock` is `time.perf_counter` or, for --clock cpu,
    `time.process_time`.
    """
    if gap:
        time.sleep(gap)
    fn()
    if begin is not None:
        begin()
    gc.collect()  # outside the timed region: every sample starts from the same heap state
    t0 = clock()
    for _ in range(inner):
        fn()
    return (clock() - t0) / inner


def rounds_for(m: Model, args: argparse.Namespace) -> tuple[int, int]:
    """(timed rounds, warm-up rounds): --rounds / --warmup if given, else the model's own
    defaults (heavy workloads have fewer), else 30 / 3; --quick cuts them down."""
    if args.rounds is not None:
        rounds = args.rounds
    elif args.quick:
        rounds = 2 if m.rounds else 7
    else:
        rounds = m.rounds or 30
    if args.warmup is not None:
        warmup = args.warmup
    elif args.quick:
        warmup = 1
    else:
        warmup = m.warmup if m.warmup >= 0 else 3
    return rounds, warmup


def time_workload(w: Workload, args: argparse.Namespace) -> Result:
    m = w.model
    inner = (m.quick_inner or max(1, m.inner // 4)) if args.quick else m.inner
    rounds, warmup = rounds_for(m, args)
    cases = {lib: m.build(lib, args.seed) for lib in LIBS}
    fns = {lib: c.phase(w.phase) for lib, c in cases.items()}
    begins = {lib: c.begin_sample for lib, c in cases.items()}
    for _ in range(warmup):
        for lib in LIBS:
            _sample(fns[lib], inner, args.gap, begins[lib], CLOCKS[args.clock])
    samples: dict[str, list[float]] = {lib: [] for lib in LIBS}
    for _ in range(rounds):
        for lib in LIBS:  # A B A B ...
            samples[lib].append(_sample(fns[lib], inner, args.gap, begins[lib], CLOCKS[args.clock]))
    return Result(w, inner, {lib: Stats.of(s) for lib, s in samples.items()}, rounds, warmup)


# ----------------------------------------------------------------- report
def fmt_time(seconds: float, unit: str) -> str:
    if unit == "us":
        return f"{seconds * 1e6:.1f} µs"
    return f"{seconds * 1e3:.3f} ms"


def results_table(results: list[Result], args: argparse.Namespace) -> list[str]:
    lines = [
        "Per-iteration medians over each row's rounds (A B alternating chainrule, torch, after "
        f"the warm-up rounds; each sample preceded by a {args.gap:g} s idle gap and one untimed "
        "iteration); spread = IQR / median; min ratio = fastest chainrule sample / fastest "
        "torch sample. Network workloads (batch > 0) take the next batch of a fixed slice of "
        "the shuffled epoch each iteration; a sample is that whole slice.",
        "",
        "| workload | what | batch | chainrule | torch | chainrule / torch | spread cr / torch "
        "| min ratio | iterations per sample | rounds (+ warm-up) |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in results:
        c, t, m = r.stats["chainrule"], r.stats["torch"], r.workload.model
        u = m.unit
        lines.append(
            f"| {r.workload.name} | {PHASE_DOC[r.workload.phase]} | {m.batch or '-'} | "
            f"{fmt_time(c.median, u)} | {fmt_time(t.median, u)} | **{r.ratio:.2f}x** | "
            f"{c.spread * 100:.0f}% / {t.spread * 100:.0f}% | {r.best_ratio:.2f}x | {r.inner} | "
            f"{r.rounds} (+{r.warmup}) |")
    return lines


def epoch_table(results: list[Result]) -> list[str]:
    """Per-epoch time extrapolated from the per-step medians of the 'epoch' workloads."""
    rows = []
    for r in results:
        m = r.workload.model
        if r.workload.phase != "epoch" or not m.steps_per_epoch:
            continue
        c, t = r.stats["chainrule"].median, r.stats["torch"].median
        n = m.steps_per_epoch
        rows.append(f"| {r.workload.name} | {m.batch} | {n} | {c * 1e3:.2f} ms | "
                    f"{t * 1e3:.2f} ms | {c * n:.2f} s | {t * n:.2f} s | **{c / t:.2f}x** | "
                    f"{r.inner} steps ({r.inner * m.batch:,} images) |")
    if not rows:
        return []
    return [
        "One training epoch (60,000 images), extrapolated: per-epoch time = median per-step "
        "time × steps per epoch (⌈60,000 / batch⌉, the last, smaller batch counted as full). "
        "Each sample timed a fixed slice of the epoch (its first steps, same shuffled batches "
        "every round, pre-batched normalised float32 data shared by both libraries), not a "
        "whole epoch; data loading is not included.",
        "",
        "| workload | batch | steps / epoch | chainrule per step | torch per step "
        "| chainrule epoch | torch epoch | chainrule / torch | slice timed per sample |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|",
        *rows,
    ]


def ratio_table(results: list[Result]) -> list[str]:
    """fwd+bwd / fwd (and step / fwd) per model: the lecture's 'backward ≈ 2x forward'."""
    by = {(r.workload.model.name, r.workload.phase): r for r in results}
    rows = []
    for name in MODELS:
        fwd, fb, st = (by.get((name, p)) for p in ("fwd", "fwdbwd", "step"))
        st = st or by.get((name, "epoch"))  # an epoch step is a step on varying batches
        if fwd is None or (fb is None and st is None):
            continue
        cells = [name]
        for lib in LIBS:
            f = fwd.stats[lib].median
            cells.append(f"{fb.stats[lib].median / f:.2f}" if fb else "n/a")
        for lib in LIBS:
            f = fwd.stats[lib].median
            cells.append(f"{st.stats[lib].median / f:.2f}" if st else "n/a")
        rows.append("| " + " | ".join(cells) + " |")
    if not rows:
        return []
    return [
        "fwd+bwd / fwd: cost of forward+backward relative to the forward pass alone (the "
        "lecture's rule of thumb: backward ≈ 2x forward, so fwd+bwd / fwd ≈ 3). Forward "
        "includes the loss; lenet5's step is its epoch step (momentum SGD), wide-cnn's too.",
        "",
        "| model | chainrule fwd+bwd / fwd | torch fwd+bwd / fwd | chainrule step / fwd "
        "| torch step / fwd |",
        "|---|--:|--:|--:|--:|",
        *rows,
    ]


def command_line() -> str:
    args = " ".join(sys.argv[1:])
    prefix = "" if any(k in os.environ for k in SLOW_ENV) else WRAP + " "
    return f"{prefix}python -m benchmarks{(' ' + args) if args else ''}"


def save(doc: str, label: str) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = _dt.datetime.now().strftime("%Y-%m-%d-%H%M")
    path = RESULTS_DIR / f"{stamp}-{label}.md"
    k = 2
    while path.exists():
        path = RESULTS_DIR / f"{stamp}-{label}-{k}.md"
        k += 1
    path.write_text(doc, encoding="utf-8")
    return path


# ----------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import benchmarks.workloads  # noqa: F401  (registers the models)

    if args.list:
        for m in MODELS.values():
            print(f"{m.name}: {m.description} (unit {m.unit}, {m.inner} iterations per sample)")
            for p in m.phases:
                print(f"  {m.workload_name(p)}: {PHASE_DOC[p]}")
        return 0
    chosen = select(args.only)

    warnings = env_warnings()
    for line in warnings:
        print(line, flush=True)
    try:
        import torch
        from threadpoolctl import threadpool_limits
    except ImportError as e:
        print(f"benchmarks need torch and threadpoolctl ({e}); pip install -e '.[dev,torch]'",
              file=sys.stderr)
        return 2

    meter = LoadMeter()
    load, busy = load_line()
    if busy:
        warnings.append("WARNING: other processes are using the CPUs (see 'machine load'); "
                        "timings will be noisy and the libraries may be disturbed unequally")
        print(warnings[-1], flush=True)
    torch.set_num_threads(args.threads)
    with threadpool_limits(limits=args.threads):
        env = environment(args.threads) + [load, f"clock: {args.clock} (" + (
            "process CPU time of all threads" if args.clock == "cpu" else "elapsed time") + ")"]
        for line in env:
            print(line, flush=True)

        checks = []
        for m in dict.fromkeys(w.model for w in chosen):
            ok, line = check_model(m, args.seed)
            print(line, flush=True)
            checks.append(line)
            if not ok:
                print(f"ABORT: chainrule and torch disagree on {m.name}; not timing.",
                      file=sys.stderr)
                return 1

        notes = [f"{k}: {v}" if not v.startswith(k) else v for k, v in NOTES.items()]
        for line in notes:
            print(line, flush=True)

        results = []
        for w in chosen:
            r = time_workload(w, args)
            u = w.model.unit
            print(f"  {w.name:<18} chainrule {fmt_time(r.stats['chainrule'].median, u):>12}  "
                  f"torch {fmt_time(r.stats['torch'].median, u):>12}  ratio {r.ratio:6.2f}x",
                  flush=True)
            results.append(r)

    memory: list[str] = []
    if args.memory:
        from benchmarks.memory import memory_section

        memory = memory_section(args.memory_steps, 128, args.threads, args.seed)
    during, disturbed = meter.line()
    env.append(during)
    print(during, flush=True)
    if disturbed:
        warnings.append("WARNING: other processes used the CPUs during the run (see 'machine "
                        "load during the run'); the timings are disturbed")
        print(warnings[-1], flush=True)

    stamp = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    table = results_table(results, args)
    epochs = epoch_table(results)
    ratios = ratio_table(results)
    doc_lines = [
        f"# chainrule vs PyTorch — {stamp} ({args.label})",
        "",
        f"Command: `{command_line()}`",
        "",
        "## Environment",
        "",
        *[f"- {line}" for line in warnings + env + notes],
        f"- rounds {args.rounds or 'per workload (see table)'}, warm-up "
        f"{'per workload' if args.warmup is None else args.warmup}, gap {args.gap:g} s, "
        f"seed {args.seed}" + (", --quick" if args.quick else ""),
        "",
        "## Correctness (first step, chainrule vs torch)",
        "",
        *[f"- {line}" for line in checks],
        "",
        "## Results",
        "",
        *table,
        "",
    ]
    if epochs:
        doc_lines += ["## Per epoch (extrapolated)", "", *epochs, ""]
    if ratios:
        doc_lines += ["## Backward / forward", "", *ratios, ""]
    if memory:
        doc_lines += ["## Peak memory", "", *memory, ""]
    doc = "\n".join(doc_lines)
    print()
    print("\n".join(table))
    for extra in (epochs, ratios, memory):
        if extra:
            print()
            print("\n".join(extra))
    if not args.no_save:
        path = save(doc, args.label)
        try:
            shown = path.relative_to(Path.cwd())
        except ValueError:
            shown = path
        print(f"\nwrote {shown}")
    return 0
