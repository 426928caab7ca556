"""`Function`: a node's declared settings, the values its forward saves, and their release; the
stand-ins of parents whose values no derivative reads."""

from __future__ import annotations

import ast
import gc
import inspect
import textwrap
import weakref

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import Function, function
from chainrule.autograd.function import StandIn, freed
from chainrule.inspect._trace_rules import all_ops
from chainrule.ops.geometry import Window


class _Scale(Function):
    """y = c · x with a setting c and a saved copy of x (to exercise save/release)."""

    factor: float

    def forward(self, x):
        self.save(seen=x.copy())
        return self.factor * x

    def backward(self, g, out):
        return (g * self.factor,)


def test_settings_are_the_class_annotations_including_inherited_ones():
    class _Twice(_Scale):
        offset: float

    assert _Scale.settings == frozenset({"factor"})
    assert _Twice.settings == frozenset({"factor", "offset"})
    assert Function.settings == frozenset()


def test_apply_rejects_an_unknown_setting_and_names_the_declared_ones():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"_Scale.apply: unknown setting\(s\) factr; the op "
                                        r"declares factor"):
        _Scale.apply(x, factr=2.0)
    with pytest.raises(TypeError, match="unknown setting"):
        cr.ops.pooling.MaxPool.apply(cr.zeros(1, 1, 4, 4), window=Window((2, 2), (2, 2)),
                                     kernel=(2, 2))


