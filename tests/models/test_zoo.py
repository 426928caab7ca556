"""The classic architectures (chainrule.models: AlexNet, VGG, GoogLeNet, ResNet) against
torchvision's own definitions (the `tv` fixture of conftest.py, taken from torchvision's wheel).

For every model: the printed module tree (names, layer types and every constructor argument),
state_dict keys, shapes and dtypes equal torchvision's; the parameter count equals torchvision's
published figure; and with torchvision's weights copied in through state_dict (batch-norm
statistics and affine parameters randomised first, so they matter), the eval-mode output, the
input gradient and every parameter gradient for a random upstream gradient equal torch's. The
models that fit run in float64 (agreement to ~1e-12); AlexNet and VGG, with their 60–140 M
parameters, in float32. Inputs are the smallest the models take, to keep this fast.

The original AlexNet has no torchvision twin: its twin is written here in torch.nn from the
paper (torch's own LocalResponseNorm and grouped Conv2d).
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import chainrule as cr
from chainrule import models
from chainrule.errors import ShapeError

pytestmark = pytest.mark.torch

# torchvision's published parameter counts (the `num_params` of its weight enums)
PUBLISHED = {"alexnet": 61_100_840, "vgg11": 132_863_336, "vgg11_bn": 132_868_840,
             "vgg16": 138_357_544, "vgg16_bn": 138_365_992, "googlenet": 6_624_904,
             "resnet18": 11_689_512, "resnet34": 21_797_672, "resnet50": 25_557_032,
             "resnet101": 44_549_160, "resnet152": 60_192_808}


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    """The models' GEMMs here are matrix-vector sized (a 32×32 input leaves 1×1 maps in the
    last layers): on the shared 2-core machine OpenBLAS's spinning worker threads made them ~7x
    slower than one thread (measured on ResNet-101's forward and backward). Restored after."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _np(t):
    return t.detach().numpy()


def _close(ours, theirs, tol, what):
    """max |ours − theirs| ≤ tol · max |theirs| (error relative to the tensor's scale)."""
    a, b = np.asarray(ours), np.asarray(theirs)
    assert a.shape == b.shape, f"{what}: shape {a.shape}, torch {b.shape}"
    assert a.dtype == b.dtype, f"{what}: dtype {a.dtype}, torch {b.dtype}"
    if a.dtype.kind != "f":
        np.testing.assert_array_equal(a, b, err_msg=what)
        return
    scale = max(float(b.max()), -float(b.min()), 1e-30)
    diff = np.subtract(a, b)
    err = max(float(diff.max()), -float(diff.min()))  # max |a − b| with one temporary
    assert err <= tol * scale, f"{what}: max error {err:.3g} vs scale {scale:.3g}"


def _randomise_norms(torch, tmodel, seed=0):
    """Batch-norm γ, β and running statistics away from 1 / 0, so that an eval-mode mistake in
    any of them shows."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in tmodel.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
                m.num_batches_tracked.fill_(3)


def _same_structure(ours, theirs):
    """Same printed tree (names, types, constructor arguments) and state_dict layout."""
    assert repr(ours) == repr(theirs)
    sd, tsd = ours.state_dict(), theirs.state_dict()
    assert list(sd) == list(tsd)
    for k, v in tsd.items():
        assert sd[k].shape == tuple(v.shape), k
        assert sd[k].dtype == np.dtype(str(v.dtype).removeprefix("torch.")), k
    n = sum(p.numel() for p in ours.parameters())
    assert n == sum(p.numel() for p in theirs.parameters())
    return n


def _copy_weights(ours, theirs):
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})


def _forward_backward(torch, ours, theirs, x, tol, seed=0):
    """Output, input gradient and every parameter gradient for a random upstream gradient."""
    cx, tx = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    cy, ty = ours(cx), theirs(tx)
    _close(_np(cy), _np(ty), tol, "output")
    v = np.random.default_rng(seed).standard_normal(ty.shape).astype(x.dtype)
    cy.backward(gradient=v)
    ty.backward(torch.from_numpy(v))
    _close(_np(cx.grad), _np(tx.grad), tol, "input gradient")
    tparams = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        if tparams[name].grad is None:  # not on the path (the aux heads in eval mode)
            assert p.grad is None, name
            continue
        _close(_np(p.grad), _np(tparams[name].grad), tol, f"{name} gradient")
    return cy


def _check(torch, ours, theirs, shape, dtype=np.float64, tol=None, published=None):
    """Structure, published count, then eval-mode forward/backward with theirs' weights."""
    n = _same_structure(ours, theirs)
    if published is not None:
        assert n == published
    _randomise_norms(torch, theirs)
    if dtype == np.float64:
        ours, theirs = ours.double(), theirs.double()
    _copy_weights(ours, theirs)
    ours.eval(), theirs.eval()
    x = np.random.default_rng(1).standard_normal(shape).astype(dtype)
    tol = tol if tol is not None else (1e-10 if dtype == np.float64 else 2e-4)
    _forward_backward(torch, ours, theirs, x, tol)


# ----------------------------------------------------------------- AlexNet
def test_alexnet(tv, torch):
    _check(torch, models.alexnet(), tv.alexnet.alexnet(), (1, 3, 63, 63), np.float32,
           published=PUBLISHED["alexnet"])


def _torch_alexnet_original(tnn):
    def lrn():
        return tnn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0)
    features = tnn.Sequential(OrderedDict([
        ("conv1", tnn.Conv2d(3, 96, 11, stride=4)), ("relu1", tnn.ReLU()), ("norm1", lrn()),
        ("pool1", tnn.MaxPool2d(3, 2)),
        ("conv2", tnn.Conv2d(96, 256, 5, padding=2, groups=2)), ("relu2", tnn.ReLU()),
        ("norm2", lrn()), ("pool2", tnn.MaxPool2d(3, 2)),
        ("conv3", tnn.Conv2d(256, 384, 3, padding=1)), ("relu3", tnn.ReLU()),
        ("conv4", tnn.Conv2d(384, 384, 3, padding=1, groups=2)), ("relu4", tnn.ReLU()),
        ("conv5", tnn.Conv2d(384, 256, 3, padding=1, groups=2)), ("relu5", tnn.ReLU()),
        ("pool5", tnn.MaxPool2d(3, 2))]))
    classifier = tnn.Sequential(OrderedDict([
        ("fc6", tnn.Linear(9216, 4096)), ("relu6", tnn.ReLU()), ("drop6", tnn.Dropout()),
        ("fc7", tnn.Linear(4096, 4096)), ("relu7", tnn.ReLU()), ("drop7", tnn.Dropout()),
        ("fc8", tnn.Linear(4096, 1000))]))

    class Twin(tnn.Module):
        def __init__(self):
            super().__init__()
            self.features, self.classifier = features, classifier

        def forward(self, x):
            return self.classifier(self.features(x).flatten(1))
    return Twin()


