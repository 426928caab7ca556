"""`chainrule.utils.data`, torch.utils.data's names: the same samples, batches, types and errors
as torch's DataLoader for the same datasets and (deterministic) samplers."""

from __future__ import annotations

import collections
import json

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import transforms as T
from chainrule.utils import data as D


def as_plain(x):
    """A batch as nested Python data, tensors as (dtype, shape, values), for either library."""
    if hasattr(x, "numpy") and hasattr(x, "shape") and not isinstance(x, np.ndarray):
        a = x.detach().numpy() if hasattr(x, "detach") else x.numpy()
        return ("tensor", str(a.dtype), a.shape, a.tolist())
    if isinstance(x, np.ndarray | np.generic):
        return ("numpy", str(x.dtype), x.shape, x.tolist())
    if isinstance(x, dict):
        return (type(x).__name__, {k: as_plain(v) for k, v in x.items()})
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return (type(x).__name__, [as_plain(v) for v in x])
    if isinstance(x, list | tuple):
        return (type(x).__name__, [as_plain(v) for v in x])
    return (type(x).__name__, x)


Point = collections.namedtuple("Point", "x y")


def sample_kinds(i):
    """One sample of each kind default_collate handles."""
    rng = np.random.default_rng(i)
    return {
        "tuple": (rng.standard_normal(3).astype(np.float32), i),
        "list": [np.float64(i) / 3, True, f"s{i}"],
        "dict": {"img": rng.integers(0, 255, (2, 2)).astype(np.uint8), "y": i * 0.5,
                 "nested": (np.int32(i), [i, i + 1])},
        "ordered": collections.OrderedDict(a=np.bool_(i % 2), b=np.arange(i, i + 2)),
        "named": Point(np.float16(i), i),
        "mixed": [i, 2.5] if i else [i, 3],
    }


class Kinds(D.Dataset):
    def __init__(self, kind, n=7):
        self.kind, self.n = kind, n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return sample_kinds(i)[self.kind]


class TorchKinds:
    """The same samples for torch's DataLoader (numpy arrays, which torch converts too)."""

    def __init__(self, kind, n=7):
        self.kind, self.n = kind, n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return sample_kinds(i)[self.kind]


@pytest.mark.torch
@pytest.mark.parametrize("kind", list(sample_kinds(0)))
def test_default_collate_matches_torch(torch, kind):
    samples = [sample_kinds(i)[kind] for i in range(4)]
    ours = D.default_collate(samples)
    theirs = torch.utils.data.default_collate(samples)
    assert as_plain(ours) == as_plain(theirs)


@pytest.mark.torch
def test_default_collate_of_tensors_and_its_errors(torch):
    ours = D.default_collate([cr.ones(2, 3), cr.zeros(2, 3)])
    assert as_plain(ours) == as_plain(torch.utils.data.default_collate(
        [torch.ones(2, 3), torch.zeros(2, 3)]))
    with pytest.raises(RuntimeError, match="equal size"):
        D.default_collate([(1, 2), (1,)])
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
        D.default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(TypeError, match="found <class 'object'>"):
        D.default_collate([object()])
    with pytest.raises(TypeError):
        D.default_collate([np.array(["a"])])


@pytest.mark.torch
def test_default_convert_matches_torch(torch):
    for data in [np.arange(3), (np.float32(1), "a", [np.zeros(2)]), {"k": np.ones(2)}, 3,
                 Point(np.array(1), 2)]:
        assert as_plain(D.default_convert(data)) == as_plain(
            torch.utils.data.default_convert(data))


LOADER_CASES = [
    dict(batch_size=3),
    dict(batch_size=3, drop_last=True),
    dict(batch_size=None),
    dict(batch_size=2, sampler=[5, 1, 1, 6, 0]),
    dict(batch_sampler=[[3, 1], [0], [6, 5, 4]]),
    dict(batch_size=4, collate_fn=lambda s: [len(s), s[0]]),
    dict(batch_size=None, collate_fn=lambda s: ("one", s)),
    dict(batch_size=3, num_workers=2, pin_memory=True, timeout=5, prefetch_factor=2,
         persistent_workers=True, worker_init_fn=lambda i: None),
]


@pytest.mark.torch
@pytest.mark.parametrize("kind", ["tuple", "dict", "named"])
@pytest.mark.parametrize("kwargs", LOADER_CASES, ids=lambda k: ",".join(sorted(k)))
def test_loader_yields_what_torchs_yields(torch, kind, kwargs):
    ours = [as_plain(b) for b in D.DataLoader(Kinds(kind), **kwargs)]
    if kwargs.get("num_workers"):    # torch would start processes: compare with its in-process
        kwargs = {k: v for k, v in kwargs.items() if k in ("batch_size",)}
    theirs = [as_plain(b) for b in torch.utils.data.DataLoader(TorchKinds(kind), **kwargs)]
    assert ours == theirs
    assert len(D.DataLoader(Kinds(kind), **kwargs)) == len(
        torch.utils.data.DataLoader(TorchKinds(kind), **kwargs))


