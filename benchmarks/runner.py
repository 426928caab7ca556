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

from benchmarks.registry import LIBS, MODELS, PHASE_DOC, Model, Workload, select

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
                         "(default 30, or 7 with --quick)")
    ap.add_argument("--warmup", type=int, default=None,
                    help="untimed A B rounds before timing (default 3, or 1 with --quick)")
    ap.add_argument("--threads", type=int, default=2,
                    help="threads for both libraries: torch and NumPy's BLAS (default 2)")
    ap.add_argument("--only", action="append", metavar="NAME",
                    help="run only this workload, or all phases of this model (repeatable)")
    ap.add_argument("--quick", action="store_true",
                    help="fewer rounds and iterations per sample: a smoke run, noisy numbers")
    ap.add_argument("--gap", type=float, default=0.1,
                    help="idle seconds before each sample, so the other library's spinning "
                         "worker threads are asleep (default 0.1)")
    ap.add_argument("--seed", type=int, default=0, help="seed for weights and data (default 0)")
    ap.add_argument("--label", default=None,
                    help="suffix of the results file name (default 'full' or 'quick')")
    ap.add_argument("--no-save", action="store_true",
                    help="print the results but do not write benchmarks/results/*.md")
    ap.add_argument("--list", action="store_true", help="list the workloads and exit")
    args = ap.parse_args(argv)
    if args.rounds is None:
        args.rounds = 7 if args.quick else 30
    if args.warmup is None:
        args.warmup = 1 if args.quick else 3
    if args.rounds < 1 or args.threads < 1 or args.warmup < 0 or args.gap < 0:
        ap.error("--rounds and --threads must be >= 1, --warmup and --gap >= 0")
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
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=5, cwd=Path(__file__).resolve().parent)
        return out.stdout.strip() or "unknown"
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


# ----------------------------------------------------------------- correctness
def check_model(model: Model, seed: int) -> tuple[bool, str]:
    """First-step loss and gradients of both libraries must agree within float32 tolerance."""
    (cl, cg), (tl, tg) = (model.build(lib, seed).first_step() for lib in LIBS)
    loss_rel = abs(cl - tl) / max(abs(tl), 1e-12)
    ok = bool(np.isfinite(cl)) and loss_rel <= LOSS_RTOL
    worst = 0.0
    for k in tg:
        scale = max(float(np.abs(tg[k]).max()), 1e-12)
        rel = float(np.abs(cg[k] - tg[k]).max()) / scale
        worst = max(worst, rel)
        ok = ok and cg[k].shape == tg[k].shape and rel <= GRAD_RTOL
    name = model.check_grad or next(iter(tg))
    gdiff = float(np.abs(cg[name] - tg[name]).max())
    line = (f"check {model.name}: loss chainrule {cl:.7g} torch {tl:.7g} "
            f"(rel diff {loss_rel:.1e}); "
            f"grad {name}[0,0] chainrule {cg[name].flat[0]:.7g} torch {tg[name].flat[0]:.7g}, "
            f"max|Δ| {gdiff:.1e}; worst of {len(tg)} grads rel {worst:.1e} "
            f"(tol {GRAD_RTOL:g}) -> {'OK' if ok else 'MISMATCH'}")
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

    @property
    def ratio(self) -> float:
        return self.stats["chainrule"].median / self.stats["torch"].median

    @property
    def best_ratio(self) -> float:
        """Ratio of the fastest samples: less sensitive to other load on the machine."""
        return self.stats["chainrule"].best / self.stats["torch"].best


def _sample(fn, inner: int, gap: float) -> float:
    """Mean seconds per call over `inner` calls of fn, after an idle gap and one untimed call.

    The gap lets the other library's worker threads go to sleep: OpenBLAS's threads spin for
    ~0.1 s after each BLAS call and, on a machine with as many cores as threads, they would steal
    a core from torch's sample that follows (measured: torch's mlp step 1.3 ms alone, 2.3 ms
    right after a chainrule sample). The untimed call wakes this library's own pools again.
    """
    if gap:
        time.sleep(gap)
    fn()
    gc.collect()  # outside the timed region: every sample starts from the same heap state
    t0 = time.perf_counter()
    for _ in range(inner):
        fn()
    return (time.perf_counter() - t0) / inner