def test_alexnet_original_is_the_papers_network(torch):
    """227×227 input (224×224 is an error); 55×55×96 after conv1 (the paper's 253,440 units);
    60,965,224 parameters; the paper's initialisation; equal to a torch twin."""
    cr.manual_seed(0)
    net = models.alexnet_original()
    f = dict(net.features.named_children())
    std = float(np.std(_np(f["conv1"].weight)))
    assert abs(std - 0.01) < 2e-4
    assert {k: float(_np(m.bias).mean()) for k, m in
            [*f.items(), *net.classifier.named_children()] if hasattr(m, "bias")} == {
        "conv1": 0.0, "conv2": 1.0, "conv3": 0.0, "conv4": 1.0, "conv5": 1.0, "fc6": 1.0,
        "fc7": 1.0, "fc8": 0.0}
    assert sum(p.numel() for p in net.parameters()) == 60_965_224
    assert f["conv2"].weight.shape == (256, 48, 5, 5)  # each GPU's half of conv1's maps
    twin = _torch_alexnet_original(torch.nn)
    assert list(net.state_dict()) == list(twin.state_dict())
    _copy_weights(net, twin)
    # float64: in float32 a few ReLU / max-pool decisions can flip between the two libraries
    net.eval().double(), twin.eval().double()
    x = np.random.default_rng(2).standard_normal((1, 3, 227, 227))
    with cr.no_grad():
        assert tuple(net.features[:2](cr.tensor(x)).shape) == (1, 96, 55, 55)
    _forward_backward(torch, net, twin, x, 1e-9)
    with pytest.raises(ShapeError, match=r"alexnet_original: expected \(N, 3, 227, 227\)"), \
            cr.no_grad():
        net(cr.zeros(1, 3, 224, 224, dtype=cr.float64))


# ----------------------------------------------------------------- VGG
def test_vgg11(tv, torch):
    _check(torch, models.vgg11(init_weights=False), tv.vgg.vgg11(init_weights=False),
           (1, 3, 32, 32), np.float32, published=PUBLISHED["vgg11"])


