"""chainrule.distributed under `mpiexec -n 2`: data-parallel training equals one process on the
same global batch, a failing rank stops the job, `chainrule train` runs data-parallel.

Each test starts MPI jobs as subprocesses (skipped, with the reason, without mpi4py or an
mpiexec); the ranks run one thread each.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mpi4py", reason="mpi4py not installed: pip install '.[mpi]'")

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("worker.py")
MPIEXEC = shutil.which("mpiexec", path=str(Path(sys.executable).parent)) or \
    shutil.which("mpiexec")
if MPIEXEC is None:
    pytest.skip("no mpiexec on PATH or beside the interpreter (pip install mpich)",
                allow_module_level=True)

THREADS = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                            "NUMBA_NUM_THREADS")}


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PMI_", "OMPI_", "PMIX_", "CHAINRULE_MPI"))}
    env.update(THREADS, PYTHONPATH=str(ROOT), **extra)
    # Open MPI refuses root unless told (harmless for MPICH)
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    return env


def mpirun(n: int, *args: str, timeout: float = 60, env: dict[str, str] | None = None
           ) -> subprocess.CompletedProcess:
    return subprocess.run([MPIEXEC, "-n", str(n), sys.executable, *args], cwd=ROOT,
                          env=env or _env(), capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_two_ranks_train_as_one_process_on_the_global_batch(tmp_path):
    """MLP, LeNet-5 and a CNN with SyncBatchNorm; overlapped small buckets, one bucket after
    backward, and no_sync accumulation: parameters after 3 steps agree to float32 rounding,
    though every rank starts from other weights (DDP hands out rank 0's)."""
    models = "mlp,lenet5,bn"
    one = subprocess.run([sys.executable, str(WORKER), "train", str(tmp_path / "one.npz"),
                          "--model", models], cwd=ROOT, env=_env(), capture_output=True,
                         text=True, timeout=120)
    assert one.returncode == 0, one.stderr
    two = mpirun(2, str(WORKER), "train", str(tmp_path / "two.npz"), "--model", models,
                 timeout=120)
    assert two.returncode == 0, two.stderr
    a, b = np.load(tmp_path / "one.npz"), np.load(tmp_path / "two.npz")
    keys = [k for k in a.files if not k.startswith("indices")]
    assert set(keys) == {k for k in b.files if not k.startswith("indices")}
    assert {k.split("/")[0] for k in keys} == {"mlp", "lenet5", "bn"}
    assert any("running_var" in k for k in keys)   # SyncBatchNorm's global statistics too
    for k in keys:
        if a[k].dtype.kind == "f":
            np.testing.assert_allclose(b[k], a[k], rtol=2e-5, atol=2e-6, err_msg=k)
        else:
            np.testing.assert_array_equal(b[k], a[k], err_msg=k)
    # the ranks' shares of an epoch: every example once, interleaved as one process's order
    shares = [b[f"indices/{r}"] for r in range(2)]
    assert sorted(np.concatenate(shares).tolist()) == list(range(200))
    np.testing.assert_array_equal(np.stack(shares, 1).reshape(-1), a["indices/0"])


@pytest.mark.parametrize("where", ["exception", "interrupt"])
def test_a_failing_rank_stops_every_rank(where):
    """Rank 1 raises (or gets SIGINT) while rank 0 waits in an allreduce: the job ends within
    seconds, with one line naming rank 1 and the reason."""
    t0 = time.perf_counter()
    proc = mpirun(2, str(WORKER), "fail", "--where", where, timeout=30)
    assert time.perf_counter() - t0 < 20
    assert proc.returncode != 0
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("chainrule: rank")]
    assert len(lines) == 1, proc.stderr
    if where == "exception":
        assert lines[0] == ("chainrule: rank 1 of 2 failed (ValueError: bad input file "
                            "data/part-1.idx); stopping every rank")
    else:
        assert lines[0] == "chainrule: rank 1 of 2 was interrupted; stopping every rank"


def test_different_models_on_the_ranks_are_refused():
    proc = mpirun(2, str(WORKER), "mismatch", timeout=30)
    assert proc.returncode != 0
    assert ("'1.weight' is shape (32, 784) float32 on rank 0 and shape (16, 784) float32 on "
            "rank 1") in proc.stderr


def test_unused_parameters_are_found_or_refused():
    proc = mpirun(2, str(WORKER), "unused", timeout=30)
    assert proc.returncode == 0, proc.stderr
    # the ranks' lines reach mpiexec's stdout in any order, even run together on one line
    refused = sorted(re.findall(r"rank \d: refused", proc.stdout))
    assert refused == ["rank 0: refused", "rank 1: refused"]


@pytest.fixture
def data_env(tmp_path):
    """Real MNIST when CHAINRULE_DATA points at it, else no MNIST and no network: `chainrule
    train` then falls back to sklearn's digits (slower to start: sklearn's import)."""
    root = os.environ.get("CHAINRULE_DATA")
    if root and (Path(root) / "mnist").is_dir():
        return _env()
    pytest.importorskip("sklearn", reason="the digits fallback needs scikit-learn")
    env = _env(XDG_CACHE_HOME=str(tmp_path / "cache"),
               CHAINRULE_MNIST_MIRRORS="http://127.0.0.1:9/",
               CHAINRULE_FASHION_MNIST_MIRRORS="http://127.0.0.1:9/")
    env.pop("CHAINRULE_DATA", None)
    return env


@pytest.mark.slow
def test_chainrule_train_under_mpiexec_saves_resumes_and_prints_once(tmp_path, data_env,
                                                                       monkeypatch, capsys):
    ckpt, hist = tmp_path / "run.safetensors", tmp_path / "h.jsonl"
    common = ["-m", "chainrule", "train", "--model", "mlp", "--hidden", "32", "--train-limit",
              "240", "--batch-size", "32", "--no-progress", "--save", str(ckpt),
              "--history", str(hist)]
    first = mpirun(2, *common, "--epochs", "1", env=data_env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("training mlp") == 1            # rank 0 alone prints
    assert first.stdout.count("epoch   1") == 1
    again = mpirun(2, *common, "--epochs", "2", "--resume", env=data_env)
    assert again.returncode == 0, again.stderr
    assert "after epoch 1" in again.stdout and again.stdout.count("epoch   2") == 1
    records = [json.loads(line) for line in hist.read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1, 2]
    # the test metrics are summed over the ranks' shares: the whole test set, as one process
    # evaluates the saved (bare, unwrapped) model
    from chainrule.cli import main

    for key in ("CHAINRULE_DATA", "XDG_CACHE_HOME", "CHAINRULE_MNIST_MIRRORS"):
        if key in data_env:
            monkeypatch.setenv(key, data_env[key])
        else:
            monkeypatch.delenv(key, raising=False)
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(ckpt)]) == 0
    out = capsys.readouterr().out
    assert f"accuracy {records[-1]['test_accuracy']:.2%}" in out
    assert f"loss {records[-1]['test_loss']:.4f}" in out
