"""LeNet-5 (chainrule.models.lenet5): the lecture's layer table, the feature-map sizes after
every layer, and one whole forward/backward pass against the equivalent torch.nn.Sequential
(same OrderedDict names, weights copied) on MNIST-like digits: mostly exact zeros, so ReLU and
max pooling see many ties. Logits, loss and every parameter gradient must agree, in float32
and, after .double() on both, in float64.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.models import get_model, lenet5

CONFIGS = [(a, p) for a in ("relu", "tanh") for p in ("max", "avg")]



def _torch_lenet(torch, activation, pooling, num_classes=10):
    tnn = torch.nn
    act = {"relu": tnn.ReLU, "tanh": tnn.Tanh}[activation]
    pool = tnn.MaxPool2d if pooling == "max" else tnn.AvgPool2d
    return tnn.Sequential(OrderedDict([
        ("c1", tnn.Conv2d(1, 6, 5, padding=2)), ("act1", act()), ("s2", pool(2)),
        ("c3", tnn.Conv2d(6, 16, 5)), ("act3", act()), ("s4", pool(2)),
        ("flatten", tnn.Flatten()),
        ("f5", tnn.Linear(400, 120)), ("act5", act()),
        ("f6", tnn.Linear(120, 84)), ("act6", act()),
        ("output", tnn.Linear(84, num_classes)),
    ]))


def _digits(n=8, seed=0):
    """28×28 'digits': a zero background, strokes of pixels saturated at exactly 1.0 and a few
    grey ones, like MNIST scaled to [0, 1]."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 1, 28, 28), np.float32)
    for k in range(n):
        r, c = rng.integers(4, 10, 2)
        x[k, 0, r:r + 14, c + 5:c + 8] = 1.0                           # a vertical stroke
        x[k, 0, r + rng.integers(0, 10), c:c + 12] = 1.0               # a horizontal one
        grey = rng.random((28, 28)) < 0.03
        x[k, 0][grey] = rng.integers(1, 4, grey.sum()) / 4.0
    return x, rng.integers(0, 10, n)


# ----------------------------------------------------------------- the lecture's table
def test_layer_sizes_match_the_lecture_table():
    net = lenet5()
    weights = {name: m.weight.numel() for name, m in net.named_children()
               if getattr(m, "weight", None) is not None}
    assert weights == {"c1": 150, "c3": 2_400, "f5": 48_000, "f6": 10_080, "output": 840}
    biases = {name: m.bias.numel() for name, m in net.named_children()
              if getattr(m, "bias", None) is not None}
    assert biases == {"c1": 6, "c3": 16, "f5": 120, "f6": 84, "output": 10}
    assert sum(p.numel() for p in net.parameters()) == 61_470 + 236
    assert [name for name, _ in net.named_children()] == [
        "c1", "act1", "s2", "c3", "act3", "s4", "flatten", "f5", "act5", "f6", "act6", "output"]


@pytest.mark.parametrize("activation, pooling", CONFIGS)
def test_feature_map_sizes_after_every_layer(activation, pooling):
    net = lenet5(activation, pooling)
    x = cr.tensor(_digits(2)[0])
    shapes = {}
    for name, layer in net.named_children():
        x = layer(x)
        shapes[name] = x.shape[1:]
    assert shapes == {
        "c1": (6, 28, 28), "act1": (6, 28, 28), "s2": (6, 14, 14),
        "c3": (16, 10, 10), "act3": (16, 10, 10), "s4": (16, 5, 5), "flatten": (400,),
        "f5": (120,), "act5": (120,), "f6": (84,), "act6": (84,), "output": (10,)}


def test_layer_types_follow_the_arguments():
    net = lenet5("tanh", "avg", num_classes=7)
    assert isinstance(net.act1, nn.Tanh) and isinstance(net.s2, nn.AvgPool2d)
    assert isinstance(net.s4, nn.AvgPool2d) and net.output.weight.shape == (7, 84)
    net = lenet5()
    assert isinstance(net.act3, nn.ReLU) and isinstance(net.s4, nn.MaxPool2d)
    assert net.c1.padding == (2, 2) and net.c3.padding == (0, 0)
    assert isinstance(get_model("lenet5", pooling="avg").s2, nn.AvgPool2d)


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match=r"^lenet5: pooling must be 'max' or 'avg', got 'min'"):
        lenet5(pooling="min")
    with pytest.raises(ValueError, match=r"unknown activation 'swish'"):
        lenet5("swish")


# ----------------------------------------------------------------- against torch
def _assert_close(c, t, rtol, scale_atol, what):
    t = np.asarray(t)
    np.testing.assert_allclose(c, t, rtol=rtol, atol=scale_atol * max(np.abs(t).max(), 1e-30),
                               err_msg=what)


@pytest.mark.parametrize("activation, pooling", CONFIGS)
def test_forward_and_backward_match_torch(torch, activation, pooling):
    cr.manual_seed(0)
    net = lenet5(activation, pooling)
    tnet = _torch_lenet(torch, activation, pooling)
    assert repr(net) == repr(tnet)
    assert list(net.state_dict()) == list(tnet.state_dict())
    tnet.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in net.state_dict().items()})
    x, y = _digits()
    assert (x == 0).mean() > 0.8

    for dtype, rtol, atol in ((np.float32, 1e-4, 1e-5), (np.float64, 1e-10, 1e-12)):
        if dtype == np.float64:
            net.double()
            tnet.double()
        net.zero_grad()
        tnet.zero_grad()
        cx = cr.tensor(x.astype(dtype), requires_grad=True)
        tx = torch.tensor(x.astype(dtype), requires_grad=True)
        logits, tlogits = net(cx), tnet(tx)
        assert logits.dtype == dtype and logits.shape == (8, 10)
        _assert_close(logits.detach().numpy(), tlogits.detach().numpy(), rtol, atol, "logits")
        loss = cr.nn.functional.cross_entropy(logits, cr.tensor(y))
        tloss = torch.nn.functional.cross_entropy(tlogits, torch.from_numpy(y))
        assert loss.item() == pytest.approx(tloss.item(), rel=rtol)
        loss.backward()
        tloss.backward()
        tparams = dict(tnet.named_parameters())
        assert [k for k, _ in net.named_parameters()] == list(tparams)
        for k, p in net.named_parameters():
            assert p.grad is not None and p.grad.dtype == dtype, k
            assert np.abs(p.grad.detach().numpy()).max() > 0, k
            _assert_close(p.grad.detach().numpy(), tparams[k].grad.numpy(), rtol, atol,
                          f"{k} gradient")
        _assert_close(cx.grad.detach().numpy(), tx.grad.numpy(), rtol, atol, "input gradient")


def test_torch_state_dict_loads_into_lenet(torch):
    tnet = _torch_lenet(torch, "relu", "max")
    net = lenet5()
    net.load_state_dict(tnet.state_dict())
    x = _digits(3, seed=1)[0]
    _assert_close(net(cr.tensor(x)).detach().numpy(), tnet(torch.from_numpy(x)).detach().numpy(),
                  1e-4,
                  1e-5, "logits")
