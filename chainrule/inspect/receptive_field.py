"""Receptive fields: which input pixels a unit of a convolutional network can see.

Along one axis a window layer (convolution or pooling) with kernel k, stride s, dilation d and
leading padding p makes output unit o read its input at o·s − p + i·d for i = 0 … k−1
(`chainrule.ops.geometry.Window`). Composing layers, a unit of layer L reads input pixels

    start_L + o·jump_L  …  start_L + o·jump_L + size_L − 1,

with, for each window layer in turn (starting from size 1, jump 1, start 0 at the input),

    size ← size + (k − 1)·d·jump,    start ← start − p·jump,    jump ← jump·s.

Pointwise layers (activations, batch norm, dropout) keep the field; a fully connected layer,
flatten or adaptive pooling makes every later unit see the whole input (a *global* field).
For LeNet-5: C1 5×5 (jump 1, start −2), S2 6×6 (jump 2), C3 14×14, S4 16×16 (jump 4), F5 global.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from chainrule import nn
from chainrule.ops.geometry import Pair, Pads, Window, conv_padding, pair

# Layers that act on each position separately: a unit sees what the unit below it saw.
POINTWISE: tuple[type[nn.Module], ...] = (
    nn.ReLU, nn.Tanh, nn.Sigmoid, nn.Softplus, nn.HardThreshold, nn.Step, nn.Identity,
    nn.Softmax, nn.LogSoftmax, nn.BatchNorm1d, nn.BatchNorm2d, nn.Dropout,
)
# Layers after which every unit depends on the whole input.
GLOBAL: tuple[type[nn.Module], ...] = (nn.Linear, nn.Flatten, nn.AdaptiveAvgPool2d)


class ReceptiveField(NamedTuple):
    """The input rows and columns a unit reads (see the module docstring): unit (r, c) sees rows
    start[0] + r·jump[0] … + size[0] − 1 and the matching columns. Coordinates may fall outside
    the image (negative, or past its edge): that part of the field is padding."""

    size: Pair = (1, 1)
    jump: Pair = (1, 1)
    start: Pair = (0, 0)

    def then(self, window: Window) -> ReceptiveField:
        """The field of a unit of a window layer applied on top of this field."""
        (kh, kw), (sh, sw), (dh, dw), (top, _, left, _) = window
        (rh, rw), (jh, jw), (y, x) = self
        return ReceptiveField((rh + (kh - 1) * dh * jh, rw + (kw - 1) * dw * jw),
                              (jh * sh, jw * sw), (y - top * jh, x - left * jw))

    def box(self, row: int, col: int) -> Pads:
        """(top, bottom, left, right) of unit (row, col)'s field, half-open, in input pixels."""
        top, left = self.start[0] + row * self.jump[0], self.start[1] + col * self.jump[1]
        return top, top + self.size[0], left, left + self.size[1]

    def center(self, row: int, col: int) -> tuple[float, float]:
        """The centre of unit (row, col)'s field, in input pixel coordinates."""
        t, b, lft, r = self.box(row, col)
        return (t + b - 1) / 2, (lft + r - 1) / 2


def window_of(module: nn.Module) -> Window | None:
    """The sliding window of a convolution or pooling layer; None for any other module."""
    if isinstance(module, nn.Conv2d | nn.LocallyConnected2d):
        kernel = pair(module.kernel_size, "kernel_size", type(module).__name__)
        stride = pair(module.stride, "stride", type(module).__name__)
        dilation = pair(getattr(module, "dilation", 1), "dilation", type(module).__name__)
        pads = conv_padding(module.padding, kernel, dilation, stride, type(module).__name__)
        return Window(kernel, stride, dilation, pads)
    if isinstance(module, nn.MaxPool2d | nn.AvgPool2d) and not isinstance(
            module, nn.MaxPool1d | nn.AvgPool1d):
        name = type(module).__name__
        ph, pw = pair(module.padding, "padding", name)
        # ceil_mode only adds windows at the bottom/right edge: the fields of the units that
        # exist either way are unchanged.
        return Window(pair(module.kernel_size, "kernel_size", name),
                      pair(module.stride, "stride", name),
                      pair(getattr(module, "dilation", 1), "dilation", name), (ph, ph, pw, pw))
    return None


