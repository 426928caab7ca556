"""The lecture's multilayer perceptron: fully connected layers with a chosen activation."""

from __future__ import annotations

from collections.abc import Sequence

from chainrule import nn

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "softplus": nn.Softplus,
    "identity": nn.Identity, "hard_threshold": nn.HardThreshold,
}


def activation(name: str) -> nn.Module:
    """An activation module by name: relu, tanh, sigmoid, softplus, identity, hard_threshold."""
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; choose from "
                         f"{', '.join(ACTIVATIONS)}") from None


def mlp(in_features: int = 784, hidden: Sequence[int] = (256,), num_classes: int = 10,
        activation_name: str = "relu") -> nn.Sequential:
    """Flatten → [Linear → φ] per hidden size → Linear to class scores (logits).

    mlp(784, (256,), 10) is the 784-256-10 network; its state_dict keys ('1.weight', ...) match
    the same torch.nn.Sequential.
    """
    layers: list[nn.Module] = [nn.Flatten()]
    width = in_features
    for h in hidden:
        if h <= 0:
            raise ValueError(f"mlp: hidden sizes must be positive, got {tuple(hidden)}")
        layers += [nn.Linear(width, h), activation(activation_name)]
        width = h
    layers.append(nn.Linear(width, num_classes))
    return nn.Sequential(*layers)
