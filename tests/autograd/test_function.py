"""`Function`: a node's declared settings, the values its forward saves, and their release."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import Function
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
