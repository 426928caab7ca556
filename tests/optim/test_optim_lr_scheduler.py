"""LR schedulers: the lr (and momentum) sequences equal torch's exactly, state dicts, errors."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim
from chainrule.optim import lr_scheduler

SCHEDULES = [
    ("StepLR", dict(step_size=7)),
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[5, 12, 12, 40])),
    ("MultiStepLR", dict(milestones=[30, 10], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.93)),
    ("CosineAnnealingLR", dict(T_max=60)),
    ("CosineAnnealingLR", dict(T_max=9, eta_min=1e-3)),  # past T_max: the periodic branch
    ("OneCycleLR", dict(max_lr=0.5, total_steps=70)),
    ("OneCycleLR", dict(max_lr=[1.0, 0.1], epochs=7, steps_per_epoch=10, pct_start=0.25,
                        anneal_strategy="linear")),
    ("OneCycleLR", dict(max_lr=0.3, total_steps=65, three_phase=True, div_factor=10.0,
                        final_div_factor=100.0, base_momentum=0.8, max_momentum=0.9)),
    ("OneCycleLR", dict(max_lr=0.3, total_steps=60, cycle_momentum=False)),
]
IDS = [f"{n}-{k}" for n, k in SCHEDULES]
OPTIMIZERS = [("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(lr=0.01))]
STEPS = 60


def _groups(lib, name, kw):
    ps = [lib.zeros(2, requires_grad=True), lib.zeros(3, requires_grad=True)]
    return getattr(lib.optim, name)([{"params": ps[:1]}, {"params": ps[1:], "lr": 0.05}], **kw)


def _watch(opt) -> tuple:
    g = opt.param_groups
    return tuple((x["lr"], x.get("momentum"), x.get("betas")) for x in g)


def _run(opt, sched, steps: int) -> list:
    out = []
    for _ in range(steps):
        opt.step()
        sched.step()
        out.append((tuple(sched.get_last_lr()), _watch(opt)))
    return out


@pytest.mark.torch
@pytest.mark.parametrize(("opt_name", "opt_kw"), OPTIMIZERS, ids=["SGD", "Adam"])
@pytest.mark.parametrize(("name", "kw"), SCHEDULES, ids=IDS)
def test_sequence_equals_torch(torch, name, kw, opt_name, opt_kw):
    opt, topt = _groups(cr, opt_name, opt_kw), _groups(torch, opt_name, opt_kw)
    sched = getattr(lr_scheduler, name)(opt, **kw)
    tsched = getattr(torch.optim.lr_scheduler, name)(topt, **kw)
    assert sched.get_last_lr() == tsched.get_last_lr()
    assert _watch(opt) == _watch(topt)
    steps = getattr(tsched, "total_steps", STEPS + 1) - 1
    assert steps >= 50
    ours, theirs = _run(opt, sched, steps), _run(topt, tsched, steps)
    assert ours == theirs  # exactly, floats included
    assert sched.last_epoch == tsched.last_epoch == steps
    for key in ("base_lrs", "last_epoch", "_step_count", "_last_lr"):
        assert sched.state_dict()[key] == tsched.state_dict()[key]


@pytest.mark.parametrize(("name", "kw"), SCHEDULES, ids=IDS)
def test_state_dict_round_trip(name, kw):
    opt = _groups(cr, "SGD", dict(lr=0.1, momentum=0.9))
    sched = getattr(lr_scheduler, name)(opt, **kw)
    total = getattr(sched, "total_steps", STEPS + 1) - 1
    _run(opt, sched, 20)
    opt_sd, sched_sd = opt.state_dict(), sched.state_dict()
    assert "optimizer" not in sched_sd
    expected = _run(opt, sched, total - 20)

    new_opt = _groups(cr, "SGD", dict(lr=0.1, momentum=0.9))
    new_sched = getattr(lr_scheduler, name)(new_opt, **kw)
    new_opt.load_state_dict(opt_sd)
    new_sched.load_state_dict(sched_sd)
    assert new_sched.get_last_lr() == [g["lr"] for g in new_opt.param_groups]
    assert _run(new_opt, new_sched, total - 20) == expected


def test_multistep_state_dict_is_plain_and_loads_torch_counter():
    opt = _groups(cr, "SGD", dict(lr=0.1))
    sched = lr_scheduler.MultiStepLR(opt, [3, 3, 8])
    sd = sched.state_dict()
    assert sd["milestones"] == [3, 3, 8]
    sd["milestones"] = {3: 2, 8: 1}  # torch saves a Counter
    sched.load_state_dict(sd)
    assert sched.milestones == {3: 2, 8: 1}


@pytest.mark.torch
@pytest.mark.parametrize(("name", "kw"), SCHEDULES[:7], ids=IDS[:7])
def test_step_with_epoch_uses_closed_form_like_torch(torch, name, kw):
    opt, topt = _groups(cr, "SGD", {}), _groups(torch, "SGD", {})
    sched = getattr(lr_scheduler, name)(opt, **kw)
    tsched = getattr(torch.optim.lr_scheduler, name)(topt, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for epoch in [3, 10, 11, 25, 2]:
            opt.step()
            topt.step()
            sched.step(epoch)
            tsched.step(epoch)
            assert sched.get_last_lr() == tsched.get_last_lr()


def test_resume_with_last_epoch():
    opt = _groups(cr, "SGD", {})
    sched = lr_scheduler.StepLR(opt, step_size=2)
    _run(opt, sched, 5)
    resumed = lr_scheduler.StepLR(opt, step_size=2, last_epoch=5)
    assert resumed.base_lrs == [0.001, 0.05]
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(_groups(cr, "SGD", {}), step_size=2, last_epoch=3)


def test_warnings():
    opt = _groups(cr, "SGD", {})
    sched = lr_scheduler.ExponentialLR(opt, gamma=0.9)
    with pytest.warns(UserWarning, match=r"before `optimizer.step\(\)`"):
        sched.step()
    with pytest.warns(UserWarning, match="get_last_lr"):
        sched.get_lr()
    opt2 = _groups(cr, "Adam", {})
    sched2 = lr_scheduler.StepLR(opt2, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt2.step()
        sched2.step()


def test_subclass_with_own_step_counts_as_optimizer_step():
    class Plain(optim.Optimizer):
        def __init__(self, params, lr=0.1):
            super().__init__(params, {"lr": lr, "momentum": 0})

        def step(self, closure=None):
            for g in self.param_groups:
                for p in g["params"]:
                    if p.grad is not None:
                        p.detach().numpy()[...] -= g["lr"] * p.grad.detach().numpy()

    p = cr.tensor([1.0], requires_grad=True)
    opt = Plain([p])
    sched = lr_scheduler.StepLR(opt, 1, gamma=0.5)
    p.grad = cr.tensor([1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.step()
        sched.step()
    np.testing.assert_allclose(p.detach().numpy(), [0.9])
    assert opt.param_groups[0]["lr"] == 0.05


def test_scheduler_drives_training_lr():
    w = cr.tensor([1.0], requires_grad=True)
    opt = optim.SGD([w], lr=1.0)
    sched = optim.StepLR(opt, step_size=1, gamma=0.5)
    for _ in range(3):
        w.grad = cr.tensor([1.0])
        opt.step()
        sched.step()
    np.testing.assert_allclose(w.detach().numpy(), [1.0 - 1.0 - 0.5 - 0.25])


def test_one_cycle_errors():
    opt = _groups(cr, "SGD", {})
    with pytest.raises(ValueError, match="total_steps OR"):
        lr_scheduler.OneCycleLR(opt, max_lr=0.1)
    with pytest.raises(ValueError, match="Expected positive integer total_steps, but got 0"):
        lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=0)
    with pytest.raises(ValueError, match="pct_start"):
        lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=10, pct_start=1.5)
    with pytest.raises(ValueError, match="anneal_strategy"):
        lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=10, anneal_strategy="exp")
    with pytest.raises(ValueError, match="max_lr must have the same length"):
        lr_scheduler.OneCycleLR(opt, max_lr=[0.1], total_steps=10)

    class NoMomentum(optim.Optimizer):
        def __init__(self, params):
            super().__init__(params, {"lr": 0.1})

    with pytest.raises(ValueError, match="momentum or beta1"):
        lr_scheduler.OneCycleLR(NoMomentum([cr.zeros(1, requires_grad=True)]), 0.1, 10)
    sched = lr_scheduler.OneCycleLR(copy.deepcopy(opt), max_lr=0.1, total_steps=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sched.step()
        sched.step()
        sched.step()  # step 3 of 3: allowed
        with pytest.raises(ValueError, match="Tried to step 4 times"):
            sched.step()


def test_not_an_optimizer():
    with pytest.raises(TypeError, match="list is not an Optimizer"):
        lr_scheduler.StepLR([], step_size=1)


def test_reexported():
    assert optim.StepLR is lr_scheduler.StepLR and optim.lr_scheduler is lr_scheduler
    assert optim.OneCycleLR is lr_scheduler.OneCycleLR
    assert issubclass(optim.CosineAnnealingLR, optim.LRScheduler)
