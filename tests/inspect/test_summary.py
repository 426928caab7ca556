"""`chainrule.inspect.summary`: LeNet-5's table equals the lecture's (a golden file of the printed
table); what counts as a layer (functional calls, a module used twice, shared weights); the
shape-only pass computes nothing and agrees with the pass that computes values; multiply-adds
against `torch.utils.flop_counter.FlopCounterMode` on the same networks in torch; the zoo's
figures; memory; and the `chainrule summary` command.

Golden files live in tests/inspect/golden/; rewrite them after an intended change with
``CHAINRULE_UPDATE_GOLDEN=1 pytest tests/inspect/test_summary.py`` and review the diff.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import re
import shlex
import sys
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd.function import freed
from chainrule import models, nn
from chainrule.cli import main
from chainrule.inspect import COLUMNS, Summary, summary
from chainrule.nn import functional as F

GOLDEN = Path(__file__).parent / "golden"
LECTURE = ("units", "connections", "weights")
# The lecture's table of LeNet's sizes: layer: (units, connections, weights)
LENET_TABLE = {"c1": (4704, 117_600, 150), "s2": (1176, 4704, 0), "c3": (1600, 240_000, 2400),
               "s4": (400, 1600, 0), "f5": (120, 48_000, 48_000), "f6": (84, 10_080, 10_080),
               "output": (10, 840, 840)}


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("CHAINRULE_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    assert path.is_file(), f"missing golden file {path} (CHAINRULE_UPDATE_GOLDEN=1 writes it)"
    assert text == path.read_text(), f"{name} differs from the golden file"


def _rows(s: Summary) -> dict[str, dict]:
    return {r["name"]: r for r in s.rows}


# ----------------------------------------------------------------- LeNet-5, the lecture's table
def test_lenet5_equals_the_lectures_table():
    s = summary(models.lenet5(), (1, 1, 28, 28))
    rows = _rows(s)
    assert {k: tuple(rows[k][c] for c in LECTURE) for k in LENET_TABLE} == LENET_TABLE
    for name in ("act1", "act3", "flatten", "act5", "act6"):  # φ and reshapes add no units
        assert (rows[name]["units"], rows[name]["connections"], rows[name]["params"]) == (0, 0, 0)
    assert s.total_units == 8094 and s.total_connections == 422_824
    assert s.total_params == s.trainable_params == 61_706
    assert s.rows[0]["type"] == "Sequential" and s.rows[0]["output_shape"] == [1, 10]
    assert rows["c3"]["output_shape"] == [1, 16, 10, 10]
    assert s.total_macs == 416_520 and s.total_flops == 2 * 416_520
    by_type = s.by_type()
    assert {k: (v["layers"], v["units"], v["weights"], v["connections"])
            for k, v in by_type.items() if v["units"]} == {
        "Conv2d": (2, 6304, 2550, 357_600), "MaxPool2d": (2, 1576, 0, 6304),
        "Linear": (3, 214, 58_920, 58_920)}
    assert by_type["ReLU"]["layers"] == 4


def test_lenet5_printed_table_is_the_golden_file():
    """The lecture's three columns, then the default print, byte for byte."""
    s = summary(models.lenet5(), (1, 1, 28, 28), columns=LECTURE)
    _golden("lenet5_lecture.txt", s.table() + "\n")
    _golden("lenet5.txt", str(summary(models.lenet5(), (1, 1, 28, 28))) + "\n")


def test_lenet5_counts_do_not_depend_on_activation_pooling_or_batch():
    base = summary(models.lenet5(), (1, 1, 28, 28)).rows
    for act, pool, batch in (("tanh", "avg", 3), ("sigmoid", "max", 5)):
        other = summary(models.lenet5(act, pool), (batch, 1, 28, 28)).rows
        for a, b in zip(base, other, strict=True):
            assert [a[c] for c in ("name", *LECTURE, "macs")] == \
                   [b[c] for c in ("name", *LECTURE, "macs")]


