"""ResNet-18 (chainrule.models.resnet18) against a torch twin with the same state_dict.

Two workloads:

- `resnet18-infer-224`: inference on ImageNet-sized inputs, 224×224 RGB, batch 8, eval mode
  (batch norm uses the running statistics), forward under no_grad, 1000 classes;
- `resnet18-step-32`: a CIFAR-sized training step, 32×32 RGB, batch 64, 10 classes, train mode
  (batch statistics): zero grads, forward, cross-entropy, backward, SGD(lr=0.05, momentum=0.9).

Both libraries start from the weights of `chainrule.models.resnet18()` initialised with the
seed (Kaiming-normal convolutions, as torchvision), copied through state_dict, and read the same
pre-generated standard-normal float32 images with random labels (no dataset: the cost of a
ResNet step does not depend on what the pixels show). The torch twin is torch.nn written out
here with torchvision's module names; the startup check (loss and every gradient equal) is what
makes it the same network.

The startup check runs on float64 copies of both models (the timed runs are float32). In
float32 the two libraries' ~1e-7 rounding differences flip a few ReLU gates and max-pool
choices among the millions a 224×224 ResNet makes, and each flip moves a gradient entry by the
whole error signal there: measured 3e-6 to 6e-3 worst relative gradient difference between
chainrule and torch depending on the seed, with chainrule and torch each as far from the float64
gradients as from each other. In float64 they agree to ~1e-14.
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


def _torch_resnet18(num_classes: int) -> Any:
    """torchvision's ResNet-18 layout in plain torch.nn (same names, shapes and forward)."""
    from torch import nn

    class Block(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                                nn.BatchNorm2d(cout))

        def forward(self, x: Any) -> Any:
            out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
            return self.relu(out + (x if self.downsample is None else self.downsample(x)))

    class ResNet18(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(3, 2, 1)
            widths = [(64, 64, 1), (64, 128, 2), (128, 256, 2), (256, 512, 2)]
            for i, (cin, cout, stride) in enumerate(widths, 1):
                setattr(self, f"layer{i}", nn.Sequential(Block(cin, cout, stride),
                                                         Block(cout, cout, 1)))
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(512, num_classes)

        def forward(self, x: Any) -> Any:
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(self.avgpool(x).flatten(1))

    return ResNet18()


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


def _model(name: str, description: str, batch: int, size: int, count: int, classes: int,
           phase: str, **kw: Any) -> Model:
    train = phase != "infer"

    def init(seed: int) -> dict[str, np.ndarray]:
        import chainrule as cr
        from chainrule.models import resnet18

        cr.manual_seed(seed)
        return {**resnet18(num_classes=classes).state_dict(), "_seed": np.array(seed)}

    def split(s: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], tuple]:
        seed = int(s.pop("_seed"))
        return s, _batches(seed, batch, size, count, classes)

    def chainrule_case(s: dict[str, np.ndarray]) -> ChainruleResNet:
        from chainrule.models import resnet18

        state, data = split(s)
        module = resnet18(num_classes=classes)
        module.load_state_dict(state)
        return ChainruleResNet(module, data, train)

    def torch_case(s: dict[str, np.ndarray]) -> TorchResNet:
        import torch

        state, data = split(s)
        module = _torch_resnet18(classes)
        module.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
        return TorchResNet(module, data, train)

    return Model(name=name, description=description, init=init, chainrule=chainrule_case,
                 torch=torch_case, phases=(phase,), names=((phase, name),), batch=batch,
                 group="resnet18", unit="ms", inner=count, check_grad="conv1.weight", **kw)


register(_model(
    "resnet18-infer-224", f"ResNet-18 (chainrule.models.resnet18) inference, "
    f"{INFER_SIZE}×{INFER_SIZE} RGB, batch {INFER_BATCH}, eval mode, no_grad "
    f"({INFER_BATCHES} different batches)", INFER_BATCH, INFER_SIZE, INFER_BATCHES, 1000,
    "infer", quick_inner=1, rounds=5, warmup=1))
register(_model(
    "resnet18-step-32", f"ResNet-18 training step, {STEP_SIZE}×{STEP_SIZE} RGB, batch "
    f"{STEP_BATCH}, {STEP_CLASSES} classes, train mode, cross-entropy, SGD(momentum) "
    f"({STEP_BATCHES} different batches)", STEP_BATCH, STEP_SIZE, STEP_BATCHES, STEP_CLASSES,
    "step", quick_inner=1, rounds=7, warmup=1))
