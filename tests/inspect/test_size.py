"""The lecture's size formulas (chainrule.inspect.size): its table for fully connected vs
convolution layers, the locally connected layer, the 200×200 example and LeNet's rows; and the
same numbers counted by `summary` from layers that actually run."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chainrule import nn
from chainrule.inspect import (
    LayerSize, compare_layer_sizes, conv_layer_size, fc_layer_size, lecture_200x200_example,
    locally_connected_layer_size, pooling_layer_size, summary,
)

small = st.integers(1, 9)


@given(small, small, small, small, st.integers(1, 5))
def test_the_lectures_table(w, h, i, j, k):
    """WHI units for both; W²H²IJ vs K²IJ weights; W²H²IJ vs WHK²IJ connections (J input
    channels, I output channels)."""
    fc = fc_layer_size(w, h, in_channels=j, out_channels=i)
    conv = conv_layer_size(w, h, in_channels=j, out_channels=i, kernel=k)
    local = locally_connected_layer_size(w, h, in_channels=j, out_channels=i, kernel=k)
    assert fc.units == conv.units == local.units == w * h * i
    assert fc.weights == fc.connections == w**2 * h**2 * i * j
    assert conv.weights == k**2 * i * j
    assert conv.connections == local.connections == local.weights == w * h * k**2 * i * j
    assert (fc.biases, conv.biases, local.biases) == (w * h * i, i, w * h * i)
    assert compare_layer_sizes(w, h, j, i, k) == {
        "fully connected": fc, "locally connected": local, "convolution": conv}


def test_m_to_n_fully_connected_layer():
    """'A fully connected layer with M input units and N output units has MN connections and
    MN weights.'"""
    assert fc_layer_size(1, 1, 784, 256) == LayerSize(256, 200_704, 200_704, 256)
    assert fc_layer_size(1, 1, 784, 256, bias=False).params == 200_704


def test_the_lectures_200x200_example():
    ex = lecture_200x200_example()
    local, conv = ex["locally connected"], ex["convolution"]
    assert local.units == 40_000 and local.weights == 4_000_000      # "40K hidden units", "4M"
    assert conv.weights == 10_000                                     # 100 filters: "10K"
    assert conv.as_dict() == {"units": 4_000_000, "weights": 10_000,
                              "connections": 400_000_000, "biases": 100, "params": 10_100}


def test_lenets_rows_from_the_formulas():
    """The lecture's LeNet table, layer by layer (W×H: each layer's output map)."""
    rows = [conv_layer_size(28, 28, 1, 6, 5), pooling_layer_size(28, 28, 6, 2),
            conv_layer_size(10, 10, 6, 16, 5), pooling_layer_size(10, 10, 16, 2),
            fc_layer_size(1, 1, 400, 120), fc_layer_size(1, 1, 120, 84),
            fc_layer_size(1, 1, 84, 10)]
    assert [r.units for r in rows] == [4704, 1176, 1600, 400, 120, 84, 10]
    assert [r.connections for r in rows] == [117_600, 4704, 240_000, 1600, 48_000, 10_080, 840]
    assert [r.weights for r in rows] == [150, 0, 2400, 0, 48_000, 10_080, 840]


def test_formulas_agree_with_summary_of_real_layers():
    """The same layer built from nn modules and counted from the ops that ran."""
    def row(module, shape):
        s = summary(module, (2, *shape), depth=0)
        r = s.rows[0]
        return LayerSize(r["units"], r["weights"], r["connections"], r["biases"])

    w, h, j, i, k = 7, 6, 3, 4, 3
    assert row(nn.Conv2d(j, i, k, padding="same"), (j, h, w)) == conv_layer_size(w, h, j, i, k)
    assert row(nn.LocallyConnected2d(j, i, (h, w), k, padding="same"), (j, h, w)) == \
        locally_connected_layer_size(w, h, j, i, k)
    fc = nn.Sequential(nn.Flatten(), nn.Linear(w * h * j, w * h * i))
    assert row(fc, (j, h, w)) == fc_layer_size(w, h, j, i)
    assert row(nn.MaxPool2d(2), (5, 8, 6)) == pooling_layer_size(6, 8, 5, 2)
    assert row(nn.AvgPool2d(3, stride=1), (2, 9, 9)) == pooling_layer_size(9, 9, 2, 3, stride=1)


@pytest.mark.parametrize("call", [
    lambda: fc_layer_size(0, 1, 1, 1), lambda: conv_layer_size(1, 1, 1, 1, kernel=0),
    lambda: locally_connected_layer_size(2, 2, 1, -1, 1), lambda: pooling_layer_size(3, 3, 1, 4),
    lambda: conv_layer_size(2.0, 2, 1, 1, 1),  # type: ignore[arg-type]
])
def test_bad_sizes_are_value_errors(call):
    with pytest.raises(ValueError, match="_size: "):
        call()