def test_mlp_markdown_and_json_are_the_golden_files():
    s = summary(models.mlp(784, (256, 128)), (4, 1, 28, 28), columns="all")
    _golden("mlp.md", s.to_markdown())
    _golden("mlp.json", s.to_json() + "\n")
    d = json.loads(s.to_json())
    assert d["totals"]["total_params"] == 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10
    assert [r["units"] for r in d["rows"]] == [0, 0, 256, 0, 128, 0, 10]
    assert set(d["rows"][0]) == {"name", "type", "kind", "depth", *COLUMNS}


# ----------------------------------------------------------------- what counts as a layer
class _Head(nn.Module):
    """A functional matmul with a parameter and a functional linear: layers without modules."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(8, 16), nn.ReLU())
        self.proj = nn.Parameter(cr.randn(16, 6))
        self.w = nn.Parameter(cr.randn(3, 6))

    def forward(self, x):
        return F.linear(F.relu(self.body(x) @ self.proj), self.w)


def test_functional_calls_are_rows_of_their_own():
    s = summary(_Head(), (5, 8))
    assert [(r["name"], r["type"], r["depth"]) for r in s.rows] == [
        ("", "_Head", 0), ("body", "Sequential", 1), ("body.0", "Linear", 2),
        ("body.1", "ReLU", 2), ("matmul", "function", 1), ("linear", "function", 1)]
    rows = _rows(s)
    assert (rows["matmul"]["units"], rows["matmul"]["weights"], rows["matmul"]["macs"]) == \
        (6, 96, 96)
    assert (rows["linear"]["units"], rows["linear"]["weights"], rows["linear"]["macs"]) == \
        (3, 18, 18)
    assert rows["linear"]["output_shape"] == [5, 3]
    assert s.total_params == 8 * 16 + 16 + 96 + 18
    assert "├─matmul()" in str(s) and "└─linear()" in str(s)
    collapsed = summary(_Head(), (5, 8), depth=0)
    assert len(collapsed.rows) == 1
    assert collapsed.rows[0]["units"] == 16 + 6 + 3 == s.total_units


def test_a_plain_function_is_a_model_too():
    w = cr.randn(4, 3, requires_grad=True)

    def net(x):
        return (x @ w).tanh().sum(dim=1)

    s = summary(net, (2, 4))
    assert s.rows[0]["type"] == "net" and s.rows[0]["output_shape"] == [2]
    assert (s.total_params, s.total_units, s.total_macs) == (12, 3, 12)


def test_a_module_used_twice_counts_twice_and_shared_weights_once():
    layer = nn.Linear(4, 4)
    twice = nn.Sequential(OrderedDict([("a", layer), ("act", nn.ReLU()), ("b", layer)]))
    s = summary(twice, (1, 4))
    assert [r["name"] for r in s.rows] == ["", "a", "act", "a"]  # the module's first name
    assert [r["params"] for r in s.rows] == [0, 20, 0, 20]
    assert (s.total_params, s.total_units, s.total_macs) == (20, 8, 32)

    a, b = nn.Linear(4, 4), nn.Linear(4, 4)
    b.weight = a.weight  # tied weights, separate biases
    s = summary(nn.Sequential(a, nn.ReLU(), b), (1, 4))
    assert [r["weights"] for r in s.rows] == [0, 16, 0, 16]
    assert (s.total_weights, s.total_biases, s.total_params) == (16, 8, 24)


def test_frozen_and_unused_parameters():
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 2))
            self.spare = nn.Linear(7, 7)  # registered, never called

        def forward(self, x):
            return self.body(x)

    net = Net()
    net.body[0].requires_grad_(False)
    s = summary(net, (1, 3))
    assert s.total_params == 20 + 12 + 56
    assert s.trainable_params == 12 + 56 and s.non_trainable_params == 20
    assert s.unused_params == 56
    assert "Params not used in this pass: 56" in str(s)


def test_depth_collapses_and_every_depth_adds_up_to_the_totals():
    net = models.resnet18()
    full = summary(net, (1, 3, 32, 32), depth=10)
    for depth in (0, 1, 2, 3):
        s = summary(net, (1, 3, 32, 32), depth=depth)
        assert max(r["depth"] for r in s.rows) == depth
        for col, total in (("units", "total_units"), ("connections", "total_connections"),
                           ("macs", "total_macs"), ("activation_memory", "activation_memory")):
            assert sum(r[col] for r in s.rows) == s.totals[total] == full.totals[total]
    assert summary(net, (1, 3, 32, 32), depth=1).rows[5]["name"] == "layer1"


def test_global_pooling_written_as_a_mean_is_a_pooling_layer():
    """x.mean((2, 3)) has units like AdaptiveAvgPool2d(1); batch-norm's statistics do not."""
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv, self.bn = nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8)

        def forward(self, x):
            return self.bn(self.conv(x)).mean((2, 3))

    for mode in ("eval", "train"):
        s = summary(Net(), (2, 3, 6, 6), mode=mode)
        rows = _rows(s)
        assert rows["bn"]["units"] == 0 and rows["bn"]["params"] == 16
        assert (rows["mean"]["units"], rows["mean"]["connections"]) == (8, 8 * 16)


