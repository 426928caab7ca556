"""Optimizer API: parameter groups, zero_grad, closures, in-place updates, state dicts, errors."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim

CONFIGS = [
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.8, dampening=0.2, maximize=True)),
    ("SGD", dict(lr=0.05)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, betas=(0.5, 0.9))),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, amsgrad=True, maximize=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01)),
]
IDS = [f"{n}-{c}" for n, c in CONFIGS]
SHAPES = [(3, 4), (4,), (2, 1, 3)]


def _params(seed: int = 0, dtype=np.float32) -> list[cr.Tensor]:
    rng = np.random.default_rng(seed)
    return [cr.tensor(rng.standard_normal(s).astype(dtype), requires_grad=True) for s in SHAPES]


def _set_grads(params: list[cr.Tensor], t: int) -> None:
    for i, p in enumerate(params):
        r = np.random.default_rng([t, i])
        p.grad = cr.tensor(np.asarray(p.detach().numpy() * r.uniform(0.5, 2, p.shape)
                                      + r.standard_normal(p.shape), p.dtype))


def _train(opt: optim.Optimizer, params: list[cr.Tensor], steps: range) -> None:
    for t in steps:
        _set_grads(params, t)
        opt.step()


# ----------------------------------------------------------------- state dicts
@pytest.mark.parametrize(("name", "kw"), CONFIGS, ids=IDS)
def test_state_dict_round_trip_is_exact(name, kw):
    ref = _params()
    ref_opt = getattr(optim, name)(ref, **kw)
    _train(ref_opt, ref, range(10))

    ps = _params()
    opt = getattr(optim, name)(ps, **kw)
    _train(opt, ps, range(5))
    saved = opt.state_dict()
    fresh = [cr.tensor(p.detach().numpy().copy(), requires_grad=True) for p in ps]
    # Different hyperparameters: load_state_dict must restore the saved ones.
    new_opt = getattr(optim, name)(fresh, lr=0.5)
    new_opt.load_state_dict(saved)
    _train(new_opt, fresh, range(5, 10))
    for p, r in zip(fresh, ref, strict=True):
        np.testing.assert_array_equal(p.detach().numpy(), r.detach().numpy())
    assert new_opt.param_groups[0]["lr"] == kw["lr"]


@pytest.mark.parametrize(("name", "kw"), CONFIGS, ids=IDS)
def test_state_dict_holds_arrays_and_python_scalars(name, kw):
    ps = _params()
    opt = getattr(optim, name)([{"params": ps[:1]}, {"params": ps[1:], "lr": 0.003}], **kw)
    _train(opt, ps, range(3))
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1, 2]]
    assert sd["param_groups"][1]["lr"] == 0.003
    for group in sd["param_groups"]:
        for v in group.values():
            assert isinstance(v, bool | int | float | tuple | list)
    for i, entries in sd["state"].items():
        assert isinstance(i, int)
        for k, v in entries.items():
            if k == "step":
                assert type(v) is float and v == 3.0
            else:
                assert isinstance(v, np.ndarray) and v.shape == ps[i].shape
                assert v.dtype == np.float32
    # npz-able: every state entry round-trips through np.savez's flat name -> array mapping.
    flat = {f"{i}.{k}": np.asarray(v) for i, e in sd["state"].items() for k, v in e.items()}
    assert all(a.dtype.kind == "f" for a in flat.values())


def test_state_dict_is_a_snapshot():
    ps = _params()
    opt = optim.Adam(ps, lr=0.1)
    _train(opt, ps, range(2))
    sd = opt.state_dict()
    before = copy.deepcopy(sd)
    _train(opt, ps, range(2, 4))
    opt.param_groups[0]["lr"] = 7.0
    for i in sd["state"]:
        for k in sd["state"][i]:
            np.testing.assert_array_equal(sd["state"][i][k], before["state"][i][k])
    assert sd["param_groups"][0]["lr"] == 0.1


def test_load_state_dict_copies_and_does_not_mutate_input():
    ps = _params()
    opt = optim.SGD(ps, lr=0.1, momentum=0.9)
    _train(opt, ps, range(2))
    sd = opt.state_dict()
    before = copy.deepcopy(sd)
    other = optim.SGD(ps, lr=0.1, momentum=0.9)
    other.load_state_dict(sd)
    _train(other, ps, range(2, 5))
    np.testing.assert_array_equal(sd["state"][0]["momentum_buffer"],
                                  before["state"][0]["momentum_buffer"])
    assert sd["param_groups"] == before["param_groups"]


def test_load_state_dict_casts_to_param_dtype_and_accepts_string_keys():
    ps64 = _params(dtype=np.float64)
    opt64 = optim.Adam(ps64, lr=0.01)
    _train(opt64, ps64, range(3))
    sd = opt64.state_dict()
    sd["state"] = {str(k): v for k, v in sd["state"].items()}  # as read back from a file
    ps32 = _params(dtype=np.float32)
    opt32 = optim.Adam(ps32)
    opt32.load_state_dict(sd)
    assert all(v.dtype == np.float32 for s in opt32.state.values() for k, v in s.items()
               if k != "step")
    assert opt32.state[ps32[0]]["step"] == 3.0
    _train(opt32, ps32, range(3, 4))
    assert all(p.dtype == np.float32 for p in ps32)


def _trained_sgd() -> tuple[optim.SGD, dict]:
    ps = _params()
    opt = optim.SGD([{"params": ps[:2]}, {"params": ps[2:]}], lr=0.1, momentum=0.9)
    _train(opt, ps, range(2))
    return opt, opt.state_dict()


def test_load_state_dict_validates_group_count():
    opt, sd = _trained_sgd()
    sd["param_groups"] = sd["param_groups"][:1]
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict(sd)


def test_load_state_dict_validates_group_sizes():
    opt, sd = _trained_sgd()
    sd["param_groups"][0]["params"] = [0]
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        opt.load_state_dict(sd)


def test_load_state_dict_validates_shapes():
    opt, sd = _trained_sgd()
    sd["state"][1]["momentum_buffer"] = np.zeros((5, 5), np.float32)
    with pytest.raises(ValueError, match=r"'momentum_buffer' of parameter 1 has shape \(5, 5\) "
                                         r"but the parameter has shape \(4,\)"):
        opt.load_state_dict(sd)


def test_load_state_dict_requires_the_state_entries_step_needs():
    ps = _params()
    opt = optim.Adam(ps, amsgrad=True)
    _train(opt, ps, range(2))
    sd = opt.state_dict()
    del sd["state"][1]["max_exp_avg_sq"]  # optional: starts again from 0
    optim.Adam(ps, amsgrad=True).load_state_dict(sd)
    del sd["state"][1]["exp_avg"]
    with pytest.raises(ValueError, match=r"state of parameter 1 lacks \['exp_avg'\]"):
        optim.Adam(ps).load_state_dict(sd)


def test_load_state_dict_validates_indices_and_hyperparameters():
    opt, sd = _trained_sgd()
    bad = copy.deepcopy(sd)
    bad["state"][9] = bad["state"].pop(0)
    with pytest.raises(ValueError, match="parameter index 9"):
        opt.load_state_dict(bad)
    bad = copy.deepcopy(sd)
    bad["param_groups"][1]["lr"] = -1.0
    with pytest.raises(ValueError, match="Invalid learning rate: -1.0"):
        opt.load_state_dict(bad)
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        opt.load_state_dict({"state": {}})
    # A failed load leaves the optimizer as it was.
    assert opt.state_dict()["param_groups"] == sd["param_groups"]


@pytest.mark.torch
@pytest.mark.parametrize(("name", "kw"), CONFIGS, ids=IDS)
def test_state_dict_layout_and_loading_from_torch(torch, name, kw):
    ps = _params(dtype=np.float64)
    tps = [torch.tensor(p.detach().numpy().copy(), requires_grad=True) for p in ps]
    groups = [{"params": ps[:2]}, {"params": ps[2:], "lr": 0.002}]
    tgroups = [{"params": tps[:2]}, {"params": tps[2:], "lr": 0.002}]
    opt, topt = getattr(optim, name)(groups, **kw), getattr(torch.optim, name)(tgroups, **kw)
    for t in range(3):
        _set_grads(ps, t)
        for p, tp in zip(ps, tps, strict=True):
            tp.grad = torch.from_numpy(p.grad.detach().numpy().copy())
        opt.step()
        topt.step()
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert sd["state"].keys() == tsd["state"].keys()
    for ours, theirs in zip(sd["param_groups"], tsd["param_groups"], strict=True):
        assert {k: v for k, v in theirs.items() if k in ours} == ours
    # Continue from torch's state dict (tensors converted to arrays): same as torch continuing.
    converted = {"state": {i: {k: v.numpy() for k, v in s.items()}
                           for i, s in tsd["state"].items()},
                 "param_groups": copy.deepcopy(tsd["param_groups"])}
    fresh = [cr.tensor(tp.detach().numpy().copy(), requires_grad=True) for tp in tps]
    new = getattr(optim, name)([{"params": fresh[:2]}, {"params": fresh[2:]}])
    new.load_state_dict(converted)
    for t in range(3, 6):
        _set_grads(fresh, t)
        for p, tp in zip(fresh, tps, strict=True):
            tp.grad = torch.from_numpy(p.grad.detach().numpy().copy())
        new.step()
        topt.step()
    for p, tp in zip(fresh, tps, strict=True):
        np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), rtol=1e-11, atol=1e-13)


# ----------------------------------------------------------------- stepping behaviour
@pytest.mark.parametrize(("name", "kw"), CONFIGS, ids=IDS)
def test_updates_in_place_and_never_writes_gradients(name, kw):
    ps = _params()
    shared = cr.tensor(np.ones((3, 4), np.float32))
    q = cr.tensor(np.zeros((3, 4), np.float32), requires_grad=True)
    arrays = [p.detach().numpy() for p in ps] + [q.detach().numpy()]
    views = [a.reshape(-1)[:2] for a in arrays]
    opt = getattr(optim, name)([*ps, q], **kw)
    before = [v.copy() for v in views]
    for _ in range(3):
        ps[0].grad = shared
        q.grad = shared  # one gradient array shared by two parameters
        for p in ps[1:]:
            p.grad = cr.tensor(np.ones(p.shape, np.float32))
        opt.step()
        np.testing.assert_array_equal(shared.detach().numpy(), 1.0)
    assert all(p.detach().numpy() is a for p, a in zip([*ps, q], arrays, strict=True))
    assert all(not np.array_equal(v, b) for v, b in zip(views, before, strict=True))
    assert all(p.dtype == np.float32 for p in [*ps, q])


def test_params_without_grad_are_skipped():
    ps = _params()
    opt = optim.Adam(ps, lr=0.1)
    before = ps[1].detach().numpy().copy()
    ps[0].grad = cr.tensor(np.ones(ps[0].shape, np.float32))
    opt.step()
    np.testing.assert_array_equal(ps[1].detach().numpy(), before)
    assert ps[1] not in opt.state and ps[0] in opt.state


def test_the_base_class_owns_the_loop_and_a_subclass_only_its_rule():
    """A subclass gives `_init_state` and `_update`; the base class skips parameters without a
    gradient, negates gradients for `maximize`, creates the state once, on a parameter's first
    step, and reads the hyperparameters once per group and step."""
    reads, inits = [], []

    class SignDescent(optim.Optimizer):
        def __init__(self, params, lr=0.5, maximize=False):
            super().__init__(params, {"lr": lr, "maximize": maximize})

        def _hyperparameters(self, group):
            reads.append(group["lr"])
            return group["lr"]

        def _init_state(self, param, state, lr):
            inits.append(param.shape)
            state["count"] = 0

        def _update(self, param, grad, state, lr):
            state["count"] += 1
            param -= lr * np.sign(grad)

    a, b, c = _params()
    start = [p.detach().numpy().copy() for p in (a, b, c)]
    opt = SignDescent([{"params": [a, b]}, {"params": [c], "lr": 0.25, "maximize": True}])
    for _ in range(2):
        for p in (a, c):
            p.grad = cr.tensor(np.ones(p.shape, np.float32))
        opt.step()
    np.testing.assert_array_equal(a.detach().numpy(), start[0] - 1.0)
    # no gradient: not updated, no state
    np.testing.assert_array_equal(b.detach().numpy(), start[1])
    np.testing.assert_array_equal(c.detach().numpy(), start[2] + 0.5)  # maximize: ascent
    assert reads == [0.5, 0.25] * 2
    assert inits == [a.shape, c.shape]
    assert list(opt.state) == [a, c] and opt.state[a] == {"count": 2}
    assert opt.state_dict()["state"] == {0: {"count": 2}, 2: {"count": 2}}


def test_a_rule_without_state_leaves_no_state_entries():
    ps = _params()
    opt = optim.SGD(ps, lr=0.1)  # no momentum: no buffer, and no empty entries (as in torch)
    _train(opt, ps, range(2))
    assert len(opt.state) == 0 and opt.state_dict()["state"] == {}


def test_zero_grad():
    ps = _params()
    opt = optim.SGD(ps, lr=0.1)
    _set_grads(ps, 0)
    old = ps[0].grad.detach().numpy()
    old_copy = old.copy()
    opt.zero_grad(set_to_none=False)
    assert all(np.array_equal(p.grad.detach().numpy(), np.zeros(p.shape)) for p in ps)
    assert ps[0].grad.detach().numpy().dtype == np.float32
    np.testing.assert_array_equal(old, old_copy)  # a fresh array: the old one is untouched
    opt.zero_grad()
    assert all(p.grad is None for p in ps)


def test_step_with_closure_returns_loss():
    w = cr.tensor([1.0, -2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.25)
    calls = []

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        calls.append(loss.item())
        return loss

    with cr.no_grad():  # step() enables gradients for the closure
        loss = opt.step(closure)
    assert calls == [5.0] and loss.item() == 5.0
    np.testing.assert_allclose(w.detach().numpy(), [0.5, -1.0])


def test_param_groups_add_and_defaults():
    a, b, c = _params()
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5}], lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.param_groups[1]["params"] == [b] and opt.param_groups[1]["momentum"] == 0.9
    opt.add_param_group({"params": [c], "momentum": 0.0})
    assert opt.param_groups[2]["lr"] == 0.1 and opt.param_groups[2]["momentum"] == 0.0
    assert set(opt.defaults) == {"lr", "momentum", "dampening", "weight_decay", "nesterov",
                                 "maximize"}
    assert "Parameter Group 2" in repr(opt) and "lr: 0.5" in repr(opt)


def test_named_parameters():
    a, b, _ = _params()
    opt = optim.Adam([("w", a), ("b", b)])
    assert opt.param_groups[0]["param_names"] == ["w", "b"]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["w", "b"]


def test_defaults_match_torch_signatures():
    p = _params()
    assert optim.SGD(p).defaults["lr"] == 1e-3
    adam = optim.Adam(p).defaults
    assert (adam["lr"], adam["betas"], adam["eps"], adam["weight_decay"], adam["amsgrad"]) == \
        (1e-3, (0.9, 0.999), 1e-8, 0, False)
    assert optim.AdamW(p).defaults["weight_decay"] == 1e-2
    assert optim.AdamW(p).defaults["decoupled_weight_decay"] is True
    rms = optim.RMSprop(p).defaults
    assert (rms["lr"], rms["alpha"], rms["eps"], rms["weight_decay"], rms["momentum"],
            rms["centered"]) == (1e-2, 0.99, 1e-8, 0, 0, False)
    # positional order as torch
    sgd = optim.SGD(p, 0.1, 0.9, 0.0, 0.01, True).defaults
    assert (sgd["lr"], sgd["momentum"], sgd["weight_decay"], sgd["nesterov"]) == \
        (0.1, 0.9, 0.01, True)
    rms = optim.RMSprop(p, 0.1, 0.9, 1e-6, 0.01, 0.5, True).defaults
    assert (rms["alpha"], rms["eps"], rms["weight_decay"], rms["momentum"], rms["centered"]) == \
        (0.9, 1e-6, 0.01, 0.5, True)


# ----------------------------------------------------------------- errors
BAD = [
    ("SGD", dict(lr=-1), "SGD: Invalid learning rate: -1"),
    ("SGD", dict(momentum=-0.5), "Invalid momentum value: -0.5"),
    ("SGD", dict(weight_decay=-1e-3), "Invalid weight_decay value: -0.001"),
    ("SGD", dict(nesterov=True), "Nesterov momentum requires a momentum and zero dampening"),
    ("SGD", dict(nesterov=True, momentum=0.9, dampening=0.1), "Nesterov momentum requires"),
    ("Adam", dict(lr=-0.1), "Adam: Invalid learning rate: -0.1"),
    ("Adam", dict(eps=-1e-8), "Invalid epsilon value: -1e-08"),
    ("Adam", dict(betas=(1.0, 0.999)), "Invalid beta parameter at index 0: 1.0"),
    ("Adam", dict(betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1"),
    ("Adam", dict(weight_decay=-1.0), "Invalid weight_decay value: -1.0"),
    ("AdamW", dict(lr=-2.0), "AdamW: Invalid learning rate: -2.0"),
    ("RMSprop", dict(lr=-1e-2), "RMSprop: Invalid learning rate: -0.01"),
    ("RMSprop", dict(alpha=-0.1), "Invalid alpha value: -0.1"),
    ("RMSprop", dict(eps=-1.0), "Invalid epsilon value: -1.0"),
    ("RMSprop", dict(momentum=-1.0), "Invalid momentum value: -1.0"),
    ("RMSprop", dict(weight_decay=-1.0), "Invalid weight_decay value: -1.0"),
]


@pytest.mark.parametrize(("name", "kw", "message"), BAD, ids=[m for *_, m in BAD])
def test_invalid_hyperparameters(name, kw, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        getattr(optim, name)(_params(), **kw)
    # The same check applies to a parameter group's own values.
    with pytest.raises(ValueError, match=message.split(": ", 1)[-1][:20]):
        getattr(optim, name)([{"params": _params()[:1]}, {"params": _params(1)[:1], **kw}])


@pytest.mark.torch
@pytest.mark.parametrize(("name", "kw", "message"), BAD, ids=[m for *_, m in BAD])
def test_error_messages_contain_torchs(torch, name, kw, message):
    with pytest.raises(ValueError) as theirs:
        getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **kw)
    with pytest.raises(ValueError) as ours:
        getattr(optim, name)(_params(), **kw)
    assert str(theirs.value) in str(ours.value)


def test_invalid_params():
    a, b, _ = _params()
    with pytest.raises(TypeError, match="iterable of Tensors or dicts, but got Tensor"):
        optim.SGD(a)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([])
    with pytest.raises(TypeError, match="can only optimize Tensors, but one of the params is "
                                        "ndarray"):
        optim.SGD([np.zeros(3)])
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        optim.SGD([a * 2])
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [a, b]}, {"params": [b]}])
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD([{"params": {a, b}}])
    with pytest.raises(TypeError, match="lr must be a real number"):
        optim.SGD([a], lr="0.1")
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        optim.SGD([a, a])
    assert any("duplicate parameters" in str(x.message) for x in w)


def test_grad_shape_mismatch_is_reported():
    a, *_ = _params()
    a.grad = cr.tensor(np.ones((2, 2), np.float32))
    with pytest.raises(ValueError, match=r"shape \(3, 4\) has a gradient of shape \(2, 2\)"):
        optim.SGD([a], lr=0.1).step()
