"""Adadelta, Adagrad, NAdam (and Adam's amsgrad) equal torch.optim step for step: the same
weights after every step from the same weights and gradients, the same state entries, state
dicts that round-trip (also from torch), torch's defaults and errors.

float64 runs are compared tightly; float32 ones within float32 tolerance (torch fuses a + s·b
into one FMA rounding where NumPy rounds twice).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule import optim

pytestmark = pytest.mark.torch

SHAPES = [(4, 3), (3,), (2, 2, 2), ()]
TOL = {np.float32: dict(rtol=3e-5, atol=3e-6), np.float64: dict(rtol=1e-11, atol=1e-13)}

CONFIGS = {
    "Adadelta": [
        {}, dict(lr=0.5), dict(lr=0.5, rho=0.5, eps=1e-3), dict(lr=0.8, weight_decay=0.1),
        dict(lr=0.5, rho=0.95, weight_decay=0.05, maximize=True), dict(rho=0.0), dict(rho=1.0),
    ],
    "Adagrad": [
        {}, dict(lr=0.05), dict(lr=0.05, lr_decay=0.1), dict(lr=0.05, weight_decay=0.2),
        dict(lr=0.05, initial_accumulator_value=0.5, eps=1e-4),
        dict(lr=0.1, lr_decay=0.01, weight_decay=0.05, initial_accumulator_value=0.1,
             maximize=True),
    ],
    "NAdam": [
        {}, dict(lr=0.01), dict(lr=0.01, betas=(0.5, 0.9), eps=1e-4),
        dict(lr=0.01, weight_decay=0.1), dict(lr=0.01, weight_decay=0.1,
                                              decoupled_weight_decay=True),
        dict(lr=0.02, momentum_decay=0.05, maximize=True),
        dict(lr=0.01, betas=(0.0, 0.99), momentum_decay=0.0, weight_decay=0.3,
             decoupled_weight_decay=True, maximize=True),
    ],
    "Adam": [  # amsgrad (the max of the second moments) with the options it combines with
        dict(lr=0.02, amsgrad=True, betas=(0.8, 0.9)),
        dict(lr=0.02, amsgrad=True, weight_decay=0.1, maximize=True),
        dict(lr=0.02, amsgrad=True, weight_decay=0.1, decoupled_weight_decay=True),
    ],
}
CASES = [(name, cfg) for name, cfgs in CONFIGS.items() for cfg in cfgs]


def _grad(x: np.ndarray, t: int, seed: int) -> np.ndarray:
    """A gradient that depends on the weights (a convex quadratic plus a wiggle and noise), so
    that a wrong update changes every later gradient too; its size varies, so amsgrad's max
    matters."""
    r = np.random.default_rng([seed, t, x.size])
    a = r.uniform(0.5, 2.0, x.shape) * (3.0 if t % 5 == 1 else 1.0)
    return np.asarray(a * x + 0.3 * np.sin(3 * x) + 0.2 * r.standard_normal(x.shape), x.dtype)


def _params(lib, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [lib.tensor(rng.standard_normal(s).astype(dtype), requires_grad=True) for s in SHAPES]


def _steps(opt, params, steps: range, seed: int = 0) -> None:
    """opt.step() with the gradients of `_grad` at the current weights (chainrule or torch)."""
    for t in steps:
        for i, p in enumerate(params):
            g = _grad(p.detach().numpy(), t, seed + i)
            if isinstance(p, cr.Tensor):
                p.grad = cr.tensor(g)
            else:
                import torch
                p.grad = torch.from_numpy(g.copy())
        opt.step()


def _compare(torch, name, groups_kw, kw, dtype, steps=15, seed=0):
    """Run chainrule and torch side by side; equal weights after every step."""
    ours_all, theirs_all = [], []
    ours_groups, theirs_groups = [], []
    for gi, gkw in enumerate(groups_kw):
        ours, theirs = _params(cr, dtype, seed + gi), _params(torch, dtype, seed + gi)
        ours_all += ours
        theirs_all += theirs
        ours_groups.append({"params": ours, **gkw})
        theirs_groups.append({"params": theirs, **gkw})
    if len(groups_kw) == 1 and not groups_kw[0]:
        ours_groups, theirs_groups = ours_groups[0]["params"], theirs_groups[0]["params"]
    opt = getattr(optim, name)(ours_groups, **kw)
    topt = getattr(torch.optim, name)(theirs_groups, **kw)
    for t in range(steps):
        _steps(opt, ours_all, range(t, t + 1), seed)
        _steps(topt, theirs_all, range(t, t + 1), seed)
        for p, tp in zip(ours_all, theirs_all, strict=True):
            assert p.dtype == dtype
            np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), **TOL[dtype],
                                       err_msg=f"{name}({kw}) step {t + 1}")
    return opt, topt


def _assert_same_state(opt, topt, dtype):
    ours, theirs = opt.state_dict()["state"], topt.state_dict()["state"]
    assert ours.keys() == theirs.keys()
    for i in ours:
        assert ours[i].keys() == theirs[i].keys()
        for k, v in ours[i].items():
            tv = theirs[i][k]
            if k in ("step", "mu_product"):
                assert v == tv.item(), k  # NAdam's Π rounded to float32 as torch's tensor is
            else:
                assert v.dtype == dtype
                np.testing.assert_allclose(v, tv.numpy(), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize(("name", "kw"), CASES, ids=[f"{n}-{c}" for n, c in CASES])
def test_matches_torch_step_for_step(torch, name, kw, dtype):
    opt, topt = _compare(torch, name, [{}], kw, dtype)
    _assert_same_state(opt, topt, dtype)


@pytest.mark.parametrize(("name", "groups", "kw"), [
    ("Adadelta", [dict(lr=0.5), dict(rho=0.5, weight_decay=0.1)], dict(lr=0.9)),
    ("Adagrad", [dict(lr_decay=0.1), dict(lr=0.2, initial_accumulator_value=1.0)],
     dict(lr=0.05)),
    ("NAdam", [dict(betas=(0.5, 0.6)), dict(lr=0.003, decoupled_weight_decay=True,
                                            weight_decay=0.2)], dict(lr=0.01)),
])
def test_param_groups_match_torch(torch, name, groups, kw):
    opt, topt = _compare(torch, name, groups, kw, np.float64, steps=8)
    _assert_same_state(opt, topt, np.float64)


SETTINGS = settings(max_examples=10, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                            HealthCheck.too_slow])
_dtypes = st.sampled_from([np.float32, np.float64])


@SETTINGS
@given(name=st.sampled_from(["Adadelta", "Adagrad", "NAdam"]), lr=st.floats(1e-3, 0.5),
       weight_decay=st.sampled_from([0.0]) | st.floats(0, 0.3), maximize=st.booleans(),
       extra=st.floats(0.0, 0.99), eps=st.floats(1e-8, 1e-2), flag=st.booleans(), dtype=_dtypes)
def test_random_hyperparameters_match_torch(torch, name, lr, weight_decay, maximize, extra,
                                            eps, flag, dtype):
    kw = dict(lr=lr, weight_decay=weight_decay, maximize=maximize, eps=eps)
    if name == "Adadelta":
        kw["rho"] = extra
    elif name == "Adagrad":
        kw.update(lr_decay=extra, initial_accumulator_value=0.5 if flag else 0.0)
        kw["lr"] = lr / 5
    else:
        kw.update(betas=(extra, 0.999), momentum_decay=extra / 10,
                  decoupled_weight_decay=flag, lr=lr / 10)
    _compare(torch, name, [{}], kw, dtype, steps=8)


# ----------------------------------------------------------------- state dicts
@pytest.mark.parametrize(("name", "kw"), [
    ("Adadelta", dict(lr=0.5, weight_decay=0.1)), ("Adagrad", dict(lr=0.05, lr_decay=0.1)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1)), ("Adam", dict(lr=0.01, amsgrad=True)),
])
def test_state_dict_round_trip_and_torch_state_loads(torch, name, kw):
    """Resuming from a state dict (ours, or torch's converted to arrays) continues exactly."""
    ref = _params(cr, np.float64)
    ref_opt = getattr(optim, name)(ref, **kw)
    _steps(ref_opt, ref, range(10))

    ps = _params(cr, np.float64)
    opt = getattr(optim, name)(ps, **kw)
    _steps(opt, ps, range(5))
    saved = copy.deepcopy(opt.state_dict())
    fresh = [cr.tensor(p.detach().numpy().copy(), requires_grad=True) for p in ps]
    new = getattr(optim, name)(fresh, lr=0.123)
    new.load_state_dict(saved)
    assert new.param_groups[0]["lr"] == kw["lr"]
    _steps(new, fresh, range(5, 10))
    for p, r in zip(fresh, ref, strict=True):
        np.testing.assert_array_equal(p.detach().numpy(), r.detach().numpy())

    tps = _params(torch, np.float64)
    topt = getattr(torch.optim, name)(tps, **kw)
    _steps(topt, tps, range(5))
    from_torch = [cr.tensor(p.detach().numpy().copy(), requires_grad=True) for p in tps]
    ours = getattr(optim, name)(from_torch, **kw)
    ours.load_state_dict(topt.state_dict())  # torch tensors in it: steps, buffers, mu_product
    _steps(ours, from_torch, range(5, 10))
    _steps(topt, tps, range(5, 10))
    for p, tp in zip(from_torch, tps, strict=True):
        np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), rtol=1e-11)