# ----------------------------------------------------------------- shapes only vs values
def _grouped() -> nn.Module:
    return nn.Sequential(nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2), nn.BatchNorm2d(6),
                         nn.Tanh(), nn.AvgPool2d(3, stride=2, padding=1), nn.Flatten(),
                         nn.Dropout(0.3), nn.Linear(24, 5), nn.Softmax(dim=1))


@pytest.mark.parametrize(("build", "shape"), [
    (lambda: models.lenet5(), (2, 1, 28, 28)),
    (lambda: models.lenet5("sigmoid", "avg"), (1, 1, 28, 28)),
    (lambda: models.mlp(), (3, 784)),
    (_Head, (2, 8)),
    (_grouped, (2, 4, 8, 8)),
    (lambda: nn.LocallyConnected2d(2, 3, (6, 6), 3, padding=1), (2, 2, 6, 6)),
    (lambda: models.resnet18(num_classes=7), (2, 3, 32, 32)),
])
@pytest.mark.parametrize("mode", ["eval", "train"])
def test_shapes_only_agrees_with_computing_values(build, shape, mode):
    """Every row and total, memory included (the blank arrays have the real ones' shapes)."""
    cr.manual_seed(0)
    net = build()
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    fast = summary(net, shape, mode=mode)
    slow = summary(net, input_data=cr.tensor(x), mode=mode)
    assert fast.shapes_only and not slow.shapes_only
    assert fast.rows == slow.rows
    assert fast.totals == slow.totals


def test_shapes_only_computes_nothing(monkeypatch):
    """With the backend's convolution, matrix and pooling kernels broken, the shape-only pass
    still runs (the values pass does not)."""
    from chainrule.backend import gemm, pooling, windows

    def broken(*args, **kwargs):
        raise AssertionError("a value was computed")

    for mod, name in ((gemm, "matmul_wide"), (windows, "im2col"), (pooling, "max_pool"),
                      (pooling, "window_sum")):
        monkeypatch.setattr(mod, name, broken)
    net = models.lenet5()
    assert summary(net, (4, 1, 28, 28)).total_macs == 416_520
    with pytest.raises(AssertionError, match="a value was computed"):
        summary(net, input_data=cr.zeros(4, 1, 28, 28))


def test_summary_leaves_the_model_and_the_generator_as_they_were():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Dropout(0.5))
    net[1].train()
    net[0].eval()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    cr.manual_seed(3)
    expected = cr.rand(5).numpy()
    cr.manual_seed(3)
    for shapes_only in (True, False):
        summary(net, (2, 1, 5, 5), mode="train", shapes_only=shapes_only)
    assert np.array_equal(cr.rand(5).numpy(), expected)  # dropout drew, and was undone
    after = net.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)
    assert [m.training for m in net.modules()] == [True, False, True, True]
    x = cr.ones(1, 1, 5, 5)
    assert net(x).grad_fn is not None  # Function.apply and the forwards are restored
    assert float(nn.Conv2d(1, 1, 1)(x).sum()) != 0.0