@pytest.mark.torch
def test_array_datasets_take_the_fast_path_with_torchs_results(torch, monkeypatch):
    x = np.random.default_rng(0).standard_normal((10, 3)).astype(np.float32)
    y = np.arange(10)
    theirs = [as_plain(b) for b in torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y)),
        batch_size=4)]
    monkeypatch.setattr(D.TensorDataset, "__getitem__", lambda self, i: 1 / 0)
    ds = D.TensorDataset(cr.from_numpy(x), y)
    assert [as_plain(b) for b in D.DataLoader(ds, batch_size=4)] == theirs
    sub = D.Subset(ds, [9, 0, 4])
    assert as_plain(next(iter(D.DataLoader(sub, batch_size=3)))) == as_plain(
        next(iter(torch.utils.data.DataLoader(torch.utils.data.Subset(
            torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y)),
            [9, 0, 4]), batch_size=3))))


def test_torch_argument_errors():
    ds = Kinds("tuple")
    cases = [
        (dict(num_workers=-1), ValueError, "num_workers option should be non-negative"),
        (dict(timeout=-1), ValueError, "timeout option should be non-negative"),
        (dict(prefetch_factor=2), ValueError, "prefetch_factor option could only be"),
        (dict(persistent_workers=True), ValueError, "persistent_workers option needs"),
        (dict(sampler=[0], shuffle=True), ValueError, "mutually exclusive with shuffle"),
        (dict(batch_sampler=[[0]], batch_size=2), ValueError, "batch_sampler option is"),
        (dict(batch_sampler=[[0]], drop_last=True), ValueError, "batch_sampler option is"),
        (dict(batch_size=None, drop_last=True), ValueError, "disables auto-batching"),
        (dict(batch_size=0), ValueError, "batch_size should be a positive integer"),
        (dict(multiprocessing_context="spawn"), ValueError, "multiprocessing_context"),
        (dict(generator=7), TypeError, "numpy.random.Generator"),
    ]
    for kwargs, error, text in cases:
        with pytest.raises(error, match=text):
            D.DataLoader(ds, **kwargs)


def test_workers_run_in_process_and_worker_init_fn_is_not_called():
    called = []
    loader = D.DataLoader(Kinds("tuple"), batch_size=2, num_workers=4, persistent_workers=True,
                          worker_init_fn=called.append, pin_memory=True)
    assert len(list(loader)) == 4 and called == [] and D.get_worker_info() is None


def test_shuffle_uses_the_loaders_generator_and_sampler():
    ds = D.TensorDataset(np.arange(20))
    a = D.DataLoader(ds, batch_size=5, shuffle=True, generator=np.random.default_rng(3))
    b = D.DataLoader(ds, batch_size=5, shuffle=True, generator=np.random.default_rng(3))
    ea = [x.numpy().tolist() for (x,) in a]
    assert ea == [x.numpy().tolist() for (x,) in b]
    assert sorted(sum(ea, [])) == list(range(20)) and sum(ea, []) != list(range(20))
    assert isinstance(a.sampler, D.RandomSampler) and isinstance(a.batch_sampler, D.BatchSampler)
    assert isinstance(D.DataLoader(ds).sampler, D.SequentialSampler)


