"""`torchvision.transforms` under chainrule's name: `from chainrule import transforms`.

The transforms of `chainrule.data.transforms` (one implementation): `Compose`, `ToTensor`,
`Normalize`, `Lambda` and `Pad` with torchvision's arguments and per-sample rules, plus
chainrule's `RandomShift`, `Flatten` and `Identity`.
"""

from chainrule.data.transforms import *  # noqa: F403  (the one implementation)
from chainrule.data.transforms import __all__  # noqa: F401