class _InPlace(nn.Module):
    """h += ...: the in-place add keeps a copy of h's old value for its backward."""

    def __init__(self) -> None:
        super().__init__()
        self.l1, self.l2, self.l3 = nn.Linear(6, 8), nn.Linear(6, 8), nn.Linear(8, 3)

    def forward(self, x):
        h = self.l1(x)
        h += self.l2(x)
        return self.l3(h.sigmoid())


@pytest.mark.parametrize(("build", "shape"), [
    (lambda: nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 8), nn.Sigmoid(),
                           nn.Linear(8, 3)), (4, 6)),
    (_InPlace, (4, 6)),
    (lambda: nn.Sequential(nn.Conv2d(4, 6, 3, groups=2), nn.ReLU(), nn.MaxPool2d(2),
                           nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 2)),
     (3, 4, 6, 6)),
])
def test_activation_memory_is_what_the_graph_keeps(build, shape):
    """Measured independently: walk the recorded graph from the output and add up the distinct
    buffers its nodes hold (their inputs and saved arrays), parameters excepted."""
    cr.manual_seed(1)
    net = build()
    x = cr.randn(*shape)
    assert summary(net, shape).totals == summary(net, input_data=x).totals
    s = summary(net, input_data=x)
    out = net(x)
    params = {id(p.detach().numpy()) for p in net.parameters()}
    held, seen, stack = {}, set(), [out.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        arrays = [t.detach().numpy() for t in node.inputs]
        arrays += [v for v in node.saved_values.values() if isinstance(v, np.ndarray)]
        for a in filter(lambda a: not freed(a), arrays):  # a StandIn holds no values
            base = a if a.base is None else a.base
            if id(base) not in params:
                held[id(base)] = base.nbytes
        stack.extend(t.grad_fn for t in node.inputs)
    held_out = out.numel() * out.dtype.itemsize
    assert s.activation_memory + s.input_memory == sum(held.values()) + held_out
    assert s.training_memory == s.activation_memory + s.input_memory + 2 * s.param_memory


def test_convolution_memory_counts_its_im2col_matrix():
    conv = nn.Conv2d(32, 4, 3, bias=False)
    s = summary(conv, (2, 32, 6, 6))
    out_bytes = 2 * 4 * 4 * 4 * 4            # kept for the loss
    col_bytes = (32 * 3 * 3) * (4 * 4 * 2) * 4  # saved for the weight gradient
    assert s.rows[0]["activation_memory"] == out_bytes + col_bytes
    # C·KH·KW = 27: im2col is built a block at a time, twice, and never kept
    small = summary(nn.Conv2d(3, 4, 3, bias=False), (2, 3, 6, 6))
    assert small.rows[0]["activation_memory"] == out_bytes
    frozen = summary(nn.Conv2d(3, 4, 3).requires_grad_(False), (2, 3, 6, 6))
    assert frozen.activation_memory == 0  # nothing is recorded: nothing is kept


# ----------------------------------------------------------------- multiply-adds against torch
def _torch_flops(torch, net, shape) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter, torch.no_grad():
        net(torch.zeros(shape))
    return counter.get_total_flops()


class _TorchLocal:
    """The locally connected layer as torch computes it: unfold, then one batched matmul."""

    def __init__(self, torch, c, o, out_hw, k, padding):
        self.torch, self.k, self.padding, self.out_hw = torch, k, padding, out_hw
        self.w = torch.zeros(out_hw[0] * out_hw[1], o, c * k * k)

    def __call__(self, x):
        cols = self.torch.nn.functional.unfold(x, self.k, padding=self.padding)  # (N, CKK, L)
        return self.torch.matmul(cols.permute(2, 0, 1), self.w.transpose(1, 2))


@pytest.mark.slow  # the flop counter's first use imports much of torch
@pytest.mark.torch
def test_multiply_adds_equal_torchs_flop_counter(torch):
    tnn = torch.nn
    twins = [
        (models.lenet5(), (3, 1, 28, 28), tnn.Sequential(
            tnn.Conv2d(1, 6, 5, padding=2), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Conv2d(6, 16, 5),
            tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(), tnn.Linear(400, 120), tnn.ReLU(),
            tnn.Linear(120, 84), tnn.ReLU(), tnn.Linear(84, 10))),
        (models.mlp(784, (300, 100)), (2, 784), tnn.Sequential(
            tnn.Flatten(), tnn.Linear(784, 300), tnn.ReLU(), tnn.Linear(300, 100), tnn.ReLU(),
            tnn.Linear(100, 10))),
        (_grouped(), (2, 4, 8, 8), tnn.Sequential(
            tnn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2), tnn.BatchNorm2d(6), tnn.Tanh(),
            tnn.AvgPool2d(3, stride=2, padding=1), tnn.Flatten(), tnn.Dropout(0.3),
            tnn.Linear(24, 5), tnn.Softmax(dim=1)).eval()),
        (nn.Sequential(nn.Conv2d(3, 5, 3, dilation=2, padding=2, bias=False), nn.Flatten(2)),
         (1, 3, 7, 9), tnn.Sequential(tnn.Conv2d(3, 5, 3, dilation=2, padding=2, bias=False),
                                      tnn.Flatten(2))),
        (nn.LocallyConnected2d(2, 3, (6, 6), 3, padding=1), (2, 2, 6, 6),
         _TorchLocal(torch, 2, 3, (6, 6), 3, 1)),
        (nn.Linear(6, 4), (2, 5, 6), tnn.Linear(6, 4)),  # leading dims fold into the batch
    ]
    for ours, shape, theirs in twins:
        s = summary(ours, shape)
        assert 2 * s.total_macs * shape[0] == _torch_flops(torch, theirs, shape), type(ours)
    lin, proj, w = tnn.Linear(8, 16), torch.zeros(16, 6), torch.zeros(3, 6)

    def head(x):
        return tnn.functional.linear(torch.relu(torch.relu(lin(x)) @ proj), w)

    assert 2 * summary(_Head(), (5, 8)).total_macs * 5 == _torch_flops(torch, head, (5, 8))


