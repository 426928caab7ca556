"""LeNet-5 (LeCun et al., 1998) as the lecture draws it, on 28×28 MNIST digits."""

from __future__ import annotations

from collections import OrderedDict

from chainrule import nn
from chainrule.models.mlp import activation


def lenet5(activation_name: str = "relu", pooling: str = "max", num_classes: int = 10
           ) -> nn.Sequential:
    """LeNet-5: the 1×28×28 input is zero-padded to 32×32 (C1's padding=2), then

    C1 6@28×28 (5×5 conv) → S2 6@14×14 (2×2 pool) → C3 16@10×10 (5×5 conv, all six maps)
    → S4 16@5×5 → F5 120 → F6 84 → output `num_classes`.

    Weights, biases aside: C1 150, C3 2,400, F5 48,000, F6 10,080, output 840 (the lecture's
    table). Layers are named c1, s2, c3, s4, f5, f6, output, as in a torch.nn.Sequential built
    from the same OrderedDict, so state_dicts move between the two.
    """
    if pooling not in ("max", "avg"):
        raise ValueError(f"lenet5: pooling must be 'max' or 'avg', got {pooling!r}")

    def pool() -> nn.Module:
        return nn.MaxPool2d(2) if pooling == "max" else nn.AvgPool2d(2)

    return nn.Sequential(OrderedDict([
        ("c1", nn.Conv2d(1, 6, 5, padding=2)), ("act1", activation(activation_name)),
        ("s2", pool()),
        ("c3", nn.Conv2d(6, 16, 5)), ("act3", activation(activation_name)),
        ("s4", pool()),
        ("flatten", nn.Flatten()),
        ("f5", nn.Linear(16 * 5 * 5, 120)), ("act5", activation(activation_name)),
        ("f6", nn.Linear(120, 84)), ("act6", activation(activation_name)),
        ("output", nn.Linear(84, num_classes)),
    ]))
