"""The lecture's size formulas: units, weights and connections of one layer, by hand.

The lecture measures a layer three ways:

* **units**: output values per example; their activations are kept in memory for backprop;
* **weights**: memory, and how prone the layer is to overfitting (biases are not counted);
* **connections**: the inputs each unit is connected to, summed over the units; each costs about
  3 add-multiplies per training example (1 forward, 2 backward).

For an output map of W×H units in I channels computed from J input channels (with stride 1 and
"same" padding the input map is W×H too), the lecture's table reads

    ==================  =====================  ===================
                        fully connected layer  convolution layer
    ==================  =====================  ===================
    # output units      WHI                    WHI
    # weights           W²H²IJ                 K²IJ
    # connections       W²H²IJ                 WHK²IJ
    ==================  =====================  ===================

and the locally connected layer sits in between: a K×K filter per output unit, not shared, so
its weights equal its connections (WHK²IJ). The lecture's 200×200 example: one locally
connected map with 10×10 filters has 40,000 units and 4,000,000 weights, while a convolution
layer with 100 shared 10×10 filters has 10,000 (`lecture_200x200_example`).

`chainrule.inspect.summary` counts the same three things from the ops a network actually ran;
the tests check that both agree.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = [
    "LayerSize", "compare_layer_sizes", "conv_layer_size", "fc_layer_size",
    "lecture_200x200_example", "locally_connected_layer_size", "pooling_layer_size",
]


@dataclass(frozen=True)
class LayerSize:
    """One layer's size in the lecture's three measures (and its biases, counted apart)."""

    units: int
    weights: int
    connections: int
    biases: int = 0

    @property
    def params(self) -> int:
        """Weights and biases together (what `Module.parameters()` counts)."""
        return self.weights + self.biases

    def as_dict(self) -> dict[str, int]:
        return {**asdict(self), "params": self.params}


def _positive(op: str, **values: int) -> None:
    for name, v in values.items():
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{op}: {name} must be a positive int, got {v!r}")


def fc_layer_size(width: int, height: int, in_channels: int, out_channels: int,
                  bias: bool = True) -> LayerSize:
    """A fully connected layer from a W×H×J input to a W×H×I output: every one of the WHI
    units is connected to all WHJ inputs, each connection with its own weight (W²H²IJ).

    With width = height = 1 this is the M-to-N layer: MN connections and MN weights.
    """
    _positive("fc_layer_size", width=width, height=height, in_channels=in_channels,
              out_channels=out_channels)
    units = width * height * out_channels
    fan_in = width * height * in_channels
    return LayerSize(units, units * fan_in, units * fan_in, units if bias else 0)


def conv_layer_size(width: int, height: int, in_channels: int, out_channels: int,
                    kernel: int, bias: bool = True) -> LayerSize:
    """A convolution layer with I filters of size K×K×J slid over a W×H×J input ("same"
    padding, stride 1): WHI units, each connected to K²J inputs (WHK²IJ connections), but the
    filters are shared across positions, so only K²IJ weights."""
    _positive("conv_layer_size", width=width, height=height, in_channels=in_channels,
              out_channels=out_channels, kernel=kernel)
    units = width * height * out_channels
    fan_in = kernel * kernel * in_channels
    return LayerSize(units, fan_in * out_channels, units * fan_in, out_channels if bias else 0)


def locally_connected_layer_size(width: int, height: int, in_channels: int, out_channels: int,
                                 kernel: int, bias: bool = True) -> LayerSize:
    """A locally connected layer: the convolution's K×K×J windows, but every output unit has its
    own filter (good when the input is registered, e.g. faces), so weights = connections =
    WHK²IJ. Biases as in `chainrule.nn.LocallyConnected2d`: one per unit."""
    _positive("locally_connected_layer_size", width=width, height=height,
              in_channels=in_channels, out_channels=out_channels, kernel=kernel)
    units = width * height * out_channels
    fan_in = kernel * kernel * in_channels
    return LayerSize(units, units * fan_in, units * fan_in, units if bias else 0)


def pooling_layer_size(width: int, height: int, channels: int, kernel: int,
                       stride: int | None = None) -> LayerSize:
    """A K×K pooling layer over a W×H×C input (stride K unless given, no padding): each output
    unit reads K² inputs of its own channel and has no weights (LeNet's S2: 1,176 units, 4,704
    connections)."""
    stride = kernel if stride is None else stride
    _positive("pooling_layer_size", width=width, height=height, channels=channels,
              kernel=kernel, stride=stride)
    if kernel > min(width, height):
        raise ValueError(f"pooling_layer_size: kernel {kernel} does not fit a {width}×{height} "
                         "input")
    out_w, out_h = (width - kernel) // stride + 1, (height - kernel) // stride + 1
    units = out_w * out_h * channels
    return LayerSize(units, 0, units * kernel * kernel)


def compare_layer_sizes(width: int, height: int, in_channels: int, out_channels: int,
                        kernel: int) -> dict[str, LayerSize]:
    """The lecture's comparison: the same W×H×J → W×H×I map as a fully connected, a locally
    connected and a convolution layer."""
    return {
        "fully connected": fc_layer_size(width, height, in_channels, out_channels),
        "locally connected": locally_connected_layer_size(width, height, in_channels,
                                                          out_channels, kernel),
        "convolution": conv_layer_size(width, height, in_channels, out_channels, kernel),
    }


def lecture_200x200_example() -> dict[str, LayerSize]:
    """The lecture's 200×200 image: a locally connected layer of 40K hidden units with 10×10
    filters (4M weights) against a convolution layer of 100 shared 10×10 filters (10K weights).
    """
    return {
        "locally connected": locally_connected_layer_size(200, 200, 1, 1, 10),
        "convolution": conv_layer_size(200, 200, 1, 100, 10),
    }