def test_samplers():
    ds = list(range(10))
    assert list(D.SequentialSampler(ds)) == list(range(10))
    g = np.random.default_rng(0)
    perm = list(D.RandomSampler(ds, generator=g))
    assert sorted(perm) == list(range(10)) and perm != list(range(10))
    drawn = list(D.RandomSampler(ds, replacement=True, num_samples=50,
                                 generator=np.random.default_rng(1)))
    assert len(drawn) == 50 and set(drawn) <= set(range(10))
    two = list(D.RandomSampler(ds, num_samples=25, generator=np.random.default_rng(2)))
    assert sorted(two[:10]) == sorted(two[10:20]) == list(range(10)) and len(two) == 25
    sub = list(D.SubsetRandomSampler([7, 3, 5], generator=np.random.default_rng(0)))
    assert sorted(sub) == [3, 5, 7]
    w = list(D.WeightedRandomSampler([0, 0, 1, 3], 400, generator=np.random.default_rng(0)))
    assert set(w) == {2, 3} and 250 < w.count(3) < 350
    assert list(D.BatchSampler(range(7), 3, False)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert len(D.BatchSampler(range(7), 3, True)) == 2
    cr.manual_seed(4)
    first = list(D.RandomSampler(ds))
    cr.manual_seed(4)
    assert list(D.RandomSampler(ds)) == first          # without a generator: the global one
    with pytest.raises(ValueError, match="num_samples should be a positive integer"):
        D.RandomSampler(ds, num_samples=0)
    with pytest.raises(TypeError, match="replacement should be a boolean"):
        D.RandomSampler(ds, replacement=1)
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        D.BatchSampler(range(3), 0, False)
    with pytest.raises(RuntimeError):
        D.WeightedRandomSampler([1, 0], 2, replacement=False)


class Stream(D.IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter((np.float32(i), i) for i in range(self.n))

    def __len__(self):
        return self.n


@pytest.mark.torch
def test_iterable_dataset_matches_torch(torch):
    class TorchStream(torch.utils.data.IterableDataset):
        def __iter__(self):
            return iter((np.float32(i), i) for i in range(7))

    for kwargs in (dict(batch_size=3), dict(batch_size=3, drop_last=True),
                   dict(batch_size=None)):
        assert [as_plain(b) for b in D.DataLoader(Stream(7), **kwargs)] == [
            as_plain(b) for b in torch.utils.data.DataLoader(TorchStream(), **kwargs)]
    assert len(D.DataLoader(Stream(7), batch_size=3)) == 3
    with pytest.raises(ValueError, match="IterableDataset: expected unspecified shuffle"):
        D.DataLoader(Stream(3), shuffle=True)
    loader = D.DataLoader(Stream(7), batch_size=2)
    it = iter(loader)
    next(it)
    state = loader.state_dict()
    with pytest.raises(ValueError, match="cannot replay"):
        D.DataLoader(Stream(7), batch_size=2).load_state_dict(state)


def test_concat_subset_and_random_split():
    a, b = D.TensorDataset(np.arange(3)), D.TensorDataset(np.arange(10, 15))
    cat = a + b
    assert isinstance(cat, D.ConcatDataset) and len(cat) == 8
    assert [int(cat[i][0].item()) for i in (0, 2, 3, 7, -1)] == [0, 2, 10, 14, 14]
    batches = [x.numpy().tolist() for (x,) in D.DataLoader(cat, batch_size=4)]
    assert batches == [[0, 1, 2, 10], [11, 12, 13, 14]]
    parts = D.random_split(cat, [0.5, 0.5], generator=np.random.default_rng(0))
    assert sorted(len(p) for p in parts) == [4, 4]
    assert sorted(int(p[i][0].item()) for p in parts for i in range(4)) == \
        [0, 1, 2, 10, 11, 12, 13, 14]


def test_resume_mid_epoch_with_a_custom_sampler_is_refused():
    ds = D.TensorDataset(np.arange(10))
    loader = D.DataLoader(ds, batch_size=2, sampler=D.SubsetRandomSampler(range(10)))
    it = iter(loader)
    next(it)
    state = json.loads(json.dumps(loader.state_dict()))
    fresh = D.DataLoader(ds, batch_size=2, sampler=D.SubsetRandomSampler(range(10)))
    with pytest.raises(ValueError, match="custom sampler"):
        fresh.load_state_dict(state)
    list(it)                                         # epoch boundary: resumable
    fresh.load_state_dict(loader.state_dict())
    assert fresh.epoch == 1


def test_loader_transform_runs_per_sample_when_it_must_with_the_same_values():
    imgs = np.random.default_rng(0).integers(0, 256, (12, 6, 6), dtype=np.uint8)
    ds = D.TensorDataset(imgs, np.arange(12))
    fast = T.Compose([T.ToTensor(), T.RandomShift(1), T.Normalize(0.5, 0.5)])
    slow = T.Compose([T.ToTensor(), T.RandomShift(1), T.Normalize(0.5, 0.5),
                      T.Lambda(lambda t: t)])
    a = [x.numpy() for x, _ in D.DataLoader(ds, batch_size=5, shuffle=True, seed=1,
                                             transform=fast)]
    b = [x.numpy() for x, _ in D.DataLoader(ds, batch_size=5, shuffle=True, seed=1,
                                             transform=slow)]
    assert len(a) == len(b) == 3
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


def test_torch_style_attribute_access():
    torch_like = cr
    loader = torch_like.utils.data.DataLoader(D.TensorDataset(np.zeros((4, 2))), batch_size=2)
    assert loader.batch_size == 2 and loader.num_workers == 0 and len(loader.dataset) == 4
    from chainrule.utils.data.dataloader import default_collate
    from chainrule.utils.data.sampler import SubsetRandomSampler
    assert default_collate is D.default_collate and SubsetRandomSampler is D.SubsetRandomSampler
