"""The layer features the classic architectures need: nn.LocalResponseNorm, ReLU(inplace=...)
and Dropout(inplace=...) as torch constructs and prints them, nn.init.trunc_normal_, and
AdaptiveAvgPool2d to the output sizes AlexNet (6×6), VGG (7×7) and GoogLeNet's auxiliary heads
(4×4) use, from inputs smaller, larger and not divisible by them."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


def test_local_response_norm_module_matches_torch(torch):
    ours = nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0)
    theirs = torch.nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0)
    assert repr(ours) == repr(theirs) == "LocalResponseNorm(5, alpha=0.0005, beta=0.75, k=2.0)"
    assert list(ours.state_dict()) == [] and not list(ours.parameters())
    x = np.random.default_rng(0).standard_normal((2, 8, 3, 3))
    cx, tx = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    cy, ty = ours(cx), theirs(tx)
    np.testing.assert_allclose(cy.detach().numpy(), ty.detach().numpy(), rtol=1e-12)
    cy.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(cx.grad.detach().numpy(), tx.grad.numpy(), rtol=1e-10,
                               atol=1e-14)


@pytest.mark.parametrize("inplace", [False, True])
def test_relu_and_dropout_take_torchs_inplace_flag(torch, inplace):
    """Printed as torch does; with inplace=True the input holds the result afterwards."""
    assert repr(nn.ReLU(inplace)) == repr(torch.nn.ReLU(inplace))
    assert repr(nn.Dropout(0.3, inplace)) == repr(torch.nn.Dropout(0.3, inplace))
    for lib in (cr, torch):
        x = lib.tensor([-1.0, 2.0])
        y = lib.nn.ReLU(inplace=inplace)(x)
        assert y.tolist() == [0.0, 2.0]
        assert x.tolist() == ([0.0, 2.0] if inplace else [-1.0, 2.0])
        assert (y is x) == inplace
        z = lib.ones(1000)
        lib.nn.Dropout(0.5, inplace=inplace).train()(z)
        assert (float(z.min()) == 0.0) == inplace


def test_trunc_normal_stays_within_bounds_with_the_right_moments(torch):
    cr.manual_seed(0)
    t = nn.init.trunc_normal_(cr.empty(400, 500), mean=0.5, std=1.0, a=-0.5, b=2.0)
    v = t.detach().numpy()
    assert v.min() >= -0.5 and v.max() <= 2.0
    ref = torch.nn.init.trunc_normal_(torch.empty(400, 500), mean=0.5, std=1.0, a=-0.5, b=2.0)
    # the same distribution: mean and std within sampling error of torch's sample
    assert abs(v.mean() - float(ref.mean())) < 0.01
    assert abs(v.std() - float(ref.std())) < 0.01
    wide = nn.init.trunc_normal_(cr.empty(1000), std=0.01).detach().numpy()  # GoogLeNet's
    assert abs(wide.std() - 0.01) < 1e-3
    with pytest.raises(ValueError, match="trunc_normal_: need a < b"):
        nn.init.trunc_normal_(cr.empty(3), a=1.0, b=0.0)
    with pytest.raises(ValueError, match="holds only"):
        nn.init.trunc_normal_(cr.empty(3), mean=0.0, std=0.01, a=5.0, b=6.0)


@pytest.mark.parametrize("in_hw, out", [((1, 1), (6, 6)), ((2, 2), (7, 7)), ((13, 13), (6, 6)),
                                        ((5, 3), (4, 4)), ((14, 14), (7, 7))])
def test_adaptive_avg_pool_to_the_zoo_sizes(torch, in_hw, out):
    x = np.random.default_rng(0).standard_normal((2, 3, *in_hw))
    cx, tx = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    cy = nn.AdaptiveAvgPool2d(out)(cx)
    ty = torch.nn.AdaptiveAvgPool2d(out)(tx)
    np.testing.assert_allclose(cy.detach().numpy(), ty.detach().numpy(), rtol=1e-12)
    g = np.random.default_rng(1).standard_normal(ty.shape)
    cy.backward(gradient=g)
    ty.backward(torch.from_numpy(g))
    np.testing.assert_allclose(cx.grad.detach().numpy(), tx.grad.numpy(), rtol=1e-12,
                               atol=1e-14)
