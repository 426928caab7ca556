"""Linear, Identity, Flatten and Dropout against torch and against their defining formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule import nn
from chainrule.errors import ShapeError
from chainrule.nn import functional as F

with_fixtures = settings(suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                HealthCheck.too_slow])


def _torch_linear(torch, lin):
    """A torch Linear holding copies of `lin`'s weights (same dtype)."""
    t = torch.nn.Linear(lin.in_features, lin.out_features, bias=lin.bias is not None,
                        dtype=getattr(torch, str(lin.weight.dtype)))
    t.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in lin.state_dict().items()})
    return t


# ----------------------------------------------------------------- Linear
def test_linear_parameter_shapes_and_dtype():
    lin = nn.Linear(5, 3)
    assert lin.weight.shape == (3, 5) and lin.bias.shape == (3,)
    assert lin.weight.dtype == np.float32 and lin.bias.dtype == np.float32
    assert [k for k, _ in lin.named_parameters()] == ["weight", "bias"]
    lin64 = nn.Linear(5, 3, dtype=cr.float64)
    assert lin64.weight.dtype == np.float64 and lin64.bias.dtype == np.float64


def test_linear_without_bias():
    lin = nn.Linear(4, 2, bias=False)
    assert lin.bias is None
    assert [k for k, _ in lin.named_parameters()] == ["weight"]
    assert list(lin.state_dict()) == ["weight"]
    x = cr.randn(3, 4)
    np.testing.assert_allclose(lin(x).detach().numpy(),
                               x.detach().numpy() @ lin.weight.detach().numpy().T, rtol=1e-6)


@pytest.mark.parametrize("bad", [(0, 3), (3, 0), (-1, 2)])
def test_linear_rejects_non_positive_sizes(bad):
    with pytest.raises(ValueError, match="Linear"):
        nn.Linear(*bad)


def test_linear_default_init_is_uniform_within_one_over_sqrt_fan_in():
    """torch's default: W, b ~ U(−1/√in, 1/√in). Checked on a 300×400 draw: all values inside,
    the extremes reach the bounds, mean ≈ 0 and variance ≈ bound²/3 (uniform's variance)."""
    cr.manual_seed(0)
    fan_in = 400
    lin = nn.Linear(fan_in, 300)
    bound = 1 / math.sqrt(fan_in)
    w = lin.weight.detach().numpy().astype(np.float64)
    assert np.all(np.abs(w) <= bound)
    assert w.max() > 0.99 * bound and w.min() < -0.99 * bound
    assert abs(w.mean()) < 0.01 * bound
    assert w.var() == pytest.approx(bound**2 / 3, rel=0.02)
    # uniform, not normal: a quarter of the mass in each quarter of the interval
    hist, _ = np.histogram(w, bins=4, range=(-bound, bound))
    np.testing.assert_allclose(hist / w.size, 0.25, atol=0.01)
    b = lin.bias.detach().numpy()
    assert np.all(np.abs(b) <= bound) and b.max() > 0.8 * bound and b.min() < -0.8 * bound


def test_linear_init_is_reproducible_with_manual_seed():
    cr.manual_seed(42)
    a = nn.Linear(6, 4).state_dict()
    cr.manual_seed(42)
    b = nn.Linear(6, 4).state_dict()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert not np.array_equal(a["weight"], nn.Linear(6, 4).weight.detach().numpy())


@with_fixtures
@given(batch=st.lists(st.integers(1, 4), min_size=0, max_size=3),
       n_in=st.integers(1, 6), n_out=st.integers(1, 5), bias=st.booleans(),
       seed=st.integers(0, 2**31 - 1))
