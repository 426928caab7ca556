"""torchvision's datasets/transforms contract: `from chainrule import datasets, transforms` and
`ds[i]` as torchvision's; the DataLoader's batched path gives exactly what sample-by-sample
transforms and `default_collate` give (the equality the batched path promises)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import datasets, transforms
from chainrule.data import FashionMNIST, ImageDataset
from chainrule.data import MNIST as DataMNIST
from chainrule.utils.data import DataLoader, Subset, default_collate

from .conftest import TEST, TRAIN


@pytest.fixture
def trusted(fake, monkeypatch):
    monkeypatch.setattr(DataMNIST, "checksums", fake.checksums("content"))
    monkeypatch.setattr(FashionMNIST, "checksums", fake.checksums("content"))
    return fake


def test_torchvision_signature_and_layout(tmp_path, trusted):
    # torchvision downloads to root/MNIST/raw and keeps the decompressed files there
    trusted.write(tmp_path / "MNIST" / "raw", compress=False)
    tf = transforms.ToTensor()
    ds = datasets.MNIST(str(tmp_path), False, tf, lambda y: y + 100)   # torchvision's order
    assert isinstance(ds, DataMNIST) and ds.folder == tmp_path / "MNIST" / "raw"
    assert len(ds) == 25 and ds.transform is tf and not ds.train
    x, y = ds[3]
    assert y == int(trusted.arrays[TEST[1]][3]) + 100
    assert isinstance(x, cr.Tensor) and x.shape == (1, 28, 28) and str(x.dtype) == "float32"
    np.testing.assert_array_equal(x.numpy()[0], trusted.arrays[TEST[0]][3] / np.float32(255))
    with pytest.raises(cr.data.DataNotFoundError):    # torchvision's default: download=False
        datasets.FashionMNIST(str(tmp_path))


def test_items_follow_torchvisions_rules(tmp_path, trusted):
    trusted.write(tmp_path)
    raw = datasets.MNIST(tmp_path)
    img, label = raw[0]        # torchvision: a PIL image; here the array np.asarray(it) gives
    assert isinstance(img, np.ndarray) and img.shape == (28, 28) and img.dtype == np.uint8
    assert type(label) is int and label == trusted.arrays[TRAIN[1]][0]
    img[:] = 0                 # a copy, like a fresh PIL image: the dataset is untouched
    assert raw.data[0].any()
    flat = datasets.MNIST(tmp_path, transform=transforms.Compose([
        transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,)),
        transforms.Lambda(lambda t: t.view(-1))]))
    x, _ = flat[1]
    assert x.shape == (784,)
    expect = (trusted.arrays[TRAIN[0]][1].astype(np.float32) / np.float32(255)
              - np.float32(0.1307)) / np.float32(0.3081)
    np.testing.assert_array_equal(x.numpy(), expect.reshape(-1))


PIPELINES = {
    "to_tensor": lambda: transforms.ToTensor(),
    "normalize": lambda: transforms.Compose([transforms.ToTensor(),
                                             transforms.Normalize((0.1307,), (0.3081,))]),
    "pad_shift": lambda: transforms.Compose([transforms.Pad(2), transforms.ToTensor(),
                                             transforms.RandomShift(2),
                                             transforms.Normalize(0.5, 0.25)]),
    "flatten": lambda: transforms.Compose([transforms.ToTensor(), transforms.Flatten()]),
    "raw": lambda: None,
}


def per_sample(pipeline):
    """The same pipeline made unbatchable: it runs sample by sample."""
    return transforms.Compose([pipeline, transforms.Lambda(lambda t: t)]) if pipeline else \
        transforms.Lambda(lambda t: t)


@pytest.mark.parametrize("name", list(PIPELINES))
def test_batched_path_equals_sample_by_sample(tmp_path, trusted, name, monkeypatch):
    trusted.write(tmp_path)
    fast = datasets.MNIST(tmp_path, transform=PIPELINES[name]())
    slow = datasets.MNIST(tmp_path, transform=per_sample(PIPELINES[name]()))
    a = list(DataLoader(fast, batch_size=16, shuffle=True, seed=3))
    b = list(DataLoader(slow, batch_size=16, shuffle=True, seed=3))
    assert len(a) == len(b) == 4
    for (xa, ya), (xb, yb) in zip(a, b, strict=True):
        assert str(xa.dtype) == str(xb.dtype) and xa.shape == xb.shape
        np.testing.assert_array_equal(xa.numpy(), xb.numpy())
        np.testing.assert_array_equal(ya.numpy(), yb.numpy())
    if name != "pad_shift":    # deterministic: equal to collating ds[i] exactly
        batch = next(iter(DataLoader(Subset(fast, [5, 0, 9]), batch_size=3)))
        expect = default_collate([fast[i] for i in (5, 0, 9)])
        assert type(batch) is list and len(batch) == 2
        for got, want in zip(batch, expect, strict=True):
            assert str(got.dtype) == str(want.dtype)
            np.testing.assert_array_equal(got.numpy(), want.numpy())
    # the batchable pipeline never goes sample by sample
    monkeypatch.setattr(ImageDataset, "_sample", lambda *a: 1 / 0)
    assert len(list(DataLoader(fast, batch_size=32))) == 2


def test_raw_batches_are_uint8_and_targets_int64(tmp_path, trusted):
    trusted.write(tmp_path)
    x, y = next(iter(DataLoader(datasets.MNIST(tmp_path), batch_size=8)))
    assert x.shape == (8, 28, 28) and str(x.dtype) == "uint8" and str(y.dtype) == "int64"
    np.testing.assert_array_equal(x.numpy(), trusted.arrays[TRAIN[0]][:8])


def test_target_transform_goes_sample_by_sample(tmp_path, trusted):
    trusted.write(tmp_path)
    ds = datasets.MNIST(tmp_path, transform=transforms.ToTensor(),
                        target_transform=lambda y: float(y) / 2)
    _, y = next(iter(DataLoader(ds, batch_size=4)))
    assert str(y.dtype) == "float64"          # default_collate of Python floats, as torch
    np.testing.assert_array_equal(y.numpy(), trusted.arrays[TRAIN[1]][:4] / 2)
