"""Section 5 of the lecture, runnable: parameter counts, output sizes and the size tables of
LeNet-5 and AlexNet against the slides and against counts computed here from the shapes."""

from __future__ import annotations

from pathlib import Path

import pytest

from chainrule import lecture
from chainrule.inspect import read_png

LENET_SLIDE = {  # "Sizes of layers in LeNet": units, connections, weights
    "c1": (4704, 117_600, 150), "s2": (1176, 4704, 0), "c3": (1600, 240_000, 2400),
    "s4": (400, 1600, 0), "f5": (120, 48_000, 48_000), "f6": (84, 10_080, 10_080),
    "output": (10, 840, 840),
}


def check_picture(result: lecture.Result, name: str) -> None:
    assert [p.name for p in result.pictures] == [name]
    path = Path(result.pictures[0])
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert 500 < path.stat().st_size < 150_000
    h, w = read_png(path).shape[:2]
    assert 60 < h < 1000 and 200 < w < 1000


def test_locally_connected_vs_convolution():
    m = lecture.run("locally-connected-vs-conv", quick=True).measured
    assert m["locally_connected_units"] == 200 * 200 == 40_000               # "40K hidden units"
    assert m["locally_connected_weights"] == 40_000 * 10 * 10 == 4_000_000   # "4M parameters"
    assert m["conv_weights"] == 100 * 10 * 10 == 10_000                      # "10K parameters"
    assert m["conv_filters"] == 100
    assert m["formula_locally_connected_weights"] == 4_000_000
    assert m["formula_conv_weights"] == 10_000


def test_stride_and_padding_set_the_output_size(tmp_path):
    r = lecture.run("conv-output-size", quick=True, out=tmp_path)
    conv = {(w, k, s, p): (formula, ran) for w, k, s, p, formula, ran in r.measured["conv"]}
    assert all(formula == ran for formula, ran in conv.values())
    assert conv[(200, 10, 1, 0)][1] == 191
    assert conv[(32, 5, 1, 2)][1] == 32   # "same" padding keeps the size
    assert conv[(32, 5, 2, 0)][1] == 14
    assert conv[(227, 11, 4, 0)][1] == 55  # AlexNet's conv1
    assert conv[(224, 7, 2, 3)][1] == 112  # ResNet's stem
    pool = {(w, f, s): (o, ran) for w, f, s, o, ran in r.measured["pool"]}
    assert pool[(28, 2, 2)] == (14, 14) and pool[(55, 3, 2)] == (27, 27)
    assert r.measured["all_agree"] is True
    check_picture(r, "5-output-size.png")


@pytest.mark.torch
def test_output_sizes_match_torch(torch):
    r = lecture.run("conv-output-size", quick=True)
    for w, k, s, p, _, ran in r.measured["conv"]:
        y = torch.nn.functional.conv2d(torch.zeros(1, 1, w, w), torch.zeros(1, 1, k, k),
                                       stride=s, padding=p)
        assert y.shape[-1] == ran
    for w, f, s, _, ran in r.measured["pool"]:
        assert torch.nn.functional.max_pool2d(torch.zeros(1, 1, w, w), f, s).shape[-1] == ran


def test_lenet5_size_table_and_rules_of_thumb(tmp_path):
    r = lecture.run("lenet5-size", quick=True, out=tmp_path)
    m = r.measured
    assert m["rows"] == LENET_SLIDE and m["matches_slide"] is True
    units = sum(u for u, _, _ in LENET_SLIDE.values())
    conns = sum(c for _, c, _ in LENET_SLIDE.values())
    weights = sum(w for _, _, w in LENET_SLIDE.values())
    assert m["units_in_conv"] == pytest.approx((4704 + 1600) / units)
    assert m["connections_in_conv"] == pytest.approx((117_600 + 240_000) / conns)
    assert m["weights_in_fc"] == pytest.approx((48_000 + 10_080 + 840) / weights)
    # the two rules of thumb
    assert m["units_in_conv"] > 0.5 and m["connections_in_conv"] > 0.5
    assert m["weights_in_fc"] > 0.5
    check_picture(r, "5-lenet5-shares.png")


def test_alexnet_homework(tmp_path):
    r = lecture.run("alexnet-homework", quick=True, out=tmp_path)
    layers = r.measured["layers"]

    def conv(out_hw: int, maps: int, k: int, in_per_group: int) -> tuple[int, int, int]:
        units = out_hw * out_hw * maps
        return units, units * k * k * in_per_group, k * k * in_per_group * maps

    def pool(out_hw: int, maps: int) -> tuple[int, int, int]:
        return out_hw * out_hw * maps, out_hw * out_hw * maps * 9, 0  # 3x3 windows

    expected = {  # Krizhevsky et al. 2012: conv2, conv4, conv5 see half the maps (two GPUs)
        "features.conv1": conv(55, 96, 11, 3), "features.pool1": pool(27, 96),
        "features.conv2": conv(27, 256, 5, 48), "features.pool2": pool(13, 256),
        "features.conv3": conv(13, 384, 3, 256), "features.conv4": conv(13, 384, 3, 192),
        "features.conv5": conv(13, 256, 3, 192), "features.pool5": pool(6, 256),
        "classifier.fc6": (4096, 9216 * 4096, 9216 * 4096),
        "classifier.fc7": (4096, 4096 * 4096, 4096 * 4096),
        "classifier.fc8": (1000, 4096 * 1000, 4096 * 1000),
    }
    assert layers == expected
    assert r.measured["total_weights"] == sum(w for _, _, w in expected.values())
    assert r.measured["total_connections"] == sum(c for _, c, _ in expected.values())
    assert 60e6 < r.measured["total_params"] < 61e6  # "60 million for AlexNet"
    assert r.measured["units_in_conv"] > 0.5 and r.measured["connections_in_conv"] > 0.5
    assert r.measured["weights_in_fc"] > 0.5
    check_picture(r, "5-alexnet-shares.png")