@pytest.mark.parametrize("name", ["vgg11_bn", "vgg16_bn"])
def test_vgg_bn(tv, torch, name):
    """The whole model's structure and count (torchvision's built on torch's meta device: shapes
    without values); forward and backward of its convolutional part (with batch norm) in
    float64, the classifier being VGG-11's, run above."""
    ours = getattr(models, name)(init_weights=False)
    with torch.device("meta"):
        theirs = getattr(tv.vgg, name)(init_weights=False)
    assert _same_structure(ours, theirs) == PUBLISHED[name]
    cfg = "A" if name == "vgg11_bn" else "D"
    _check(torch, ours.features, tv.vgg.make_layers(tv.vgg.cfgs[cfg], batch_norm=True),
           (1, 3, 32, 32))


@pytest.mark.slow
def test_vgg16(tv, torch):
    """VGG-16 with its own initialisation (torchvision's rules) before the weights are copied."""
    net = models.vgg16()
    convs = [m for m in net.modules() if isinstance(m, cr.nn.Conv2d)]
    fan_out = convs[-1].weight.shape[0] * 9
    assert abs(float(np.std(_np(convs[-1].weight))) - np.sqrt(2 / fan_out)) < 2e-3
    assert abs(float(np.std(_np(net.classifier[0].weight))) - 0.01) < 1e-4
    assert not np.any(_np(net.classifier[0].bias))
    _check(torch, net, tv.vgg.vgg16(init_weights=False), (1, 3, 32, 32), np.float32,
           published=PUBLISHED["vgg16"])


# ----------------------------------------------------------------- GoogLeNet
def test_googlenet_eval(tv, torch):
    ours = models.googlenet(aux_logits=False)
    _check(torch, ours, tv.googlenet.googlenet(aux_logits=False, init_weights=True),
           (1, 3, 40, 40), published=PUBLISHED["googlenet"])


def test_googlenet_with_aux_heads_and_transform_input(tv, torch):
    """Default googlenet() carries both auxiliary heads (13,004,888 parameters, as
    torchvision's); eval mode returns only the logits; transform_input rescales the input."""
    ours = models.googlenet(transform_input=True)
    theirs = tv.googlenet.googlenet(transform_input=True, init_weights=True)
    assert _same_structure(ours, theirs) == 13_004_888
    _randomise_norms(torch, theirs)
    ours, theirs = ours.double(), theirs.double()
    _copy_weights(ours, theirs)
    ours.eval(), theirs.eval()
    x = np.random.default_rng(3).standard_normal((1, 3, 32, 32))
    y = _forward_backward(torch, ours, theirs, x, 1e-10)
    assert isinstance(y, cr.Tensor)


def test_googlenet_training_returns_the_aux_logits(tv, torch):
    """Training mode: GoogLeNetOutputs(logits, aux_logits2, aux_logits1), batch statistics,
    running statistics updated as torch's (dropout off so the outputs are comparable)."""
    kw = dict(dropout=0.0, dropout_aux=0.0)
    ours, theirs = models.googlenet(**kw), tv.googlenet.googlenet(init_weights=True, **kw)
    ours, theirs = ours.double(), theirs.double()
    _copy_weights(ours, theirs)
    x = np.random.default_rng(4).standard_normal((2, 3, 32, 32))
    cx, tx = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    cy, ty = ours(cx), theirs(tx)
    assert type(cy).__name__ == "GoogLeNetOutputs" and cy._fields == ty._fields
    vs = [np.random.default_rng(k).standard_normal(t.shape) for k, t in enumerate(ty)]
    for field, c, t in zip(ty._fields, cy, ty, strict=True):
        _close(_np(c), _np(t), 1e-10, field)
    sum((c * v).sum() for c, v in zip(cy, vs, strict=True)).backward()
    sum((t * torch.from_numpy(v)).sum() for t, v in zip(ty, vs, strict=True)).backward()
    _close(_np(cx.grad), _np(tx.grad), 1e-9, "input gradient")
    tsd = theirs.state_dict()
    for k, v in ours.state_dict().items():
        _close(v, _np(tsd[k]), 1e-10, k)  # running statistics after one training batch


# ----------------------------------------------------------------- ResNet
@pytest.mark.parametrize("name", ["resnet18", "resnet34", "resnet50", "resnet101"])
def test_resnet(tv, torch, name):
    """ResNet-18 and -50 are built with zero_init_residual=True: every block's last batch norm
    starts at γ = 0, as torchvision's (then randomised for the forward check)."""
    kw = {"zero_init_residual": True} if name in ("resnet18", "resnet50") else {}
    ours, theirs = getattr(models, name)(**kw), getattr(tv.resnet, name)(**kw)
    if kw:
        last = "bn2" if name == "resnet18" else "bn3"
        sd, tsd = ours.state_dict(), theirs.state_dict()
        zero = [k for k, v in tsd.items() if v.dtype.is_floating_point and not v.any()]
        assert [k for k, v in sd.items() if v.dtype.kind == "f" and not v.any()] == zero
        assert all(k.endswith(("bias", "running_mean")) or f".{last}.weight" in k
                   for k in zero)
        blocks = sum(len(getattr(ours, f"layer{i}")) for i in range(1, 5))
        assert sum(k.endswith(f".{last}.weight") for k in zero) == blocks
    # Kaiming-normal convolutions with fan_out, as torchvision's
    w = _np(ours.layer4[0].conv2.weight)
    assert abs(float(w.std()) - np.sqrt(2 / (w.shape[0] * 9))) < 1e-3
    _check(torch, ours, theirs, (2, 3, 32, 32), published=PUBLISHED[name])


