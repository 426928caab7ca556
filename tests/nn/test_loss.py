"""Loss modules against torch: forward value and input gradient for every reduction (float64)."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule import nn
from chainrule.errors import ShapeError

with_fixtures = settings(suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                HealthCheck.too_slow])
REDUCTIONS = ["mean", "sum", "none"]
shapes = st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple)
seeds = st.integers(0, 2**31 - 1)


def _run(torch, ours, theirs, x_np, target_np, rtol=1e-10, atol=1e-12, target_torch=None):
    """Forward both losses on x (float64), backward with a random upstream gradient, compare."""
    x = cr.tensor(x_np, requires_grad=True)
    loss = ours(x, cr.tensor(target_np))
    g_np = np.random.default_rng(99).standard_normal(loss.shape)
    (loss * cr.tensor(g_np)).sum().backward()

    tx = torch.tensor(x_np, requires_grad=True)
    tt = torch.from_numpy(np.asarray(target_np)) if target_torch is None else target_torch
    tloss = theirs(tx, tt)
    (tloss * torch.from_numpy(g_np)).sum().backward()

    assert loss.shape == tuple(tloss.shape)
    np.testing.assert_allclose(loss.detach().numpy(), tloss.detach().numpy(), rtol=rtol, atol=atol)
    np.testing.assert_allclose(x.grad.detach().numpy(), tx.grad.numpy(), rtol=rtol, atol=atol)
    return loss, x.grad


# ----------------------------------------------------------------- squared errors
@pytest.mark.parametrize("reduction", REDUCTIONS)
@with_fixtures
@given(shape=shapes, seed=seeds)
def test_mse_loss_equals_torch(torch, reduction, shape, seed):
    rng = np.random.default_rng(seed)
    _run(torch, nn.MSELoss(reduction=reduction), torch.nn.MSELoss(reduction=reduction),
         rng.standard_normal(shape), rng.standard_normal(shape))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(shape=shapes, seed=seeds)
def test_half_squared_error_formula_and_gradient(reduction, shape, seed):
    """L = mean_n ½ Σ_{non-batch dims} (y − t)², and ȳ = (y − t) / N."""
    rng = np.random.default_rng(seed)
    y_np, t_np = rng.standard_normal(shape), rng.standard_normal(shape)
    y = cr.tensor(y_np, requires_grad=True)
    loss = nn.HalfSquaredErrorLoss(reduction=reduction)(y, cr.tensor(t_np))
    per_example = 0.5 * ((y_np - t_np) ** 2).reshape(shape[0], -1).sum(axis=1)
    n = shape[0]
    expected = {"mean": per_example.mean(), "sum": per_example.sum(), "none": per_example}
    np.testing.assert_allclose(loss.detach().numpy(), expected[reduction], rtol=1e-12)
    loss.sum().backward()
    scale = 1 / n if reduction == "mean" else 1.0
    np.testing.assert_allclose(y.grad.detach().numpy(), (y_np - t_np) * scale, rtol=1e-12,
                               atol=1e-15)


def test_half_squared_error_is_half_torch_mse_sum_over_batch(torch):
    rng = np.random.default_rng(0)
    y_np, t_np = rng.standard_normal((8, 3)), rng.standard_normal((8, 3))
    ours = nn.HalfSquaredErrorLoss()(cr.tensor(y_np), cr.tensor(t_np)).item()
    theirs = 0.5 * torch.nn.functional.mse_loss(torch.from_numpy(y_np), torch.from_numpy(t_np),
                                                reduction="sum").item() / 8
    assert ours == pytest.approx(theirs, rel=1e-12)


def test_squared_error_losses_reject_mismatched_shapes():
    with pytest.raises(ShapeError, match="mse_loss"):
        nn.MSELoss()(cr.randn(3, 2), cr.randn(3))
    with pytest.raises(ShapeError, match="half_squared_error"):
        nn.HalfSquaredErrorLoss()(cr.randn(3, 2), cr.randn(2, 3))


@pytest.mark.parametrize("cls", [nn.MSELoss, nn.HalfSquaredErrorLoss, nn.BCELoss,
                                 nn.BCEWithLogitsLoss, nn.CrossEntropyLoss, nn.NLLLoss])
def test_invalid_reduction_raises(cls):
    with pytest.raises(ValueError, match="reduction"):
        cls(reduction="average")


# ----------------------------------------------------------------- binary cross-entropy
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("with_weight", [False, True])
@with_fixtures
@given(shape=shapes, seed=seeds)
def test_bce_loss_equals_torch(torch, reduction, with_weight, shape, seed):
    rng = np.random.default_rng(seed)
    y_np = rng.uniform(0.01, 0.99, shape)
    t_np = rng.uniform(0, 1, shape)  # soft targets are allowed
    w_np = rng.uniform(0.1, 2, shape[-1:]) if with_weight else None  # broadcast over rows
    ours = nn.BCELoss(weight=None if w_np is None else cr.tensor(w_np), reduction=reduction)
    theirs = torch.nn.BCELoss(weight=None if w_np is None else torch.from_numpy(w_np),
                              reduction=reduction)
    _run(torch, ours, theirs, y_np, t_np)


def test_bce_loss_at_saturated_probabilities_is_finite_like_torch(torch):
    """y = 0 or 1 exactly (a saturated float32 sigmoid): torch clamps the log at −100 and its
    gradient divides by max(y(1 − y), 1e-12), so nothing is NaN."""
    y_np = np.array([0.0, 0.0, 1.0, 1.0, 0.5])
    t_np = np.array([0.0, 1.0, 0.0, 1.0, 1.0])
    loss, grad = _run(torch, nn.BCELoss(reduction="none"),
                      torch.nn.BCELoss(reduction="none"), y_np, t_np, rtol=1e-8)
    np.testing.assert_allclose(loss.detach().numpy(), [0, 100, 100, 0, np.log(2)])
    assert np.all(np.isfinite(grad.detach().numpy()))


def test_bce_loss_after_saturated_sigmoid_backpropagates_finite_gradients():
    z = cr.tensor([-40.0, 40.0, 0.5], requires_grad=True)  # float32 sigmoid gives exact 0 / 1
    loss = nn.BCELoss()(cr.sigmoid(z), cr.tensor([0.0, 1.0, 1.0]))
    loss.backward()
    assert np.all(np.isfinite(z.grad.detach().numpy()))
    np.testing.assert_allclose(z.grad.detach().numpy()[:2], 0.0, atol=1e-7)


def test_bce_loss_target_gradient_equals_torch(torch):
    rng = np.random.default_rng(0)
    y_np, t_np = rng.uniform(0.05, 0.95, (4, 3)), rng.uniform(0, 1, (4, 3))
    t = cr.tensor(t_np, requires_grad=True)
    nn.BCELoss()(cr.tensor(y_np), t).backward()
    tt = torch.tensor(t_np, requires_grad=True)
    torch.nn.BCELoss()(torch.from_numpy(y_np), tt).backward()
    np.testing.assert_allclose(t.grad.detach().numpy(), tt.grad.numpy(), rtol=1e-10)


def test_bce_loss_rejects_values_outside_0_1():
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.BCELoss()(cr.tensor([0.5, 1.5]), cr.tensor([0.0, 1.0]))
    with pytest.raises(ShapeError, match="binary_cross_entropy"):
        nn.BCELoss()(cr.tensor([0.5, 0.5]), cr.tensor([0.0, 1.0, 1.0]))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("pos_weight,weight", [(False, False), (True, False), (False, True),
                                               (True, True)])
@with_fixtures
@given(shape=shapes, seed=seeds)
def test_bce_with_logits_equals_torch(torch, reduction, pos_weight, weight, shape, seed):
    rng = np.random.default_rng(seed)
    z_np = rng.standard_normal(shape) * 4
    t_np = rng.integers(0, 2, shape).astype(np.float64)
    pw = rng.uniform(0.2, 3, shape[-1:]) if pos_weight else None
    w = rng.uniform(0.2, 3, shape[-1:]) if weight else None
    ours = nn.BCEWithLogitsLoss(weight=None if w is None else cr.tensor(w), reduction=reduction,
                                pos_weight=None if pw is None else cr.tensor(pw))
    theirs = torch.nn.BCEWithLogitsLoss(
        weight=None if w is None else torch.from_numpy(w), reduction=reduction,
        pos_weight=None if pw is None else torch.from_numpy(pw))
    _run(torch, ours, theirs, z_np, t_np)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("pos_weight", [None, 3.0])
def test_bce_with_logits_extreme_logits_stay_finite(torch, dtype, pos_weight):
    z_np = np.array([-100.0, -100.0, 100.0, 100.0, 0.0], dtype=dtype)
    t_np = np.array([0.0, 1.0, 0.0, 1.0, 1.0], dtype=dtype)
    pw = None if pos_weight is None else np.full(5, pos_weight, dtype)
    z = cr.tensor(z_np, requires_grad=True)
    loss = nn.BCEWithLogitsLoss(reduction="none", pos_weight=pw)(z, cr.tensor(t_np))
    loss.sum().backward()
    tz = torch.tensor(z_np, requires_grad=True)
    tloss = torch.nn.BCEWithLogitsLoss(
        reduction="none", pos_weight=None if pw is None else torch.from_numpy(pw))(
        tz, torch.from_numpy(t_np))
    tloss.sum().backward()
    assert np.all(np.isfinite(loss.detach().numpy()))
    assert np.all(np.isfinite(z.grad.detach().numpy()))
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(loss.detach().numpy(), tloss.detach().numpy(), rtol=rtol, atol=1e-7)
    np.testing.assert_allclose(z.grad.detach().numpy(), tz.grad.numpy(), rtol=rtol, atol=1e-7)
    want = 100 * (1 if pos_weight is None else pos_weight)
    assert loss.detach().numpy()[1] == pytest.approx(want)


# ----------------------------------------------------------------- cross-entropy and NLL
def _class_targets(rng, shape_wo_c, n_classes, ignore_index=None, ignore_frac=0.3):
    t = rng.integers(0, n_classes, shape_wo_c)
    if ignore_index is not None:
        mask = rng.uniform(size=shape_wo_c) < ignore_frac
        mask.flat[0] = False  # keep at least one counted target (torch gives NaN otherwise)
        t = np.where(mask, ignore_index, t)
    return t.astype(np.int64)


CE_CASES = {
    # name: (weight, ignore_index, label_smoothing)
    "plain": (False, None, 0.0),
    "weight": (True, None, 0.0),
    "ignore": (False, -100, 0.0),
    "ignore=2": (False, 2, 0.0),
    "weight+ignore": (True, 1, 0.0),
    "smooth": (False, None, 0.2),
    "smooth+weight": (True, None, 0.15),
    "smooth+ignore": (False, -100, 0.1),
    "smooth+weight+ignore": (True, 0, 0.3),
    "smooth=1": (False, None, 1.0),
}


@pytest.mark.parametrize("case", list(CE_CASES))
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("k_dims", [(), (3,), (2, 3)], ids=["NC", "NCd", "NCd1d2"])
def test_cross_entropy_class_indices_equal_torch(torch, case, reduction, k_dims):
    with_weight, ignore_index, smoothing = CE_CASES[case]
    rng = np.random.default_rng(zlib.crc32(repr((case, reduction, k_dims)).encode()))
    n, c = 5, 4
    x_np = rng.standard_normal((n, c, *k_dims)) * 2
    t_np = _class_targets(rng, (n, *k_dims), c, ignore_index)
    w_np = rng.uniform(0.2, 2.0, c) if with_weight else None
    kw = {"reduction": reduction, "label_smoothing": smoothing}
    if ignore_index is not None:
        kw["ignore_index"] = ignore_index
    ours = nn.CrossEntropyLoss(weight=None if w_np is None else cr.tensor(w_np), **kw)
    theirs = torch.nn.CrossEntropyLoss(weight=None if w_np is None else torch.from_numpy(w_np),
                                       **kw)
    _run(torch, ours, theirs, x_np, t_np)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("with_weight", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.25])
@pytest.mark.parametrize("k_dims", [(), (2, 3)], ids=["NC", "NCd1d2"])
def test_cross_entropy_class_probabilities_equal_torch(torch, reduction, with_weight, smoothing,
                                                       k_dims):
    rng = np.random.default_rng(7)
    n, c = 4, 5
    x_np = rng.standard_normal((n, c, *k_dims))
    logits_t = rng.standard_normal((n, c, *k_dims))
    p_np = np.exp(logits_t) / np.exp(logits_t).sum(axis=1, keepdims=True)
    w_np = rng.uniform(0.2, 2.0, c) if with_weight else None
    kw = {"reduction": reduction, "label_smoothing": smoothing}
    ours = nn.CrossEntropyLoss(weight=None if w_np is None else cr.tensor(w_np), **kw)
    theirs = torch.nn.CrossEntropyLoss(weight=None if w_np is None else torch.from_numpy(w_np),
                                       **kw)
    _run(torch, ours, theirs, x_np, p_np)


@with_fixtures
@given(n=st.integers(1, 6), c=st.integers(1, 6), seed=seeds,
       reduction=st.sampled_from(REDUCTIONS))
def test_cross_entropy_random_sizes_equal_torch(torch, n, c, seed, reduction):
    rng = np.random.default_rng(seed)
    x_np = rng.standard_normal((n, c)) * 3
    t_np = rng.integers(0, c, n)
    _run(torch, nn.CrossEntropyLoss(reduction=reduction),
         torch.nn.CrossEntropyLoss(reduction=reduction), x_np, t_np)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_unbatched_input_equals_torch(torch, reduction):
    x_np = np.array([0.3, -1.2, 2.0, 0.1])
    _run(torch, nn.CrossEntropyLoss(reduction=reduction),
         torch.nn.CrossEntropyLoss(reduction=reduction), x_np, np.array(2))
    _run(torch, nn.CrossEntropyLoss(reduction=reduction, label_smoothing=0.1),
         torch.nn.CrossEntropyLoss(reduction=reduction, label_smoothing=0.1), x_np, np.array(1))


def test_cross_entropy_gradient_is_softmax_minus_onehot_over_n():
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal((6, 4))
    t_np = rng.integers(0, 4, 6)
    x = cr.tensor(x_np, requires_grad=True)
    nn.CrossEntropyLoss()(x, t_np).backward()
    p = np.exp(x_np) / np.exp(x_np).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(x.grad.detach().numpy(), (p - np.eye(4)[t_np]) / 6, rtol=1e-12,
                               atol=1e-15)


def test_cross_entropy_large_logits_are_stable():
    x = cr.tensor([[1000.0, 0.0, -1000.0]], requires_grad=True)
    loss = nn.CrossEntropyLoss()(x, np.array([2]))
    loss.backward()
    assert loss.item() == pytest.approx(2000.0)
    assert np.all(np.isfinite(x.grad.detach().numpy()))


def test_cross_entropy_invalid_arguments():
    x = cr.randn(3, 4)
    with pytest.raises(ValueError, match="label_smoothing"):
        nn.CrossEntropyLoss(label_smoothing=1.5)(x, np.array([0, 1, 2]))
    with pytest.raises(IndexError, match="out of bounds"):
        nn.CrossEntropyLoss()(x, np.array([0, 4, 1]))
    with pytest.raises(ShapeError, match="target shape"):
        nn.CrossEntropyLoss()(x, np.array([0, 1]))
    with pytest.raises(ShapeError, match="cross_entropy"):
        nn.CrossEntropyLoss()(x, cr.rand(3, 5))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("with_weight", [False, True])
@pytest.mark.parametrize("ignore_index", [None, 1])
@pytest.mark.parametrize("k_dims", [(), (3,), (2, 2)], ids=["NC", "NCd", "NCd1d2"])
def test_nll_loss_equals_torch(torch, reduction, with_weight, ignore_index, k_dims):
    rng = np.random.default_rng(11)
    n, c = 6, 3
    logits = rng.standard_normal((n, c, *k_dims))
    logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    t_np = _class_targets(rng, (n, *k_dims), c, ignore_index)
    w_np = rng.uniform(0.2, 2.0, c) if with_weight else None
    kw = {"reduction": reduction}
    if ignore_index is not None:
        kw["ignore_index"] = ignore_index
    ours = nn.NLLLoss(weight=None if w_np is None else cr.tensor(w_np), **kw)
    theirs = torch.nn.NLLLoss(weight=None if w_np is None else torch.from_numpy(w_np), **kw)
    _run(torch, ours, theirs, logp, t_np)


def test_nll_loss_rejects_float_targets():
    with pytest.raises(TypeError, match="integer"):
        nn.NLLLoss()(cr.randn(2, 3), cr.tensor([0.0, 1.0]))


def test_log_softmax_then_nll_equals_cross_entropy():
    rng = np.random.default_rng(5)
    x = cr.tensor(rng.standard_normal((5, 4)))
    t = rng.integers(0, 4, 5)
    a = nn.NLLLoss()(nn.LogSoftmax(dim=1)(x), t)
    b = nn.CrossEntropyLoss()(x, t)
    assert a.item() == pytest.approx(b.item(), rel=1e-6)


# --------------------------------------------- the fused softmax cross-entropy node
def _fused_and_composite(x_np, t_np, reduction, ignore_index=-100):
    from chainrule.nn import functional as F

    x1 = cr.tensor(x_np, requires_grad=True)
    fused = F.cross_entropy(x1, cr.tensor(t_np), ignore_index=ignore_index, reduction=reduction)
    x2 = cr.tensor(x_np, requires_grad=True)
    composite = F.nll_loss(F.log_softmax(x2, dim=1), cr.tensor(t_np), ignore_index=ignore_index,
                           reduction=reduction)
    return x1, fused, x2, composite


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_cross_entropy_is_one_node_equal_to_log_softmax_then_nll(rng, reduction, dtype):
    x_np = rng.standard_normal((9, 5)).astype(dtype)
    t_np = rng.integers(0, 5, 9)
    t_np[[2, 7]] = -100  # ignored
    x1, fused, x2, composite = _fused_and_composite(x_np, t_np, reduction)
    assert type(fused.grad_fn).__name__ == "SoftmaxCrossEntropy"
    assert fused.dtype == dtype
    np.testing.assert_allclose(fused.detach().numpy(), composite.detach().numpy(),
                               rtol=1e-6 if dtype == np.float32
                               else 1e-14)
    fused.backward()
    composite.backward()
    np.testing.assert_allclose(x1.grad.detach().numpy(), x2.grad.detach().numpy(), rtol=1e-6,
                               atol=1e-7)
    assert np.all(x1.grad.detach().numpy()[[2, 7]] == 0)


def test_fused_cross_entropy_gradcheck_and_second_derivative_match_torch(torch, rng):
    x_np = rng.standard_normal((6, 4))
    t_np = np.array([0, 3, -1, 2, 1, 3])
    assert cr.gradcheck(lambda x: nn.functional.cross_entropy(x, cr.tensor(t_np),
                                                              ignore_index=-1),
                        (cr.tensor(x_np, requires_grad=True),))
    v_np = rng.standard_normal((6, 4))
    x = cr.tensor(x_np, requires_grad=True)
    loss = nn.functional.cross_entropy(x, cr.tensor(t_np), ignore_index=-1)
    (gx,) = cr.autograd.grad(loss, x, create_graph=True)
    (hv,) = cr.autograd.grad((gx * cr.tensor(v_np)).sum(), x)
    tx = torch.tensor(x_np, requires_grad=True)
    tl = torch.nn.functional.cross_entropy(tx, torch.from_numpy(t_np), ignore_index=-1)
    (tgx,) = torch.autograd.grad(tl, tx, create_graph=True)
    (thv,) = torch.autograd.grad((tgx * torch.from_numpy(v_np)).sum(), tx)
    np.testing.assert_allclose(gx.detach().numpy(), tgx.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(hv.detach().numpy(), thv.numpy(), rtol=1e-10, atol=1e-12)


def test_fused_cross_entropy_with_every_target_ignored_is_nan_like_torch():
    x_np = np.ones((3, 4))
    _, fused, _, composite = _fused_and_composite(x_np, np.full(3, -100), "mean")
    assert np.isnan(fused.item()) and np.isnan(composite.item())


# ----------------------------------------------------------------- L1, smooth L1, Huber, KL
ROBUST = {
    "L1Loss": ("L1Loss", {}),
    "SmoothL1Loss": ("SmoothL1Loss", {}),
    "SmoothL1Loss(beta=0.3)": ("SmoothL1Loss", dict(beta=0.3)),
    "SmoothL1Loss(beta=0)": ("SmoothL1Loss", dict(beta=0.0)),
    "HuberLoss": ("HuberLoss", {}),
    "HuberLoss(delta=0.4)": ("HuberLoss", dict(delta=0.4)),
    "HuberLoss(delta=2.5)": ("HuberLoss", dict(delta=2.5)),
}


def _robust_pair(torch, name: str, reduction: str):
    cls, kw = ROBUST[name]
    return (getattr(nn, cls)(reduction=reduction, **kw),
            getattr(torch.nn, cls)(reduction=reduction, **kw))


def _both_grads(torch, ours, theirs, x_np, t_np, rtol=1e-12, atol=1e-14):
    """Loss value and the gradients w.r.t. input and target (both require grad), first and
    second order (the gradient's gradient along a random direction), against torch."""
    rng = np.random.default_rng(5)
    x, t = cr.tensor(x_np, requires_grad=True), cr.tensor(t_np, requires_grad=True)
    tx, tt = torch.tensor(x_np, requires_grad=True), torch.tensor(t_np, requires_grad=True)
    loss, tloss = ours(x, t), theirs(tx, tt)
    assert loss.shape == tuple(tloss.shape) and loss.dtype == np.float64
    np.testing.assert_allclose(loss.detach().numpy(), tloss.detach().numpy(), rtol=rtol, atol=atol)
    v = rng.standard_normal(loss.shape)
    gx, gt = cr.autograd.grad((loss * cr.tensor(v)).sum(), [x, t], create_graph=True)
    tgx, tgt = torch.autograd.grad((tloss * torch.from_numpy(v)).sum(), [tx, tt],
                                   create_graph=True)
    for ours_g, theirs_g in ((gx, tgx), (gt, tgt)):
        np.testing.assert_allclose(ours_g.detach().numpy(), theirs_g.detach().numpy(), rtol=rtol,
                                   atol=atol)
    w = rng.standard_normal(x_np.shape)
    # a gradient that is constant in (x, t) (the L1 loss's) has no second derivative to follow
    ggx, ggt = (cr.autograd.grad((gx * cr.tensor(w)).sum(), [x, t], allow_unused=True)
                if gx.requires_grad else (None, None))
    tggx, tggt = (torch.autograd.grad((tgx * torch.from_numpy(w)).sum(), [tx, tt],
                                      allow_unused=True) if tgx.requires_grad else (None, None))
    for ours_g, theirs_g in ((ggx, tggx), (ggt, tggt)):
        a = np.zeros(x_np.shape) if ours_g is None else ours_g.detach().numpy()
        b = np.zeros(x_np.shape) if theirs_g is None else theirs_g.detach().numpy(force=True)
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", list(ROBUST))
def test_robust_losses_equal_torch_to_second_order(torch, name, reduction):
    rng = np.random.default_rng(zlib.crc32(f"{name}{reduction}".encode()))
    # differences d = y − t spread over both branches, never exactly on a switch point
    x_np = rng.standard_normal((3, 5)) * 2
    t_np = x_np - (np.round(rng.uniform(-40, 40, (3, 5))) / 10 + 0.05)
    _both_grads(torch, *_robust_pair(torch, name, reduction), x_np, t_np)


@settings(max_examples=10, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                  HealthCheck.too_slow])
@given(shape=shapes, seed=seeds, name=st.sampled_from(list(ROBUST)),
       reduction=st.sampled_from(REDUCTIONS))
