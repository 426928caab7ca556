"""Receptive fields from conv/pool geometry, checked against where input gradients are nonzero."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import chainrule as cr
from chainrule import models, nn
from chainrule.inspect.receptive_field import (
    ReceptiveField, compose, crop, receptive_field, receptive_fields, window_of,
)
from chainrule.ops.geometry import Window


def test_lenet5_fields_are_the_lectures_numbers() -> None:
    fields = {f.name: f for f in receptive_fields(models.lenet5(), (1, 28, 28))}
    assert fields["c1"].field == ReceptiveField((5, 5), (1, 1), (-2, -2))
    assert fields["act1"].field == fields["c1"].field          # pointwise keeps the field
    assert fields["s2"].field == ReceptiveField((6, 6), (2, 2), (-2, -2))
    assert fields["c3"].field == ReceptiveField((14, 14), (2, 2), (-2, -2))
    assert fields["s4"].field == ReceptiveField((16, 16), (4, 4), (-2, -2))
    assert fields["f5"].is_global and fields["flatten"].is_global
    assert fields["c3"].output_shape == (16, 10, 10) and fields["f5"].output_shape == (120,)
    # Without an input shape the registration order gives the same fields.
    assert [f.field for f in receptive_fields(models.lenet5())] == [
        f.field for f in fields.values()]


def test_box_and_center() -> None:
    f = ReceptiveField((14, 14), (2, 2), (-2, -2))
    assert f.box(0, 0) == (-2, 12, -2, 12)
    assert f.box(9, 3) == (16, 30, 4, 18)
    assert f.center(0, 0) == (4.5, 4.5)


def test_window_of_reads_every_layer_kind() -> None:
    assert window_of(nn.Conv2d(1, 2, (3, 5), stride=2, padding=(1, 2), dilation=(1, 2))) == \
        Window((3, 5), (2, 2), (1, 2), (1, 1, 2, 2))
    assert window_of(nn.Conv2d(1, 2, 4, padding="same")) == Window((4, 4), (1, 1), (1, 1),
                                                                   (1, 2, 1, 2))
    assert window_of(nn.MaxPool2d(3, 2, 1, dilation=2)) == Window((3, 3), (2, 2), (2, 2),
                                                                  (1, 1, 1, 1))
    assert window_of(nn.AvgPool2d(2)) == Window((2, 2), (2, 2), (1, 1), (0, 0, 0, 0))
    assert window_of(nn.LocallyConnected2d(1, 2, 8, 3, stride=1)) == Window((3, 3))
    assert window_of(nn.ReLU()) is None and window_of(nn.Linear(2, 2)) is None


def test_unknown_layers_and_names_are_errors() -> None:
    with pytest.raises(ValueError, match="Conv1d"):
        compose([nn.Conv1d(1, 1, 3)])
    with pytest.raises(ValueError, match="no layer 'c9'.*c1, act1"):
        receptive_field(models.lenet5(), "c9")


def test_crop_fills_outside_the_image() -> None:
    img = np.arange(12.0).reshape(1, 3, 4)
    out = crop(img, (-1, 2, 2, 5))
    assert out.shape == (1, 3, 3)
    assert np.isnan(out[0, 0]).all() and np.isnan(out[0, :, 2]).all()
    np.testing.assert_array_equal(out[0, 1:, :2], img[0, :2, 2:4])


def _support_box(model: nn.Module, shape: tuple[int, int], unit: tuple[int, int]
                 ) -> tuple[int, int, int, int] | None:
    """Bounding box of the input pixels whose gradient of output unit (r, c) is nonzero."""
    x = cr.zeros(1, 1, *shape, dtype=cr.float64, requires_grad=True)
    out = model(x)
    out[0, 0, unit[0], unit[1]].backward()
    rows, cols = np.nonzero(np.abs(x.grad.numpy()[0, 0]) > 0)
    if rows.size == 0:
        return None
    return int(rows.min()), int(rows.max()) + 1, int(cols.min()), int(cols.max()) + 1


layer_specs = st.lists(
    st.one_of(
        st.tuples(st.just("conv"), st.integers(1, 4), st.integers(1, 2), st.integers(1, 2),
                  st.integers(0, 2)),
        st.tuples(st.just("pool"), st.integers(1, 3), st.integers(1, 3), st.just(1),
                  st.integers(0, 1))),
    min_size=1, max_size=4)


def _random_chain(specs: list[tuple], pad_later: bool) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for n, (kind, k, s, d, p) in enumerate(specs):
        if n == 0 and kind == "conv" and not pad_later:
            # Padding less than the kernel (LeNet-5's C1: 2 of 5 taps), no dilation when padded:
            # every unit of the first layer then reads a run of pixels reaching the border.
            p = min(p, k - 1)
            d = 1 if p else d
        elif n > 0 and not pad_later:
            p = 0
        if kind == "conv":
            conv = nn.Conv2d(1, 1, k, stride=s, padding=p, dilation=d, dtype=cr.float64)
            with cr.no_grad():  # positive weights: no cancellation; biases keep ReLU open
                conv.weight[...] = 0.5 + np.random.default_rng(k).random(conv.weight.shape)
                conv.bias[...] = 10.0
            layers += [conv, nn.ReLU()]
        else:
            layers.append(nn.AvgPool2d(k, s, padding=min(p, k // 2)))
    return layers


def _check(specs: list[tuple], data: st.DataObject, pad_later: bool) -> None:
    layers = _random_chain(specs, pad_later)
    model = nn.Sequential(*layers)
    h = w = 24
    try:
        out = model(cr.zeros(1, 1, h, w, dtype=cr.float64))
    except Exception:  # noqa: BLE001  (this chain shrinks the image to nothing)
        return
    oh, ow = out.shape[2:]
    r, c = data.draw(st.integers(0, oh - 1)), data.draw(st.integers(0, ow - 1))
    top, bottom, left, right = compose(layers).box(r, c)
    clipped: tuple[int, int, int, int] | None = (max(top, 0), min(bottom, h), max(left, 0),
                                                 min(right, w))
    if clipped[0] >= clipped[1] or clipped[2] >= clipped[3]:
        clipped = None  # the field lies in the padding only: no pixel reaches the unit
    support = _support_box(model, (h, w), (r, c))
    if pad_later:
        # Padding between layers is part of the field too, though no pixel lies behind it:
        # the field contains what the gradient reaches.
        if support is not None:
            assert clipped is not None
            assert clipped[0] <= support[0] and support[1] <= clipped[1]
            assert clipped[2] <= support[2] and support[3] <= clipped[3]
    else:
        assert support == clipped


@given(layer_specs, st.data())
def test_field_is_the_bounding_box_of_the_input_gradient(specs, data) -> None:
    """With positive weights (no cancellation) and average pooling (every tap gets gradient),
    the pixels a unit's gradient reaches span exactly its receptive field clipped to the image
    (dilation and stride may leave holes inside it), when only the first layer pads, by no
    more than its kernel reaches (LeNet-5's C1)."""
    _check(specs, data, pad_later=False)


@given(layer_specs, st.data())
def test_field_contains_the_input_gradient_with_padding_anywhere(specs, data) -> None:
    _check(specs, data, pad_later=True)
