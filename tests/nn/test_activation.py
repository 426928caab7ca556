"""Activation modules against torch: forward values and input gradients (float64)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr
from chainrule import nn

with_fixtures = settings(suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                HealthCheck.too_slow])

# moderate magnitudes so every branch (Softplus' linear part at β·z > threshold included) shows
arrays = hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=5),
                    elements=st.floats(-30, 30, allow_nan=False, allow_subnormal=False))

MODULES = {
    "ReLU": (lambda: nn.ReLU(), lambda t: t.nn.ReLU()),
    "Softplus": (lambda: nn.Softplus(), lambda t: t.nn.Softplus()),
    "Softplus(beta=2,threshold=5)": (lambda: nn.Softplus(beta=2.0, threshold=5.0),
                                     lambda t: t.nn.Softplus(beta=2.0, threshold=5.0)),
    "Softplus(beta=0.5,threshold=3)": (lambda: nn.Softplus(beta=0.5, threshold=3.0),
                                       lambda t: t.nn.Softplus(beta=0.5, threshold=3.0)),
    "Sigmoid": (lambda: nn.Sigmoid(), lambda t: t.nn.Sigmoid()),
    "Tanh": (lambda: nn.Tanh(), lambda t: t.nn.Tanh()),
    "Softmax(-1)": (lambda: nn.Softmax(dim=-1), lambda t: t.nn.Softmax(dim=-1)),
    "Softmax(0)": (lambda: nn.Softmax(dim=0), lambda t: t.nn.Softmax(dim=0)),
    "LogSoftmax(-1)": (lambda: nn.LogSoftmax(dim=-1), lambda t: t.nn.LogSoftmax(dim=-1)),
    "LogSoftmax(0)": (lambda: nn.LogSoftmax(dim=0), lambda t: t.nn.LogSoftmax(dim=0)),
    "Identity": (lambda: nn.Identity(), lambda t: t.nn.Identity()),
}


def _compare(torch, ours, theirs, x_np, g_np, rtol=1e-10, atol=1e-12):
    x = cr.tensor(x_np, requires_grad=True)
    y = ours(x)
    (y * cr.tensor(g_np)).sum().backward()
    tx = torch.tensor(x_np, requires_grad=True)
    ty = theirs(tx)
    (ty * torch.from_numpy(g_np)).sum().backward()
    assert y.shape == tuple(ty.shape) and y.dtype == np.float64
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=rtol, atol=atol)
    np.testing.assert_allclose(x.grad.detach().numpy(), tx.grad.numpy(), rtol=rtol, atol=atol)


@pytest.mark.parametrize("name", list(MODULES))
@with_fixtures
@given(x_np=arrays, seed=st.integers(0, 2**31 - 1))
def test_activation_forward_and_gradient_equal_torch(torch, name, x_np, seed):
    ours, theirs = MODULES[name]
    g_np = np.random.default_rng(seed).standard_normal(x_np.shape)
    _compare(torch, ours(), theirs(torch), x_np, g_np)


@pytest.mark.parametrize("name", list(MODULES))
def test_activation_float32_and_extreme_values_equal_torch(torch, name):
    ours, theirs = MODULES[name]
    x_np = np.array([[-1000.0, -88.0, -20.0, -1e-3, 0.0, 1e-3, 20.0, 88.0, 1000.0]],
                    dtype=np.float32)
    y = ours()(cr.tensor(x_np))
    ty = theirs(torch)(torch.from_numpy(x_np))
    assert y.dtype == np.float32
    assert np.all(np.isfinite(y.detach().numpy())) == bool(torch.isfinite(ty).all())
    np.testing.assert_allclose(y.detach().numpy(), ty.numpy(), rtol=1e-5, atol=1e-6)


def test_relu_gradient_at_zero_is_zero_like_torch(torch):
    x_np = np.array([-1.0, 0.0, 2.0])
    _compare(torch, nn.ReLU(), torch.nn.ReLU(), x_np, np.ones(3))


def test_softplus_threshold_switches_to_identity():
    sp = nn.Softplus(beta=2.0, threshold=5.0)
    x = cr.tensor([2.4, 2.6, 10.0], dtype=cr.float64, requires_grad=True)
    y = sp(x)
    np.testing.assert_allclose(y.detach().numpy()[0], np.log1p(np.exp(4.8)) / 2)
    np.testing.assert_array_equal(y.detach().numpy()[1:], [2.6, 10.0])  # β·z > threshold: y = z
    y.sum().backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), [1 / (1 + np.exp(-4.8)), 1.0, 1.0])


def test_hard_threshold_is_a_step_with_zero_gradient():
    z = cr.tensor([-2.0, -1e-6, 0.0, 1e-6, 3.0], requires_grad=True)
    y = nn.HardThreshold()(z)
    np.testing.assert_array_equal(y.detach().numpy(), [0, 0, 0, 1, 1])
    assert y.dtype == np.float32
    (y * cr.tensor([1.0, 2.0, 3.0, 4.0, 5.0])).sum().backward()
    assert z.grad is not None
    np.testing.assert_array_equal(z.grad.detach().numpy(), 0.0)
    assert nn.Step is nn.HardThreshold


def test_hard_threshold_blocks_the_error_signal_to_layers_below():
    cr.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), nn.HardThreshold(), nn.Linear(4, 1))
    net(cr.randn(5, 3)).sum().backward()
    np.testing.assert_array_equal(net[0].weight.grad.detach().numpy(), 0.0)
    np.testing.assert_array_equal(net[0].bias.grad.detach().numpy(), 0.0)
    assert np.any(net[2].weight.grad.detach().numpy() != 0)  # the layer above still learns


def test_hard_threshold_docstring_says_not_trainable():
    doc = nn.HardThreshold.__doc__.lower()
    assert "not trainable" in doc and "0" in doc


def test_softmax_rows_sum_to_one_and_log_softmax_is_its_log():
    x = cr.randn(4, 6, dtype=cr.float64)
    p = nn.Softmax(dim=1)(x).detach().numpy()
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    np.testing.assert_allclose(nn.LogSoftmax(dim=1)(x).detach().numpy(), np.log(p), rtol=1e-12)


def test_activations_have_no_parameters():
    for ours, _ in MODULES.values():
        assert list(ours().parameters()) == []
    assert list(nn.HardThreshold().parameters()) == []


# ----------------------------------------------------------------- torch's further units
TORCH_UNITS = {
    "LeakyReLU": (lambda: nn.LeakyReLU(), lambda t: t.nn.LeakyReLU()),
    "LeakyReLU(0.2)": (lambda: nn.LeakyReLU(0.2), lambda t: t.nn.LeakyReLU(0.2)),
    "ELU": (lambda: nn.ELU(), lambda t: t.nn.ELU()),
    "ELU(alpha=0.5)": (lambda: nn.ELU(alpha=0.5), lambda t: t.nn.ELU(alpha=0.5)),
    "GELU": (lambda: nn.GELU(), lambda t: t.nn.GELU()),
    "GELU(tanh)": (lambda: nn.GELU("tanh"), lambda t: t.nn.GELU("tanh")),
    "SiLU": (lambda: nn.SiLU(), lambda t: t.nn.SiLU()),
    "Hardtanh": (lambda: nn.Hardtanh(), lambda t: t.nn.Hardtanh()),
    "Hardtanh(-2,3)": (lambda: nn.Hardtanh(-2.0, 3.0), lambda t: t.nn.Hardtanh(-2.0, 3.0)),
}
few = settings(max_examples=10, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                       HealthCheck.too_slow])


@pytest.mark.parametrize("name", list(TORCH_UNITS))
@few
@given(x_np=arrays, seed=st.integers(0, 2**31 - 1))
def test_torch_units_forward_and_gradient_equal_torch(torch, name, x_np, seed):
    ours, theirs = TORCH_UNITS[name]
    g_np = np.random.default_rng(seed).standard_normal(x_np.shape)
    _compare(torch, ours(), theirs(torch), x_np, g_np, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", list(TORCH_UNITS))
def test_torch_units_repr_and_no_parameters(torch, name):
    ours, theirs = TORCH_UNITS[name]
    assert repr(ours()) == repr(theirs(torch))
    assert list(ours().parameters()) == [] and ours().state_dict() == {}


@pytest.mark.parametrize(("ours", "theirs"), [
    (lambda: nn.LeakyReLU(0.1, inplace=True), lambda t: t.nn.LeakyReLU(0.1, inplace=True)),
    (lambda: nn.ELU(inplace=True), lambda t: t.nn.ELU(inplace=True)),
    (lambda: nn.SiLU(True), lambda t: t.nn.SiLU(True)),
    (lambda: nn.Hardtanh(-2, 3, True), lambda t: t.nn.Hardtanh(-2, 3, True)),
])
def test_inplace_flag_repr_like_torch(torch, ours, theirs):
    assert repr(ours()) == repr(theirs(torch))


@pytest.mark.parametrize("name", ["LeakyReLU", "ELU", "SiLU", "Hardtanh"])
def test_inplace_writes_into_the_input_and_backpropagates_like_torch(torch, name):
    """inplace=True: the input tensor becomes the unit's output (same object, same memory) and
    gradients flow through it to the layers below; a leaf that requires grad is refused."""
    x_np = np.array([-3.0, -0.5, 0.0, 0.5, 3.0])
    x, tx = cr.tensor(x_np, requires_grad=True), torch.tensor(x_np, requires_grad=True)
    h, th = x * 2.0, tx * 2.0
    y, ty = getattr(nn, name)(inplace=True)(h), getattr(torch.nn, name)(inplace=True)(th)
    assert y is h and ty is th
    np.testing.assert_allclose(h.detach().numpy(), th.detach().numpy(), rtol=1e-15)
    g = np.arange(5.0)
    y.backward(gradient=g)
    ty.backward(gradient=torch.from_numpy(g))
    np.testing.assert_allclose(x.grad.detach().numpy(), tx.grad.numpy(), rtol=1e-14)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        getattr(nn, name)(inplace=True)(x)
    with cr.no_grad():
        getattr(nn, name)(inplace=True)(x)
    with torch.no_grad():
        getattr(torch.nn, name)(inplace=True)(tx)
    np.testing.assert_allclose(x.detach().numpy(), tx.detach().numpy(), rtol=1e-15)


def test_torch_unit_argument_errors():
    with pytest.raises(ValueError, match="GELU: approximate must be 'none' or 'tanh'"):
        nn.GELU("fast")
    with pytest.raises(ValueError, match=r"Hardtanh: max_val \(1\.0\) must be greater"):
        nn.Hardtanh(1.0, 1.0)
    with pytest.warns(FutureWarning, match="min_value"):
        assert nn.Hardtanh(min_value=-3.0).min_val == -3.0


def test_gelu_network_trains_like_torch(torch):
    """A 2-layer GELU/SiLU/ELU network: the same loss and weight gradients as torch (float64)."""
    rng = np.random.default_rng(3)
    x_np, w1, w2 = rng.standard_normal((6, 4)), rng.standard_normal((5, 4)), rng.standard_normal(5)
    for ours, theirs in ((nn.GELU(), torch.nn.GELU()), (nn.SiLU(), torch.nn.SiLU()),
                         (nn.ELU(0.7), torch.nn.ELU(0.7)), (nn.LeakyReLU(), torch.nn.LeakyReLU())):
        a, b = cr.tensor(w1, requires_grad=True), cr.tensor(w2, requires_grad=True)
        ta, tb = torch.tensor(w1, requires_grad=True), torch.tensor(w2, requires_grad=True)
        loss = ((ours(cr.tensor(x_np) @ a.T) @ b) ** 2).mean()
        tloss = ((theirs(torch.from_numpy(x_np) @ ta.T) @ tb) ** 2).mean()
        loss.backward()
        tloss.backward()
        np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-12)
        np.testing.assert_allclose(a.grad.detach().numpy(), ta.grad.numpy(), rtol=1e-10,
                                   atol=1e-12)
        np.testing.assert_allclose(b.grad.detach().numpy(), tb.grad.numpy(), rtol=1e-10,
                                   atol=1e-12)
