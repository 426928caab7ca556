"""Convolutional and locally connected layers (torch's shapes, init and state_dict keys)."""

from __future__ import annotations

import math
from typing import Any

from chainrule import _device
from chainrule.nn import functional as F
from chainrule.nn import init
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter
from chainrule.ops.geometry import conv_padding, out_size, pair
from chainrule.tensor import Tensor, empty


class _ConvNd(Module):
    """Shared parameters of Conv1d/Conv2d: weight (out, in/groups, *kernel), bias (out,)."""

    dims: int  # 1 or 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", device: Any = None, dtype: Any = None) -> None:
        _device.check(device, type(self).__name__)
        if padding_mode != "zeros":
            raise ValueError(f"{type(self).__name__}: only padding_mode='zeros' is supported, "
                             f"got {padding_mode!r}")
        n = self.dims
        kernel_size, stride, dilation = (_tuple(v, n) for v in (kernel_size, stride, dilation))
        if not isinstance(padding, str):
            padding = _tuple(padding, n)
        super().__init__()
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{type(self).__name__}: in_channels ({in_channels}) and "
                             f"out_channels ({out_channels}) must be divisible by groups "
                             f"({groups})")
        if isinstance(padding, str) and padding not in ("same", "valid"):
            raise ValueError(f"{type(self).__name__}: padding must be 'same', 'valid', an int "
                             f"or a tuple, got {padding!r}")
        if padding == "same" and any(s != 1 for s in stride):
            raise ValueError(f"{type(self).__name__}: padding='same' is not supported for "
                             "strided convolutions")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.dilation = kernel_size, stride, dilation
        self.padding, self.groups = padding, groups
        self.weight = Parameter(empty(out_channels, in_channels // groups, *kernel_size,
                                      dtype=dtype))
        self.bias = Parameter(empty(out_channels, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.numel() // self.weight.shape[0]
            bound = 1 / math.sqrt(fan_in) if fan_in else 0.0
            init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        n = len(self.kernel_size)
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * n:
            s += f", padding={self.padding}"  # torch prints padding=same, unquoted
        if self.dilation != (1,) * n:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


def _tuple(v: Any, n: int) -> tuple[int, ...]:
    return (int(v),) * n if isinstance(v, int) else tuple(int(x) for x in v)


class Conv2d(_ConvNd):
    """2-D convolution layer (cross-correlation, as in torch): a bank of `out_channels` filters
    of shape (in_channels/groups, kh, kw) slid over the input with shared weights."""

    dims = 2

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)


class Conv1d(_ConvNd):
    """1-D convolution layer over (N, C, L) sequences."""

    dims = 1

    def forward(self, x: Tensor) -> Tensor:
        return F.conv1d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)


class LocallyConnected2d(Module):
    """The lecture's locally connected layer: each output position has its own, untied filter.

    weight (OH, OW, out_channels, in_channels, kh, kw), bias (out_channels, OH, OW). A 200×200
    input with one 10×10 filter per position ('same' size output) has 40,000 units and
    4,000,000 weights; a Conv2d with the same receptive fields shares one 10×10 filter.
    """

    def __init__(self, in_channels: int, out_channels: int, input_size: Any, kernel_size: Any,
                 stride: Any = 1, padding: Any = 0, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        _device.check(device, type(self).__name__)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.input_size = pair(input_size, "input_size", "LocallyConnected2d")
        self.kernel_size = pair(kernel_size, "kernel_size", "LocallyConnected2d")
        self.stride = pair(stride, "stride", "LocallyConnected2d")
        self.padding = padding
        pads = conv_padding(padding, self.kernel_size, (1, 1), self.stride, "LocallyConnected2d")
        self.output_size = (
            out_size(self.input_size[0], self.kernel_size[0], self.stride[0], 1, *pads[:2]),
            out_size(self.input_size[1], self.kernel_size[1], self.stride[1], 1, *pads[2:]))
        self.weight = Parameter(empty(*self.output_size, out_channels, in_channels,
                                      *self.kernel_size, dtype=dtype))
        self.bias = Parameter(empty(out_channels, *self.output_size, dtype=dtype)) if bias \
            else None
        bound = 1 / math.sqrt(in_channels * self.kernel_size[0] * self.kernel_size[1])
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        return F.locally_connected2d(x, self.weight, self.bias, self.stride, self.padding)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, input_size={self.input_size}, "
                f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"bias={self.bias is not None}")
