"""chainrule.distributed as one process (no MPI launcher): the same script runs unchanged, and
the sampler follows torch.utils.data.DistributedSampler's index rules exactly."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.distributed as dist
from chainrule import models, nn
from chainrule.autograd import grad, gradcheck


def test_single_process_world():
    assert dist.world_size() == 1 and dist.rank() == 0 and dist.is_initialized()
    assert dist.get_world_size() == 1 and dist.is_main_process()
    assert dist.all_reduce(3.5) == 3.5
    assert dist.all_reduce([1, 2], dist.ReduceOp.MAX) == [1, 2]
    t = cr.tensor([1.0, 2.0])
    assert dist.all_reduce(t, dist.ReduceOp.AVG) is t
    assert dist.broadcast({"a": 1}) == {"a": 1}
    assert dist.all_gather_object("x") == ["x"]
    with pytest.raises(ValueError, match="op must be one of"):
        dist.all_reduce(1.0, "median")
    with pytest.raises(TypeError, match="avg"):
        dist.all_reduce(np.arange(3), dist.ReduceOp.AVG)


def test_ddp_as_one_process_only_forwards():
    cr.manual_seed(0)
    net = models.mlp(784, (16,), 10, "relu")
    ddp = dist.DistributedDataParallel(net)
    x = cr.randn(4, 1, 28, 28)
    np.testing.assert_array_equal(ddp(x).detach().numpy(), net(x).detach().numpy())
    assert list(ddp.state_dict()) == [f"module.{k}" for k in net.state_dict()]
    with ddp.no_sync():
        assert not ddp.require_backward_grad_sync
    assert ddp.require_backward_grad_sync
    assert cr.nn.parallel.DistributedDataParallel is dist.DistributedDataParallel
    with pytest.raises(ValueError, match="bucket_cap_mb"):
        dist.DistributedDataParallel(net, bucket_cap_mb=0)
    with pytest.raises(TypeError, match="expected a Module"):
        dist.DistributedDataParallel(lambda x: x)


@pytest.mark.parametrize("n", [0, 1, 7, 10, 11])
@pytest.mark.parametrize("replicas", [1, 2, 3, 4])
@pytest.mark.parametrize("drop_last", [False, True])
def test_sampler_shares_cover_every_example_once(n, replicas, drop_last):
    data = list(range(n))
    shares = [list(dist.DistributedSampler(data, replicas, r, shuffle=True, seed=3,
                                           drop_last=drop_last)) for r in range(replicas)]
    assert len({len(s) for s in shares}) == 1          # every rank takes as many steps
    together = sorted(i for s in shares for i in s)
    if drop_last:   # each example at most once, only the remainder left out
        assert len(set(together)) == len(together) == n - n % replicas
    else:           # each example at least once, the padding repeats fewer than `replicas`
        assert set(together) == set(data) and len(together) - n < replicas


def test_sampler_epochs_reshuffle_and_validate():
    s = dist.DistributedSampler(range(50), 2, 1, seed=5)
    first = list(s)
    s.set_epoch(1)
    assert list(s) != first
    s.set_epoch(0)
    assert list(s) == first
    with pytest.raises(ValueError, match=r"Invalid rank 2, rank should be in the interval "
                                         r"\[0, 1\]"):
        dist.DistributedSampler(range(5), 2, 2)
    assert cr.utils.data.DistributedSampler is dist.DistributedSampler


@pytest.mark.torch
@pytest.mark.parametrize("n, replicas, drop_last, shuffle",
                         [(10, 3, False, True), (10, 3, True, True), (11, 4, False, False),
                          (2, 5, False, True), (12, 4, True, False), (9, 2, True, True)])
def test_sampler_indices_are_torchs(torch, monkeypatch, n, replicas, drop_last, shuffle):
    """Same order in, same shares out: torch's randperm is replaced by our permutation."""
    from torch.utils.data import DistributedSampler as TorchSampler

    ours = [dist.DistributedSampler(range(n), replicas, r, shuffle=shuffle, seed=4,
                                    drop_last=drop_last) for r in range(replicas)]
    for epoch in (0, 1):
        perm = torch.from_numpy(np.random.default_rng(4 + epoch).permutation(n))
        monkeypatch.setattr(torch, "randperm", lambda k, generator=None, p=perm: p)
        for r in range(replicas):
            theirs = TorchSampler(range(n), replicas, r, shuffle=shuffle, seed=4,
                                  drop_last=drop_last)
            theirs.set_epoch(epoch)
            ours[r].set_epoch(epoch)
            assert list(ours[r]) == list(theirs) and len(ours[r]) == len(theirs)


@pytest.mark.torch
def test_sync_batchnorm_as_one_process_is_batchnorm(torch):
    cr.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.ReLU(),
                        nn.Sequential(nn.BatchNorm2d(3, affine=False)))
    bn = net[1]
    synced = nn.SyncBatchNorm.convert_sync_batchnorm(net)
    assert synced is net and isinstance(net[1], nn.SyncBatchNorm)
    assert isinstance(net[3][0], nn.SyncBatchNorm) and net[3][0].weight is None
    assert net[1].weight is bn.weight and net[1].running_mean is bn.running_mean
    x = np.random.default_rng(0).standard_normal((4, 3, 5, 5)).astype(np.float32)
    ours = net[1](cr.from_numpy(x))
    ref = torch.nn.BatchNorm2d(3)
    expected = ref(torch.from_numpy(x))
    np.testing.assert_allclose(ours.detach().numpy(), expected.detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(net[1].running_var.detach().numpy(),
                               ref.running_var.detach().numpy(), atol=1e-6)
    one_d = nn.SyncBatchNorm(3)(cr.randn(6, 3))     # any rank of input, as torch's
    assert one_d.shape == (6, 3)
    with pytest.raises(ValueError, match="expected at least 2D input"):
        nn.SyncBatchNorm(3)(cr.randn(3))


def test_all_reduce_sum_is_differentiable_twice():
    x = cr.randn(3, dtype=cr.float64, requires_grad=True)
    assert gradcheck(lambda t: dist.all_reduce_sum(t * t), (x,))
    # second order: its backward is itself, recorded with create_graph
    assert gradcheck(lambda t: grad(dist.all_reduce_sum(t * t * t).sum(), t,
                                    create_graph=True)[0], (x,))
