"""Every update rule equals torch.optim's, step for step, from the same weights and gradients.

float64 runs are compared tightly (they check the formulas and their order of operations);
float32 runs within float32 tolerance (torch fuses a + s*b into one FMA rounding, NumPy rounds
twice, so the last bit may differ).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule import optim

pytestmark = pytest.mark.torch

SHAPES = [(4, 3), (3,), (2, 2, 2), ()]
TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-11, atol=1e-13)}

CONFIGS = {
    "SGD": [
        {}, dict(lr=0.1), dict(lr=0.05, momentum=0.9), dict(lr=0.05, momentum=0.9, nesterov=True),
        dict(lr=0.05, momentum=0.8, dampening=0.3), dict(lr=0.05, weight_decay=0.1),
        dict(lr=0.05, momentum=0.9, weight_decay=0.05, nesterov=True, maximize=True),
        dict(lr=0.02, maximize=True),
    ],
    "Adam": [
        {}, dict(lr=0.02), dict(lr=0.02, weight_decay=0.1), dict(lr=0.02, amsgrad=True),
        dict(lr=0.02, betas=(0.5, 0.9), eps=1e-3, maximize=True),
        dict(lr=0.02, betas=(0.0, 0.99), weight_decay=0.05, amsgrad=True, maximize=True),
    ],
    "AdamW": [
        {}, dict(lr=0.02), dict(lr=0.02, weight_decay=0.3), dict(lr=0.02, amsgrad=True),
        dict(lr=0.02, betas=(0.7, 0.95), eps=1e-4, weight_decay=0.0, maximize=True),
        dict(lr=0.05, weight_decay=0.1, amsgrad=True, maximize=True),
    ],
    "RMSprop": [
        {}, dict(lr=0.005), dict(lr=0.005, centered=True), dict(lr=0.005, momentum=0.9),
        dict(lr=0.005, weight_decay=0.1), dict(lr=0.005, alpha=0.9, eps=1e-4, maximize=True),
        dict(lr=0.002, momentum=0.5, centered=True, weight_decay=0.05, maximize=True),
    ],
}
CASES = [(name, cfg) for name, cfgs in CONFIGS.items() for cfg in cfgs]


def _grad(x: np.ndarray, t: int, seed: int) -> np.ndarray:
    """A gradient that depends on the weights: of a random convex quadratic plus a wiggle."""
    r = np.random.default_rng([seed, t, x.size])
    a = r.uniform(0.5, 2.0, x.shape)
    return np.asarray(a * x + 0.3 * np.sin(3 * x) + 0.2 * r.standard_normal(x.shape), x.dtype)


def _compare(torch, name: str, groups_kw: list[dict], kw: dict, dtype, steps: int = 12,
             seed: int = 0) -> tuple[optim.Optimizer, object]:
    """Run chainrule and torch side by side; assert equal weights after every step."""
    rng = np.random.default_rng(seed)
    ours_groups, theirs_groups, pairs = [], [], []
    for gkw in groups_kw:
        ours, theirs = [], []
        for shape in SHAPES:
            w = rng.standard_normal(shape).astype(dtype)
            ours.append(cr.tensor(w, requires_grad=True))
            theirs.append(torch.tensor(w.copy(), requires_grad=True))
            pairs.append((ours[-1], theirs[-1]))
        ours_groups.append({"params": ours, **gkw})
        theirs_groups.append({"params": theirs, **gkw})
    if len(groups_kw) == 1 and not groups_kw[0]:
        ours_groups, theirs_groups = ours_groups[0]["params"], theirs_groups[0]["params"]
    opt = getattr(optim, name)(ours_groups, **kw)
    topt = getattr(torch.optim, name)(theirs_groups, **kw)
    for t in range(steps):
        for i, (p, tp) in enumerate(pairs):
            g = _grad(p.detach().numpy(), t, seed + i)
            p.grad = cr.tensor(g)
            tp.grad = torch.from_numpy(g.copy())
        opt.step()
        topt.step()
        for p, tp in pairs:
            assert p.detach().numpy().dtype == dtype
            np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), **TOL[dtype],
                                       err_msg=f"{name}({kw}) step {t + 1}")
    return opt, topt


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize(("name", "kw"), CASES, ids=[f"{n}-{c}" for n, c in CASES])
def test_matches_torch(torch, name, kw, dtype, jit_mode):
    opt, topt = _compare(torch, name, [{}], kw, dtype)
    # Same state entries as torch, with the same values and dtypes.
    ours, theirs = opt.state_dict()["state"], topt.state_dict()["state"]
    assert ours.keys() == theirs.keys()
    for i in ours:
        assert ours[i].keys() == theirs[i].keys()
        for k, v in ours[i].items():
            tv = theirs[i][k]
            if k == "step":
                assert v == tv.item()
            else:
                assert v.dtype == dtype
                np.testing.assert_allclose(v, tv.numpy(), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(("name", "groups", "kw"), [
    ("SGD", [dict(lr=0.1), dict(lr=0.01, momentum=0.9)], dict(lr=0.05)),
    ("SGD", [{}, dict(nesterov=True, momentum=0.5, weight_decay=0.1)], dict(lr=0.05)),
    ("Adam", [dict(lr=0.05), dict(betas=(0.5, 0.6), amsgrad=True)], dict(lr=0.01)),
    ("AdamW", [dict(weight_decay=0.5), dict(lr=0.002)], dict(lr=0.02)),
    ("RMSprop", [dict(centered=True), dict(lr=0.001, momentum=0.9)], dict(lr=0.01)),
])
def test_param_groups_match_torch(torch, name, groups, kw):
    opt, topt = _compare(torch, name, groups, kw, np.float64)
    assert [g["lr"] for g in opt.param_groups] == [g["lr"] for g in topt.param_groups]


# Example counts come from the profile in tests/conftest.py; the `torch` fixture is just the
# module, so reusing it across examples is fine.
_SETTINGS = settings(suppress_health_check=[HealthCheck.function_scoped_fixture,
                                            HealthCheck.too_slow])
_dtypes = st.sampled_from([np.float32, np.float64])


@_SETTINGS
@given(lr=st.floats(0.0, 0.3), momentum=st.sampled_from([0.0, 0.5, 0.9]) | st.floats(0, 0.99),
       dampening=st.floats(0, 0.9), weight_decay=st.sampled_from([0.0]) | st.floats(0, 0.5),
       nesterov=st.booleans(), maximize=st.booleans(), dtype=_dtypes)
def test_sgd_hypothesis(torch, lr, momentum, dampening, weight_decay, nesterov, maximize, dtype):
    if nesterov:
        dampening, momentum = 0.0, max(momentum, 0.1)
    _compare(torch, "SGD", [{}], dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize), dtype, steps=10)


@_SETTINGS
@given(name=st.sampled_from(["Adam", "AdamW"]), lr=st.floats(1e-4, 0.1),
       beta1=st.floats(0.0, 0.99), beta2=st.floats(0.5, 0.9999), eps=st.floats(1e-8, 1e-2),
       weight_decay=st.sampled_from([0.0]) | st.floats(0, 0.3), amsgrad=st.booleans(),
       maximize=st.booleans(), dtype=_dtypes)
def test_adam_hypothesis(torch, name, lr, beta1, beta2, eps, weight_decay, amsgrad, maximize,
                         dtype):
    _compare(torch, name, [{}], dict(lr=lr, betas=(beta1, beta2), eps=eps,
                                     weight_decay=weight_decay, amsgrad=amsgrad,
                                     maximize=maximize), dtype, steps=10)


@_SETTINGS
@given(lr=st.floats(1e-4, 0.02), alpha=st.floats(0.5, 0.999), eps=st.floats(1e-8, 1e-2),
       weight_decay=st.sampled_from([0.0]) | st.floats(0, 0.3),
       momentum=st.sampled_from([0.0]) | st.floats(0, 0.95), centered=st.booleans(),
       maximize=st.booleans(), dtype=_dtypes)
def test_rmsprop_hypothesis(torch, lr, alpha, eps, weight_decay, momentum, centered, maximize,
                            dtype):
    _compare(torch, "RMSprop", [{}], dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                          momentum=momentum, centered=centered,
                                          maximize=maximize), dtype, steps=10)


@pytest.mark.parametrize(("name", "kw"), [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)), ("Adam", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, amsgrad=True)), ("RMSprop", dict(lr=0.01, centered=True)),
])
def test_mlp_training_matches_torch(torch, name, kw):
    """A small MLP trained with chainrule's autograd and with torch's, in float64."""
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((16, 3)), rng.standard_normal((16, 1))
    init = [rng.standard_normal(s) * 0.5 for s in [(3, 8), (8,), (8, 1), (1,)]]
    ps = [cr.tensor(w, requires_grad=True) for w in init]
    tps = [torch.tensor(w, requires_grad=True) for w in init]
    opt, topt = getattr(optim, name)(ps, **kw), getattr(torch.optim, name)(tps, **kw)
    xc, yc, xt, yt = cr.tensor(x), cr.tensor(y), torch.tensor(x), torch.tensor(y)
    for step in range(15):
        opt.zero_grad()
        topt.zero_grad()
        w1, b1, w2, b2 = ps
        loss = (((cr.tanh(xc @ w1 + b1) @ w2 + b2) - yc) ** 2).mean()
        loss.backward()
        w1, b1, w2, b2 = tps
        tloss = (((torch.tanh(xt @ w1 + b1) @ w2 + b2) - yt) ** 2).mean()
        tloss.backward()
        np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-10)
        opt.step()
        topt.step()
        for p, tp in zip(ps, tps, strict=True):
            np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), rtol=1e-10,
                                       atol=1e-12,
                                       err_msg=f"step {step}")


def test_compiled_updates_run_for_the_common_configurations(monkeypatch):
    """The optimizers take the backend's one-pass kernels in the common configurations (that the
    kernels equal their NumPy twins bit for bit is tests/backend/test_updates.py's part)."""
    from chainrule.backend import jit, updates

    if not jit.available():
        pytest.skip("numba not installed: pip install chainrule[jit]")
    calls = []
    for name in ("_sgd_momentum_kernel", "_adam_kernel", "_rmsprop_kernel"):
        kernel = getattr(updates, name)
        monkeypatch.setattr(updates, name,
                            lambda *a, k=kernel, n=name: (calls.append(n), k(*a))[1])
    old = jit.set_enabled(True)
    try:
        for opt_cls, kw in ((optim.SGD, dict(lr=0.1, momentum=0.9, weight_decay=5e-4)),
                            (optim.SGD, dict(lr=0.1, momentum=0.9, maximize=True)),
                            (optim.Adam, {}), (optim.AdamW, {}), (optim.RMSprop, {}),
                            (optim.RMSprop, dict(momentum=0.9, weight_decay=0.1))):
            p = cr.tensor(np.ones((3, 2), np.float32), requires_grad=True)
            opt = opt_cls([p], **kw)
            for _ in range(2):
                p.grad = cr.tensor(np.full((3, 2), 0.5, np.float32))
                opt.step()
    finally:
        jit.set_enabled(old)
    # SGD's first step starts the momentum buffer (b_1 = g_1) on the NumPy path.
    assert calls == (["_sgd_momentum_kernel"] * 2 + ["_adam_kernel"] * 4
                     + ["_rmsprop_kernel"] * 4)