# torchvision's figures at 224×224: multiply-adds measured with torch 2.13's FlopCounterMode
# (flops / 2) on torchvision's definitions (its published GFLOPS round them: ResNet-50 4.089),
# and its parameter counts (GoogLeNet without the auxiliary heads)
ZOO = {
    "alexnet": (714_188_480, 61_100_840),
    "vgg11": (7_609_090_048, 132_863_336),
    "vgg16": (15_470_264_320, 138_357_544),
    "googlenet": (1_498_376_192, 6_624_904),
    "resnet18": (1_814_073_344, 11_689_512),
    "resnet50": (4_089_184_256, 25_557_032),
    "resnet152": (11_513_626_624, 60_192_808),
}
_PUBLISHED = {"alexnet": ("alexnet", "AlexNet_Weights"), "vgg16": ("vgg", "VGG16_Weights"),
              "googlenet": ("googlenet", "GoogLeNet_Weights"),
              "resnet18": ("resnet", "ResNet18_Weights"),
              "resnet50": ("resnet", "ResNet50_Weights")}


@pytest.fixture
def shapes_only_init(monkeypatch):
    """Skip the random initialisation of the zoo's weights (most of the time of building VGG or
    ResNet-152): every number the tool prints depends on shapes only."""
    from chainrule.nn import init

    for name in ("uniform_", "normal_", "trunc_normal_", "constant_", "zeros_", "ones_",
                 "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_"):
        monkeypatch.setattr(init, name, lambda tensor, *args, **kwargs: tensor)


def _zoo_model(name: str) -> nn.Module:
    return models.get_model(name, **({"aux_logits": False} if name == "googlenet" else {}))


@pytest.mark.parametrize("name", ZOO)
def test_zoo_multiply_adds_and_parameters_equal_torchvisions(shapes_only_init, name):
    s = summary(_zoo_model(name), (1, 3, 224, 224))
    assert (s.total_macs, s.total_params) == ZOO[name]
    assert s.unused_params == 0