def test_robust_losses_on_drawn_shapes_equal_torch(torch, shape, seed, name, reduction):
    rng = np.random.default_rng(seed)
    x_np, t_np = rng.standard_normal(shape) * 2, rng.standard_normal(shape)
    _run(torch, *_robust_pair(torch, name, reduction), x_np, t_np, rtol=1e-12, atol=1e-14)


def test_robust_losses_gradcheck_first_and_second_order():
    """Finite differences of the losses, and of their recorded gradients (second order)."""
    rng = np.random.default_rng(0)
    x = cr.tensor(rng.standard_normal((2, 3)) * 2, requires_grad=True)
    t = cr.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    for fn in (nn.functional.l1_loss, nn.functional.huber_loss,
               lambda a, b: nn.functional.smooth_l1_loss(a, b, beta=0.5),
               lambda a, b: nn.functional.kl_div(a, b.exp(), reduction="batchmean"),
               lambda a, b: nn.functional.kl_div(a, b, reduction="sum", log_target=True)):
        assert cr.gradcheck(fn, [x, t])

        def gradient(a, b, fn=fn):
            return cr.autograd.grad(fn(a, b), [a, b], create_graph=True)

        assert cr.gradcheck(gradient, [x, t])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_weighted_l1_and_huber_equal_torch(torch, reduction):
    rng = np.random.default_rng(1)
    x_np, t_np, w_np = rng.standard_normal((4, 3)), rng.standard_normal((4, 3)), rng.random((4, 3))
    for name in ("l1_loss", "huber_loss"):
        _run(torch, lambda a, b, name=name: getattr(nn.functional, name)(
                 a, b, reduction=reduction, weight=cr.tensor(w_np)),
             lambda a, b, name=name: getattr(torch.nn.functional, name)(
                 a, b, reduction=reduction, weight=torch.from_numpy(w_np)), x_np, t_np,
             rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match="weights and input must have the same size"):
        nn.functional.l1_loss(cr.tensor(x_np), cr.tensor(t_np), weight=cr.tensor(w_np[0]))


