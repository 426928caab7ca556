"""Module API: registration order, traversal, modes, state_dict exchange with torch, hooks, repr.

Every structural test builds the same network in chainrule and in torch from one builder, so the
keys, orders and reprs are compared against torch's own, not against a hand-written list.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.errors import ShapeError


# ----------------------------------------------------------------- shared builders
def _build_nested(lib, param):
    """A custom Module with attributes, nested Sequential, ModuleList, ModuleDict, a bare
    Parameter and a bias-less Linear, in either library (`lib` is torch.nn or chainrule.nn)."""

    class Net(lib.Module):
        def __init__(self):
            super().__init__()
            self.encoder = lib.Sequential(lib.Linear(4, 8), lib.ReLU(),
                                          lib.Sequential(lib.Linear(8, 8), lib.Tanh()))
            self.scale = lib.Parameter(param(np.ones(8, np.float32)))
            self.heads = lib.ModuleList([lib.Linear(8, 2), lib.Linear(8, 3, bias=False)])
            self.extra = lib.ModuleDict({"proj": lib.Linear(8, 5), "act": lib.Sigmoid()})
            self.fc = lib.Linear(5, 1)
            self.note = "plain attribute"

        def forward(self, x):
            h = self.encoder(x) * self.scale
            return self.fc(self.extra["act"](self.extra["proj"](h)))

    return Net()


def _build_seq(lib):
    return lib.Sequential(lib.Linear(5, 8), lib.ReLU(), lib.Linear(8, 8), lib.Tanh(),
                          lib.Sequential(lib.Linear(8, 3), lib.Sigmoid()))


def _pair(torch):
    return _build_nested(nn, np.asarray), _build_nested(torch.nn, torch.from_numpy)


def _torch_arrays(tm):
    return {k: v.detach().numpy().copy() for k, v in tm.state_dict().items()}


# ----------------------------------------------------------------- registration and traversal
def test_named_parameters_keys_order_and_shapes_equal_torch(torch):
    m, tm = _pair(torch)
    ours = [(k, tuple(p.shape)) for k, p in m.named_parameters()]
    theirs = [(k, tuple(p.shape)) for k, p in tm.named_parameters()]
    assert ours == theirs
    assert [tuple(p.shape) for p in m.parameters()] == [tuple(p.shape) for p in tm.parameters()]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in m.parameters())


def test_non_recursive_parameters_equal_torch(torch):
    m, tm = _pair(torch)
    assert [k for k, _ in m.named_parameters(recurse=False)] == \
        [k for k, _ in tm.named_parameters(recurse=False)] == ["scale"]
    assert [k for k, _ in m.named_parameters(prefix="model")] == \
        [k for k, _ in tm.named_parameters(prefix="model")]


def test_named_modules_children_equal_torch(torch):
    m, tm = _pair(torch)
    ours = [(k, type(v).__name__) for k, v in m.named_modules()]
    theirs = [(k, type(v).__name__) for k, v in tm.named_modules()]
    assert ours == theirs
    assert [(k, type(v).__name__) for k, v in m.named_children()] == \
        [(k, type(v).__name__) for k, v in tm.named_children()]
    assert [type(c).__name__ for c in m.children()] == [type(c).__name__ for c in tm.children()]
    assert [type(c).__name__ for c in m.modules()] == [type(c).__name__ for c in tm.modules()]
    assert "note" not in dict(m.named_children())


def test_state_dict_holds_detached_tensors_sharing_memory_as_torch(torch):
    m, tm = _pair(torch)
    sd, tsd = m.state_dict(), tm.state_dict()
    assert list(sd) == list(tsd)
    for k, v in sd.items():
        assert isinstance(v, cr.Tensor) and not v.requires_grad, k
        assert v.shape == tuple(tsd[k].shape)
    # like torch: the values view the parameters' memory (clone to keep a snapshot)
    for state, model in ((sd, m), (tsd, tm)):
        state["encoder.0.weight"].fill_(123.0)
        assert float(model.encoder[0].weight.detach().numpy().max()) == 123.0
    kept = m.state_dict(keep_vars=True)
    assert kept["encoder.0.weight"] is m.encoder[0].weight


def test_shared_submodule_state_dict_keys_equal_torch(torch):
    """A module reachable under two names is saved under both (torch's rule; weight tying)."""

    def build(lib):
        class Tied(lib.Module):
            def __init__(self):
                super().__init__()
                self.a = lib.Linear(3, 3)
                self.b = self.a
                self.c = lib.Sequential(self.a, lib.ReLU())

        return Tied()

    m, tm = build(nn), build(torch.nn)
    assert list(m.state_dict()) == list(tm.state_dict())
    assert [k for k, _ in m.named_parameters()] == [k for k, _ in tm.named_parameters()]
    assert [k for k, _ in m.named_modules()] == [k for k, _ in tm.named_modules()]
    # and torch's tied checkpoint loads strictly
    m.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    np.testing.assert_array_equal(m.a.weight.detach().numpy(), tm.a.weight.detach().numpy())


def test_reassigning_a_parameter_keeps_its_key_position(torch):
    lin, tlin = nn.Linear(2, 3), torch.nn.Linear(2, 3)
    lin.weight = nn.Parameter(np.zeros((3, 2), np.float32))
    tlin.weight = torch.nn.Parameter(torch.zeros(3, 2))
    assert list(lin.state_dict()) == list(tlin.state_dict()) == ["weight", "bias"]
    seq, tseq = nn.Sequential(nn.ReLU(), nn.Tanh()), torch.nn.Sequential(torch.nn.ReLU(),
                                                                         torch.nn.Tanh())
    setattr(seq, "0", nn.Sigmoid())
    setattr(tseq, "0", torch.nn.Sigmoid())
    assert [type(c).__name__ for c in seq] == [type(c).__name__ for c in tseq]


def test_assigning_a_plain_tensor_to_a_parameter_name_raises():
    """torch refuses it too: it would silently drop the weight from parameters()/state_dict."""
    lin = nn.Linear(2, 3)
    with pytest.raises(TypeError, match="weight"):
        lin.weight = lin.weight * 2
    assert [k for k, _ in lin.named_parameters()] == ["weight", "bias"]
    lin.bias = None  # None is allowed and unregisters the value
    assert [k for k, _ in lin.named_parameters()] == ["weight"]
    assert list(lin.state_dict()) == ["weight"]


def test_setattr_before_super_init_raises():
    class Bad(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match="super"):
        Bad()


def test_sequential_indexing_and_slicing_keep_torch_keys(torch):
    m, tm = _build_seq(nn), _build_seq(torch.nn)
    assert len(m) == len(tm) == 5
    assert type(m[-1]).__name__ == type(tm[-1]).__name__ == "Sequential"
    assert list(m[2:].state_dict()) == list(tm[2:].state_dict())
    with pytest.raises(IndexError):
        m[5]
    seq = nn.Sequential({"first": nn.Linear(2, 2), "act": nn.ReLU()})
    assert list(seq.state_dict()) == ["first.weight", "first.bias"]


def test_module_list_and_dict_containers():
    ml = nn.ModuleList([nn.Linear(2, 2)]).extend([nn.ReLU(), nn.Linear(2, 1)])
    assert len(ml) == 3 and isinstance(ml[1], nn.ReLU)
    assert [k for k, _ in ml.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    md = nn.ModuleDict({"b": nn.Linear(2, 2)})
    md["a"] = nn.Linear(2, 3)
    assert list(md) == ["b", "a"] and "a" in md and len(md) == 2
    assert [k for k, _ in md.named_parameters()] == ["b.weight", "b.bias", "a.weight", "a.bias"]


# ----------------------------------------------------------------- modes, grads, dtype
def test_train_eval_propagate_to_every_submodule(torch):
    m, _ = _pair(torch)
    assert all(mod.training for mod in m.modules())
    assert m.eval() is m
    assert not any(mod.training for mod in m.modules())
    m.train()
    assert all(mod.training for mod in m.modules())
    m.train(False)
    assert not any(mod.training for mod in m.modules())


def test_eval_turns_off_nested_dropout():
    cr.manual_seed(0)
    m = nn.Sequential(nn.Identity(), nn.Sequential(nn.Dropout(0.5)))
    x = cr.ones(1000)
    assert np.any(m(x).detach().numpy() == 0)
    m.eval()
    np.testing.assert_array_equal(m(x).detach().numpy(), x.detach().numpy())


def _backward_once(m, n_in=4):
    x = cr.randn(3, n_in)
    m(x).sum().backward()


@pytest.mark.parametrize("set_to_none", [True, False])
def test_zero_grad(set_to_none):
    m = _build_seq(nn)
    _backward_once(m, 5)
    assert all(p.grad is not None and np.any(p.grad.detach().numpy() != 0) for p in m.parameters())
    m.zero_grad(set_to_none=set_to_none)
    for p in m.parameters():
        if set_to_none:
            assert p.grad is None
        else:
            assert p.grad is not None and p.grad.shape == p.shape
            np.testing.assert_array_equal(p.grad.detach().numpy(), 0)
    _backward_once(m, 5)  # gradients accumulate from zero again
    assert all(p.grad is not None for p in m.parameters())


def test_zero_grad_default_sets_to_none():
    lin = nn.Linear(2, 2)
    lin(cr.ones(2)).sum().backward()
    lin.zero_grad()
    assert lin.weight.grad is None and lin.bias.grad is None


def test_to_float64_casts_in_place_and_keeps_parameter_identity(torch):
    m, _ = _pair(torch)
    params = list(m.parameters())
    _backward_once(m)
    assert m.to(cr.float64) is m
    assert [id(p) for p in m.parameters()] == [id(p) for p in params]
    assert m.fc.weight.grad is not None and m.heads[0].weight.grad is None  # unused head
    for k, p in m.named_parameters():
        assert p.dtype == np.float64, k
        assert p.grad is None or p.grad.dtype == np.float64, k
    assert all(v.dtype == np.float64 for v in m.state_dict().values())
    out = m(cr.randn(2, 4, dtype=cr.float64))
    assert out.dtype == np.float64
    m.float()
    assert all(p.dtype == np.float32 for p in m.parameters())
    with pytest.raises(TypeError, match="float"):
        m.to("int64")


def test_requires_grad_(torch):
    m, _ = _pair(torch)
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())
    m.requires_grad_()
    assert all(p.requires_grad for p in m.parameters())


# ----------------------------------------------------------------- load_state_dict
@pytest.mark.parametrize("source", ["numpy", "torch"])
def test_load_state_dict_from_torch_gives_identical_outputs(torch, source):
    torch.manual_seed(0)
    tm = _build_seq(torch.nn)
    m = _build_seq(nn)
    params = list(m.parameters())
    if source == "numpy":
        sd = {k: v.numpy() for k, v in tm.state_dict().items()}
    else:
        sd = tm.state_dict()
    result = m.load_state_dict(sd)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert [id(p) for p in m.parameters()] == [id(p) for p in params]  # loaded in place
    assert all(p.dtype == np.float32 for p in m.parameters())
    x = np.random.default_rng(1).standard_normal((7, 5)).astype(np.float32)
    expected = tm(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(m(cr.tensor(x)).detach().numpy(), expected, rtol=1e-5, atol=1e-6)
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v, tm.state_dict()[k].numpy())


def test_load_state_dict_nested_from_torch(torch):
    m, tm = _pair(torch)
    m.load_state_dict(tm.state_dict())
    x = np.random.default_rng(2).standard_normal((3, 4)).astype(np.float32)
    np.testing.assert_allclose(m(cr.tensor(x)).detach().numpy(),
                               tm(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)


def test_torch_loads_our_state_dict(torch):
    m, tm = _pair(torch)
    tm.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in m.state_dict().items()})
    x = np.random.default_rng(3).standard_normal((3, 4)).astype(np.float32)
    np.testing.assert_allclose(m(cr.tensor(x)).detach().numpy(),
                               tm(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)


def test_load_state_dict_keeps_the_model_dtype(torch):
    m = _build_seq(nn)
    sd64 = {k: v.astype(np.float64) for k, v in _torch_arrays(_build_seq(torch.nn)).items()}
    m.load_state_dict(sd64)
    assert all(p.dtype == np.float32 for p in m.parameters())
    np.testing.assert_allclose(m[0].weight.detach().numpy(), sd64["0.weight"], rtol=1e-7)


def test_load_state_dict_missing_key_strict_raises_and_loads_nothing(torch):
    m = _build_seq(nn)
    before = m.state_dict()
    sd = _torch_arrays(_build_seq(torch.nn))
    del sd["2.bias"]
    with pytest.raises(KeyError, match=r"missing.*'2\.bias'"):
        m.load_state_dict(sd)
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_load_state_dict_unexpected_key_strict_raises(torch):
    m = _build_seq(nn)
    sd = _torch_arrays(_build_seq(torch.nn))
    sd["9.weight"] = np.zeros((2, 2), np.float32)
    with pytest.raises(KeyError, match=r"unexpected.*'9\.weight'"):
        m.load_state_dict(sd)


def test_load_state_dict_non_strict_returns_missing_and_unexpected(torch):
    m = _build_seq(nn)
    sd = _torch_arrays(_build_seq(torch.nn))
    del sd["0.weight"]
    sd["extra.bias"] = np.zeros(3, np.float32)
    old_w = m[0].weight.detach().numpy().copy()
    result = m.load_state_dict(sd, strict=False)
    assert result.missing_keys == ["0.weight"]
    assert result.unexpected_keys == ["extra.bias"]
    missing, unexpected = result  # a NamedTuple, like torch's
    assert missing == ["0.weight"] and unexpected == ["extra.bias"]
    np.testing.assert_array_equal(m[0].weight.detach().numpy(), old_w)  # missing: untouched
    np.testing.assert_array_equal(m[0].bias.detach().numpy(), sd["0.bias"])  # present: loaded


@pytest.mark.parametrize("strict", [True, False])
def test_load_state_dict_wrong_shape_names_key_and_shapes_and_loads_nothing(torch, strict):
    m = _build_seq(nn)
    before = m.state_dict()
    sd = _torch_arrays(_build_seq(torch.nn))  # different values for every key ...
    sd["4.0.weight"] = np.zeros((3, 7), np.float32)  # ... and one wrong shape, late in order
    with pytest.raises(ShapeError) as info:
        m.load_state_dict(sd, strict=strict)
    msg = str(info.value)
    assert "'4.0.weight'" in msg and "(3, 7)" in msg and "(3, 8)" in msg
    for k, v in m.state_dict().items():  # nothing half-loaded, not even the earlier keys
        np.testing.assert_array_equal(v, before[k], err_msg=k)


# ----------------------------------------------------------------- hooks, apply, repr
def test_forward_hook_sees_inputs_and_output_and_can_be_removed():
    lin = nn.Linear(3, 2)
    calls = []

    def hook(module, inputs, output):
        calls.append((module, inputs, output))

    handle = lin.register_forward_hook(hook)
    x = cr.randn(4, 3)
    y = lin(x)
    assert len(calls) == 1
    module, inputs, output = calls[0]
    assert module is lin and inputs[0] is x and output is y
    handle.remove()
    lin(x)
    assert len(calls) == 1
    handle.remove()  # removing twice is harmless


def test_forward_hook_return_value_replaces_output_and_hooks_run_in_order():
    m = nn.Sequential(nn.Identity())
    order = []
    h1 = m.register_forward_hook(lambda mod, i, o: order.append(1) or o * 2)
    m.register_forward_hook(lambda mod, i, o: order.append(2))
    out = m(cr.ones(3))
    np.testing.assert_array_equal(out.detach().numpy(), 2.0)
    assert order == [1, 2]
    h1.remove()
    np.testing.assert_array_equal(m(cr.ones(3)).detach().numpy(), 1.0)


def test_forward_hook_on_a_submodule_sees_intermediate_activations():
    m = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    seen = {}
    m[1].register_forward_hook(lambda mod, i, o: seen.setdefault("relu", o))
    m(cr.randn(5, 3))
    assert seen["relu"].shape == (5, 4) and np.all(seen["relu"].detach().numpy() >= 0)


def test_forward_pre_hook_can_replace_input():
    m = nn.Identity()
    h = m.register_forward_pre_hook(lambda mod, args: (args[0] + 1,))
    np.testing.assert_array_equal(m(cr.zeros(2)).detach().numpy(), 1.0)
    h.remove()
    np.testing.assert_array_equal(m(cr.zeros(2)).detach().numpy(), 0.0)


def test_apply_visits_children_first_like_torch(torch):
    m, tm = _pair(torch)
    ours, theirs = [], []
    assert m.apply(lambda mod: ours.append(type(mod).__name__)) is m
    tm.apply(lambda mod: theirs.append(type(mod).__name__))
    assert ours == theirs


def test_apply_for_custom_init():
    m = _build_seq(nn)

    def init_fn(mod):
        if isinstance(mod, nn.Linear):
            nn.init.zeros_(mod.weight)
            nn.init.constant_(mod.bias, 0.5)

    m.apply(init_fn)
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v, 0.0 if k.endswith("weight") else 0.5)


