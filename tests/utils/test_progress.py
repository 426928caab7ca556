"""The shared progress helper: tqdm when installed, a plain counter (or silence) without it."""

import sys

import pytest

from chainrule.utils.progress import PlainProgress, progress


@pytest.fixture
def no_tqdm(monkeypatch):
    """tqdm as on an install without the `progress` extra: importing it fails."""
    for name in [m for m in sys.modules if m == "tqdm" or m.startswith("tqdm.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "tqdm", None)   # None in sys.modules: ImportError
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    with pytest.raises(ImportError):
        import tqdm.auto  # noqa: F401


def test_without_tqdm_draws_a_counter_line(no_tqdm, capsys):
    bar = progress(total=3, desc="work", enabled=True)
    assert isinstance(bar, PlainProgress)
    bar.update()
    bar.update(2)
    bar.close()
    bar.close()                                   # closing twice ends the line once
    assert capsys.readouterr().err == "\rwork: 1/3 it\rwork: 3/3 it\n"


def test_without_tqdm_bytes_are_counted_in_mib(no_tqdm, capsys):
    with progress(total=3 * 2**20, desc="file.gz", unit="B", enabled=True,
                  unit_scale=True, unit_divisor=1024) as bar:   # tqdm-only options: ignored
        bar.update(2**20)
    assert capsys.readouterr().err == "\rfile.gz: 1.0 / 3.0 MiB\n"
    with progress(desc="file.gz", unit="B", enabled=True) as bar:   # no length known
        bar.update(2**19)
    assert capsys.readouterr().err == "\rfile.gz: 0.5 MiB\n"


def test_without_tqdm_iterates_updates_and_closes(no_tqdm, capsys):
    bar = progress(["a", "b", "c"], desc="items", enabled=True)
    assert bar.total == 3
    assert list(bar) == ["a", "b", "c"]
    assert bar.n == 3
    err = capsys.readouterr().err
    assert err.endswith("\ritems: 3/3 it\n") and err.count("\n") == 1


def test_without_tqdm_postfix_is_shown(no_tqdm, capsys):
    with progress(total=2, enabled=True) as bar:
        bar.update()
        bar.set_postfix(loss="0.5000")
    assert capsys.readouterr().err == "\r1/2 it\r1/2 it, loss=0.5000\n"


def test_without_tqdm_plain_false_is_silent_but_counts(no_tqdm, capsys):
    with progress(range(4), enabled=True, plain=False) as bar:
        for _ in bar:
            pass
        bar.set_postfix(acc="1.0")
    assert bar.n == 4
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("enabled", [False, None])   # None: only on a terminal; pytest's isn't
def test_disabled_is_silent_with_or_without_tqdm(enabled, capsys):
    bar = progress(total=5, desc="quiet", enabled=enabled)
    assert isinstance(bar, PlainProgress)
    bar.update(5)
    bar.close()
    assert capsys.readouterr().err == ""


def test_iterating_a_bar_made_without_iterable_fails_clearly(no_tqdm):
    with pytest.raises(TypeError, match="without an iterable"):
        list(progress(total=2))


def test_with_tqdm_returns_a_tqdm_bar(capsys):
    tqdm = pytest.importorskip("tqdm", reason="tqdm not installed: pip install tqdm")
    with progress(total=4, desc="epoch 1/1", enabled=True, dynamic_ncols=True) as bar:
        assert isinstance(bar, tqdm.tqdm)
        bar.update(4)
        bar.set_postfix(loss="0.1")
    assert "epoch 1/1" in capsys.readouterr().err
