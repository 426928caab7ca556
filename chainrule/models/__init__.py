"""Ready-made networks: the lecture's MLP and LeNet-5, and the classic ImageNet architectures
(AlexNet, VGG, GoogLeNet, ResNet) with torchvision's module names, state_dict keys and outputs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chainrule import nn
from chainrule.models.alexnet import AlexNet, AlexNetOriginal, alexnet, alexnet_original
from chainrule.models.googlenet import GoogLeNet, GoogLeNetOutputs, googlenet
from chainrule.models.lenet import lenet5
from chainrule.models.mlp import ACTIVATIONS, activation, mlp
from chainrule.models.resnet import (
    BasicBlock, Bottleneck, ResNet, resnet18, resnet34, resnet50, resnet101, resnet152,
)
from chainrule.models.vgg import VGG, vgg11, vgg11_bn, vgg16, vgg16_bn

MODELS: dict[str, Callable[..., nn.Module]] = {
    "mlp": mlp, "lenet5": lenet5,
    "alexnet": alexnet, "alexnet_original": alexnet_original,
    "vgg11": vgg11, "vgg11_bn": vgg11_bn, "vgg16": vgg16, "vgg16_bn": vgg16_bn,
    "googlenet": googlenet,
    "resnet18": resnet18, "resnet34": resnet34, "resnet50": resnet50, "resnet101": resnet101,
    "resnet152": resnet152,
}


def get_model(name: str, **kwargs: Any) -> nn.Module:
    """Build a model by name (see MODELS)."""
    try:
        builder = MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODELS)}") from None
    return builder(**kwargs)


__all__ = [
    "ACTIVATIONS", "MODELS", "AlexNet", "AlexNetOriginal", "BasicBlock", "Bottleneck",
    "GoogLeNet", "GoogLeNetOutputs", "ResNet", "VGG", "activation", "alexnet",
    "alexnet_original", "get_model", "googlenet", "lenet5", "mlp", "resnet18", "resnet34",
    "resnet50", "resnet101", "resnet152", "vgg11", "vgg11_bn", "vgg16", "vgg16_bn",
]
