"""The README's library example runs as written (on real MNIST, from CHAINRULE_DATA)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def _library_example() -> str:
    section = README.read_text().split("## The library", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "README: no python block under '## The library'"
    return match.group(1)


@pytest.mark.slow
def test_the_library_example_runs_as_written(tmp_path, monkeypatch) -> None:
    root = os.environ.get("CHAINRULE_DATA")
    if not root or not (Path(root) / "mnist").is_dir():
        pytest.skip("CHAINRULE_DATA is not set to a folder with mnist/")
    monkeypatch.chdir(tmp_path)  # the example writes ckpt.safetensors into the working folder
    scope: dict = {}
    exec(compile(_library_example(), str(README), "exec"), scope)
    history = scope["history"]
    assert len(history) == 5 and history[-1]["train_accuracy"] > 0.97
    assert (tmp_path / "ckpt.safetensors").stat().st_size > 0
