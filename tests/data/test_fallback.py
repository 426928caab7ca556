import numpy as np
import pytest

from chainrule.data import (
    MNIST,
    DataError,
    DataNotFoundError,
    Digits,
    load_dataset,
    load_digits_fallback,
)

pytest.importorskip("sklearn", reason="the digits fallback needs scikit-learn")


def test_digits_fallback_looks_like_mnist():
    train, test = load_digits_fallback(), load_digits_fallback(train=False)
    assert train.data.shape[1:] == (28, 28) and train.data.dtype == np.uint8
    assert train.targets.dtype == np.int64 and len(train) + len(test) == 1797
    assert len(test) == 359 and set(train.targets.tolist()) == set(range(10))
    assert train.data[:, :4].max() == 0 and train.data[:, :, -4:].max() == 0   # 20x20 box
    assert train.data.max() == 255
    again = load_digits_fallback()
    assert np.array_equal(again.data, train.data)                  # deterministic split
    both = np.concatenate([train.data, test.data]).reshape(1797, -1)
    assert len(np.unique(both, axis=0)) >= 1790                    # (disjoint, bar duplicates)
    assert load_digits_fallback(size=16).data.shape[1:] == (16, 16)


def test_load_dataset_falls_back_with_one_line(tmp_path):
    lines = []
    ds = load_dataset("mnist", train=True, root=tmp_path, fallback=True, log=lines.append)
    assert isinstance(ds, Digits) and len(ds) == 1438
    assert len(lines) == 1 and "\n" not in lines[0]
    assert "MNIST" in lines[0] and "CHAINRULE_DATA" in lines[0] and "root=" in lines[0]
    assert "download failed" in lines[0]
    lines.clear()
    load_dataset("fashion_mnist", train=False, download=False, fallback=True,
                 log=lines.append)
    assert len(lines) == 1 and "Fashion-MNIST" in lines[0] and "download=False" in lines[0]


def test_load_dataset_never_swaps_unless_asked(tmp_path):
    """The library raises, naming where it looked; only `fallback=True` swaps in the digits."""
    with pytest.raises(DataNotFoundError, match=f"MNIST \\(train\\) not found.*{tmp_path}"):
        load_dataset("mnist", root=tmp_path, download=False)


def test_load_dataset_fallback_prints_by_default(capsys):
    load_dataset("mnist", download=False, fallback=True)
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "CHAINRULE_DATA" in out


def test_load_dataset_prefers_mnist(tmp_path, fake, monkeypatch):
    monkeypatch.setattr(MNIST, "checksums", fake.checksums())
    fake.write(tmp_path / "mnist")
    lines = []
    ds = load_dataset("MNIST", train=False, root=tmp_path, log=lines.append)
    assert type(ds) is MNIST and len(ds) == 25 and lines == []


def test_load_dataset_without_fallback_raises(tmp_path, fake):
    with pytest.raises(DataNotFoundError):
        load_dataset("mnist", download=False, fallback=False)
    fake.write(tmp_path)                       # fails the real checksums
    with pytest.raises(DataError, match="checksum"):
        load_dataset("mnist", root=tmp_path, fallback=False)
    lines = []
    assert isinstance(load_dataset("mnist", root=tmp_path, fallback=True, log=lines.append),
                      Digits)
    assert len(lines) == 1 and "checksum" in lines[0]
    with pytest.raises(ValueError, match="unknown dataset"):
        load_dataset("cifar10")
