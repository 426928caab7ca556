"""Ready-made networks: the lecture's MLP and LeNet-5."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chainrule import nn
from chainrule.models.lenet import lenet5
from chainrule.models.mlp import ACTIVATIONS, activation, mlp

MODELS: dict[str, Callable[..., nn.Module]] = {"mlp": mlp, "lenet5": lenet5}


def get_model(name: str, **kwargs: Any) -> nn.Module:
    """Build a model by name (see MODELS)."""
    try:
        builder = MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODELS)}") from None
    return builder(**kwargs)


__all__ = ["ACTIVATIONS", "MODELS", "activation", "get_model", "lenet5", "mlp"]
