"""BatchNorm1d (2-D and 3-D input) and BatchNorm2d against torch.nn, step by step.

Train mode: outputs, input / weight / bias gradients, and running_mean, running_var and
num_batches_tracked after every step; then eval mode (running statistics). Variants: momentum,
momentum=None (cumulative average), affine=False, bias=False, track_running_stats=False, eps.
state_dict keys equal torch's, and torch's state_dict loaded into chainrule reproduces torch's
eval outputs. F.batch_norm: gradcheck and second derivatives vs torch.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F

with_fixtures = settings(suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                HealthCheck.too_slow], max_examples=10)




VARIANTS = [
    {},
    dict(momentum=None),
    dict(momentum=0.5, eps=0.3),
    dict(affine=False),
    dict(bias=False),
    dict(track_running_stats=False),
    dict(affine=False, track_running_stats=False, eps=1e-3),
]
LAYERS = [("BatchNorm1d", 2), ("BatchNorm1d", 3), ("BatchNorm2d", 4)]


def _shape(data, ndim, c):
    n = data.draw(st.integers(2, 4), label="N")
    rest = [data.draw(st.integers(1, 4), label="size") for _ in range(ndim - 2)]
    return (n, c, *rest)


def _torch_bn(torch, name, c, kw, dtype):
    mod = getattr(torch.nn, name)(c, dtype=dtype, **kw)
    if mod.weight is not None:  # not the default ones/zeros, so that mistakes show
        with torch.no_grad():
            mod.weight.uniform_(0.5, 2.0)
            if mod.bias is not None:
                mod.bias.uniform_(-1.0, 1.0)
    return mod


def _check_state(cmod, tmod):
    csd, tsd = cmod.state_dict(), tmod.state_dict()
    assert list(csd) == list(tsd)
    for k, v in tsd.items():
        assert csd[k].shape == tuple(v.shape), k
        if k == "num_batches_tracked":
            assert csd[k].dtype == np.int64 and int(csd[k]) == int(v), k
        else:
            np.testing.assert_allclose(csd[k], v.numpy(), rtol=1e-12, atol=1e-14, err_msg=k)


def _step(torch, cmod, tmod, x, rng, rtol=1e-10, atol=1e-12):
    cx, tx = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    cy, ty = cmod(cx), tmod(tx)
    np.testing.assert_allclose(cy.detach().numpy(), ty.detach().numpy(), rtol=rtol, atol=atol)
    g = rng.standard_normal(x.shape).astype(x.dtype)
    cy.backward(gradient=g)
    ty.backward(gradient=torch.from_numpy(g))
    np.testing.assert_allclose(cx.grad.detach().numpy(), tx.grad.numpy(), rtol=rtol, atol=atol)
    tparams = dict(tmod.named_parameters())
    assert [k for k, _ in cmod.named_parameters()] == list(tparams)
    for k, p in cmod.named_parameters():
        np.testing.assert_allclose(p.grad.detach().numpy(), tparams[k].grad.numpy(), rtol=rtol,
                                   atol=atol,
                                   err_msg=k)


@pytest.mark.parametrize("kw", VARIANTS, ids=lambda kw: ",".join(map(str, kw.items())) or "-")
@pytest.mark.parametrize("name, ndim", LAYERS)
@with_fixtures
@given(data=st.data())
def test_train_steps_then_eval_match_torch(torch, name, ndim, kw, data):
    c = data.draw(st.integers(1, 3), label="C")
    shape = _shape(data, ndim, c)
    seed = data.draw(st.integers(0, 2**31 - 1), label="seed")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    tmod = _torch_bn(torch, name, c, kw, torch.float64)
    cmod = getattr(nn, name)(c, dtype=cr.float64, **kw)
    cmod.load_state_dict(tmod.state_dict())
    assert repr(cmod) == repr(tmod)
    assert cmod.training
    for _ in range(3):
        x = rng.standard_normal(shape) * rng.uniform(0.5, 3.0) + rng.uniform(-2, 2)
        _step(torch, cmod, tmod, x, rng)
        _check_state(cmod, tmod)
    cmod.eval()
    tmod.eval()
    for _ in range(2):  # eval never moves the running statistics
        _step(torch, cmod, tmod, rng.standard_normal(shape), rng)
        _check_state(cmod, tmod)


@pytest.mark.parametrize("name, shape", [("BatchNorm1d", (8, 3)), ("BatchNorm1d", (4, 3, 5)),
                                         ("BatchNorm2d", (4, 3, 5, 6))])
def test_float32_layer_matches_torch(torch, name, shape):
    rng = np.random.default_rng(5)
    tmod = _torch_bn(torch, name, 3, {}, torch.float32)
    cmod = getattr(nn, name)(3)
    assert cmod.weight.dtype == np.float32 and cmod.running_var.dtype == np.float32
    cmod.load_state_dict(tmod.state_dict())
    for _ in range(3):
        x = (rng.standard_normal(shape) * 2 + 1).astype(np.float32)
        _step(torch, cmod, tmod, x, rng, rtol=1e-4, atol=1e-5)
    csd, tsd = cmod.state_dict(), tmod.state_dict()
    for k in ("running_mean", "running_var"):
        assert csd[k].dtype == np.float32
        np.testing.assert_allclose(csd[k], tsd[k].numpy(), rtol=1e-5, atol=1e-6)
    assert int(csd["num_batches_tracked"]) == 3


def test_running_statistics_formulas(rng):
    """momentum m: μ_run ← (1 − m) μ_run + m μ_B, σ²_run ← (1 − m) σ²_run + m σ²_B·n/(n − 1)
    (unbiased); momentum None: the plain average of the batch statistics so far."""
    bn, cum = nn.BatchNorm2d(2, momentum=0.25, dtype=cr.float64), \
        nn.BatchNorm2d(2, momentum=None, dtype=cr.float64)
    mean, var = np.zeros(2), np.ones(2)
    means, variances = [], []
    for _ in range(4):
        x = rng.standard_normal((3, 2, 2, 3)) * 3 + 1
        bn(cr.tensor(x))
        cum(cr.tensor(x))
        mu, s2 = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3), ddof=1)
        mean, var = 0.75 * mean + 0.25 * mu, 0.75 * var + 0.25 * s2
        means.append(mu)
        variances.append(s2)
        np.testing.assert_allclose(bn.running_mean.detach().numpy(), mean, rtol=1e-12)
        np.testing.assert_allclose(bn.running_var.detach().numpy(), var, rtol=1e-12)
        np.testing.assert_allclose(cum.running_mean.detach().numpy(), np.mean(means, axis=0),
                                   rtol=1e-12)
        np.testing.assert_allclose(cum.running_var.detach().numpy(), np.mean(variances, axis=0),
                                   rtol=1e-12)
    assert int(bn.num_batches_tracked) == 4 == int(cum.num_batches_tracked)


def test_train_output_is_normalised_per_channel(rng):
    """With γ = 1, β = 0 each channel comes out with mean 0 and (biased) variance 1/(1 + ε/σ²)."""
    x = rng.standard_normal((5, 3, 4)) * np.array([1.0, 4.0, 0.2])[:, None] + 3
    y = nn.BatchNorm1d(3, eps=1e-5, dtype=cr.float64)(cr.tensor(x)).detach().numpy()
    np.testing.assert_allclose(y.mean(axis=(0, 2)), 0, atol=1e-12)
    var = x.var(axis=(0, 2))
    np.testing.assert_allclose(y.var(axis=(0, 2)), var / (var + 1e-5), rtol=1e-12)


def test_eval_uses_running_statistics_and_train_mode_returns(rng):
    bn = nn.BatchNorm1d(2, dtype=cr.float64)
    bn.running_mean.detach().numpy()[...] = [1.0, -2.0]
    bn.running_var.detach().numpy()[...] = [4.0, 0.25]
    bn.weight.detach().numpy()[...] = [2.0, 1.0]
    bn.bias.detach().numpy()[...] = [0.5, 0.0]
    bn.eval()
    x = rng.standard_normal((3, 2))
    want = (x - [1.0, -2.0]) / np.sqrt(np.array([4.0, 0.25]) + 1e-5) * [2.0, 1.0] + [0.5, 0.0]
    np.testing.assert_allclose(bn(cr.tensor(x)).detach().numpy(), want, rtol=1e-12)
    assert int(bn.num_batches_tracked.detach().numpy()) == 0
    y1 = bn(cr.tensor(x[:1]))  # one sample is fine in eval mode
    assert y1.shape == (1, 2)
    bn.train()
    bn(cr.tensor(x))
    assert int(bn.num_batches_tracked.detach().numpy()) == 1
    assert not np.allclose(bn.running_mean.detach().numpy(), [1.0, -2.0])


@pytest.mark.parametrize("name, shape", [("BatchNorm1d", (6, 4)), ("BatchNorm1d", (3, 4, 5)),
                                         ("BatchNorm2d", (3, 4, 3, 2))])
@pytest.mark.parametrize("kw", [{}, dict(momentum=None), dict(affine=False)])
def test_loading_torch_state_dict_reproduces_its_eval_outputs(torch, name, shape, kw):
    rng = np.random.default_rng(6)
    torch.manual_seed(0)
    tmod = _torch_bn(torch, name, 4, kw, torch.float32)
    for _ in range(5):
        tmod(torch.from_numpy((rng.standard_normal(shape) * 2 - 1).astype(np.float32)))
    tmod.eval()
    cmod = getattr(nn, name)(4, **kw)
    result = cmod.load_state_dict(tmod.state_dict())
    assert list(result.missing_keys) == [] and list(result.unexpected_keys) == []
    assert list(cmod.state_dict()) == list(tmod.state_dict())
    assert int(cmod.num_batches_tracked.detach().numpy()) == 5
    cmod.eval()
    x = rng.standard_normal(shape).astype(np.float32)
    np.testing.assert_allclose(cmod(cr.tensor(x)).detach().numpy(),
                               tmod(torch.from_numpy(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("build", [
    lambda m: m.BatchNorm1d(3),
    lambda m: m.BatchNorm2d(5, eps=1e-3, momentum=None),
    lambda m: m.BatchNorm2d(2, affine=False),
    lambda m: m.BatchNorm1d(2, bias=False),
    lambda m: m.BatchNorm1d(2, track_running_stats=False),
])
def test_repr_and_state_dict_keys_equal_torch(torch, build):
    cmod, tmod = build(nn), build(torch.nn)
    assert repr(cmod) == repr(tmod)
    assert list(cmod.state_dict()) == list(tmod.state_dict())
    assert [k for k, _ in cmod.named_buffers()] == [k for k, _ in tmod.named_buffers()]


# ----------------------------------------------------------------- functional
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape", [(5, 2), (3, 2, 4), (2, 2, 3, 2)])
def test_functional_batch_norm_gradcheck_and_second_order_match_torch(torch, shape, training):
    rng = np.random.default_rng(8)
    x = rng.standard_normal(shape) * 2 + 0.5
    w, b = rng.uniform(0.5, 2.0, 2), rng.standard_normal(2)
    rm, rv = rng.standard_normal(2), rng.uniform(0.5, 2.0, 2)
    v, u = rng.standard_normal(shape), rng.standard_normal(shape)
    leaves = [cr.tensor(a, requires_grad=True) for a in (x, w, b)]
    assert cr.gradcheck(lambda xx, ww, bb: F.batch_norm(
        xx, cr.tensor(rm), cr.tensor(rv), ww, bb, training=training, momentum=0.1, eps=1e-5),
        leaves)

    def run(m, t, fbn):
        """[∂L/∂x, ∂/∂(x, w, b) of Σ (∂L/∂x) · u] with L = Σ y² · v."""
        xs = [t(a, requires_grad=True) for a in (x, w, b)]
        y = fbn(xs[0], t(rm.copy()), t(rv.copy()), xs[1], xs[2], training, 0.1, 1e-5)
        (gx,) = m.autograd.grad((y * y * t(v)).sum(), [xs[0]], create_graph=True)
        return [gx, *m.autograd.grad((gx * t(u)).sum(), xs)]

    got = run(cr, cr.tensor, F.batch_norm)
    want = run(torch, torch.tensor, torch.nn.functional.batch_norm)
    for c, t in zip(got, want, strict=True):
        np.testing.assert_allclose(c.detach().numpy(), t.detach().numpy(), rtol=1e-9, atol=1e-11)


def test_functional_batch_norm_updates_running_stats_in_place_like_torch(torch, rng):
    x = rng.standard_normal((4, 3, 5))
    crm, crv = cr.zeros(3, dtype=cr.float64), cr.ones(3, dtype=cr.float64)
    trm, trv = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    y = F.batch_norm(cr.tensor(x), crm, crv, training=True, momentum=0.3)
    t = torch.nn.functional.batch_norm(torch.tensor(x), trm, trv, training=True, momentum=0.3)
    np.testing.assert_allclose(y.detach().numpy(), t.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(crm.detach().numpy(), trm.numpy(), rtol=1e-12)
    np.testing.assert_allclose(crv.detach().numpy(), trv.numpy(), rtol=1e-12)


# ----------------------------------------------------------------- errors
@pytest.mark.parametrize("call, error, pattern", [
    (lambda: nn.BatchNorm2d(3)(cr.ones(2, 3, 4)), cr.ShapeError,
     r"^BatchNorm2d: expected 4-D input, got shape \(2, 3, 4\)"),
    (lambda: nn.BatchNorm1d(3)(cr.ones(2, 3, 4, 5)), cr.ShapeError,
     r"^BatchNorm1d: expected 2-D or 3-D input, got shape \(2, 3, 4, 5\)"),
    (lambda: nn.BatchNorm1d(3)(cr.ones(1, 3)), ValueError,
     r"^batch_norm: expected more than 1 value per channel when training, got input of "
     r"shape \(1, 3\)"),
    (lambda: nn.BatchNorm1d(3)(cr.ones(2, 4)), cr.ShapeError,
     r"^batch_norm: running_mean of shape \(3,\) does not fit 4 channels of input \(2, 4\)"),
    (lambda: nn.BatchNorm2d(3, track_running_stats=False)(cr.ones(2, 4, 2, 2)), cr.ShapeError,
     r"^batch_norm: weight of shape \(3,\) does not fit 4 channels"),
    (lambda: F.batch_norm(cr.ones(2, 3), None, None), ValueError,
     r"^batch_norm: running statistics are needed in eval mode"),
])
def test_errors_name_the_layer_and_the_shapes(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


# ----------------------------------------------------------------- LayerNorm
LAYER_NORMS = [
    ((2, 3, 4), 4, {}),
    ((2, 3, 4), (3, 4), {}),
    ((5, 6), [6], dict(eps=0.1)),
    ((2, 2, 3, 3), (2, 3, 3), dict(bias=False)),
    ((3, 4), 4, dict(elementwise_affine=False)),
    ((4,), 4, {}),
]


def _torch_ln(torch, shape, kw, dtype):
    mod = torch.nn.LayerNorm(shape, dtype=dtype, **kw)
    with torch.no_grad():  # not the default ones/zeros, so that mistakes show
        if mod.weight is not None:
            mod.weight.uniform_(0.5, 2.0)
        if mod.bias is not None:
            mod.bias.uniform_(-1.0, 1.0)
    return mod


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("x_shape", "norm_shape", "kw"), LAYER_NORMS)
def test_layer_norm_equals_torch(torch, x_shape, norm_shape, kw, dtype):
    """Output and input / weight / bias gradients, in train and eval mode (the same thing)."""
    rng = np.random.default_rng(len(x_shape) * 7 + len(kw))
    tmod = _torch_ln(torch, norm_shape, kw, getattr(torch, dtype))
    cmod = nn.LayerNorm(norm_shape, dtype=dtype, **kw)
    cmod.load_state_dict({k: v.detach().numpy() for k, v in tmod.state_dict().items()})
    assert list(cmod.state_dict()) == list(tmod.state_dict())
    x_np = (rng.standard_normal(x_shape) * 3 + 1).astype(dtype)
    g_np = rng.standard_normal(x_shape).astype(dtype)
    rtol, atol = (1e-12, 1e-12) if dtype == "float64" else (2e-5, 2e-5)
    for training in (True, False):
        cmod.train(training)
        tmod.train(training)
        x, tx = cr.tensor(x_np, requires_grad=True), torch.tensor(x_np, requires_grad=True)
        y, ty = cmod(x), tmod(tx)
        assert y.dtype == np.dtype(dtype)
        np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=rtol, atol=atol)
        y.backward(gradient=g_np)
        ty.backward(gradient=torch.from_numpy(g_np))
        np.testing.assert_allclose(x.grad.detach().numpy(), tx.grad.numpy(), rtol=rtol,
                                   atol=atol)
        tparams = dict(tmod.named_parameters())
        for k, p in cmod.named_parameters():
            np.testing.assert_allclose(p.grad.detach().numpy(), tparams[k].grad.numpy(),
                                       rtol=rtol, atol=atol, err_msg=k)
            p.grad = None
            tparams[k].grad = None


def test_layer_norm_normalises_each_example(rng):
    x = cr.tensor(rng.standard_normal((3, 4, 5)) * 4 + 2)
    y = nn.LayerNorm((4, 5), elementwise_affine=False)(x).detach().numpy()
    np.testing.assert_allclose(y.mean(axis=(1, 2)), 0, atol=1e-6)
    np.testing.assert_allclose(y.var(axis=(1, 2)), 1, rtol=1e-4)


def test_functional_layer_norm_gradcheck_and_second_order_match_torch(torch, rng):
    x_np, w_np = rng.standard_normal((2, 3, 4)), rng.uniform(0.5, 2, 4)
    b_np = rng.standard_normal(4)
    xs = [cr.tensor(a, requires_grad=True) for a in (x_np, w_np, b_np)]
    assert cr.gradcheck(lambda x, w, b: F.layer_norm(x, (4,), w, b, eps=0.01), xs)
    txs = [torch.tensor(a, requires_grad=True) for a in (x_np, w_np, b_np)]
    v, u = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3, 4))
    y = F.layer_norm(xs[0], (4,), xs[1], xs[2], eps=0.01)
    ty = torch.nn.functional.layer_norm(txs[0], (4,), txs[1], txs[2], eps=0.01)
    gs = cr.autograd.grad((y * cr.tensor(v)).sum(), xs, create_graph=True)
    tgs = torch.autograd.grad((ty * torch.from_numpy(v)).sum(), txs, create_graph=True)
    ggs = cr.autograd.grad((gs[0] * cr.tensor(u)).sum(), xs, allow_unused=True)
    tggs = torch.autograd.grad((tgs[0] * torch.from_numpy(u)).sum(), txs, allow_unused=True)
    like = [x_np, w_np, b_np] * 2
    for a, b, ref in zip([*gs, *ggs], [*tgs, *tggs], like, strict=True):
        ours = np.zeros(ref.shape) if a is None else a.detach().numpy()
        theirs = np.zeros(ref.shape) if b is None else b.detach().numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def test_layer_norm_repr_matches_torch(torch):
    for args, kw in (((8,), {}), (((2, 3),), dict(eps=1e-3, bias=False)),
                     ((5,), dict(elementwise_affine=False))):
        assert repr(nn.LayerNorm(*args, **kw)) == repr(torch.nn.LayerNorm(*args, **kw))


@pytest.mark.parametrize("call, pattern", [
    (lambda: nn.LayerNorm(3)(cr.ones(2, 4)),
     r"layer_norm: given normalized_shape=\[3\], expected input with shape \[\*, 3\], but got "
     r"input of size \[2, 4\]"),
    (lambda: nn.LayerNorm((2, 3))(cr.ones(3)), r"normalized_shape=\[2, 3\]"),
    (lambda: F.layer_norm(cr.ones(2, 3), (3,), cr.ones(4)),
     r"layer_norm: expected weight to be of same shape as normalized_shape, but got weight "
     r"of shape \[4\]"),
])
def test_layer_norm_errors_name_the_shapes(call, pattern):
    with pytest.raises(cr.ShapeError, match=pattern):
        call()
