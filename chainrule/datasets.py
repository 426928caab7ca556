"""`torchvision.datasets` under chainrule's name: `from chainrule import datasets`.

`datasets.MNIST(root, train=True, transform=None, target_transform=None, download=False)` and
`datasets.FashionMNIST(...)` take torchvision's arguments, in torchvision's order and with its
defaults, and find torchvision's layout (`root/MNIST/raw/train-images-idx3-ubyte[.gz]`) as
well as chainrule's (`root/mnist/`). They are `chainrule.data.MNIST` / `FashionMNIST`
(see there for the other places they look, and the keyword arguments they add); `ds[i]` is
what torchvision's gives for the same transform, except that without a transform the image is
its (28, 28) uint8 NumPy array instead of a PIL image.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chainrule.data import mnist as _mnist
from chainrule.data.idx import PathLike


class MNIST(_mnist.MNIST):
    """torchvision's `MNIST(root, train, transform, target_transform, download)`."""

    def __init__(self, root: PathLike, train: bool = True,
                 transform: Callable[..., Any] | None = None,
                 target_transform: Callable[..., Any] | None = None, download: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(root=root, train=train, download=download, transform=transform,
                         target_transform=target_transform, **kwargs)


class FashionMNIST(_mnist.FashionMNIST):
    """torchvision's `FashionMNIST(root, train, transform, target_transform, download)`."""

    def __init__(self, root: PathLike, train: bool = True,
                 transform: Callable[..., Any] | None = None,
                 target_transform: Callable[..., Any] | None = None, download: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(root=root, train=train, download=download, transform=transform,
                         target_transform=target_transform, **kwargs)


__all__ = ["MNIST", "FashionMNIST"]