@pytest.mark.slow
def test_resnet152(tv, torch):
    _check(torch, models.resnet152(), tv.resnet.resnet152(), (1, 3, 32, 32),
           published=PUBLISHED["resnet152"])


def test_resnet_options(tv, torch):
    """groups / width_per_group (ResNeXt-style), replace_stride_with_dilation, num_classes."""
    kw = dict(groups=2, width_per_group=32, replace_stride_with_dilation=[False, True, True],
              num_classes=7)
    ours = models.ResNet(models.Bottleneck, [1, 1, 1, 1], **kw)
    theirs = tv.resnet.ResNet(tv.resnet.Bottleneck, [1, 1, 1, 1], **kw)
    _check(torch, ours, theirs, (1, 3, 32, 32))


def test_resnet_training_mode(tv, torch):
    """Batch statistics in the forward pass, running statistics updated as torch's."""
    cr.manual_seed(0), torch.manual_seed(0)
    ours, theirs = models.resnet18().double(), tv.resnet.resnet18().double()
    _copy_weights(ours, theirs)
    x = np.random.default_rng(5).standard_normal((2, 3, 32, 32))
    # At layer4 each batch-norm channel normalises 2 values (batch 2, 1×1 maps): that divides
    # by tiny variances, so gradients reach ~1e5 and float64 rounding differs at ~1e-9 of it.
    _forward_backward(torch, ours, theirs, x, 1e-7)
    tsd = theirs.state_dict()
    for k, v in ours.state_dict().items():
        _close(v, _np(tsd[k]), 1e-10, k)


def test_a_torchvision_checkpoint_file_loads_through_cr_load(tv, torch, tmp_path):
    """torchvision publishes weights as torch.save'd state_dicts (.pth): cr.load reads one
    without torch, and the model then computes torchvision's outputs."""
    theirs = tv.resnet.resnet18()
    _randomise_norms(torch, theirs)
    torch.save(theirs.state_dict(), tmp_path / "resnet18.pth")
    ours = models.resnet18()
    ours.load_state_dict(cr.load(tmp_path / "resnet18.pth"))
    ours.eval(), theirs.eval()
    x = np.random.default_rng(6).standard_normal((1, 3, 32, 32)).astype(np.float32)
    with cr.no_grad(), torch.no_grad():
        _close(_np(ours(cr.tensor(x))), _np(theirs(torch.from_numpy(x))), 1e-5, "logits")


@pytest.mark.parametrize("name, weights", [("googlenet", "GoogLeNet_Weights"),
                                           ("resnet18", "ResNet18_Weights"),
                                           ("resnet50", "ResNet50_Weights")])
def test_summary_gives_torchvisions_published_size(tv, name, weights):
    """chainrule.inspect.summary at 224×224: parameters and mult-adds equal the num_params and
    _ops (G mult-adds, 3 decimals) of torchvision's weight enums."""
    from chainrule.inspect.summary import summary

    module = tv.googlenet if name == "googlenet" else tv.resnet
    meta = getattr(module, weights).IMAGENET1K_V1.meta
    net = models.get_model(name, **({"aux_logits": False} if name == "googlenet" else {}))
    s = summary(net, (1, 3, 224, 224))
    assert s.total_params == meta["num_params"]
    assert round(s.total_macs / 1e9, 3) == meta["_ops"]


# ----------------------------------------------------------------- registry and arguments
def test_every_architecture_is_registered():
    assert {"alexnet", "alexnet_original", "vgg11", "vgg11_bn", "vgg16", "vgg16_bn",
            "googlenet", "resnet18", "resnet34", "resnet50", "resnet101",
            "resnet152"} <= set(models.MODELS)
    assert isinstance(models.get_model("resnet18", num_classes=10).fc, cr.nn.Linear)


@pytest.mark.parametrize("name", ["alexnet", "vgg11", "googlenet", "resnet50",
                                  "alexnet_original"])
def test_pretrained_weights_are_an_honest_error(name):
    with pytest.raises(ValueError, match=f"{name}: .*no pretrained weights"):
        models.get_model(name, weights="IMAGENET1K_V1")