def time_workload(w: Workload, args: argparse.Namespace) -> Result:
    m = w.model
    inner = (m.quick_inner or max(1, m.inner // 4)) if args.quick else m.inner
    fns = {lib: m.build(lib, args.seed).phase(w.phase) for lib in LIBS}
    for _ in range(args.warmup):
        for lib in LIBS:
            _sample(fns[lib], inner, args.gap)
    samples: dict[str, list[float]] = {lib: [] for lib in LIBS}
    for _ in range(args.rounds):
        for lib in LIBS:  # A B A B ...
            samples[lib].append(_sample(fns[lib], inner, args.gap))
    return Result(w, inner, {lib: Stats.of(s) for lib, s in samples.items()})


# ----------------------------------------------------------------- report
def fmt_time(seconds: float, unit: str) -> str:
    if unit == "us":
        return f"{seconds * 1e6:.1f} µs"
    return f"{seconds * 1e3:.3f} ms"


def results_table(results: list[Result], args: argparse.Namespace) -> list[str]:
    lines = [
        f"Per-iteration medians over {args.rounds} rounds (A B alternating chainrule, torch, "
        f"after {args.warmup} warm-up rounds; each sample preceded by a {args.gap:g} s idle gap "
        "and one untimed iteration); spread = IQR / median; min ratio = fastest chainrule "
        "sample / fastest torch sample.",
        "",
        "| workload | what | chainrule | torch | chainrule / torch | spread cr / torch "
        "| min ratio | iterations per sample |",
        "|---|---|--:|--:|--:|--:|--:|--:|",
    ]
    for r in results:
        c, t, u = r.stats["chainrule"], r.stats["torch"], r.workload.model.unit
        lines.append(
            f"| {r.workload.name} | {PHASE_DOC[r.workload.phase]} | {fmt_time(c.median, u)} | "
            f"{fmt_time(t.median, u)} | **{r.ratio:.2f}x** | "
            f"{c.spread * 100:.0f}% / {t.spread * 100:.0f}% | {r.best_ratio:.2f}x | {r.inner} |")
    return lines


def ratio_table(results: list[Result]) -> list[str]:
    """fwd+bwd / fwd (and step / fwd) per model: the lecture's 'backward ≈ 2x forward'."""
    by = {(r.workload.model.name, r.workload.phase): r for r in results}
    rows = []
    for name in MODELS:
        fwd, fb, st = (by.get((name, p)) for p in ("fwd", "fwdbwd", "step"))
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
        "lecture's rule of thumb: backward ≈ 2x forward, so fwd+bwd / fwd ≈ 3).",
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
                print(f"  {m.name}-{p}: {PHASE_DOC[p]}")
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

    load, busy = load_line()
    if busy:
        warnings.append("WARNING: other processes are using the CPUs (see 'machine load'); "
                        "timings will be noisy and the libraries may be disturbed unequally")
        print(warnings[-1], flush=True)
    torch.set_num_threads(args.threads)
    with threadpool_limits(limits=args.threads):
        env = environment(args.threads) + [load]
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

        results = []
        for w in chosen:
            r = time_workload(w, args)
            u = w.model.unit
            print(f"  {w.name:<12} chainrule {fmt_time(r.stats['chainrule'].median, u):>12}  "
                  f"torch {fmt_time(r.stats['torch'].median, u):>12}  ratio {r.ratio:6.2f}x",
                  flush=True)
            results.append(r)

    stamp = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    table = results_table(results, args)
    ratios = ratio_table(results)
    doc_lines = [
        f"# chainrule vs PyTorch — {stamp} ({args.label})",
        "",
        f"Command: `{command_line()}`",
        "",
        "## Environment",
        "",
        *[f"- {line}" for line in warnings + env],
        f"- rounds {args.rounds}, warm-up {args.warmup}, gap {args.gap:g} s, seed {args.seed}"
        + (", --quick" if args.quick else ""),
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
    if ratios:
        doc_lines += ["## Backward / forward", "", *ratios, ""]
    doc = "\n".join(doc_lines)
    print()
    print("\n".join(table))
    if ratios:
        print()
        print("\n".join(ratios))
    if not args.no_save:
        path = save(doc, args.label)
        try:
            shown = path.relative_to(Path.cwd())
        except ValueError:
            shown = path
        print(f"\nwrote {shown}")
    return 0