def test_linear_forward_and_all_gradients_equal_torch(torch, batch, n_in, n_out, bias, seed):
    """Batch shapes () (1-D input), (N,), (N, M) and (N, M, K) (3-D and 4-D input)."""
    rng = np.random.default_rng(seed)
    cr.manual_seed(seed)
    lin = nn.Linear(n_in, n_out, bias=bias, dtype=cr.float64)
    tlin = _torch_linear(torch, lin)
    x_np = rng.standard_normal((*batch, n_in))
    g_np = rng.standard_normal((*batch, n_out))

    x = cr.tensor(x_np, requires_grad=True)
    y = lin(x)
    (y * cr.tensor(g_np)).sum().backward()

    tx = torch.tensor(x_np, requires_grad=True)
    ty = tlin(tx)
    (ty * torch.from_numpy(g_np)).sum().backward()

    assert y.shape == tuple(ty.shape)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(x.grad.detach().numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(lin.weight.grad.detach().numpy(), tlin.weight.grad.numpy(),
                               rtol=1e-12, atol=1e-12)
    assert lin.weight.grad.shape == lin.weight.shape
    if bias:
        assert lin.bias.grad.shape == (n_out,)
        np.testing.assert_allclose(lin.bias.grad.detach().numpy(), tlin.bias.grad.numpy(),
                                   rtol=1e-12, atol=1e-12)


def test_linear_float32_matches_torch(torch):
    cr.manual_seed(3)
    lin = nn.Linear(16, 8)
    tlin = _torch_linear(torch, lin)
    x_np = np.random.default_rng(3).standard_normal((32, 16)).astype(np.float32)
    x = cr.tensor(x_np, requires_grad=True)
    y = lin(x)
    y.sum().backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32
    assert lin.weight.grad.dtype == np.float32
    tx = torch.tensor(x_np, requires_grad=True)
    ty = tlin(tx)
    ty.sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(x.grad.detach().numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(lin.weight.grad.detach().numpy(), tlin.weight.grad.numpy(),
                               rtol=1e-5,
                               atol=1e-5)
    np.testing.assert_allclose(lin.bias.grad.detach().numpy(), tlin.bias.grad.numpy(), rtol=1e-5)


def test_linear_gradients_accumulate_over_two_backwards():
    lin = nn.Linear(3, 2, dtype=cr.float64)
    x = cr.randn(4, 3, dtype=cr.float64)
    lin(x).sum().backward()
    first = lin.weight.grad.detach().numpy().copy()
    lin(x).sum().backward()
    np.testing.assert_allclose(lin.weight.grad.detach().numpy(), 2 * first)
    # ... and the batch-summed bias gradient is the number of rows
    np.testing.assert_allclose(lin.bias.grad.detach().numpy(), 2 * 4.0)


@pytest.mark.parametrize("x_shape", [(3,), (2, 3), (2, 2, 3)])
@pytest.mark.parametrize("bias", [True, False])
def test_f_linear_gradcheck_float64(x_shape, bias):
    rng = np.random.default_rng(0)
    x = cr.tensor(rng.standard_normal(x_shape), requires_grad=True)
    w = cr.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    inputs = [x, w]
    if bias:
        inputs.append(cr.tensor(rng.standard_normal(2), requires_grad=True))
    assert cr.gradcheck(lambda *a: F.linear(*a), inputs)


def test_gradcheck_would_catch_a_wrong_linear_gradient(monkeypatch):
    """The gradcheck above can fail: a transposed weight gradient is reported."""
    from chainrule.autograd.gradcheck import GradcheckError
    from chainrule.ops import linalg

    original = linalg.Affine.backward

    def wrong(self, g, out):
        gx, gw, *rest = original(self, g, out)
        return (gx, gw * 2, *rest)

    monkeypatch.setattr(linalg.Affine, "backward", wrong)
    rng = np.random.default_rng(0)
    x = cr.tensor(rng.standard_normal((2, 3)))
    w = cr.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    with pytest.raises(GradcheckError):
        cr.gradcheck(lambda a, b: F.linear(a, b), [x, w])


def test_linear_no_grad_for_data_input():
    lin = nn.Linear(3, 2)
    x = cr.randn(4, 3)
    lin(x).sum().backward()
    assert x.grad is None and lin.weight.grad is not None


@pytest.mark.parametrize("x_shape", [(4, 5), (5,), (2, 3, 2)])
def test_linear_shape_error_names_op_and_shapes(x_shape):
    lin = nn.Linear(3, 2)
    with pytest.raises(ShapeError) as info:
        lin(cr.randn(*x_shape))
    msg = str(info.value)
    assert "linear" in msg and str(x_shape) in msg and "(2, 3)" in msg


def test_f_linear_bias_and_weight_shape_errors():
    x, w = cr.randn(4, 3), cr.randn(2, 3)
    with pytest.raises(ShapeError, match=r"linear.*bias.*\(3,\).*\(2, 3\)"):
        F.linear(x, w, cr.randn(3))
    with pytest.raises(ShapeError, match="linear"):
        F.linear(x, cr.randn(3))
    with pytest.raises(ShapeError, match="linear"):
        F.linear(cr.tensor(1.0), w)


# ----------------------------------------------------------------- Identity and Flatten
def test_identity_returns_its_input():
    x = cr.randn(2, 3, requires_grad=True)
    ident = nn.Identity(54, unused="argument")
    assert ident(x) is x
    assert list(ident.parameters()) == []


@pytest.mark.parametrize("shape,start,end", [
    ((2, 3, 4), 1, -1), ((2, 3, 4, 5), 1, 2), ((2, 3, 4, 5), 0, -1), ((2, 3), 1, -1),
    ((2, 3, 4, 5), -3, -2),
])
def test_flatten_equals_torch(torch, shape, start, end):
    x_np = np.random.default_rng(0).standard_normal(shape)
    x = cr.tensor(x_np, requires_grad=True)
    y = nn.Flatten(start, end)(x)
    ty = torch.nn.Flatten(start, end)(torch.from_numpy(x_np))
    assert y.shape == tuple(ty.shape)
    np.testing.assert_array_equal(y.detach().numpy(), ty.numpy())
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.detach().numpy(), np.ones(shape))


# ----------------------------------------------------------------- Dropout
def test_dropout_train_zeroes_about_p_and_scales_the_rest():
    cr.manual_seed(0)
    p = 0.3
    drop = nn.Dropout(p)
    x = cr.tensor(np.random.default_rng(0).uniform(1, 2, (200, 100)).astype(np.float32),
                  requires_grad=True)
    y = drop(x)
    kept = y.detach().numpy() != 0
    frac_dropped = 1 - kept.mean()
    assert abs(frac_dropped - p) < 0.015  # 20 000 draws: std ≈ 0.003
    np.testing.assert_allclose(y.detach().numpy()[kept], x.detach().numpy()[kept] / (1 - p),
                               rtol=1e-6)
    assert y.dtype == np.float32
    # gradient: mask / (1 − p)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), kept / (1 - p), rtol=1e-6)
    # the mean is preserved in expectation
    assert y.detach().numpy().mean() == pytest.approx(x.detach().numpy().mean(), rel=0.02)


def test_dropout_eval_is_identity():
    drop = nn.Dropout(0.9).eval()
    x = cr.randn(50, 50)
    np.testing.assert_array_equal(drop(x).detach().numpy(), x.detach().numpy())
    np.testing.assert_array_equal(F.dropout(x, 0.9, training=False).detach().numpy(),
                                  x.detach().numpy())


def test_dropout_p0_is_identity_p1_is_zeros():
    x = cr.randn(30, 30, requires_grad=True)
    np.testing.assert_array_equal(nn.Dropout(0.0)(x).detach().numpy(), x.detach().numpy())
    y = nn.Dropout(1.0)(x)
    np.testing.assert_array_equal(y.detach().numpy(), 0.0)
    assert not np.any(np.isnan(y.detach().numpy()))
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.detach().numpy(), 0.0)