def test_saved_values_hold_settings_and_saves_until_backward_releases_them():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = _Scale.apply(x, factor=3.0)
    fn = y.grad_fn
    assert fn.saved_names == ("seen",)
    assert set(fn.saved_values) == {"factor", "seen"}
    np.testing.assert_array_equal(fn.saved_values["seen"], [1.0, 2.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.detach().numpy(), [3.0, 3.0])
    assert fn.released and fn.inputs == () and fn.saved_values == {}
    assert not hasattr(fn, "seen") and fn.saved_names == ()


def test_ops_save_the_same_state_on_both_kernel_paths(jit_mode):
    """MaxPool saves its taps whichever backend path ran (they used to be found in backward)."""
    x = cr.randn(2, 3, 6, 6, requires_grad=True)
    y = cr.max_pool2d(x, 2)
    assert y.grad_fn.saved_names == ("taps",)
    assert y.grad_fn.taps.shape == (2, 3, 3, 3)
    conv = cr.conv2d(x, cr.randn(4, 3, 3, 3, requires_grad=True))
    assert conv.grad_fn.saved_names == ("col",)


def test_op_names_in_errors_are_the_functions_users_call():
    assert cr.ops.conv.Convolution.op_name == "conv2d"
    assert cr.ops.activation.RectifiedLinear.op_name == "relu"
    assert cr.ops.reductions.MinAlong.op_name == "min"
    assert _Scale.op_name == "_scale"


def test_no_op_class_shares_its_name_with_an_nn_module():
    ops_classes = {name for name, obj in vars(cr.ops.activation).items()
                   if isinstance(obj, type) and issubclass(obj, Function)}
    for module in (cr.ops.conv, cr.ops.pooling, cr.ops.linalg, cr.ops.reductions, cr.ops.loss,
                   cr.ops.elementwise, cr.ops.shape):
        ops_classes |= {name for name, obj in vars(module).items()
                        if isinstance(obj, type) and issubclass(obj, Function)}
    nn_classes = {name for name, obj in vars(cr.nn).items() if isinstance(obj, type)}
    assert ops_classes & nn_classes == set()


# ----------------------------------------------------------------- stand-ins
@pytest.fixture
def every_parent(monkeypatch):
    """Every parent that can be a StandIn is one, however small."""
    monkeypatch.setattr(function, "STAND_IN_BYTES", 0)


def _grads(make, *leaves, stand_ins: bool):
    """The gradients of make()'s sum with stand-ins on or off."""
    old = function.STAND_IN_BYTES
    function.STAND_IN_BYTES = 0 if stand_ins else 1 << 62
    try:
        for t in leaves:
            t.grad = None
        make().sum().backward()
        return [t.grad.numpy().copy() for t in leaves]
    finally:
        function.STAND_IN_BYTES = old


def test_a_node_that_reads_no_value_frees_a_large_parent():
    """relu(conv(x)): ReLU's ∂y/∂z reads y, so conv's output (1.2 MB) is freed after the forward
    pass, as torch frees it; the gradients are unchanged."""
    x = cr.randn(16, 3, 32, 32)
    w = cr.randn(8, 3, 3, 3, requires_grad=True)
    z = cr.conv2d(x, w, padding=1)
    assert z.numel() * 4 >= function.STAND_IN_BYTES
    alive = weakref.ref(z)
    y = cr.relu(z)
    parent = y.grad_fn.inputs[0]
    assert isinstance(parent, StandIn) and function.vertex(parent) is z
    assert parent.grad_fn is z.grad_fn and parent.shape == z.shape and parent.dtype == z.dtype
    del z
    gc.collect()
    assert alive() is None and function.vertex(parent) is parent
    assert freed(parent.detach().numpy()) and "values were freed" in repr(parent)
    y.sum().backward()
    expected = _grads(lambda: cr.relu(cr.conv2d(x, w, padding=1)), w, stand_ins=False)
    np.testing.assert_array_equal(w.grad.numpy(), expected[0])


def test_small_parents_and_parents_whose_node_reads_its_output_are_kept(monkeypatch):
    monkeypatch.setattr(function, "STAND_IN_BYTES", 1 << 16)  # (CI also runs with 0)
    x = cr.randn(3, 4, requires_grad=True)
    z = x * 2.0
    assert cr.relu(z).grad_fn.inputs[0] is z  # 48 bytes: not worth a stand-in
    big = cr.randn(256, 256, requires_grad=True)
    s = big.sigmoid()  # its backward reads its output: σ' = σ(1 − σ)
    assert cr.ops.activation.Logistic.reads_output
    assert (s + 1.0).grad_fn.inputs[0] is s


def test_reads_output_is_read_off_each_backward():
    ops = cr.ops
    assert ops.activation.RectifiedLinear.reads_output  # z̄ = ȳ · 1[y > 0]
    assert ops.elementwise.Exp.reads_output             # ā = ȳ · y
    assert not ops.conv.Convolution.reads_output
    assert not ops.elementwise.Add.reads_output
    assert not ops.normalization.BatchNorm.reads_output


@pytest.mark.parametrize("cls", [c for c in all_ops() if not c.reads_inputs],
                         ids=lambda c: c.__name__)
def test_a_node_that_reads_no_value_uses_only_its_parents_shapes(cls):
    """`reads_inputs = False` is a promise about backward's code: it takes shapes, dtypes and
    requires_grad of `self.inputs`, never the tensors themselves (which may be StandIns)."""
    name = cls.__name__
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls.backward)))
    parents: dict[int, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[id(child)] = node
    metadata = ("shape", "dtype", "ndim", "numel", "requires_grad")
    named = set()  # `z = self.inputs[0]`: then z's uses are checked
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "inputs":
            use = parents[id(node)]
            assert isinstance(use, ast.Subscript), f"{name}.backward uses self.inputs whole"
            up = parents[id(use)]
            if isinstance(up, ast.Assign) and all(isinstance(t, ast.Name) for t in up.targets):
                named |= {t.id for t in up.targets}
            else:
                assert isinstance(up, ast.Attribute) and up.attr in metadata, \
                    f"{name}.backward reads a parent's value"
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in named and isinstance(node.ctx, ast.Load):
            up = parents[id(node)]
            assert isinstance(up, ast.Attribute) and up.attr in metadata, \
                f"{name}.backward reads the value of its parent {node.id}"


def test_fan_out_into_nodes_that_keep_it_and_nodes_that_do_not(every_parent):
    """z feeds relu (a stand-in), a product (z itself) and a sum (a stand-in): one vertex,
    whose node runs backward once, alive or not."""
    x = cr.randn(5, 4, dtype=cr.float64, requires_grad=True)

    def make():
        z = x * 3.0
        return cr.relu(z) * z + (z + 1.0).tanh()

    got = _grads(make, x, stand_ins=True)
    expected = _grads(make, x, stand_ins=False)
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-12)

    def two_free():  # both children read no value, and nothing else holds z
        z = x * 3.0
        return cr.relu(z) + z

    got = _grads(two_free, x, stand_ins=True)
    np.testing.assert_array_equal(got[0], np.where(x.detach().numpy() > 0, 6.0, 3.0))