def _log_probs(rng, shape):
    z = rng.standard_normal(shape)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


@pytest.mark.filterwarnings("ignore:.*'mean' divides the total loss")
@pytest.mark.parametrize("log_target", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "batchmean", "sum", "none"])
def test_kl_div_equals_torch_to_second_order(torch, reduction, log_target):
    rng = np.random.default_rng(2)
    x_np = _log_probs(rng, (4, 6))
    t_np = _log_probs(rng, (4, 6))
    if not log_target:
        t_np = np.exp(t_np)
    kw = dict(reduction=reduction, log_target=log_target)
    _both_grads(torch, nn.KLDivLoss(**kw), torch.nn.KLDivLoss(**kw), x_np, t_np)


def test_kl_div_zero_target_probability_like_torch(torch):
    """t log t = 0 at t = 0 (the loss stays finite); its derivative there is NaN, as torch's."""
    x_np = np.log(np.array([[0.2, 0.3, 0.5], [0.6, 0.2, 0.2]]))
    t_np = np.array([[0.0, 0.4, 0.6], [1.0, 0.0, 0.0]])
    x, t = cr.tensor(x_np, requires_grad=True), cr.tensor(t_np, requires_grad=True)
    tx, tt = torch.tensor(x_np, requires_grad=True), torch.tensor(t_np, requires_grad=True)
    loss = nn.functional.kl_div(x, t, reduction="batchmean")
    tloss = torch.nn.functional.kl_div(tx, tt, reduction="batchmean")
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-14)
    loss.backward()
    tloss.backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), tx.grad.numpy(), rtol=1e-14)
    np.testing.assert_array_equal(np.isnan(t.grad.detach().numpy()), np.isnan(tt.grad.numpy()))
    finite = ~np.isnan(tt.grad.numpy())
    np.testing.assert_allclose(t.grad.detach().numpy()[finite], tt.grad.numpy()[finite],
                               rtol=1e-14)