def test_dropout_is_reproducible_with_manual_seed():
    x = cr.ones(64, 64)
    cr.manual_seed(7)
    a = nn.Dropout(0.5)(x).detach().numpy()
    cr.manual_seed(7)
    b = nn.Dropout(0.5)(x).detach().numpy()
    np.testing.assert_array_equal(a, b)
    c = nn.Dropout(0.5)(x).detach().numpy()  # the generator moved on: a new mask
    assert not np.array_equal(a, c)


def test_dropout_mask_is_fresh_each_call():
    cr.manual_seed(1)
    drop = nn.Dropout(0.5)
    x = cr.ones(1000)
    assert not np.array_equal(drop(x).detach().numpy(), drop(x).detach().numpy())


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan")])
def test_dropout_invalid_p_raises(p):
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(p)
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout(cr.ones(3), p)


def test_dropout_of_a_batch_last_input_keeps_its_layout():
    """The mask is drawn in x's memory order, so y and x̄ stay batch-last (no transposing pass)
    and still zero about p of the entries, scaling the rest by 1/(1 − p)."""
    cr.manual_seed(2)
    base = np.random.default_rng(2).uniform(1, 2, (16, 12, 12, 64)).astype(np.float32)
    x = cr.tensor(base, requires_grad=True)
    v = x.permute(3, 0, 1, 2)
    y = F.dropout(v, 0.25)
    yd = y.detach().numpy()
    assert yd.strides == v.detach().numpy().strides
    kept = yd != 0
    assert abs((1 - kept.mean()) - 0.25) < 0.01
    np.testing.assert_allclose(yd[kept], v.detach().numpy()[kept] / 0.75, rtol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), kept.transpose(1, 2, 3, 0) / 0.75, rtol=1e-6)


