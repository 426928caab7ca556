"""chainrule.nn.utils against torch.nn.utils: gradient clipping by norm and by value (in place),
the total norm, and parameters as one vector."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

SHAPES = [(3, 4), (4,), (2, 1, 3), ()]


def _pairs(torch, dtype=np.float64, scale=1.0, seed=0, shapes=SHAPES):
    """Parameters with the same values and gradients in chainrule and torch."""
    rng = np.random.default_rng(seed)
    ours, theirs = [], []
    for shape in shapes:
        w, g = rng.standard_normal(shape).astype(dtype), (rng.standard_normal(shape) * scale)
        p, tp = cr.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
        p.grad, tp.grad = cr.tensor(g.astype(dtype)), torch.tensor(g.astype(dtype))
        ours.append(p)
        theirs.append(tp)
    return ours, theirs


def _assert_grads(ours, theirs, **tol):
    for p, tp in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(p.grad.detach().numpy(), tp.grad.numpy(), **tol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("norm_type", [2.0, 1, 3.5, math.inf, "inf", 0.5, -math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
def test_clip_grad_norm_equals_torch(torch, norm_type, max_norm, dtype):
    ours, theirs = _pairs(torch, dtype, scale=2.0)
    refs = [p.grad for p in ours]
    total = nn.utils.clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert isinstance(total, cr.Tensor) and total.shape == () and total.dtype == dtype
    tol = dict(rtol=1e-12, atol=0) if dtype == np.float64 else dict(rtol=2e-6, atol=1e-7)
    np.testing.assert_allclose(total.item(), ttotal.item(), **tol)
    _assert_grads(ours, theirs, **tol)
    assert all(p.grad is g for p, g in zip(ours, refs, strict=True))  # clipped in place


def test_clip_grad_norm_result_has_the_norm_and_direction(torch):
    ours, _ = _pairs(torch, scale=10.0)
    before = [p.grad.detach().numpy().copy() for p in ours]
    total = nn.utils.clip_grad_norm_((p for p in ours), max_norm=1.0)  # a generator, read twice
    flat = np.concatenate([b.ravel() for b in before])
    np.testing.assert_allclose(total.item(), np.linalg.norm(flat), rtol=1e-13)
    after = np.concatenate([p.grad.detach().numpy().ravel() for p in ours])
    np.testing.assert_allclose(np.linalg.norm(after), 1.0, rtol=1e-5)  # (1 − ~1e-6 / ‖g‖)
    np.testing.assert_allclose(after, flat * (1.0 / (total.item() + 1e-6)), rtol=1e-13)


def test_clip_grad_norm_skips_missing_grads_and_takes_a_single_tensor(torch):
    ours, theirs = _pairs(torch)
    ours[1].grad = theirs[1].grad = None
    np.testing.assert_allclose(nn.utils.clip_grad_norm_(ours, 0.1).item(),
                               torch.nn.utils.clip_grad_norm_(theirs, 0.1).item(), rtol=1e-12)
    _assert_grads([ours[0], ours[2]], [theirs[0], theirs[2]], rtol=1e-12)
    assert ours[1].grad is None
    total = nn.utils.clip_grad_norm_(ours[0], 1e-3)
    ttotal = torch.nn.utils.clip_grad_norm_(theirs[0], 1e-3)
    np.testing.assert_allclose(total.item(), ttotal.item(), rtol=1e-12)
    empty = nn.utils.clip_grad_norm_([cr.zeros(2, requires_grad=True)], 1.0)
    assert empty.item() == 0.0 and empty.dtype == np.float32


def test_clip_grad_norm_non_finite(torch):
    ours, theirs = _pairs(torch)
    ours[0].grad.detach().numpy()[0, 0] = np.inf
    theirs[0].grad[0, 0] = math.inf
    with pytest.raises(RuntimeError, match="non-finite, so it cannot be clipped"):
        nn.utils.clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)
    with pytest.raises(RuntimeError, match="non-finite"):
        torch.nn.utils.clip_grad_norm_(theirs, 1.0, error_if_nonfinite=True)
    total = nn.utils.clip_grad_norm_(ours, 1.0)
    ttotal = torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    assert total.item() == ttotal.item() == math.inf
    for p, tp in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(p.grad.detach().numpy(), tp.grad.numpy())  # 0s and NaNs


def test_get_total_norm_and_clip_grads_with_norm_equal_torch(torch):
    ours, theirs = _pairs(torch, seed=3)
    grads, tgrads = [p.grad for p in ours], [p.grad for p in theirs]
    total = nn.utils.get_total_norm(grads, norm_type=3.0)
    ttotal = torch.nn.utils.get_total_norm(tgrads, norm_type=3.0)
    np.testing.assert_allclose(total.item(), ttotal.item(), rtol=1e-12)
    nn.utils.clip_grads_with_norm_(ours, 0.7, total)
    torch.nn.utils.clip_grads_with_norm_(theirs, 0.7, ttotal)
    _assert_grads(ours, theirs, rtol=1e-12)


def test_clip_grad_norm_in_a_training_step_equals_torch(torch):
    """backward → clip → SGD step, three times: the same weights as torch (float64)."""
    rng = np.random.default_rng(4)
    x_np, y_np = rng.standard_normal((8, 3)), rng.standard_normal((8, 2))
    model, tmodel = nn.Linear(3, 2, dtype=cr.float64), torch.nn.Linear(3, 2).double()
    model.load_state_dict({k: v.detach().numpy() for k, v in tmodel.state_dict().items()})
    opt = cr.optim.SGD(model.parameters(), lr=0.5)
    topt = torch.optim.SGD(tmodel.parameters(), lr=0.5)
    for _ in range(3):
        opt.zero_grad()
        topt.zero_grad()
        ((model(cr.tensor(x_np)) - cr.tensor(y_np)) ** 2).sum().backward()
        ((tmodel(torch.from_numpy(x_np)) - torch.from_numpy(y_np)) ** 2).sum().backward()
        nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        torch.nn.utils.clip_grad_norm_(tmodel.parameters(), 0.25)
        opt.step()
        topt.step()
    for (k, p), tp in zip(model.named_parameters(), tmodel.parameters(), strict=True):
        np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), rtol=1e-12, err_msg=k)


@pytest.mark.parametrize("clip_value", [0.3, 2.0])
def test_clip_grad_value_equals_torch(torch, clip_value):
    ours, theirs = _pairs(torch, scale=2.0)
    refs = [p.grad for p in ours]
    ours[0].grad.detach().numpy()[0, 0] = np.nan
    theirs[0].grad[0, 0] = math.nan
    assert nn.utils.clip_grad_value_(ours, clip_value) is None
    torch.nn.utils.clip_grad_value_(theirs, clip_value)
    _assert_grads(ours, theirs, rtol=0)
    assert all(p.grad is g for p, g in zip(ours, refs, strict=True))


def test_clipping_bumps_the_gradient_version_and_leaves_other_arrays_alone():
    p = cr.tensor([3.0, 4.0], requires_grad=True)
    (p * cr.tensor([3.0, 4.0])).sum().backward()  # p.grad = [3, 4], its own array
    g = p.grad
    before = g._version
    nn.utils.clip_grad_norm_([p], 1.0)
    assert g._version > before
    np.testing.assert_allclose(g.detach().numpy(), [0.6, 0.8], rtol=1e-6)


def test_parameters_to_vector_and_back_equal_torch(torch):
    ours, theirs = _pairs(torch)
    vec = nn.utils.parameters_to_vector(ours)
    tvec = torch.nn.utils.parameters_to_vector(theirs)
    np.testing.assert_array_equal(vec.detach().numpy(), tvec.detach().numpy())
    assert vec.requires_grad and vec.shape == (sum(p.numel() for p in ours),)
    # differentiable: d(Σ c_i v_i)/dθ is c laid out as the parameters
    c = np.arange(vec.shape[0], dtype=np.float64)
    grads = cr.autograd.grad((vec * cr.tensor(c)).sum(), ours)
    tgrads = torch.autograd.grad((tvec * torch.from_numpy(c)).sum(), theirs)
    for g, tg in zip(grads, tgrads, strict=True):
        np.testing.assert_array_equal(g.detach().numpy(), tg.numpy())

    new = np.linspace(-1, 1, vec.shape[0])
    v, tv = cr.tensor(new), torch.tensor(new)
    nn.utils.vector_to_parameters(v, ours)
    torch.nn.utils.vector_to_parameters(tv, theirs)
    for p, tp in zip(ours, theirs, strict=True):
        assert p.shape == tuple(tp.shape)
        np.testing.assert_array_equal(p.detach().numpy(), tp.detach().numpy())
    with cr.no_grad():  # as in torch, the parameters now view the vector's memory
        v[0] = 42.0
    tv[0] = 42.0
    assert ours[0].detach().numpy()[0, 0] == theirs[0][0, 0].item() == 42.0


def test_vector_to_parameters_errors():
    ps = [cr.zeros(2, 3, requires_grad=True), cr.zeros(4, requires_grad=True)]
    with pytest.raises(TypeError, match="expected a Tensor, but got: ndarray"):
        nn.utils.vector_to_parameters(np.zeros(10), ps)
    with pytest.raises(RuntimeError, match="the vector has 7 entries, too few"):
        nn.utils.vector_to_parameters(cr.zeros(7), ps)


def test_utils_are_reached_as_in_torch():
    import chainrule.nn.utils as utils
    from chainrule.nn.utils import clip_grad_norm_

    assert nn.utils is utils and utils.clip_grad_norm_ is clip_grad_norm_
    assert {"clip_grad_norm_", "clip_grad_value_", "parameters_to_vector",
            "vector_to_parameters"} <= set(utils.__all__)
