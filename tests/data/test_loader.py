import json

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import (
    DataLoader,
    Dataset,
    ImageDataset,
    Subset,
    TensorDataset,
    random_split,
)
from chainrule.data import transforms as T


def arange_ds(n=10):
    return TensorDataset(np.arange(n * 2, dtype=np.float32).reshape(n, 2),
                         np.arange(n, dtype=np.int64))


def labels(loader):
    return [y.numpy().tolist() for _, y in loader]


def test_batches_yield_tensors_in_order():
    loader = DataLoader(arange_ds(10), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 and len(batches) == 3
    x, y = batches[0]
    assert isinstance(x, cr.Tensor) and isinstance(y, cr.Tensor)
    assert x.shape == (4, 2) and str(x.dtype) == "float32" and str(y.dtype) == "int64"
    assert labels(loader) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_drop_last_and_len():
    ds = arange_ds(10)
    assert len(DataLoader(ds, batch_size=4, drop_last=True)) == 2
    assert labels(DataLoader(ds, batch_size=4, drop_last=True)) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert len(DataLoader(ds, batch_size=5, drop_last=True)) == 2
    assert len(DataLoader(ds)) == 10
    assert len(DataLoader(ds, batch_size=64, drop_last=True)) == 0
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(ds, batch_size=0)


def test_array_datasets_are_batched_without_per_sample_calls(monkeypatch):
    def boom(self, i):
        raise AssertionError("per-sample __getitem__ called")
    monkeypatch.setattr(TensorDataset, "__getitem__", boom)
    monkeypatch.setattr(ImageDataset, "__getitem__", boom)
    img = ImageDataset(np.zeros((7, 28, 28), np.uint8), np.arange(7) % 3, "abc",
                       transform=T.ToTensor())
    for ds in (arange_ds(9), img, Subset(arange_ds(9), [8, 1, 5, 3]),
               Subset(Subset(img, [6, 5, 4, 3]), [0, 2])):
        out = list(DataLoader(ds, batch_size=3, shuffle=True, seed=0))
        assert sum(len(y) for _, y in out) == len(ds)
    x, y = next(iter(DataLoader(img, batch_size=4)))
    assert x.shape == (4, 1, 28, 28) and str(x.dtype) == "float32" and str(y.dtype) == "int64"
    assert labels(DataLoader(Subset(arange_ds(9), [8, 1, 5, 3]), batch_size=3)) == [[8, 1, 5],
                                                                                    [3]]


class Squares(Dataset):
    def __len__(self):
        return 5

    def __getitem__(self, i):
        return np.full(2, i * 0.5), i * i


def test_generic_dataset_and_collate_fn():
    x, y = next(iter(DataLoader(Squares(), batch_size=5)))
    assert x.shape == (5, 2) and y.numpy().tolist() == [0, 1, 4, 9, 16]
    assert str(y.dtype) == "int64"
    total = DataLoader(Squares(), batch_size=2,
                       collate_fn=lambda s: np.array([b for _, b in s]).sum(keepdims=True))
    assert [t.item() for t in total] == [1, 13, 16]


def test_loader_transform_applies_to_inputs_only():
    ds = TensorDataset(np.ones((4, 3, 3), np.uint8) * 255, np.arange(4))
    x, y = next(iter(DataLoader(ds, batch_size=4, transform=T.Compose([T.ToTensor(),
                                                                        T.Flatten()]))))
    assert x.shape == (4, 9) and np.all(x.numpy() == 1) and y.numpy().tolist() == [0, 1, 2, 3]


def test_shuffle_seed_reproducible_and_a_permutation():
    ds = arange_ds(50)
    a = DataLoader(ds, batch_size=8, shuffle=True, seed=1)
    b = DataLoader(ds, batch_size=8, shuffle=True, seed=1)
    ea, eb = labels(a), labels(b)
    assert ea == eb
    flat = sum(ea, [])
    assert sorted(flat) == list(range(50)) and flat != list(range(50))
    assert labels(a) != ea                                     # a new order each epoch
    assert labels(DataLoader(ds, batch_size=8, shuffle=True, seed=2)) != ea
    g = np.random.default_rng(1)
    assert labels(DataLoader(ds, batch_size=8, shuffle=True, generator=g)) == ea
    with pytest.raises(ValueError):
        DataLoader(ds, seed=1, generator=g)


def test_manual_seed_makes_shuffling_reproducible():
    ds = arange_ds(30)
    cr.manual_seed(7)
    first = [labels(loader) for loader in [DataLoader(ds, batch_size=4, shuffle=True)] * 2]
    cr.manual_seed(7)
    loader = DataLoader(ds, batch_size=4, shuffle=True)
    assert [labels(loader), labels(loader)] == first
    cr.manual_seed(8)
    assert labels(DataLoader(ds, batch_size=4, shuffle=True)) != first[0]


def run(loader, n):
    """The next n batches across epoch boundaries, as plain lists."""
    out = []
    while len(out) < n:
        for x, y in loader:
            out.append((x.numpy().tolist(), y.numpy().tolist()))
            if len(out) == n:
                break
    return out


def as_lists(batches):
    return [(x.numpy().tolist(), y.numpy().tolist()) for x, y in batches]


@pytest.mark.parametrize("epochs, inside", [(0, 0), (0, 2), (1, 0), (2, 1), (0, 4)])
def test_state_dict_resumes_exactly(epochs, inside):
    imgs = np.arange(10 * 5 * 5, dtype=np.uint8).reshape(10, 5, 5)
    ds = TensorDataset(imgs, np.arange(10))
    tf = T.Compose([T.ToTensor(), T.RandomShift(1)])     # random: draws from the loader's rng
    a = DataLoader(ds, batch_size=3, shuffle=True, seed=0, transform=tf)   # 4 batches/epoch
    for _ in range(epochs):
        list(a)
    it = iter(a)
    for _ in range(inside):
        next(it)
    state = json.loads(json.dumps(a.state_dict()))       # JSON-safe
    b = DataLoader(ds, batch_size=3, shuffle=True, seed=123, transform=tf)
    b.load_state_dict(state)
    assert b.epoch == a.epoch == epochs
    expect = as_lists(it) + run(a, 6)                    # rest of this epoch, then 6 more
    assert as_lists(b) + run(b, 6) == expect


def test_epoch_count_and_abandoned_epochs():
    loader = DataLoader(arange_ds(10), batch_size=3, shuffle=True, seed=0)
    assert loader.state_dict()["epoch"] == 0
    list(loader)
    assert loader.epoch == 1
    next(iter(loader))
    assert loader.state_dict()["batches_done"] == 1
    list(loader)                       # abandoned epoch counts, then a full one
    assert loader.epoch == 3 and loader.state_dict()["batches_done"] == 0


def test_state_of_other_bit_generators():
    g = np.random.Generator(np.random.MT19937(5))
    a = DataLoader(arange_ds(20), batch_size=4, shuffle=True, generator=g)
    state = json.loads(json.dumps(a.state_dict()))
    b = DataLoader(arange_ds(20), batch_size=4, shuffle=True, seed=0)
    b.load_state_dict(state)
    assert labels(b) == labels(a)


def test_random_split_lengths_and_fractions():
    ds = arange_ds(10)
    parts = random_split(ds, [3, 7], generator=0)
    assert [len(p) for p in parts] == [3, 7]
    got = sorted(np.concatenate([p.indices for p in parts]).tolist())
    assert got == list(range(10))
    assert [len(p) for p in random_split(ds, [0.5, 0.3, 0.2], generator=0)] == [5, 3, 2]
    assert [len(p) for p in random_split(arange_ds(11), [0.5, 0.5], generator=0)] == [6, 5]
    assert [len(p) for p in random_split(arange_ds(10), [0.34, 0.33, 0.33])] == [4, 3, 3]
    a = random_split(ds, [5, 5], generator=np.random.default_rng(3))[0].indices
    assert np.array_equal(a, random_split(ds, [5, 5], generator=3)[0].indices)
    cr.manual_seed(0)
    b = random_split(ds, [5, 5])[0].indices
    cr.manual_seed(0)
    assert np.array_equal(b, random_split(ds, [5, 5])[0].indices)
    for bad in ([3, 3], [0.5, 0.6], [-1, 11]):
        with pytest.raises(ValueError):
            random_split(ds, bad)


def test_subset_items_and_tensordataset_checks():
    ds = arange_ds(6)
    sub = Subset(ds, [4, 2])
    x, y = sub[1]
    assert y.item() == 2 and x.numpy().tolist() == [4.0, 5.0] and len(sub) == 2
    assert len(ds.tensors) == 2 and isinstance(ds.tensors[0], cr.Tensor)
    assert TensorDataset(cr.tensor([[1.0], [2.0]]))[1][0].item() == 2.0
    with pytest.raises(ValueError, match="same first dimension"):
        TensorDataset(np.zeros(3), np.zeros(4))
    with pytest.raises(IndexError):
        Subset(ds, [6])