def test_dropout_keeps_float64():
    x = cr.ones(10, dtype=cr.float64)
    assert nn.Dropout(0.5)(x).dtype == np.float64


# ----------------------------------------------------------------- Dropout2d
def test_dropout2d_zeroes_whole_channels_and_scales_the_rest():
    cr.manual_seed(0)
    p = 0.3
    x = cr.rand(400, 8, 3, 5) + 0.5  # no zeros of its own
    x.requires_grad_()
    y = nn.Dropout2d(p)(x)
    y_np, x_np = y.detach().numpy(), x.detach().numpy()
    kept = (y_np != 0).reshape(400, 8, -1)
    assert np.all(kept.all(axis=2) | ~kept.any(axis=2))  # a channel is kept or dropped whole
    frac_dropped = 1 - kept[:, :, 0].mean()
    assert abs(frac_dropped - p) < 0.03  # 3200 channel draws: std ≈ 0.008
    mask = kept[:, :, 0][:, :, None, None]
    np.testing.assert_allclose(y_np, np.where(mask, x_np / (1 - p), 0), rtol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), np.broadcast_to(mask / (1 - p), x.shape),
                               rtol=1e-6)


def test_dropout2d_reads_a_3d_input_as_n_c_l_like_torch(torch):
    """torch 2.x drops whole (n, c) rows of a 3-D input (and warns that this will change)."""
    cr.manual_seed(1)
    with pytest.warns(UserWarning, match=r"read as \(N, C, L\)"):
        y = F.dropout2d(cr.ones(50, 20, 3), 0.5).detach().numpy()
    rows = y.reshape(1000, 3)
    assert np.all((rows == 0).all(axis=1) | (rows == 2).all(axis=1))
    assert 400 < (rows[:, 0] == 0).sum() < 600
    with pytest.warns(UserWarning, match=r"interpreted as shape \(N, C, L\)"):
        ty = torch.nn.functional.dropout2d(torch.ones(50, 20, 3), 0.5).numpy().reshape(1000, 3)
    assert np.all((ty == 0).all(axis=1) | (ty == 2).all(axis=1))


def test_dropout2d_eval_p0_p1_and_errors_like_torch(torch):
    x = cr.randn(2, 3, 4, 4)
    drop = nn.Dropout2d(0.4)
    drop.eval()
    assert drop(x) is x
    assert F.dropout2d(x, 0.0) is x
    np.testing.assert_array_equal(F.dropout2d(x, 1.0).detach().numpy(), np.zeros(x.shape))
    assert repr(nn.Dropout2d(0.25)) == repr(torch.nn.Dropout2d(0.25))
    assert repr(nn.Dropout2d(0.25, True)) == repr(torch.nn.Dropout2d(0.25, True))
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
        nn.Dropout2d(1.5)
    with pytest.warns(UserWarning, match="received a 2-D input"):
        y = F.dropout2d(cr.ones(400, 3), 0.5).detach().numpy()
    assert set(np.unique(y)) == {0.0, 2.0}  # (N, C): every entry is its own channel
    with pytest.warns(UserWarning, match="received a 2-D input"):
        assert F.dropout2d(cr.ones(4, 3), 0.5, training=False).shape == (4, 3)
    with pytest.raises(cr.ShapeError, match="requires at least 2 dimensions"), \
            pytest.warns(UserWarning):
        F.dropout2d(cr.ones(3), 0.5)


def test_dropout2d_inplace_and_reproducible():
    cr.manual_seed(7)
    a = F.dropout2d(cr.ones(4, 6, 2, 2), 0.5).detach().numpy()
    cr.manual_seed(7)
    x = cr.ones(4, 6, 2, 2)
    y = nn.Dropout2d(0.5, inplace=True)(x)
    assert y is x
    np.testing.assert_array_equal(x.detach().numpy(), a)
    assert x.dtype == np.float32