def test_adagrad_creates_its_state_up_front_like_torch(torch):
    ours, theirs = _params(cr, np.float32), _params(torch, np.float32)
    sd = optim.Adagrad(ours, initial_accumulator_value=0.25).state_dict()["state"]
    tsd = torch.optim.Adagrad(theirs, initial_accumulator_value=0.25).state_dict()["state"]
    assert sd.keys() == tsd.keys() == set(range(len(SHAPES)))
    for i in sd:
        assert sd[i]["step"] == tsd[i]["step"].item() == 0.0
        np.testing.assert_array_equal(sd[i]["sum"], tsd[i]["sum"].numpy())


def test_defaults_match_torch_signatures(torch):
    ours, theirs = _params(cr, np.float32), _params(torch, np.float32)
    for name in ("Adadelta", "Adagrad", "NAdam"):
        d, td = getattr(optim, name)(ours).defaults, getattr(torch.optim, name)(theirs).defaults
        assert d.items() <= td.items(), name  # torch adds foreach/capturable/differentiable
    assert optim.Adadelta(ours, 0.5, 0.8, 1e-5, 0.1).defaults == dict(
        lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.1, maximize=False)
    adagrad = optim.Adagrad(ours, 0.5, 0.1, 0.2, 0.3, 1e-6).defaults
    assert (adagrad["lr_decay"], adagrad["weight_decay"], adagrad["initial_accumulator_value"],
            adagrad["eps"]) == (0.1, 0.2, 0.3, 1e-6)
    nadam = optim.NAdam(ours, 0.5, (0.8, 0.9), 1e-6, 0.1, 0.01, True).defaults
    assert (nadam["betas"], nadam["momentum_decay"], nadam["decoupled_weight_decay"]) == \
        ((0.8, 0.9), 0.01, True)


