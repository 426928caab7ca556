"""LambdaLR, LinearLR, SequentialLR, CosineAnnealingWarmRestarts and ReduceLROnPlateau: the lr
sequences equal torch's exactly (floats included), get_last_lr, state dicts, errors."""

from __future__ import annotations

import math
import warnings

import pytest

import chainrule as cr
from chainrule import optim
from chainrule.optim import lr_scheduler


def _opt(lib, name="SGD", **kw):
    ps = [lib.zeros(2, requires_grad=True), lib.zeros(3, requires_grad=True)]
    kw = kw or dict(lr=0.1, momentum=0.9)
    return getattr(lib.optim, name)([{"params": ps[:1]}, {"params": ps[1:], "lr": 0.05}], **kw)


def _lrs(opt):
    return [g["lr"] for g in opt.param_groups]


class Warmup:
    """A callable object: LambdaLR's state dict keeps its attributes (a lambda has none)."""

    def __init__(self, steps: int) -> None:
        self.steps = steps

    def __call__(self, epoch: int) -> float:
        return min(1.0, (epoch + 1) / self.steps)


def _lambda(lib, opt):
    return lib.optim.lr_scheduler.LambdaLR(opt, lambda e: 0.95 ** e)


def _lambda_per_group(lib, opt):
    return lib.optim.lr_scheduler.LambdaLR(opt, [Warmup(5), lambda e: 1 / (1 + e)])


def _linear(lib, opt, **kw):
    return lib.optim.lr_scheduler.LinearLR(opt, **kw)


def _warm_restarts(lib, opt, **kw):
    return lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, **kw)


def _sequential(lib, opt):
    s = lib.optim.lr_scheduler
    return s.SequentialLR(opt, [s.LinearLR(opt, start_factor=0.1, total_iters=5),
                                s.CosineAnnealingLR(opt, T_max=20),
                                s.ExponentialLR(opt, gamma=0.9)], milestones=[5, 25])


def _sequential_lambda_steps(lib, opt):
    s = lib.optim.lr_scheduler
    return s.SequentialLR(opt, [s.LambdaLR(opt, lambda e: 0.5 + e / 10),
                                s.StepLR(opt, step_size=4, gamma=0.5),
                                s.CosineAnnealingWarmRestarts(opt, T_0=6)], milestones=[3, 17])


def _sequential_nested(lib, opt):
    s = lib.optim.lr_scheduler
    inner = s.SequentialLR(opt, [s.LinearLR(opt, 0.5, 0.5, 2), s.LinearLR(opt, 0.2, 1.0, 4)],
                           milestones=[3])
    return s.SequentialLR(opt, [inner, s.ExponentialLR(opt, 0.8)], milestones=[10])


BUILDERS = {
    "LambdaLR": _lambda,
    "LambdaLR(per group)": _lambda_per_group,
    "LinearLR": lambda lib, opt: _linear(lib, opt),
    "LinearLR(0.25, 0.5, 30)": lambda lib, opt: _linear(lib, opt, start_factor=0.25,
                                                         end_factor=0.5, total_iters=30),
    "LinearLR(decay)": lambda lib, opt: _linear(lib, opt, start_factor=1.0, end_factor=0.0,
                                                total_iters=40),
    "CosineAnnealingWarmRestarts(7)": lambda lib, opt: _warm_restarts(lib, opt, T_0=7),
    "CosineAnnealingWarmRestarts(3, 2, 1e-3)": lambda lib, opt: _warm_restarts(
        lib, opt, T_0=3, T_mult=2, eta_min=1e-3),
    "SequentialLR(linear, cosine, exp)": _sequential,
    "SequentialLR(lambda, step, restarts)": _sequential_lambda_steps,
}
STEPS = 50


def _run(opt, sched, steps):
    out = []
    for _ in range(steps):
        opt.step()
        sched.step()
        out.append((tuple(sched.get_last_lr()), tuple(_lrs(opt))))
    return out


@pytest.mark.torch
@pytest.mark.parametrize("opt_name", ["SGD", "Adam"])
@pytest.mark.parametrize("name", list(BUILDERS))
def test_sequence_equals_torch(torch, name, opt_name):
    kw = dict(lr=0.1, momentum=0.9) if opt_name == "SGD" else dict(lr=0.01)
    opt, topt = _opt(cr, opt_name, **kw), _opt(torch, opt_name, **kw)
    sched, tsched = BUILDERS[name](cr, opt), BUILDERS[name](torch, topt)
    assert sched.get_last_lr() == tsched.get_last_lr() and _lrs(opt) == _lrs(topt)
    assert _run(opt, sched, STEPS) == _run(topt, tsched, STEPS)  # exactly
    state, tstate = sched.state_dict(), tsched.state_dict()
    assert set(state) == set(tstate)
    for key in ("base_lrs", "last_epoch", "_step_count", "_last_lr", "T_cur", "T_i",
                "_milestones"):
        if key in tstate:
            assert state[key] == tstate[key], key