def _torchvision_oracle(request):
    """torchvision's model files, through the loader the zoo's tests use (tests/models)."""
    path = Path(__file__).resolve().parents[1] / "models" / "conftest.py"
    spec = importlib.util.spec_from_file_location("_zoo_conftest_for_summary", path)
    if spec is None or spec.loader is None:
        pytest.skip(f"cannot load {path}")
    loader = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loader)
    cache = Path(request.config.cache.mkdir(f"torchvision-{loader.VERSION}"))
    src, why = loader._extract(cache)
    if src is None:
        pytest.skip(f"torchvision oracle unavailable: {why}")
    return loader._import(src)


@pytest.mark.slow
@pytest.mark.torch
@pytest.mark.parametrize("name", _PUBLISHED)
def test_zoo_against_flop_counter_and_published_figures(torch, request, shapes_only_init,
                                                        name):
    """FlopCounterMode on torchvision's own definition (batch 2), and the GFLOPS and parameter
    count published in its weights' metadata."""
    tv = _torchvision_oracle(request)
    module, weights = _PUBLISHED[name]
    family = getattr(tv, module)
    kwargs = {"aux_logits": False, "init_weights": False} if name == "googlenet" else {}
    if name == "vgg16":
        kwargs = {"init_weights": False}
    theirs = getattr(family, name)(**kwargs).eval()
    s = summary(_zoo_model(name), (2, 3, 224, 224))
    assert 2 * s.total_macs * 2 == _torch_flops(torch, theirs, (2, 3, 224, 224))
    meta = getattr(family, weights).IMAGENET1K_V1.meta
    assert round(s.total_macs / 1e9, 3) == meta["_ops"]
    assert s.total_params == meta["num_params"]


@pytest.mark.slow
def test_resnet152_shape_only_table(shapes_only_init):
    """The shape-only pass of ResNet-152 at 224×224 (about 0.5–0.8 s on the 2-core machine,
    against about 20 s for the pass that computes values; timed by hand, not asserted)."""
    s = summary(models.resnet152(), (1, 3, 224, 224))
    assert s.total_macs == ZOO["resnet152"][0]