def test_kl_div_float32_and_broadcast_target_equal_torch(torch):
    rng = np.random.default_rng(3)
    x_np = _log_probs(rng, (5, 4)).astype(np.float32)
    t_np = np.exp(_log_probs(rng, (4,))).astype(np.float32)
    loss = nn.KLDivLoss(reduction="batchmean")(cr.tensor(x_np), cr.tensor(t_np))
    tloss = torch.nn.KLDivLoss(reduction="batchmean")(torch.from_numpy(x_np),
                                                      torch.from_numpy(t_np))
    assert loss.dtype == np.float32
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-6)


def test_kl_div_mean_warns_and_legacy_arguments_map_like_torch(torch):
    x = cr.tensor(_log_probs(np.random.default_rng(4), (3, 4)))
    t = cr.tensor(np.full((3, 4), 0.25))
    with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
        nn.KLDivLoss()(x, t)
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
        legacy = nn.KLDivLoss(size_average=False)
    assert legacy.reduction == "sum"
    with pytest.warns(UserWarning, match="reduction='none'"):
        assert nn.L1Loss(reduce=False).reduction == "none"
    with pytest.warns(UserWarning):
        assert nn.SmoothL1Loss(None, True, beta=0.5).reduction == "mean"


@pytest.mark.parametrize(("build", "error", "pattern"), [
    (lambda: nn.KLDivLoss(reduction="avg"), ValueError, "KLDivLoss: reduction must be one of"),
    (lambda: nn.L1Loss(reduction="batchmean"), ValueError, "L1Loss: reduction must be one of"),
    (lambda: nn.HuberLoss(reduction="max"), ValueError, "HuberLoss: reduction must be"),
])
def test_robust_loss_constructor_errors(build, error, pattern):
    with pytest.raises(error, match=pattern):
        build()


def test_robust_loss_call_errors():
    x, t = cr.tensor([1.0, 2.0]), cr.tensor([1.0, 2.0, 3.0])
    with pytest.raises(ShapeError, match=r"l1_loss: input shape \(2,\) and target shape \(3,\)"):
        nn.L1Loss()(x, t)
    with pytest.raises(RuntimeError, match="smooth_l1_loss: beta must not be negative"):
        nn.SmoothL1Loss(beta=-1.0)(x, x)
    with pytest.raises(RuntimeError, match="huber_loss: delta must be positive"):
        nn.HuberLoss(delta=0.0)(x, x)


def test_robust_loss_reprs_equal_torch(torch):
    for name in ("L1Loss", "SmoothL1Loss", "HuberLoss", "KLDivLoss"):
        assert repr(getattr(nn, name)()) == repr(getattr(torch.nn, name)())
