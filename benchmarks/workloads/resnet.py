"""ResNet-18 and ResNet-50 (chainrule.models) against torch twins with the same state_dict.

Three workloads:

- `resnet18-infer-224`: inference on ImageNet-sized inputs, 224×224 RGB, batch 8, eval mode
  (batch norm uses the running statistics), forward under no_grad, 1000 classes;
- `resnet50-infer-224`: the same for ResNet-50 (bottleneck blocks);
- `resnet18-step-32`: a CIFAR-sized training step, 32×32 RGB, batch 64, 10 classes, train mode
  (batch statistics): zero grads, forward, cross-entropy, backward, SGD(lr=0.05, momentum=0.9).

Both libraries start from the weights of `chainrule.models.resnet18()` (or `resnet50()`)
initialised with the seed (Kaiming-normal convolutions, as torchvision), copied through
state_dict, and read the same
pre-generated standard-normal float32 images with random labels (no dataset: the cost of a
ResNet step does not depend on what the pixels show). The torch twin is torch.nn written out
here with torchvision's module names; the startup check (loss and every gradient equal) is what
makes it the same network.

The startup check runs on float64 copies of both models (the timed runs are float32). In
float32 the two libraries' ~1e-7 rounding differences flip a few ReLU gates and max-pool
choices among the millions a 224×224 ResNet makes, and each flip moves a gradient entry by the
whole error signal there: measured 3e-6 to 6e-3 worst relative gradient difference between
chainrule and torch depending on the seed, with chainrule and torch each as far from the float64
gradients as from each other. In float64 they agree to ~1e-14. The inference workloads also
compare the float32 outputs of the timed forward itself (`timed_output`).
"""

from __future__ import annotations

import copy
import functools
from typing import Any

import numpy as np

from benchmarks.registry import Model, register
from benchmarks.workloads.nets import LR, MOMENTUM, ChainruleNet, TorchNet

INFER_BATCH, INFER_SIZE, INFER_BATCHES = 8, 224, 2
STEP_BATCH, STEP_SIZE, STEP_BATCHES, STEP_CLASSES = 64, 32, 4, 10


@functools.lru_cache(maxsize=4)
def _batches(seed: int, batch: int, size: int, count: int, classes: int
             ) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    rng = np.random.default_rng(seed)
    return tuple((rng.standard_normal((batch, 3, size, size), np.float32),
                  rng.integers(0, classes, batch)) for _ in range(count))


def _torch_resnet(arch: str, num_classes: int) -> Any:
    """torchvision's ResNet-18 / ResNet-50 layout in plain torch.nn (same names, shapes and
    forward)."""
    from torch import nn

    def bn(c: int) -> Any:
        return nn.BatchNorm2d(c)

    def shortcut(cin: int, cout: int, stride: int) -> Any:
        if stride == 1 and cin == cout:
            return None
        return nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), bn(cout))

    class Basic(nn.Module):
        expansion = 1

        def __init__(self, cin: int, planes: int, stride: int) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
            self.bn1 = bn(planes)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = bn(planes)
            self.downsample = shortcut(cin, planes, stride)

        def forward(self, x: Any) -> Any:
            out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
            return self.relu(out + (x if self.downsample is None else self.downsample(x)))

    class Bottleneck(nn.Module):
        expansion = 4

        def __init__(self, cin: int, planes: int, stride: int) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
            self.bn1 = bn(planes)
            self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
            self.bn2 = bn(planes)
            self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
            self.bn3 = bn(planes * 4)
            self.relu = nn.ReLU(inplace=True)
            self.downsample = shortcut(cin, planes * 4, stride)

        def forward(self, x: Any) -> Any:
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn3(self.conv3(self.relu(self.bn2(self.conv2(out)))))
            return self.relu(out + (x if self.downsample is None else self.downsample(x)))

    block, depths = {"resnet18": (Basic, (2, 2, 2, 2)),
                     "resnet50": (Bottleneck, (3, 4, 6, 3))}[arch]

    class ResNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
            self.bn1 = bn(64)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(3, 2, 1)
            cin = 64
            for i, (planes, depth) in enumerate(zip((64, 128, 256, 512), depths, strict=True),
                                                1):
                blocks = []
                for j in range(depth):
                    blocks.append(block(cin, planes, 2 if j == 0 and i > 1 else 1))
                    cin = planes * block.expansion
                setattr(self, f"layer{i}", nn.Sequential(*blocks))
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(cin, num_classes)

        def forward(self, x: Any) -> Any:
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(self.avgpool(x).flatten(1))

    return ResNet()