@pytest.mark.filterwarnings("ignore:Detected call of:UserWarning")
def test_nested_sequential_equals_torch(torch):
    """A SequentialLR inside a SequentialLR (its construction steps the inner one early, and
    both libraries warn about that)."""
    opt, topt = _opt(cr), _opt(torch)
    sched, tsched = _sequential_nested(cr, opt), _sequential_nested(torch, topt)
    assert _run(opt, sched, 20) == _run(topt, tsched, 20)


@pytest.mark.torch
@pytest.mark.parametrize("name", list(BUILDERS))
def test_state_dict_round_trip(torch, name):
    opt = _opt(cr)
    sched = BUILDERS[name](cr, opt)
    _run(opt, sched, 12)
    opt_sd, sched_sd = opt.state_dict(), sched.state_dict()
    assert "optimizer" not in sched_sd
    expected = _run(opt, sched, 20)

    opt2 = _opt(cr)
    sched2 = BUILDERS[name](cr, opt2)
    opt2.load_state_dict(opt_sd)
    sched2.load_state_dict(sched_sd)
    assert _run(opt2, sched2, 20) == expected


def test_lambda_lr_state_dict_keeps_callable_objects_not_functions(torch):
    opt, topt = _opt(cr), _opt(torch)
    warm, twarm = Warmup(5), Warmup(5)
    sd = lr_scheduler.LambdaLR(opt, [warm, lambda e: 1.0]).state_dict()
    tsd = torch.optim.lr_scheduler.LambdaLR(topt, [twarm, lambda e: 1.0]).state_dict()
    assert sd["lr_lambdas"] == tsd["lr_lambdas"] == [{"steps": 5}, None]
    other = Warmup(99)
    lr_scheduler.LambdaLR(_opt(cr), [other, lambda e: 1.0]).load_state_dict(sd)
    assert other.steps == 5


def test_warm_restarts_fractional_epochs_equal_torch(torch):
    """step(epoch + i / iters) per batch, as SGDR's docs do; also jumping backwards."""
    opt, topt = _opt(cr), _opt(torch)
    kw = dict(T_0=3, T_mult=2, eta_min=0.001)
    sched = lr_scheduler.CosineAnnealingWarmRestarts(opt, **kw)
    tsched = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(topt, **kw)
    epochs = [e + i / 4 for e in range(12) for i in range(4)] + [2.5, 0, 20]
    for epoch in epochs:
        opt.step()
        topt.step()
        sched.step(epoch)
        tsched.step(epoch)
        assert sched.get_last_lr() == tsched.get_last_lr(), epoch
        assert (sched.T_cur, sched.T_i, sched.last_epoch) == (tsched.T_cur, tsched.T_i,
                                                             tsched.last_epoch)
    with pytest.raises(ValueError, match="Expected non-negative epoch, but got -1"):
        sched.step(-1)


def test_linear_lr_step_with_epoch_uses_closed_form_like_torch(torch):
    opt, topt = _opt(cr), _opt(torch)
    sched = lr_scheduler.LinearLR(opt, start_factor=0.5, total_iters=6)
    tsched = torch.optim.lr_scheduler.LinearLR(topt, start_factor=0.5, total_iters=6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for epoch in (3, 9, 1):
            sched.step(epoch)
            tsched.step(epoch)
            assert sched.get_last_lr() == tsched.get_last_lr()


# ----------------------------------------------------------------- ReduceLROnPlateau
METRICS = [1.0, 0.9, 0.95, 0.95, 0.9, 0.91, 0.9, 0.899999, 0.7, 0.8, 0.8, 0.8, 0.8, 0.8, 0.6,
           0.6, 0.61, 0.62, 0.63, 0.64, 0.65, 0.5, 0.55, 0.55, 0.55, 0.55, 0.55, 0.55, 0.55]
PLATEAU = [
    {}, dict(patience=2), dict(patience=0, factor=0.5), dict(patience=1, cooldown=2),
    dict(mode="max", patience=1), dict(threshold_mode="abs", threshold=0.05, patience=1),
    dict(mode="max", threshold_mode="abs", threshold=0.01, patience=0, factor=0.3),
    dict(patience=0, min_lr=0.02), dict(patience=0, min_lr=[0.03, 0.001], factor=0.2),
    dict(patience=0, factor=0.9, eps=0.02),
]


@pytest.mark.torch
@pytest.mark.parametrize("kw", PLATEAU, ids=[str(k) for k in PLATEAU])
def test_reduce_on_plateau_equals_torch(torch, kw):
    opt, topt = _opt(cr), _opt(torch)
    sched = lr_scheduler.ReduceLROnPlateau(opt, **kw)
    tsched = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kw)
    assert sched.get_last_lr() == tsched.get_last_lr()
    for m in METRICS * 2:
        sched.step(m)
        tsched.step(torch.tensor(m, dtype=torch.float64))  # a 0-d tensor metric works too
        assert sched.get_last_lr() == tsched.get_last_lr() and _lrs(opt) == _lrs(topt)
        assert (sched.best, sched.num_bad_epochs, sched.cooldown_counter, sched.last_epoch) == (
            tsched.best, tsched.num_bad_epochs, tsched.cooldown_counter, tsched.last_epoch)
    assert set(sched.state_dict()) == set(tsched.state_dict())


