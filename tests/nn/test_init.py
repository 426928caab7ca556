"""`chainrule.nn.init`: gains and fans equal torch's; the random initialisers follow their
formulas (checked statistically on large tensors, so the bounds are tight but never flaky)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.nn import init

GAINS = [("linear", None), ("conv1d", None), ("conv2d", None), ("conv3d", None),
         ("conv_transpose1d", None), ("conv_transpose2d", None), ("conv_transpose3d", None),
         ("sigmoid", None), ("tanh", None), ("relu", None),
         ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", 0), ("leaky_relu", 1),
         ("leaky_relu", math.sqrt(5)), ("selu", None)]


@pytest.mark.parametrize("nonlinearity,param", GAINS)
def test_calculate_gain_equals_torch(torch, nonlinearity, param):
    ours = init.calculate_gain(nonlinearity, param)
    theirs = torch.nn.init.calculate_gain(nonlinearity, param)
    assert ours == pytest.approx(theirs, rel=1e-15)


def test_calculate_gain_identity_is_one():  # not in torch's table; the lecture's identity unit
    assert init.calculate_gain("identity") == 1.0


def test_calculate_gain_unknown_nonlinearity_raises(torch):
    with pytest.raises(ValueError, match="swish"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError):
        torch.nn.init.calculate_gain("swish")


@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (1, 1), (7, 3, 3, 3), (16, 8, 1, 1),
                                   (4, 2, 5), (2, 3, 4, 5, 6)])
def test_fan_in_and_fan_out_equal_torch(torch, shape):
    ours = init._calculate_fan_in_and_fan_out(cr.empty(*shape))
    theirs = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))
    assert ours == theirs


@pytest.mark.parametrize("shape", [(5,), ()])
def test_fan_needs_two_dimensions(shape):
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(cr.empty(*shape))
    with pytest.raises(ValueError, match="fewer than 2"):
        init.xavier_uniform_(cr.empty(*shape))


def _check_uniform(values, bound):
    v = values.astype(np.float64).ravel()
    assert np.all(np.abs(v) <= bound * (1 + 1e-6))
    assert v.max() > 0.99 * bound and v.min() < -0.99 * bound
    assert abs(v.mean()) < 0.01 * bound
    assert v.std() == pytest.approx(bound / math.sqrt(3), rel=0.01)


def _check_normal(values, std):
    v = values.astype(np.float64).ravel()
    assert abs(v.mean()) < 0.01 * std
    assert v.std() == pytest.approx(std, rel=0.01)
    # normal, not uniform: about 4.55 % of the mass beyond 2σ
    assert np.mean(np.abs(v) > 2 * std) == pytest.approx(0.0455, abs=0.003)


SHAPES = [(256, 512), (64, 32, 3, 3)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("gain", [1.0, init.calculate_gain("tanh")])
def test_xavier_uniform_bound(torch, shape, gain):
    cr.manual_seed(0)
    t = init.xavier_uniform_(cr.empty(*shape), gain=gain)
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))
    _check_uniform(t.detach().numpy(), gain * math.sqrt(6 / (fan_in + fan_out)))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("gain", [1.0, 2.0])
def test_xavier_normal_std(torch, shape, gain):
    cr.manual_seed(1)
    t = init.xavier_normal_(cr.empty(*shape), gain=gain)
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))
    _check_normal(t.detach().numpy(), gain * math.sqrt(2 / (fan_in + fan_out)))


KAIMING = [(0, "fan_in", "relu"), (0, "fan_out", "relu"), (math.sqrt(5), "fan_in", "leaky_relu"),
           (0.1, "fan_out", "leaky_relu"), (0, "fan_in", "linear")]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("a,mode,nonlinearity", KAIMING)
def test_kaiming_uniform_bound(torch, shape, a, mode, nonlinearity):
    cr.manual_seed(2)
    t = init.kaiming_uniform_(cr.empty(*shape), a=a, mode=mode, nonlinearity=nonlinearity)
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))
    fan = fan_in if mode == "fan_in" else fan_out
    gain = torch.nn.init.calculate_gain(nonlinearity, a)
    _check_uniform(t.detach().numpy(), gain * math.sqrt(3 / fan))
    # torch's own draw has the same range
    tt = torch.nn.init.kaiming_uniform_(torch.empty(*shape), a=a, mode=mode,
                                        nonlinearity=nonlinearity)
    assert float(tt.abs().max()) == pytest.approx(float(np.abs(t.detach().numpy()).max()), rel=0.01)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("a,mode,nonlinearity", KAIMING)
def test_kaiming_normal_std(torch, shape, a, mode, nonlinearity):
    cr.manual_seed(3)
    t = init.kaiming_normal_(cr.empty(*shape), a=a, mode=mode, nonlinearity=nonlinearity)
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))
    fan = fan_in if mode == "fan_in" else fan_out
    _check_normal(t.detach().numpy(), torch.nn.init.calculate_gain(nonlinearity,
                                                                   a) / math.sqrt(fan))


def test_kaiming_rejects_an_unknown_mode():
    with pytest.raises(ValueError, match="fan_avg"):
        init.kaiming_uniform_(cr.empty(3, 3), mode="fan_avg")


def test_uniform_and_normal_follow_their_arguments():
    cr.manual_seed(4)
    u = init.uniform_(cr.empty(200, 200), -3.0, 5.0).detach().numpy().astype(np.float64)
    assert u.min() >= -3 and u.max() < 5 and u.min() < -2.95 and u.max() > 4.95
    assert u.mean() == pytest.approx(1.0, abs=0.03)
    n = init.normal_(cr.empty(200, 200), mean=2.0, std=0.5).detach().numpy().astype(np.float64)
    assert n.mean() == pytest.approx(2.0, abs=0.01) and n.std() == pytest.approx(0.5, rel=0.01)


@pytest.mark.parametrize("fn,args,value", [(init.zeros_, (), 0.0), (init.ones_, (), 1.0),
                                           (init.constant_, (0.25,), 0.25),
                                           (init.constant_, (-3,), -3.0)])
@pytest.mark.parametrize("dtype", [cr.float32, cr.float64])
def test_constant_fills_in_place(fn, args, value, dtype):
    t = cr.randn(4, 5, dtype=dtype, requires_grad=True)
    data = t.detach().numpy()
    out = fn(t, *args)
    assert out is t and t.detach().numpy() is data  # same tensor, same buffer
    assert t.dtype == dtype and t.requires_grad
    np.testing.assert_array_equal(t.detach().numpy(), value)


@pytest.mark.parametrize("fn", [init.xavier_uniform_, init.xavier_normal_, init.kaiming_uniform_,
                                init.kaiming_normal_])
def test_random_inits_work_in_place_keep_dtype_and_are_seeded(fn):
    t = cr.empty(8, 6, dtype=cr.float64, requires_grad=True)
    data = t.detach().numpy()
    cr.manual_seed(5)
    assert fn(t) is t and t.detach().numpy() is data and t.dtype == np.float64
    first = t.detach().numpy().copy()
    cr.manual_seed(5)
    fn(t)
    np.testing.assert_array_equal(t.detach().numpy(), first)
    fn(t)
    assert not np.array_equal(t.detach().numpy(), first)


def test_init_of_a_parameter_is_seen_by_its_module():
    from chainrule import nn

    lin = nn.Linear(3, 2)
    init.ones_(lin.weight)
    np.testing.assert_array_equal(lin(cr.ones(3)).detach().numpy(), 3.0 + lin.bias.detach().numpy())