@pytest.mark.parametrize(("name", "kw", "message"), [
    ("Adadelta", dict(lr=-1.0), "Adadelta: Invalid learning rate: -1.0"),
    ("Adadelta", dict(rho=1.5), "Invalid rho value: 1.5"),
    ("Adadelta", dict(eps=-1e-3), "Invalid epsilon value: -0.001"),
    ("Adagrad", dict(lr_decay=-0.1), "Invalid lr_decay value: -0.1"),
    ("Adagrad", dict(initial_accumulator_value=-1.0),
     "Invalid initial_accumulator_value value: -1.0"),
    ("NAdam", dict(betas=(1.0, 0.9)), "Invalid beta parameter at index 0: 1.0"),
    ("NAdam", dict(momentum_decay=-1.0), "Invalid momentum_decay value: -1.0"),
    ("NAdam", dict(weight_decay=-0.1), "Invalid weight_decay value: -0.1"),
])
def test_invalid_hyperparameters_raise_like_torch(torch, name, kw, message):
    with pytest.raises(ValueError, match=message.split(": ", 1)[-1].replace(".", r"\.")):
        getattr(torch.optim, name)(_params(torch, np.float32), **kw)
    with pytest.raises(ValueError, match=message.replace(".", r"\.").replace("(", r"\(")):
        getattr(optim, name)(_params(cr, np.float32), **kw)


def test_adadelta_trains_the_mnist_example_layer_like_torch(torch):
    """pytorch/examples' MNIST recipe: Adadelta(lr=1.0) with StepLR(step_size=1, gamma=0.7), on a
    small linear layer with cross-entropy, in float64: the same weights after 6 steps."""
    rng = np.random.default_rng(8)
    x_np, y_np = rng.standard_normal((16, 5)), rng.integers(0, 3, 16)
    model, tmodel = cr.nn.Linear(5, 3, dtype=cr.float64), torch.nn.Linear(5, 3).double()
    model.load_state_dict({k: v.detach().numpy() for k, v in tmodel.state_dict().items()})
    opt, topt = optim.Adadelta(model.parameters(), lr=1.0), torch.optim.Adadelta(
        tmodel.parameters(), lr=1.0)
    sched = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.7)
    tsched = torch.optim.lr_scheduler.StepLR(topt, step_size=1, gamma=0.7)
    for _ in range(6):
        opt.zero_grad()
        topt.zero_grad()
        cr.nn.functional.cross_entropy(model(cr.tensor(x_np)), y_np).backward()
        torch.nn.functional.cross_entropy(tmodel(torch.from_numpy(x_np)),
                                          torch.from_numpy(y_np)).backward()
        opt.step()
        topt.step()
        sched.step()
        tsched.step()
    for p, tp in zip(model.parameters(), tmodel.parameters(), strict=True):
        np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), rtol=1e-12)
