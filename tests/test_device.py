"""Devices and dtype names as torch spells them; the CPU is the only device."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr


def test_cpu_is_accepted_everywhere_torch_takes_a_device():
    dev = cr.device("cpu")
    assert dev == "cpu" and str(dev) == "cpu" and repr(dev) == "device(type='cpu')"
    x = cr.zeros(2, 3, device=dev)
    assert x.device == dev and not x.is_cuda
    assert x.to(dev) is x and x.cpu() is x and x.to("cpu", copy=True) is not x
    for make in (lambda: cr.ones(2, device="cpu"), lambda: cr.tensor([1.0], device="cpu"),
                 lambda: cr.randn(2, device=dev), lambda: cr.arange(3, device="cpu"),
                 lambda: cr.full((2,), 1.0, device="cpu"),
                 lambda: cr.zeros_like(x, device="cpu"),
                 lambda: cr.randint(0, 3, (2,), device="cpu"),
                 lambda: cr.randperm(3, device="cpu")):
        assert make().device == dev
    model = cr.nn.Sequential(cr.nn.Linear(3, 2, device="cpu"), cr.nn.ReLU())
    assert model.to(dev) is model and model.cpu() is model


@pytest.mark.parametrize("make", [
    lambda: cr.zeros(2, device="cuda"), lambda: cr.zeros(2).to("cuda"),
    lambda: cr.zeros(2).to(cr.device("cuda", 0)), lambda: cr.zeros(2).cuda(),
    lambda: cr.nn.Linear(2, 2).to("mps"), lambda: cr.nn.Linear(2, 2, device="cuda:1"),
    lambda: cr.nn.Conv2d(1, 1, 3).cuda(),
])
def test_other_devices_are_refused_clearly(make):
    with pytest.raises(RuntimeError, match="CPU only"):
        make()


def test_scripts_that_check_for_an_accelerator_choose_the_cpu():
    assert not cr.cuda.is_available() and cr.cuda.device_count() == 0
    assert not cr.backends.mps.is_available()
    assert not cr.accelerator.is_available() and cr.accelerator.current_accelerator() is None
    assert cr.device("cuda:1").index == 1 and cr.device("cuda", 0).type == "cuda"


def test_to_takes_dtypes_tensors_and_devices_in_torch_order():
    x = cr.tensor([1.5, 2.5])
    assert x.to(cr.float64).dtype == np.float64
    assert x.to("cpu", cr.float16).dtype == np.float16
    assert x.to(dtype=cr.int64).tolist() == [1, 2]
    assert x.to(cr.zeros(1, dtype=cr.float64)).dtype == np.float64
    model = cr.nn.Linear(2, 2).to("cpu", cr.float64)
    assert model.weight.dtype == np.float64


def test_dtype_names_and_conversions_as_torch():
    torch = pytest.importorskip("torch")
    x, t = cr.tensor([0.0, 1.5, -2.0]), torch.tensor([0.0, 1.5, -2.0])
    for name in ("float", "double", "half", "long", "int", "short", "byte", "bool"):
        ours, theirs = getattr(x, name)(), getattr(t, name)()
        assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch."), name
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    for name in ("float", "double", "long", "int", "bool", "half", "float32", "int64", "uint8"):
        assert getattr(cr, name) == np.dtype(str(getattr(torch, name)).removeprefix("torch."))
    assert x.type() == t.type() == "torch.FloatTensor"
    assert x.long().type() == "torch.LongTensor" and x.type(cr.float64).dtype == np.float64


def test_a_float64_input_into_a_float32_layer_is_torch_s_dtype_error():
    torch = pytest.importorskip("torch")
    for lib in (torch, cr):
        for layer, shape in ((lib.nn.Linear(3, 2), (1, 3)), (lib.nn.Conv2d(1, 2, 3), (1, 1, 5, 5)),
                             (lib.nn.BatchNorm1d(3), (2, 3))):
            with pytest.raises(RuntimeError):
                layer(lib.ones(*shape, dtype=lib.float64))
        with pytest.raises(RuntimeError):
            lib.ones(2, 3) @ lib.ones(3, 2, dtype=lib.float64)
    assert cr.nn.Linear(3, 2).double()(cr.ones(1, 3, dtype=cr.float64)).dtype == np.float64
