"""AlexNet: torchvision's single-GPU variant, and the original of Krizhevsky et al. (2012).

`alexnet()` is torchvision's `AlexNet` (Krizhevsky's "one weird trick" layout of 2014: 64, 192,
384, 256, 256 filters, one pathway, no response normalisation, adaptive pooling to 6×6 so any
input of at least 63×63 works): same module names, state_dict keys and shapes, so torchvision's
weights load unchanged. 61,100,840 parameters.

`alexnet_original()` is the network of the 2012 paper as the lecture draws it: two pathways,
one per GPU, as grouped convolutions (conv2, conv4 and conv5 see only their own GPU's half of
the channels; conv3 and the fully connected layers see both), local response normalisation
after conv1 and conv2, overlapping 3×3 max pooling with stride 2, and a 227×227 input (the
paper says 224, but (224 − 11)/4 + 1 is not an integer; 227 gives its 55×55 first layer).
60,965,224 parameters: the paper's "60 million".
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from chainrule import nn
from chainrule.errors import ShapeError
from chainrule.models._weights import no_pretrained
from chainrule.nn import init
from chainrule.tensor import Tensor

__all__ = ["AlexNet", "AlexNetOriginal", "alexnet", "alexnet_original"]


class AlexNet(nn.Module):
    """torchvision.models.AlexNet: `features`, `avgpool` (adaptive, 6×6), `classifier`."""

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True),
            nn.Dropout(p=dropout), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(x.flatten(1))


def alexnet(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> AlexNet:
    """torchvision.models.alexnet: `AlexNet(**kwargs)` (num_classes, dropout)."""
    no_pretrained("alexnet", weights)
    return AlexNet(**kwargs)


class AlexNetOriginal(nn.Module):
    """Krizhevsky, Sutskever & Hinton (2012), both GPUs' pathways as groups=2 convolutions.

    Layers named as in the paper: `features` = conv1 (96 filters 11×11, stride 4), norm1, pool1,
    conv2 (256, 5×5, two groups), norm2, pool2, conv3 (384, 3×3, across both groups), conv4 (384,
    3×3, two groups), conv5 (256, 3×3, two groups), pool5; `classifier` = fc6, fc7 (4096 each,
    with dropout) and fc8. Every convolution and hidden fully connected layer is followed by a
    ReLU. Response normalisation is the paper's: n = 5, k = 2, α = 10⁻⁴ (without the 1/n that
    torch's LocalResponseNorm divides by, hence alpha=5e-4 there), β = 0.75.

    Initialised as the paper did: weights N(0, 0.01²); biases 1 in conv2, conv4, conv5 and the
    hidden fully connected layers ("to give the ReLUs positive inputs"), 0 elsewhere.
    """

    input_size = (3, 227, 227)

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()

        def lrn() -> nn.LocalResponseNorm:
            return nn.LocalResponseNorm(size=5, alpha=5 * 1e-4, beta=0.75, k=2.0)

        self.features = nn.Sequential(OrderedDict([
            ("conv1", nn.Conv2d(3, 96, kernel_size=11, stride=4)), ("relu1", nn.ReLU()),
            ("norm1", lrn()), ("pool1", nn.MaxPool2d(kernel_size=3, stride=2)),
            ("conv2", nn.Conv2d(96, 256, kernel_size=5, padding=2, groups=2)),
            ("relu2", nn.ReLU()),
            ("norm2", lrn()), ("pool2", nn.MaxPool2d(kernel_size=3, stride=2)),
            ("conv3", nn.Conv2d(256, 384, kernel_size=3, padding=1)), ("relu3", nn.ReLU()),
            ("conv4", nn.Conv2d(384, 384, kernel_size=3, padding=1, groups=2)),
            ("relu4", nn.ReLU()),
            ("conv5", nn.Conv2d(384, 256, kernel_size=3, padding=1, groups=2)),
            ("relu5", nn.ReLU()),
            ("pool5", nn.MaxPool2d(kernel_size=3, stride=2)),
        ]))
        self.classifier = nn.Sequential(OrderedDict([
            ("fc6", nn.Linear(256 * 6 * 6, 4096)), ("relu6", nn.ReLU()),
            ("drop6", nn.Dropout(p=dropout)),
            ("fc7", nn.Linear(4096, 4096)), ("relu7", nn.ReLU()),
            ("drop7", nn.Dropout(p=dropout)),
            ("fc8", nn.Linear(4096, num_classes)),
        ]))
        for name, m in [*self.features.named_children(), *self.classifier.named_children()]:
            if isinstance(m, nn.Conv2d | nn.Linear):
                init.normal_(m.weight, 0.0, 0.01)
                if m.bias is not None:
                    init.constant_(m.bias, 1.0 if name in ("conv2", "conv4", "conv5", "fc6",
                                                           "fc7") else 0.0)

    def forward(self, x: Tensor) -> Tensor:
        y = self.features(x)
        if tuple(y.shape[1:]) != (256, 6, 6):
            raise ShapeError(f"alexnet_original: expected (N, 3, 227, 227) images (6×6×256 "
                             f"after pool5), got input {tuple(x.shape)} giving "
                             f"{tuple(y.shape[1:])}")
        return self.classifier(y.flatten(1))


def alexnet_original(*, weights: Any = None, progress: bool = True, **kwargs: Any
                     ) -> AlexNetOriginal:
    """The 2012 AlexNet (`AlexNetOriginal(**kwargs)`: num_classes, dropout); 227×227 inputs."""
    if weights is not None:
        raise ValueError(f"alexnet_original: there are no pretrained weights for the two-GPU "
                         f"AlexNet (got weights={weights!r})")
    return AlexNetOriginal(**kwargs)
