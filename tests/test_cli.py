"""The `chainrule` command: training end to end, evaluation, and one-line errors."""

from __future__ import annotations

import json
import math
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from chainrule import optim
from chainrule.cli import main

pytest.importorskip("sklearn", reason="the offline digits fallback needs scikit-learn "
                    "(pip install '.[sklearn]')")


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No MNIST anywhere and no network: the CLI must fall back to the bundled digits."""
    monkeypatch.delenv("CHAINRULE_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("CHAINRULE_MNIST_MIRRORS", "http://127.0.0.1:9/")
    monkeypatch.setenv("CHAINRULE_FASHION_MNIST_MIRRORS", "http://127.0.0.1:9/")
    return tmp_path


def test_help_documents_every_command(capsys) -> None:
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "train" in out and "evaluate" in out
    for cmd in ("train", "evaluate"):
        with pytest.raises(SystemExit):
            main([cmd, "--help"])
        assert "--" in capsys.readouterr().out


def test_train_falls_back_saves_history_and_evaluates(offline, capsys) -> None:
    ckpt, hist = offline / "run.safetensors", offline / "run.json"
    code = main(["train", "--model", "mlp", "--epochs", "2", "--no-progress",
                 "--lr", "0.05", "--save", str(ckpt), "--history", str(hist)])
    out = capsys.readouterr().out
    assert code == 0
    assert sum("scikit-learn's 8x8 digits" in line for line in out.splitlines()) == 1
    assert "on sklearn-digits:" in out
    assert "CHAINRULE_DATA" in out
    records = [json.loads(line) for line in hist.read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1, 2]
    assert set(records[0]) == {"epoch", "train_loss", "train_accuracy", "test_loss",
                               "test_accuracy", "lr", "seconds"}
    assert records[-1]["test_accuracy"] > 0.8
    assert f"final test accuracy: {records[-1]['test_accuracy']:.2%}" in out
    assert main(["evaluate", "--checkpoint", str(ckpt)]) == 0
    out = capsys.readouterr().out
    assert "mlp on the sklearn-digits test set (359 examples)" in out
    assert f"accuracy {records[-1]['test_accuracy']:.2%}" in out


@pytest.mark.parametrize("explicit", ["--no-download", "--data-root", "--dataset", "env"])
def test_data_named_explicitly_is_never_swapped_for_the_digits(explicit, offline, monkeypatch,
                                                                 capsys) -> None:
    empty = offline / "empty"
    empty.mkdir()
    extra = {"--no-download": ["--no-download"], "--data-root": ["--data-root", str(empty)],
             "--dataset": ["--dataset", "fashion-mnist"], "env": []}[explicit]
    if explicit == "env":
        monkeypatch.setenv("CHAINRULE_DATA", str(empty))
    assert main(["train", "--model", "mlp", "--epochs", "1", *extra]) == 1
    out, err = capsys.readouterr()
    assert "training" not in out and "digits" not in out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("chainrule: error:")
    assert "not found: looked for" in lines[0]
    if explicit in ("--data-root", "env"):
        assert str(empty) in lines[0]


def _run(tmp: Path, *flags: str) -> list[str]:
    return ["train", "--model", "mlp", "--hidden", "16", "--no-progress", "--batch-size", "256",
            "--lr", "0.05", "--save", str(tmp / "run.safetensors"), "--history",
            str(tmp / "run.json"), *flags]


def _history(tmp: Path) -> list[dict]:
    return [json.loads(line) for line in (tmp / "run.json").read_text().splitlines()]


def test_resume_after_a_finished_run_trains_nothing(offline, capsys) -> None:
    assert main(_run(offline, "--epochs", "2")) == 0
    before = _history(offline)
    capsys.readouterr()
    assert main(_run(offline, "--epochs", "2", "--resume")) == 0
    out = capsys.readouterr().out
    assert "after epoch 2 of 2" in out and "nothing to train" in out
    assert "epoch   3" not in out and _history(offline) == before
    assert main([*_run(offline, "--resume")]) == 0       # no --epochs: the saved run's 2
    assert "nothing to train" in capsys.readouterr().out


def test_resume_with_more_epochs_rebuilds_the_schedule(offline, capsys) -> None:
    assert main(_run(offline, "--epochs", "2")) == 0
    capsys.readouterr()
    assert main(_run(offline, "--epochs", "4", "--resume")) == 0
    out = capsys.readouterr().out
    cosine = [0.05 * (1 + math.cos(math.pi * e / 4)) / 2 for e in (2, 3)]
    assert "after epoch 2 of 2: 4 epochs, sgd lr 0.05 momentum 0.9 (cosine schedule)" in out
    assert f"rebuilt for 4 epochs; epoch 3 runs at lr {cosine[0]:.4g}" in out
    lrs = [r["lr"] for r in _history(offline)]
    assert [r["epoch"] for r in _history(offline)] == [1, 2, 3, 4]
    assert lrs[:2] == pytest.approx([0.05, 0.025]) and lrs[2:] == pytest.approx(cosine)
    assert min(lrs) > 0


@pytest.mark.parametrize("flags, conflict", [
    (["--epochs", "4", "--lr", "0.5"], "--lr 0.5 (the checkpoint has 0.05)"),
    (["--optimizer", "adam"], "--optimizer adam (the checkpoint has sgd)"),
    (["--hidden", "32"], "--hidden 32 (the checkpoint has 16)"),
    (["--epochs", "1"], "has already trained 2 epochs; --epochs 1 is fewer"),
])
def test_resume_refuses_flags_that_contradict_the_checkpoint(flags, conflict, offline,
                                                             capsys) -> None:
    assert main(_run(offline, "--epochs", "2")) == 0
    capsys.readouterr()
    argv = _run(offline, "--resume", *flags)
    if "--hidden" in flags:   # replace the recipe's --hidden 16 rather than repeat the flag
        argv = argv[:3] + argv[5:]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and conflict in err[0] and "--resume" in err[0]


def test_interrupt_keeps_history_names_the_resume_command_and_resumes_exactly(
        offline, monkeypatch, capsys) -> None:
    straight = offline / "straight"
    straight.mkdir()
    assert main(_run(straight, "--epochs", "3")) == 0
    capsys.readouterr()
    steps = {"n": 0}
    step = optim.SGD.step

    def interrupted_step(self, *a, **k):
        steps["n"] += 1
        if steps["n"] == 2 * 6 + 1:       # the first step of epoch 3 (1438 examples / 256)
            raise KeyboardInterrupt
        return step(self, *a, **k)

    monkeypatch.setattr(optim.SGD, "step", interrupted_step)
    assert main(_run(offline, "--epochs", "3")) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "interrupted in epoch 3" in err[0]
    assert f"the last checkpoint is {offline / 'run.safetensors'} (after epoch 2)" in err[0]
    assert [r["epoch"] for r in _history(offline)] == [1, 2]
    command = err[0].split("Resume with: ")[1]
    assert command.startswith("chainrule train ") and command.endswith("--resume")
    monkeypatch.setattr(optim.SGD, "step", step)
    assert main(shlex.split(command)[1:]) == 0
    drop = ("seconds",)
    assert ([{k: v for k, v in r.items() if k not in drop} for r in _history(offline)]
            == [{k: v for k, v in r.items() if k not in drop} for r in _history(straight)])


def test_interrupt_without_save_says_nothing_was_saved(offline, monkeypatch, capsys) -> None:
    def interrupt(self, *a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(optim.SGD, "step", interrupt)
    assert main(["train", "--model", "mlp", "--epochs", "1", "--no-progress"]) == 130
    assert "nothing was saved (pass --save PATH" in capsys.readouterr().err


def test_default_is_lenet5_with_its_recipe(offline, capsys) -> None:
    assert main(["train", "--epochs", "1", "--no-progress", "--train-limit", "256"]) == 0
    out = capsys.readouterr().out
    assert "training lenet5 (61,706 parameters)" in out
    assert ("sgd lr 0.05 momentum 0.9 weight decay 0.0005 (cosine schedule)" in out
            and "random shifts ±2px" in out)


@pytest.mark.parametrize(("argv", "message"), [
    (["train", "--epochs", "0"], "--epochs must be positive"),
    (["train", "--lr", "-1"], "--lr must be positive"),
    (["train", "--model", "vgg"], "unknown model 'vgg'"),
    (["train", "--model", "resnet18"], "resnet18 takes 3-channel ImageNet-sized images"),
    (["train", "--resume"], "--resume needs --save"),
    (["train", "--augment-shift", "-1"], "--augment-shift must be >= 0"),
    (["evaluate", "--checkpoint", "missing.safetensors"], "no checkpoint at"),
])
def test_mistakes_exit_nonzero_with_one_line(argv, message, capsys) -> None:
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("chainrule: error:") and message in err[0]


def test_corrupt_checkpoint_is_one_clear_line_without_traceback(tmp_path) -> None:
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    env = {k: v for k, v in os.environ.items() if k != "CHAINRULE_DEBUG"}
    proc = subprocess.run([sys.executable, "-m", "chainrule", "evaluate", "--checkpoint",
                           str(bad)], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(bad) in lines[0] and "corrupt" in lines[0]


def test_bad_argument_is_reported_by_argparse(capsys) -> None:
    with pytest.raises(SystemExit) as e:
        main(["train", "--dataset", "cifar"])
    assert e.value.code == 2
    assert "invalid choice: 'cifar'" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["train", "--lr", "abc"], "argument --lr: invalid float value: 'abc'"),
    (["train", "--epochs", "2.5"], "argument --epochs: invalid int value: '2.5'"),
    (["evaluate"], "the following arguments are required: --checkpoint"),
])
def test_a_bad_flag_value_is_one_line_not_the_usage_block(argv, message, capsys) -> None:
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("chainrule ") and message in err[0]
    assert "--help" in err[0]


@pytest.mark.parametrize("flag", ["--save", "--history"])
def test_an_unwritable_target_fails_before_training(flag, tmp_path, capsys) -> None:
    not_a_folder = tmp_path / "notes.txt"
    not_a_folder.write_text("a file, not a folder")
    target = str(not_a_folder / "run.out")
    assert main(["train", flag, target, "--epochs", "1"]) == 1
    err = capsys.readouterr()
    assert err.err.strip() == f"chainrule: error: {flag} {target}: cannot write into {not_a_folder}"
    assert "training" not in err.out  # refused before any data was loaded or epoch run


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root may write into a read-only folder")
def test_a_read_only_folder_is_refused_for_save(tmp_path, capsys) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        assert main(["train", "--save", str(folder / "run.safetensors")]) == 1
        assert "cannot write into" in capsys.readouterr().err
    finally:
        folder.chmod(0o700)


@pytest.mark.slow
def test_one_epoch_on_real_mnist(tmp_path, capsys) -> None:
    root = os.environ.get("CHAINRULE_DATA")
    if not root or not (Path(root) / "mnist").is_dir():
        pytest.skip("CHAINRULE_DATA is not set to a folder with mnist/")
    hist = tmp_path / "h.json"
    assert main(["train", "--epochs", "1", "--no-progress", "--no-download",
                 "--history", str(hist)]) == 0
    record = json.loads(hist.read_text())
    assert record["test_accuracy"] > 0.95
