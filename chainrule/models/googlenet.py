"""GoogLeNet, i.e. Inception v1 (Szegedy et al. 2014), as torchvision.models.GoogLeNet.

Nine Inception modules, each four parallel pathways concatenated along the channels: a 1×1
convolution; 1×1 then 3×3; 1×1 then "5×5"; 3×3 max pooling then 1×1. The 1×1 convolutions in
front cut the channel count before the wide filters, which is how the network keeps its
parameters down: 6,624,904 without the auxiliary heads, against AlexNet's 61 million, and only
one fully connected layer (1024 → classes). As in torchvision's port of the original weights,
every convolution is followed by batch norm (eps 0.001) and a ReLU (`BasicConv2d`), and the
"5×5" branch uses a 3×3 kernel: torchvision's weights have that shape, and the module names,
state_dict keys and shapes here are torchvision's, so they load unchanged.

The two auxiliary classifiers (after inception4a and inception4d) run only in training mode with
`aux_logits=True`; the model then returns `GoogLeNetOutputs(logits, aux_logits2,
aux_logits1)`, and in eval mode just the logits. `transform_input=True` maps inputs normalised
with ImageNet's mean and std to the (x − 0.5)/0.5 scaling the original weights expect.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from chainrule import nn
from chainrule.models._weights import no_pretrained
from chainrule.nn import functional as F
from chainrule.nn import init
from chainrule.ops import cat
from chainrule.tensor import Tensor

__all__ = ["BasicConv2d", "GoogLeNet", "GoogLeNetOutputs", "Inception", "InceptionAux",
           "googlenet"]


class GoogLeNetOutputs(NamedTuple):
    logits: Tensor
    aux_logits2: Tensor | None
    aux_logits1: Tensor | None


class BasicConv2d(nn.Module):
    """Conv2d (no bias) → BatchNorm2d(eps=0.001) → ReLU."""

    def __init__(self, in_channels: int, out_channels: int, **kwargs: Any) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.bn(self.conv(x)))


class Inception(nn.Module):
    """Four pathways on the same input, concatenated: branch1 (1×1), branch2 (1×1 → 3×3),
    branch3 (1×1 → 3×3, the paper's 5×5), branch4 (3×3 max pool → 1×1); out channels
    ch1x1 + ch3x3 + ch5x5 + pool_proj."""

    def __init__(self, in_channels: int, ch1x1: int, ch3x3red: int, ch3x3: int, ch5x5red: int,
                 ch5x5: int, pool_proj: int,
                 conv_block: Callable[..., nn.Module] | None = None) -> None:
        super().__init__()
        conv = conv_block or BasicConv2d
        self.branch1 = conv(in_channels, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(conv(in_channels, ch3x3red, kernel_size=1),
                                     conv(ch3x3red, ch3x3, kernel_size=3, padding=1))
        self.branch3 = nn.Sequential(conv(in_channels, ch5x5red, kernel_size=1),
                                     conv(ch5x5red, ch5x5, kernel_size=3, padding=1))
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
            conv(in_channels, pool_proj, kernel_size=1))

    def forward(self, x: Tensor) -> Tensor:
        return cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class InceptionAux(nn.Module):
    """Auxiliary classifier: 4×4 adaptive average pool → 1×1 conv (128) → fc1 (1024, ReLU) →
    dropout → fc2."""

    def __init__(self, in_channels: int, num_classes: int,
                 conv_block: Callable[..., nn.Module] | None = None, dropout: float = 0.7
                 ) -> None:
        super().__init__()
        self.conv = (conv_block or BasicConv2d)(in_channels, 128, kernel_size=1)
        self.fc1 = nn.Linear(2048, 1024)
        self.fc2 = nn.Linear(1024, num_classes)
        self.dropout = nn.Dropout(p=dropout)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv(F.adaptive_avg_pool2d(x, (4, 4))).flatten(1)
        return self.fc2(self.dropout(F.relu(self.fc1(x))))


class GoogLeNet(nn.Module):
    """torchvision.models.GoogLeNet (constructor arguments, module names and outputs).

    `blocks` replaces [BasicConv2d, Inception, InceptionAux]. init_weights (None means True):
    convolution and linear weights N(0, 0.01²) truncated to [−2, 2], BatchNorm γ = 1, β = 0.
    """

    aux1: nn.Module | None
    aux2: nn.Module | None

    def __init__(self, num_classes: int = 1000, aux_logits: bool = True,
                 transform_input: bool = False, init_weights: bool | None = None,
                 blocks: list[Callable[..., nn.Module]] | None = None, dropout: float = 0.2,
                 dropout_aux: float = 0.7) -> None:
        super().__init__()
        if blocks is None:
            blocks = [BasicConv2d, Inception, InceptionAux]
        if len(blocks) != 3:
            raise ValueError(f"GoogLeNet: blocks length should be 3 instead of {len(blocks)}")
        conv, inception, aux = blocks
        self.aux_logits = aux_logits
        self.transform_input = transform_input

        self.conv1 = conv(3, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = conv(64, 64, kernel_size=1)
        self.conv3 = conv(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)

        self.inception3a = inception(192, 64, 96, 128, 16, 32, 32)
        self.inception3b = inception(256, 128, 128, 192, 32, 96, 64)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)

        self.inception4a = inception(480, 192, 96, 208, 16, 48, 64)
        self.inception4b = inception(512, 160, 112, 224, 24, 64, 64)
        self.inception4c = inception(512, 128, 128, 256, 24, 64, 64)
        self.inception4d = inception(512, 112, 144, 288, 32, 64, 64)
        self.inception4e = inception(528, 256, 160, 320, 32, 128, 128)
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)

        self.inception5a = inception(832, 256, 160, 320, 32, 128, 128)
        self.inception5b = inception(832, 384, 192, 384, 48, 128, 128)

        if aux_logits:
            self.aux1 = aux(512, num_classes, dropout=dropout_aux)
            self.aux2 = aux(528, num_classes, dropout=dropout_aux)
        else:
            self.aux1 = self.aux2 = None

        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(1024, num_classes)

        if init_weights is None or init_weights:
            for m in self.modules():
                if isinstance(m, nn.Conv2d | nn.Linear):
                    init.trunc_normal_(m.weight, mean=0.0, std=0.01, a=-2, b=2)
                elif isinstance(m, nn.BatchNorm2d):
                    if m.weight is not None:
                        init.constant_(m.weight, 1)
                    if m.bias is not None:
                        init.constant_(m.bias, 0)

    def _transform_input(self, x: Tensor) -> Tensor:
        if not self.transform_input:
            return x
        # x·std/0.5 + (mean − 0.5)/0.5 per channel: ImageNet normalisation → (x − 0.5)/0.5
        scaled = [x[:, c:c + 1] * (std / 0.5) + (mean - 0.5) / 0.5 for c, (mean, std) in
                  enumerate(((0.485, 0.229), (0.456, 0.224), (0.406, 0.225)))]
        return cat(scaled, 1)

    def forward(self, x: Tensor) -> Any:
        x = self._transform_input(x)
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool2(self.conv3(self.conv2(x)))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        heads = self.training and self.aux_logits
        aux1 = self.aux1(x) if heads and self.aux1 is not None else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if heads and self.aux2 is not None else None
        x = self.maxpool4(self.inception4e(x))
        x = self.inception5b(self.inception5a(x))
        x = self.fc(self.dropout(self.avgpool(x).flatten(1)))
        if heads:
            return GoogLeNetOutputs(x, aux2, aux1)
        return x


def googlenet(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> GoogLeNet:
    """torchvision.models.googlenet: `GoogLeNet(**kwargs)` (aux_logits defaults to True)."""
    no_pretrained("googlenet", weights)
    return GoogLeNet(**kwargs)