# ----------------------------------------------------------------- arguments
@pytest.mark.parametrize(("kwargs", "match"), [
    ({}, "exactly one of input_size"),
    ({"input_size": (1, 4), "input_data": cr.zeros(1, 4)}, "exactly one of input_size"),
    ({"input_size": (1, 4), "columns": ("units", "bogus")}, "unknown column"),
    ({"input_size": (1, 4), "mode": "test"}, "mode must be one of"),
    ({"input_size": (1, 4), "depth": -1}, "depth must be"),
    ({"input_size": (0, 4)}, "batch dimension"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        summary(nn.Linear(4, 2), **kwargs)


def test_model_errors_pass_through_and_nothing_stays_patched():
    with pytest.raises(ValueError, match="linear"):
        summary(nn.Linear(4, 2), (1, 5))
    assert summary(nn.Linear(4, 2), (1, 4)).total_macs == 8

    def nested(x):
        return summary(nn.Linear(4, 2), (1, 4))

    with pytest.raises(RuntimeError, match="already recording"):
        summary(nested, (1, 4))


def test_several_and_keyword_inputs():
    class Two(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a, self.b = nn.Linear(3, 2), nn.Linear(5, 2)

        def forward(self, x, y=None):
            return self.a(x) + self.b(y)

    by_size = summary(Two(), [(4, 3), (4, 5)])
    by_kw = summary(Two(), input_data={"x": cr.zeros(4, 3), "y": cr.zeros(4, 5)})
    assert by_size.input_shapes == [[4, 3], [4, 5]] and by_size.total_macs == 16
    assert by_kw.totals == by_size.totals
    double = summary(Two().double(), [(4, 3), (4, 5)], dtype="float64")
    assert double.input_dtypes == ["float64", "float64"]
    assert double.param_memory == 2 * by_size.param_memory


# ----------------------------------------------------------------- the command line
def test_cli_prints_the_lenet_table(capsys):
    assert main(["summary", "--model", "lenet5", "--columns", "units,connections,weights"]) == 0
    out = capsys.readouterr().out
    assert out == summary(models.lenet5(), (1, 1, 28, 28), columns=LECTURE).table() + "\n"


@pytest.mark.parametrize("fmt", ["markdown", "json"])
def test_cli_formats(capsys, fmt):
    assert main(["summary", "--model", "resnet18", "--input", "3x64x64", "--depth", "1",
                 "--batch-size", "2", "--format", fmt]) == 0
    out = capsys.readouterr().out
    expected = summary(models.resnet18(), (2, 3, 64, 64), depth=1)
    if fmt == "json":
        assert json.loads(out)["totals"] == json.loads(expected.to_json())["totals"]
    else:
        assert out == expected.to_markdown()


@pytest.mark.parametrize(("argv", "message"), [
    (["--model", "lenet6"], "unknown model 'lenet6'"),
    (["--model", "lenet5", "--input", "1x28"], "max_pool2d: input (1, 6, 1, 28)"),
    (["--model", "lenet5", "--input", "1xx28"], "--input '1xx28'"),
    (["--model", "lenet5", "--input", "0x28x28"], "must be positive"),
    (["--model", "lenet5", "--columns", "units,volume"], "unknown column(s) 'volume'"),
    (["--model", "lenet5", "--depth", "-2"], "--depth must be"),
    (["--model", "lenet5", "--input", "1x8x8"], "smaller than the kernel"),
    (["--model", "mlp", "--input", "3x28x28"], "linear: input of shape (1, 2352)"),
])
def test_cli_errors_are_one_line(capsys, argv, message):
    assert main(["summary", *argv]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("chainrule: error: ") and message in err


def test_cli_help_lists_summary(capsys):
    with pytest.raises(SystemExit):
        main(["summary", "--help"])
    out = capsys.readouterr().out
    assert "--model" in out and "--format" in out and "3x224x224" in out
    assert sys.modules["chainrule.inspect.summary"].DEFAULT_INPUTS["lenet5"] == (1, 28, 28)


# ----------------------------------------------------------------- the documentation page
DOC = Path(__file__).resolve().parents[2] / "docs" / "size-of-a-network.md"
_PIECES = re.compile(r"```python\n(?P<code>.*?)```\n|<!-- output: (?P<key>.+?) -->\n"
                     r"(?P<body>.*?)<!-- end -->", re.S)


def _run_doc_block(key: str, code: str | None, scope: dict) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        if key == "python":
            assert code is not None, "an output block with no python block before it"
            exec(compile(code, str(DOC), "exec"), scope)
        else:
            argv = shlex.split(key.removeprefix("$ "))
            assert argv[0] == "chainrule" and main(argv[1:]) == 0
    text = out.getvalue()
    return text if key == "python" or "markdown" in key else f"```text\n{text}```\n"


@pytest.mark.slow
def test_docs_page_numbers_are_the_tools_output(shapes_only_init):
    """Re-run every command and code block of docs/size-of-a-network.md; its outputs must be
    what the page shows (CHAINRULE_UPDATE_GOLDEN=1 rewrites them)."""
    page = DOC.read_text()
    scope: dict = {}
    code: str | None = None
    pieces, last = [], 0
    for m in _PIECES.finditer(page):
        if m["code"] is not None:
            code = m["code"]
            continue
        body = _run_doc_block(m["key"], code, scope)
        if not os.environ.get("CHAINRULE_UPDATE_GOLDEN"):
            assert m["body"] == body, f"docs: the output of {m['key']!r} changed"
        pieces += [page[last:m.start("body")], body]
        last = m.end("body")
        code = None
    if os.environ.get("CHAINRULE_UPDATE_GOLDEN"):
        DOC.write_text("".join([*pieces, page[last:]]))
    assert len(pieces) >= 16
