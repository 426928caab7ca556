"""`torchvision.transforms` under chainrule's name: `from chainrule import transforms`.

The transforms of `chainrule.data.transforms` (one implementation): `Compose`, `ToTensor`,
`Normalize`, `Lambda` and `Pad` with torchvision's arguments and per-sample rules, plus
chainrule's `RandomShift`, `Flatten` and `Identity`.
"""

from chainrule.data.transforms import (
    Compose,
    Flatten,
    Identity,
    Lambda,
    Normalize,
    Pad,
    RandomShift,
    ToTensor,
    Transform,
)

__all__ = ["Compose", "Flatten", "Identity", "Lambda", "Normalize", "Pad", "RandomShift",
           "ToTensor", "Transform"]