def _build_repr(lib):
    return lib.Sequential(
        lib.Flatten(), lib.Linear(12, 8), lib.ReLU(), lib.Dropout(0.25),
        lib.Sequential(lib.Linear(8, 4, bias=False), lib.Tanh(), lib.Dropout()),
        lib.Linear(4, 1), lib.Sigmoid(), lib.Flatten(0, -1),
    )


def test_nested_repr_equals_torch(torch):
    ours, theirs = repr(_build_repr(nn)), repr(_build_repr(torch.nn))
    assert ours == theirs
    assert ours.count("\n") == theirs.count("\n")


@pytest.mark.parametrize("build", [
    lambda lib: lib.Linear(3, 2),
    lambda lib: lib.Linear(3, 2, bias=False),
    lambda lib: lib.ReLU(), lambda lib: lib.Tanh(), lambda lib: lib.Sigmoid(),
    lambda lib: lib.Identity(), lambda lib: lib.Flatten(), lambda lib: lib.Flatten(2, 3),
    lambda lib: lib.Softplus(), lambda lib: lib.Softplus(beta=2.0, threshold=10.0),
    lambda lib: lib.Softmax(dim=1), lambda lib: lib.LogSoftmax(dim=-1),
    lambda lib: lib.Sequential(), lambda lib: lib.ModuleList([lib.ReLU()]),
])
def test_leaf_repr_equals_torch(torch, build):
    assert repr(build(nn)) == repr(build(torch.nn))


def test_repr_with_extra_repr_and_children_equals_torch(torch):
    def build(lib, extra):
        class Block(lib.Module):
            def __init__(self):
                super().__init__()
                self.fc = lib.Linear(2, 2)
                self.acts = lib.ModuleList([lib.ReLU(), lib.Sequential(lib.Tanh())])

            def extra_repr(self):
                return extra

        class Leaf(lib.Module):
            def extra_repr(self):
                return extra

        return lib.Sequential(Block(), Leaf())

    for extra in ["", "k=1", "k=1\nmode=two lines"]:
        assert repr(build(nn, extra)) == repr(build(torch.nn, extra)), extra


def test_module_list_slice_is_a_module_list_like_torch(torch):
    def build(lib):
        return lib.ModuleList([lib.Linear(2, 2), lib.ReLU(), lib.Linear(2, 3)])

    ours, theirs = build(nn)[1:], build(torch.nn)[1:]
    assert type(ours) is nn.ModuleList
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["1.weight", "1.bias"]
    assert repr(ours) == repr(theirs)
