"""VGG (Simonyan & Zisserman 2014): stacks of 3×3 convolutions and 2×2 max pooling, then three
fully connected layers, as torchvision.models.VGG (same module names, state_dict keys and
shapes, adaptive 7×7 average pooling before the classifier so inputs of 32×32 and up work).

Configuration "A" is VGG-11 (132,863,336 parameters), "D" is VGG-16 (138,357,544); the `_bn`
variants put a BatchNorm2d between every convolution and its ReLU.
"""

from __future__ import annotations

from typing import Any

from chainrule import nn
from chainrule.models._weights import no_pretrained
from chainrule.nn import init
from chainrule.tensor import Tensor

__all__ = ["VGG", "cfgs", "make_layers", "vgg11", "vgg11_bn", "vgg16", "vgg16_bn"]

# out-channels of each 3×3 convolution, "M" for a 2×2 max pool (torchvision's names A and D)
cfgs: dict[str, list[str | int]] = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
}


class VGG(nn.Module):
    """torchvision.models.VGG: `features` (given), `avgpool` (adaptive, 7×7), `classifier`.

    init_weights: as torchvision, Kaiming-normal convolutions (fan_out, ReLU gain), N(0, 0.01²)
    fully connected weights, zero biases, BatchNorm γ = 1 and β = 0.
    """

    def __init__(self, features: nn.Module, num_classes: int = 1000, init_weights: bool = True,
                 dropout: float = 0.5) -> None:
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes),
        )
        if init_weights:
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                    if m.bias is not None:
                        init.constant_(m.bias, 0)
                elif isinstance(m, nn.BatchNorm2d):
                    if m.weight is not None:
                        init.constant_(m.weight, 1)
                    if m.bias is not None:
                        init.constant_(m.bias, 0)
                elif isinstance(m, nn.Linear):
                    init.normal_(m.weight, 0, 0.01)
                    if m.bias is not None:
                        init.constant_(m.bias, 0)

    def forward(self, x: Tensor) -> Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(x.flatten(1))


def make_layers(cfg: list[str | int], batch_norm: bool = False) -> nn.Sequential:
    """The convolutional part for a configuration: Conv2d(3×3, padding 1) [BatchNorm2d] ReLU per
    number, MaxPool2d(2, 2) per "M", numbered 0, 1, 2, … as torchvision's."""
    layers: list[nn.Module] = []
    in_channels = 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        out = int(v)
        layers.append(nn.Conv2d(in_channels, out, kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(out))
        layers.append(nn.ReLU(inplace=True))
        in_channels = out
    return nn.Sequential(*layers)


def _vgg(name: str, cfg: str, batch_norm: bool, weights: Any, **kwargs: Any) -> VGG:
    no_pretrained(name, weights)
    return VGG(make_layers(cfgs[cfg], batch_norm=batch_norm), **kwargs)


def vgg11(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-11 (configuration A); kwargs go to `VGG` (num_classes, init_weights, dropout)."""
    return _vgg("vgg11", "A", False, weights, **kwargs)


def vgg11_bn(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-11 with batch normalisation."""
    return _vgg("vgg11_bn", "A", True, weights, **kwargs)


def vgg16(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-16 (configuration D); kwargs go to `VGG` (num_classes, init_weights, dropout)."""
    return _vgg("vgg16", "D", False, weights, **kwargs)


def vgg16_bn(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-16 with batch normalisation."""
    return _vgg("vgg16_bn", "D", True, weights, **kwargs)
