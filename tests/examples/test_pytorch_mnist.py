"""pytorch/examples' MNIST program, with only its imports changed, trains on chainrule and
writes a checkpoint that PyTorch opens with `weights_only=True`."""

from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "pytorch_mnist" / "main.py"


def _mnist_root() -> str:
    root = os.environ.get("CHAINRULE_DATA")
    if not root or not (Path(root) / "mnist").is_dir():
        pytest.skip("CHAINRULE_DATA is not set to a folder with mnist/")
    return root


def _run(tmp_path, monkeypatch, *argv: str) -> float:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [str(SCRIPT)])
    namespace = runpy.run_path(str(SCRIPT), run_name="pytorch_mnist")
    return namespace["main"](list(argv))


def test_the_script_imports_only_chainrule_under_torch_s_names():
    imports = [line for line in SCRIPT.read_text().splitlines()
               if line.startswith(("import ", "from "))]
    assert all("chainrule" in line or line == "import argparse" for line in imports)
    assert "import chainrule as torch" in "\n".join(imports)


@pytest.mark.slow
def test_a_dry_run_step_and_its_checkpoint(tmp_path, monkeypatch, capsys):
    root = _mnist_root()
    _run(tmp_path, monkeypatch, "--epochs", "1", "--dry-run", "--save-model", "--data", root)
    out = capsys.readouterr().out
    assert "Using device: cpu" in out and "Train Epoch: 1 [0/60000 (0%)]" in out
    torch = pytest.importorskip("torch")
    state = torch.load(tmp_path / "mnist_cnn.pt", weights_only=True)
    assert list(state) == ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias",
                           "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert state["fc1.weight"].shape == (128, 9216) and state["fc1.weight"].dtype == torch.float32


@pytest.mark.slow
def test_one_epoch_reaches_98_percent_and_torch_reads_the_weights(tmp_path, monkeypatch):
    root = _mnist_root()
    accuracy = _run(tmp_path, monkeypatch, "--epochs", "1", "--save-model", "--data", root,
                    "--log-interval", "1000")
    assert accuracy >= 0.98
    torch = pytest.importorskip("torch")
    import chainrule as cr

    state = torch.load(tmp_path / "mnist_cnn.pt", weights_only=True)
    net = runpy.run_path(str(SCRIPT), run_name="pytorch_mnist")["Net"]()
    net.load_state_dict({k: v.numpy() for k, v in state.items()})
    net.eval()
    x = np.random.default_rng(0).normal(size=(4, 1, 28, 28)).astype(np.float32)
    ours = net(cr.from_numpy(x)).detach().numpy()
    # the same weights in torch give the same log-probabilities
    t = torch.nn.functional
    h = t.relu(t.conv2d(torch.from_numpy(x), state["conv1.weight"], state["conv1.bias"]))
    h = t.max_pool2d(t.relu(t.conv2d(h, state["conv2.weight"], state["conv2.bias"])), 2)
    h = t.relu(t.linear(h.flatten(1), state["fc1.weight"], state["fc1.bias"]))
    theirs = t.log_softmax(t.linear(h, state["fc2.weight"], state["fc2.bias"]), dim=1)
    np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-4, atol=1e-5)