@dataclass(frozen=True)
class LayerField:
    """One layer's receptive field: `field` is None when its units see the whole input."""

    name: str
    module: nn.Module
    field: ReceptiveField | None
    output_shape: tuple[int, ...] | None = None  # per example, when traced with an input shape

    @property
    def is_global(self) -> bool:
        return self.field is None


def compose(modules: Sequence[nn.Module]) -> ReceptiveField | None:
    """The receptive field after a chain of modules (None: global)."""
    field: ReceptiveField | None = ReceptiveField()
    for m in modules:
        field = _step(field, m, "")
    return field


def _step(field: ReceptiveField | None, module: nn.Module, name: str) -> ReceptiveField | None:
    window = window_of(module)
    if window is not None:
        return None if field is None else field.then(window)
    if isinstance(module, GLOBAL):
        return None
    if isinstance(module, POINTWISE):
        return field
    raise ValueError(f"receptive_fields: cannot tell the geometry of layer {name or '?'} "
                     f"({type(module).__name__}); known are convolution, pooling, pointwise "
                     f"layers ({', '.join(t.__name__ for t in POINTWISE)}) and "
                     f"{', '.join(t.__name__ for t in GLOBAL)}")


def _leaves(model: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(name, m) for name, m in model.named_modules()
            if name and not any(True for _ in m.children())]


def traced_layers(model: nn.Module, input_shape: Sequence[int]
                  ) -> list[tuple[str, nn.Module, tuple[int, ...]]]:
    """(name, module, output shape per example) for each leaf module, in the order one forward
    pass of a zero input of `input_shape` (per example, e.g. (1, 28, 28)) calls them."""
    from chainrule.autograd.grad_mode import no_grad
    from chainrule.tensor import zeros

    names = {id(m): n for n, m in _leaves(model)}
    seen: list[tuple[str, nn.Module, tuple[int, ...]]] = []

    def hook(module: nn.Module, inputs: tuple, output: Any) -> None:
        shape = tuple(getattr(output, "shape", ()))[1:]
        seen.append((names[id(module)], module, shape))

    handles = [m.register_forward_hook(hook) for _, m in _leaves(model)]
    was_training = model.training
    model.eval()
    try:
        dtype = next((p.dtype for p in model.parameters()), None)
        with no_grad():
            model(zeros(1, *input_shape, dtype=dtype))
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    return seen


def receptive_fields(model: nn.Module, input_shape: Sequence[int] | None = None
                     ) -> list[LayerField]:
    """Every leaf layer's receptive field, in order.

    Without `input_shape` the order is the modules' registration order (right for Sequential
    chains such as LeNet-5); with it (per example, e.g. (1, 28, 28)) the order is the one a
    forward pass calls them in, and each entry gets its output shape. Only modules are seen: a
    pooling done with a functional call inside a custom `forward` is invisible here.
    """
    layers: Sequence[tuple[str, nn.Module, tuple[int, ...] | None]]
    if input_shape is None:
        layers = [(n, m, None) for n, m in _leaves(model)]
    else:
        layers = traced_layers(model, input_shape)
    out: list[LayerField] = []
    field: ReceptiveField | None = ReceptiveField()
    for name, module, shape in layers:
        field = _step(field, module, name)
        out.append(LayerField(name, module, field, shape))
    return out


def receptive_field(model: nn.Module, layer: str, input_shape: Sequence[int] | None = None
                    ) -> ReceptiveField | None:
    """The receptive field of layer `layer`'s units (None: each sees the whole input)."""
    fields = receptive_fields(model, input_shape)
    for f in fields:
        if f.name == layer:
            return f.field
    raise ValueError(f"receptive_field: no layer {layer!r}; layers: "
                     f"{', '.join(f.name for f in fields)}")


def crop(image: np.ndarray, box: Pads, fill: float = np.nan) -> np.ndarray:
    """The (…, H, W) array's pixels inside `box` (top, bottom, left, right; half-open), with
    `fill` where the box hangs over the border."""
    top, bottom, left, right = box
    h, w = image.shape[-2:]
    out = np.full((*image.shape[:-2], bottom - top, right - left), fill,
                  np.result_type(image.dtype, np.float32))
    t0, b0, l0, r0 = max(top, 0), min(bottom, h), max(left, 0), min(right, w)
    if b0 > t0 and r0 > l0:
        out[..., t0 - top:b0 - top, l0 - left:r0 - left] = image[..., t0:b0, l0:r0]
    return out
