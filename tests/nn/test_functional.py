"""`chainrule.nn.functional`: finite-difference gradchecks of the losses, the l2 penalty, and the
functional forms agreeing with their modules."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F


def _f64(rng, *shape, requires_grad=True):
    return cr.tensor(rng.standard_normal(shape), requires_grad=requires_grad)


# ----------------------------------------------------------------- l2 penalty
def test_l2_penalty_is_half_the_squared_norm_and_its_gradient_is_w():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3, dtype=cr.float64), nn.ReLU(),
                          nn.Linear(3, 2, dtype=cr.float64))
    r = F.l2_penalty(model.parameters())
    expected = 0.5 * sum(float((p.detach().numpy() ** 2).sum()) for p in model.parameters())
    assert r.item() == pytest.approx(expected, rel=1e-12)
    r.backward()
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad.detach().numpy(), p.detach().numpy(), rtol=1e-12,
                                   err_msg=name)


def test_l2_penalty_scaled_by_lambda_adds_lambda_w_to_the_gradient():
    w = cr.tensor([[1.0, -2.0], [3.0, 0.5]], dtype=cr.float64, requires_grad=True)
    lam = 0.1
    (lam * F.l2_penalty([w])).backward()
    np.testing.assert_allclose(w.grad.detach().numpy(), lam * w.detach().numpy())
    assert F.l2_penalty([w]).item() == pytest.approx(0.5 * (1 + 4 + 9 + 0.25))


def test_l2_penalty_accepts_a_generator_and_rejects_nothing():
    w = cr.ones(3)
    assert F.l2_penalty(p for p in [w, w]).item() == pytest.approx(3.0)
    with pytest.raises(ValueError, match="no parameters"):
        F.l2_penalty([])


def test_l2_penalty_gradcheck():
    rng = np.random.default_rng(0)
    a, b = _f64(rng, 3, 2), _f64(rng, 4)
    assert cr.gradcheck(lambda x, y: F.l2_penalty([x, y]), [a, b])


# ----------------------------------------------------------------- gradchecks of the losses
REDUCTIONS = ["mean", "sum", "none"]


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gradcheck_mse_and_half_squared_error(reduction):
    rng = np.random.default_rng(1)
    y, t = _f64(rng, 3, 2), _f64(rng, 3, 2, requires_grad=False)
    assert cr.gradcheck(lambda a: F.mse_loss(a, t, reduction), [y])
    assert cr.gradcheck(lambda a: F.half_squared_error(a, t, reduction), [y])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gradcheck_binary_cross_entropy_input_and_target(reduction):
    rng = np.random.default_rng(2)
    y = cr.tensor(rng.uniform(0.1, 0.9, (3, 2)), requires_grad=True)
    t = cr.tensor(rng.uniform(0, 1, (3, 2)), requires_grad=True)
    w = cr.tensor(rng.uniform(0.5, 2, 2))
    assert cr.gradcheck(lambda a, b: F.binary_cross_entropy(a, b, w, reduction), [y, t])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gradcheck_bce_with_logits(reduction):
    rng = np.random.default_rng(3)
    z = _f64(rng, 3, 2)
    t = cr.tensor(rng.integers(0, 2, (3, 2)).astype(np.float64))
    pw, w = cr.tensor(rng.uniform(0.5, 2, 2)), cr.tensor(rng.uniform(0.5, 2, 2))
    assert cr.gradcheck(
        lambda a: F.binary_cross_entropy_with_logits(a, t, w, reduction, pos_weight=pw), [z])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("kwargs", [{}, {"label_smoothing": 0.2},
                                    {"ignore_index": 1, "label_smoothing": 0.1},
                                    {"weight": "w", "ignore_index": 0, "label_smoothing": 0.3}],
                         ids=["plain", "smooth", "smooth+ignore", "smooth+weight+ignore"])
def test_gradcheck_cross_entropy_indices(reduction, kwargs):
    rng = np.random.default_rng(4)
    x = _f64(rng, 4, 3, 2)
    t = np.array([[0, 1], [2, 2], [1, 0], [2, 1]])
    if kwargs.get("weight") == "w":
        kwargs = {**kwargs, "weight": cr.tensor(rng.uniform(0.5, 2, 3))}
    assert cr.gradcheck(lambda a: F.cross_entropy(a, t, reduction=reduction, **kwargs), [x])


def test_gradcheck_cross_entropy_probabilities_and_nll():
    rng = np.random.default_rng(5)
    x = _f64(rng, 3, 4)
    p = cr.tensor(rng.dirichlet(np.ones(4), 3))
    w = cr.tensor(rng.uniform(0.5, 2, 4))
    assert cr.gradcheck(lambda a: F.cross_entropy(a, p, weight=w, label_smoothing=0.1), [x])
    t = np.array([3, 0, 2])
    assert cr.gradcheck(lambda a: F.nll_loss(a, t, weight=w, ignore_index=0), [x])


# ----------------------------------------------------------------- functional == module
def test_functional_forms_equal_their_modules():
    rng = np.random.default_rng(6)
    x = cr.tensor(rng.standard_normal((4, 3)))
    t = rng.integers(0, 3, 4)
    y = cr.tensor(rng.uniform(0.1, 0.9, (4, 3)))
    soft = cr.tensor(rng.uniform(0, 1, (4, 3)))
    pairs = [
        (nn.ReLU()(x), F.relu(x)),
        (nn.Sigmoid()(x), F.sigmoid(x)),
        (nn.Tanh()(x), F.tanh(x)),
        (nn.Softplus(2.0, 3.0)(x), F.softplus(x, 2.0, 3.0)),
        (nn.HardThreshold()(x), F.step(x)),
        (nn.HardThreshold()(x), F.hard_threshold(x)),
        (nn.Softmax(dim=1)(x), F.softmax(x, dim=1)),
        (nn.LogSoftmax(dim=0)(x), F.log_softmax(x, dim=0)),
        (nn.Flatten(0)(x), F.flatten(x, 0)),
        (nn.MSELoss()(x, soft), F.mse_loss(x, soft)),
        (nn.HalfSquaredErrorLoss("sum")(x, soft), F.half_squared_error(x, soft, "sum")),
        (nn.BCELoss()(y, soft), F.binary_cross_entropy(y, soft)),
        (nn.BCEWithLogitsLoss()(x, soft), F.binary_cross_entropy_with_logits(x, soft)),
        (nn.CrossEntropyLoss(label_smoothing=0.1)(x, t), F.cross_entropy(x, t,
                                                                        label_smoothing=0.1)),
        (nn.NLLLoss()(x, t), F.nll_loss(x, t)),
    ]
    for i, (a, b) in enumerate(pairs):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy(), err_msg=f"pair {i}")
    assert F.identity(x) is x


def test_functional_losses_reject_an_unknown_reduction():
    x = cr.randn(2, 3)
    for fn, args in [(F.mse_loss, (x, x)), (F.half_squared_error, (x, x)),
                     (F.binary_cross_entropy_with_logits, (x, x)),
                     (F.nll_loss, (x, np.array([0, 1]))),
                     (F.cross_entropy, (x, np.array([0, 1])))]:
        with pytest.raises(ValueError, match="reduction"):
            fn(*args, reduction="avg")
