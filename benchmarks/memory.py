"""Peak memory (RSS) of a LeNet-5 training run, chainrule vs torch, each in its own process.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m benchmarks.memory --steps 100
    python -m benchmarks --memory              # the same, as a section of the full report

Each library runs in a fresh subprocess that imports only NumPy, threadpoolctl, the benchmark
code and that library (the chainrule child never imports torch, nor the torch child chainrule).
It records the peak resident set size, `resource.getrusage(RUSAGE_SELF).ru_maxrss`, three times:
after the imports (and thread limits), after the setup (MNIST loaded, the batches and the
LeNet-5 + SGD(momentum) built, the same `benchmarks.workloads.nets` code as the timed
workloads), and after N training steps at batch 128 (cycling through the 50 pre-batched steps of
the epoch slice). ru_maxrss is a high-water mark: the last figure is the peak of the whole run,
and "peak − after imports" / "peak − after setup" is what the library's imports / its training
added on top.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.registry import LIBS


def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _status_mib(key: str) -> float | None:
    """VmRSS (current) or VmHWM (peak) from /proc/self/status, MiB; None where unavailable."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _reset_peak() -> bool:
    """Reset this process's peak RSS to its current RSS (Linux: `echo 5 > clear_refs`)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def child(lib: str, steps: int, batch: int, threads: int, seed: int) -> dict:
    import numpy as np  # noqa: F401
    from threadpoolctl import threadpool_limits

    limits = threadpool_limits(limits=threads)
    if lib == "torch":
        import torch

        torch.set_num_threads(threads)
    else:
        import chainrule  # noqa: F401
    from benchmarks.workloads import nets

    imports = _maxrss_mib()
    model = nets.net_model(f"memory-lenet5-b{batch}", "", nets.LENET5_SHAPES, nets.lenet5_cr,
                           nets.lenet5_torch, batch, nets.EPOCH_SLICE.get(batch, 50),
                           ("epoch",), unit="ms")
    case = model.build(lib, seed)
    gc.collect()
    setup_peak = _maxrss_mib()  # includes transients of loading and batching the data
    setup_rss = _status_mib("VmRSS")
    reset = _reset_peak()  # so that the run's peak is not hidden under the setup's transients
    t0 = time.perf_counter()
    loss = None
    for _ in range(steps):
        loss = case.step()
    seconds = time.perf_counter() - t0
    peak = _maxrss_mib()
    other = "torch" if lib == "chainrule" else "chainrule"
    limits.restore_original_limits()
    return {"lib": lib, "imports_mib": imports, "setup_peak_mib": setup_peak,
            "setup_rss_mib": setup_rss, "peak_mib": peak, "vmhwm_mib": _status_mib("VmHWM"),
            "peak_reset": reset, "steps": steps, "batch": batch, "seconds": seconds,
            "final_loss": float(loss.item()), "other_lib_imported": other in sys.modules,
            "data": nets.train_set()[2]}


def run_children(steps: int, batch: int, threads: int, seed: int) -> list[dict]:
    """One fresh child per library, run from this (small) process, one after the other."""
    out = []
    for lib in LIBS:
        cmd = [sys.executable, "-m", "benchmarks.memory", "--child", lib, "--steps",
               str(steps), "--batch", str(batch), "--threads", str(threads), "--seed", str(seed)]
        r = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if r.returncode != 0:
            raise RuntimeError(f"memory child for {lib} failed ({r.returncode}):\n{r.stderr}")
        out.append(json.loads(r.stdout.strip().splitlines()[-1]))
    return out


def format_section(results: list[dict], steps: int, batch: int, threads: int,
                   launcher_mib: float) -> list[str]:
    rows, data, notes = [], "", []
    for r in results:
        data = r["data"]
        if r["other_lib_imported"]:
            notes.append(f"WARNING: the {r['lib']} child also imported the other library: its "
                         "figures include it.")
        if not r["peak_reset"]:
            notes.append(f"NOTE: the {r['lib']} child could not reset its peak after the setup "
                         "(/proc/self/clear_refs): its run peak includes the setup's transients.")
        setup = r["setup_rss_mib"]
        setup_s = f"{setup:.0f} MiB" if setup is not None else "n/a"
        minus_setup = f"{r['peak_mib'] - setup:.0f} MiB" if setup is not None else "n/a"
        rows.append(
            f"| {r['lib']} | {r['imports_mib']:.0f} MiB | {setup_s} ({r['setup_peak_mib']:.0f}) | "
            f"**{r['peak_mib']:.0f} MiB** | **{r['peak_mib'] - r['imports_mib']:.0f} MiB** | "
            f"{minus_setup} | {r['seconds']:.1f} s | {r['final_loss']:.4f} |")
    return [
        f"Peak RSS of a LeNet-5 training run: {steps} steps of SGD(lr=0.05, momentum=0.9) at "
        f"batch {batch}, {threads} threads, in one fresh subprocess per library that imports "
        "only NumPy, threadpoolctl and that library. *after imports* = `ru_maxrss` then; "
        "*after setup* = RSS once MNIST is loaded and the batches, model and optimizer are "
        "built (the same in both; the setup's own transient peak in brackets); the peak is "
        "then reset to the current RSS (`/proc/self/clear_refs`) and *peak* is `ru_maxrss` "
        "after the run, so it is the run's high-water mark. The children are started from a "
        f"small launcher process (peak {launcher_mib:.0f} MiB), since Linux carries a parent's "
        f"peak over into a child's `ru_maxrss` across fork+exec. {data}.",
        "",
        "| library | after imports | after setup (setup peak) | peak during the run "
        "| peak − after imports | peak − after setup | run time | last loss |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
        *rows,
        *([""] + notes if notes else []),
    ]


def memory_section(steps: int, batch: int = 128, threads: int = 2, seed: int = 0) -> list[str]:
    """Run the measurement from a fresh small launcher (not from this possibly large process)."""
    print(f"memory: LeNet-5, {steps} training steps at batch {batch}, one subprocess per "
          "library ...", flush=True)
    cmd = [sys.executable, "-m", "benchmarks.memory", "--json", "--steps", str(steps),
           "--batch", str(batch), "--threads", str(threads), "--seed", str(seed)]
    r = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if r.returncode != 0:
        raise RuntimeError(f"memory launcher failed ({r.returncode}):\n{r.stderr}")
    got = json.loads(r.stdout.strip().splitlines()[-1])
    return format_section(got["results"], steps, batch, threads, got["launcher_mib"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.memory", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true", help="print the raw results as JSON")
    ap.add_argument("--child", choices=LIBS, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.steps, args.batch, args.threads, args.seed)))
        return 0
    results = run_children(args.steps, args.batch, args.threads, args.seed)
    # this launcher's own peak (VmHWM): its ru_maxrss may carry its parent's peak
    launcher = _status_mib("VmHWM") or _maxrss_mib()
    if args.json:
        print(json.dumps({"results": results, "launcher_mib": launcher}))
        return 0
    print("\n".join(format_section(results, args.steps, args.batch, args.threads, launcher)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