def test_retain_grad_and_grad_reach_an_intermediate_kept_as_a_stand_in(every_parent):
    x = cr.randn(6, dtype=cr.float64, requires_grad=True)
    z = x * 2.0
    z.retain_grad()
    y = cr.relu(z)
    assert isinstance(y.grad_fn.inputs[0], StandIn)
    (y * y).sum().backward()
    np.testing.assert_allclose(z.grad.numpy(), 2 * np.maximum(z.detach().numpy(), 0))
    z2 = x * 2.0
    (g,) = cr.autograd.grad(cr.relu(z2).sum(), z2)
    np.testing.assert_array_equal(g.numpy(), (z2.detach().numpy() > 0).astype(float))


def test_second_derivatives_through_stand_ins_match_torch(every_parent, torch):
    a = np.random.default_rng(3).standard_normal((4, 5))

    def f(lib, x):
        z = x * 1.5
        h = z.tanh() + z.sigmoid() - (-z) + lib.relu(z) * z
        return (h * h).sum()

    x = cr.tensor(a, requires_grad=True)
    (g,) = cr.autograd.grad(f(cr, x), x, create_graph=True)
    (h,) = cr.autograd.grad(g.sum(), x)
    xt = torch.tensor(a, requires_grad=True)
    (gt,) = torch.autograd.grad(f(torch, xt), xt, create_graph=True)
    (ht,) = torch.autograd.grad(gt.sum(), xt)
    np.testing.assert_allclose(g.detach().numpy(), gt.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(h.numpy(), ht.numpy(), rtol=1e-10)


def test_in_place_ops_that_read_no_value_copy_nothing(every_parent, torch, monkeypatch):
    """h += b; h -= 0.5; h.relu_(): the nodes keep stand-ins of h's old values, so no copy is
    made; the gradients are torch's."""
    a, b = np.random.default_rng(4).standard_normal((2, 3, 4))
    copies = []
    real_copy = cr.autograd.inplace.copy
    monkeypatch.setattr(cr.autograd.inplace, "copy", lambda *a: copies.append(1) or real_copy(*a))

    def run(lib, x, y):
        h = x * 2.0
        h += y
        h.sub_(0.5)
        h.relu_()
        h = h.sigmoid()
        return (h * h).sum()

    x, y = cr.tensor(a, requires_grad=True), cr.tensor(b, requires_grad=True)
    run(cr, x, y).backward()
    assert copies == []
    xt, yt = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    run(torch, xt, yt).backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(y.grad.numpy(), yt.grad.numpy(), rtol=1e-12)
    h = x * 2.0
    h += y
    assert isinstance(h.grad_fn.inputs[0], StandIn)
    h.mul_(3.0)  # its backward reads the old value: that one is copied
    assert copies == [1] and h.grad_fn.inputs[0].grad_fn.op_name == "add"


def test_a_value_changed_in_place_after_use_is_still_refused(every_parent):
    x = cr.randn(4, requires_grad=True)
    z = x * 2.0
    y = cr.relu(z)
    z.mul_(3.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_reads_output_assumes_a_backward_with_star_args_may_read_it():
    class _Star(Function):
        def forward(self, x):
            return x

        def backward(self, *args):
            return (args[0] * args[1],)

    class _Closure(Function):
        def forward(self, x):
            return x

        def backward(self, g, out):
            return ((lambda: g * out)(),)

    assert _Star.reads_output and _Closure.reads_output
