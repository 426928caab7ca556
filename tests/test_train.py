"""fit / evaluate / checkpoints: training converges, logs, and resumes exactly."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import DataLoader, TensorDataset, make_moons
from chainrule.train import Callback, evaluate, fit, load_checkpoint, save_checkpoint


def _moons(n: int = 256, seed: int = 0) -> TensorDataset:
    x, y = make_moons(n_samples=n, noise=0.1, seed=seed)
    return TensorDataset(x, y)


def _net(dropout: float = 0.0) -> nn.Module:
    return nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Dropout(dropout), nn.Linear(32, 2))


def test_fit_learns_moons_and_returns_history() -> None:
    cr.manual_seed(0)
    model = _net()
    loader = DataLoader(_moons(), batch_size=32, shuffle=True, seed=0)
    lines: list[str] = []
    history = fit(model, loader, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.3,
                  momentum=0.9), epochs=15, val_loader=DataLoader(_moons(seed=1), 128),
                  log=lines.append, progress=False)
    assert len(history) == 15 == len(lines)
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert history[-1]["val_accuracy"] > 0.95
    assert set(history[0]) >= {"epoch", "train_loss", "train_accuracy", "val_loss",
                                "val_accuracy", "lr", "seconds"}
    assert lines[0].startswith("epoch   1") and "val_accuracy" in lines[0]
    assert history.column("epoch") == list(range(1, 16))


@pytest.mark.parametrize("tqdm_installed", [True, False])
def test_progress_shows_on_stderr_with_or_without_tqdm(tqdm_installed, monkeypatch,
                                                        capsys) -> None:
    if tqdm_installed:
        pytest.importorskip("tqdm", reason="tqdm not installed: pip install tqdm")
    else:   # as on an install without the `progress` extra
        monkeypatch.setitem(sys.modules, "tqdm", None)
        monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    model = _net()
    fit(model, DataLoader(_moons(64), batch_size=32), nn.CrossEntropyLoss(),
        optim.SGD(model.parameters(), lr=0.1), epochs=1, log=None, progress=True)
    err = capsys.readouterr().err
    assert "epoch 1/1" in err
    if not tqdm_installed:  # the plain counter: one line rewritten per batch, then a newline
        draws = err.split("\r")[1:]
        assert draws[:2] == ["epoch 1/1: 1/2 batch", "epoch 1/1: 2/2 batch"]
        assert draws[-1].startswith("epoch 1/1: 2/2 batch, loss=") and draws[-1].endswith("\n")


def test_evaluate_restores_training_mode_and_counts_every_example() -> None:
    model = _net(dropout=0.5)
    x, y = make_moons(n_samples=50, seed=3)
    result = evaluate(model, DataLoader(TensorDataset(x, y), batch_size=16), nn.CrossEntropyLoss())
    assert model.training
    with cr.no_grad():
        logits = model.eval()(cr.tensor(x))
    expected = float(np.mean(np.argmax(logits.detach().numpy(), 1) == y))
    assert result["accuracy"] == pytest.approx(expected)
    assert result["loss"] == pytest.approx(nn.CrossEntropyLoss()(logits, cr.tensor(y)).item(),
                                           rel=1e-5)


def test_callback_can_stop_training_and_batch_scheduler_steps_per_batch() -> None:
    class StopAfterTwo(Callback):
        def __init__(self) -> None:
            self.batches = 0

        def on_batch_end(self, step: int, loss: float) -> None:
            self.batches += 1

        def on_epoch_end(self, epoch: int, record: dict) -> bool:
            return epoch == 2

    model = _net()
    opt = optim.SGD(model.parameters(), lr=0.1)
    sched = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    loader = DataLoader(_moons(64), batch_size=16)
    cb = StopAfterTwo()
    history = fit(model, loader, nn.CrossEntropyLoss(), opt, epochs=10, scheduler=sched,
                  scheduler_interval="batch", callbacks=[cb], log=None, progress=False)
    assert len(history) == 2 and cb.batches == 8
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5**8)


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_nonfinite_loss_stops_with_a_clear_error() -> None:
    model = _net()
    with pytest.raises(FloatingPointError, match="lower the learning rate"):
        fit(model, DataLoader(_moons(64), batch_size=64),
            lambda out, y: (out * 1e30).exp().sum(), optim.SGD(model.parameters(), lr=0.1),
            epochs=1, log=None, progress=False)


def _run(tmp_path, epochs: int, resume_at: int | None) -> dict[str, np.ndarray]:
    cr.manual_seed(123)
    model = _net(dropout=0.2)
    opt = optim.Adam(model.parameters(), lr=0.01)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    loader = DataLoader(_moons(200), batch_size=32, shuffle=True)
    ckpt = tmp_path / "run.safetensors"
    kwargs = dict(scheduler=sched, log=None, progress=False, checkpoint=ckpt)
    if resume_at is None:
        fit(model, loader, nn.CrossEntropyLoss(), opt, epochs, **kwargs)
        return model.state_dict()
    fit(model, loader, nn.CrossEntropyLoss(), opt, resume_at, **kwargs)
    # a fresh process: everything rebuilt from scratch, then resumed from the checkpoint
    cr.manual_seed(999)
    model = _net(dropout=0.2)
    opt = optim.Adam(model.parameters(), lr=0.01)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    loader = DataLoader(_moons(200), batch_size=32, shuffle=True)
    kwargs["scheduler"] = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    history = fit(model, loader, nn.CrossEntropyLoss(), opt, epochs, resume=True, **kwargs)
    assert [r["epoch"] for r in history] == list(range(1, epochs + 1))
    return model.state_dict()


def test_resume_continues_exactly_like_an_uninterrupted_run(tmp_path) -> None:
    straight = _run(tmp_path / "a", epochs=4, resume_at=None)
    resumed = _run(tmp_path / "b", epochs=4, resume_at=2)
    for k in straight:
        np.testing.assert_array_equal(straight[k], resumed[k], err_msg=k)


def test_checkpoint_round_trip_restores_weights_and_optimizer(tmp_path) -> None:
    model = _net()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss = model(cr.randn(8, 2)).sum()
    loss.backward()
    opt.step()
    save_checkpoint(tmp_path / "c.npz", model, opt, epoch=3, config={"model": "x"})
    model2, opt2 = _net(), optim.SGD(_net().parameters(), lr=0.5, momentum=0.9)
    opt2 = optim.SGD(model2.parameters(), lr=0.5, momentum=0.9)
    state = load_checkpoint(tmp_path / "c.npz", model2, opt2)
    assert state["epoch"] == 3 and state["config"] == {"model": "x"}
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, model2.state_dict()[k])
    assert opt2.param_groups[0]["lr"] == 0.1
    np.testing.assert_array_equal(opt2.state_dict()["state"][0]["momentum_buffer"],
                                  opt.state_dict()["state"][0]["momentum_buffer"])