def test_reduce_on_plateau_state_dict_round_trip_and_tensor_metric():
    opt = _opt(cr)
    sched = lr_scheduler.ReduceLROnPlateau(opt, patience=1, mode="max")
    for m in METRICS[:10]:
        sched.step(cr.tensor(m))
    sd = sched.state_dict()
    expected = []
    for m in METRICS[10:]:
        sched.step(m)
        expected.append(sched.get_last_lr())
    opt2 = _opt(cr)
    opt2.load_state_dict(opt.state_dict())
    for g, lr in zip(opt2.param_groups, sd["_last_lr"], strict=True):
        g["lr"] = lr
    sched2 = lr_scheduler.ReduceLROnPlateau(opt2)
    sched2.load_state_dict(sd)
    assert sched2.mode == "max" and sched2.mode_worse == -math.inf
    got = []
    for m in METRICS[10:]:
        sched2.step(m)
        got.append(sched2.get_last_lr())
    assert got == expected


def test_reduce_on_plateau_new_param_group_and_min_lrs(torch):
    opt = _opt(cr)
    sched = lr_scheduler.ReduceLROnPlateau(opt, patience=0, min_lr=0.01)
    opt.add_param_group({"params": [cr.zeros(1, requires_grad=True)], "lr": 1.0})
    sched.step(1.0)
    sched.step(2.0)
    assert sched.min_lrs == [0.01] * 3 and _lrs(opt)[2] == 0.1
    fixed = lr_scheduler.ReduceLROnPlateau(_opt(cr), patience=0, min_lr=[0.0, 0.0])
    fixed.optimizer.add_param_group({"params": [cr.zeros(1, requires_grad=True)]})
    fixed.step(1.0)
    with pytest.raises(RuntimeError, match="min_lrs"):
        fixed.step(2.0)


# ----------------------------------------------------------------- errors and exports
@pytest.mark.parametrize(("build", "error", "pattern"), [
    (lambda o: lr_scheduler.LambdaLR(o, [lambda e: 1.0]), ValueError,
     "Expected 2 lr_lambdas, but got 1"),
    (lambda o: lr_scheduler.LinearLR(o, start_factor=0.0), ValueError,
     "Starting multiplicative factor expected to be greater than 0"),
    (lambda o: lr_scheduler.LinearLR(o, end_factor=1.5), ValueError,
     "Ending multiplicative factor expected to be between 0 and 1"),
    (lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=0), ValueError,
     "Expected positive integer T_0, but got 0"),
    (lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=1.5), ValueError,
     "Expected integer T_mult >= 1, but got 1.5"),
    (lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=2, eta_min="0"), ValueError,
     "Expected float or int eta_min"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, factor=1.0), ValueError,
     "Factor should be < 1.0"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, mode="avg"), ValueError,
     "mode avg is unknown!"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, threshold_mode="pct"), ValueError,
     "threshold mode pct is unknown!"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, min_lr=[0.1]), ValueError,
     "expected 2 min_lrs, got 1"),
    (lambda o: lr_scheduler.SequentialLR(o, [], []), ValueError,
     "expects at least one scheduler"),
    (lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.StepLR(o, 2)], [3]), ValueError,
     "number of schedulers provided to be one more than the number of milestone points"),
    (lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.ReduceLROnPlateau(o)], []),
     ValueError, "does not support `ReduceLROnPlateau`"),
    (lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.StepLR(_opt(cr), 2)], []),
     ValueError, "expects all schedulers to belong to the same optimizer"),
    (lambda o: lr_scheduler.SequentialLR(o, [object()], []), TypeError,
     "should have `optimizer` as its attribute"),
    (lambda o: lr_scheduler.LambdaLR("sgd", lambda e: 1.0), TypeError, "str is not an Optimizer"),
])
def test_errors(build, error, pattern):
    with pytest.raises(error, match=pattern):
        build(_opt(cr))


def test_reexported():
    for name in ("LambdaLR", "LinearLR", "SequentialLR", "CosineAnnealingWarmRestarts",
                 "ReduceLROnPlateau"):
        assert getattr(optim, name) is getattr(lr_scheduler, name)
        assert name in lr_scheduler.__all__ and name in optim.__all__