class _Float64Check:
    """`first_step` and `after_step_loss` on a float64 copy of the module and the data."""

    module: Any
    data: list[tuple[Any, Any]]

    def _f64(self) -> tuple[Any, Any, list[tuple[Any, Any]]]:
        raise NotImplementedError  # (library, module copy, batches), all float64

    def first_step(self) -> tuple[float, dict[str, np.ndarray]]:
        lib, self._m64, self._d64 = self._f64()
        x, y = self._d64[0]
        loss = lib.nn.functional.cross_entropy(self._m64(x), y)
        loss.backward()
        return float(loss.item()), {k: p.grad.detach().numpy().copy()
                                    for k, p in self._m64.named_parameters()}

    def timed_output(self) -> np.ndarray | None:
        """The float32 forward an inference workload times (eval mode, no_grad: Winograd's
        3×3 convolutions in chainrule), on the first batch; None for a training step, whose
        float32 gradients the docstring explains."""
        if self.module.training:
            return None
        i, self.i = self.i, 0
        try:
            return np.array(self.infer().detach().numpy())
        finally:
            self.i = i

    def after_step_loss(self) -> float:
        lib, m = self._f64()[0], self._m64
        lib.optim.SGD(m.parameters(), lr=LR, momentum=MOMENTUM).step()
        with lib.no_grad():
            x, y = self._d64[1 % len(self._d64)]
            return float(lib.nn.functional.cross_entropy(m(x), y).item())


class ChainruleResNet(_Float64Check, ChainruleNet):
    def _f64(self) -> tuple[Any, Any, list[tuple[Any, Any]]]:
        import chainrule as cr

        return cr, copy.deepcopy(self.module).double(), [(x.double(), y) for x, y in self.data]


class TorchResNet(_Float64Check, TorchNet):
    def _f64(self) -> tuple[Any, Any, list[tuple[Any, Any]]]:
        import torch

        return torch, copy.deepcopy(self.module).double(), [(x.double(), y)
                                                            for x, y in self.data]


def _model(arch: str, name: str, description: str, batch: int, size: int, count: int,
           classes: int, phase: str, **kw: Any) -> Model:
    train = phase != "infer"

    def build(**kwargs: Any) -> Any:
        # resolved at build time: registering the workload must not import chainrule (the
        # torch child of the memory benchmark imports this module)
        from chainrule import models

        return getattr(models, arch)(**kwargs)

    def init(seed: int) -> dict[str, np.ndarray]:
        import chainrule as cr

        cr.manual_seed(seed)
        state = {k: v.numpy() for k, v in build(num_classes=classes).state_dict().items()}
        return {**state, "_seed": np.array(seed)}

    def split(s: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], tuple]:
        seed = int(s.pop("_seed"))
        return s, _batches(seed, batch, size, count, classes)

    def chainrule_case(s: dict[str, np.ndarray]) -> ChainruleResNet:
        state, data = split(s)
        module = build(num_classes=classes)
        module.load_state_dict(state)
        return ChainruleResNet(module, data, train)

    def torch_case(s: dict[str, np.ndarray]) -> TorchResNet:
        import torch

        state, data = split(s)
        module = _torch_resnet(arch, classes)
        module.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
        return TorchResNet(module, data, train)

    return Model(name=name, description=description, init=init, chainrule=chainrule_case,
                 torch=torch_case, phases=(phase,), names=((phase, name),), batch=batch,
                 group=arch, unit="ms", inner=count, check_grad="conv1.weight", **kw)


register(_model(
    "resnet18", "resnet18-infer-224", f"ResNet-18 (chainrule.models.resnet18) inference, "
    f"{INFER_SIZE}×{INFER_SIZE} RGB, batch {INFER_BATCH}, eval mode, no_grad "
    f"({INFER_BATCHES} different batches)", INFER_BATCH, INFER_SIZE, INFER_BATCHES, 1000,
    "infer", quick_inner=1, rounds=5, warmup=1))
register(_model(
    "resnet18", "resnet18-step-32", f"ResNet-18 training step, {STEP_SIZE}×{STEP_SIZE} RGB, batch "
    f"{STEP_BATCH}, {STEP_CLASSES} classes, train mode, cross-entropy, SGD(momentum) "
    f"({STEP_BATCHES} different batches)", STEP_BATCH, STEP_SIZE, STEP_BATCHES, STEP_CLASSES,
    "step", quick_inner=1, rounds=7, warmup=1))
register(_model(
    "resnet50", "resnet50-infer-224", f"ResNet-50 (chainrule.models.resnet50) inference, "
    f"{INFER_SIZE}×{INFER_SIZE} RGB, batch {INFER_BATCH}, eval mode, no_grad "
    f"({INFER_BATCHES} different batches)", INFER_BATCH, INFER_SIZE, INFER_BATCHES, 1000,
    "infer", quick_inner=1, rounds=5, warmup=1))
