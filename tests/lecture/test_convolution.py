"""Section 4 of the lecture, runnable: each example's numbers against the slides and against
independent references (NumPy's convolve, explicit sums)."""

from __future__ import annotations


import numpy as np
import pytest

from chainrule import lecture

SLIDE_1D = [2, 1, 4, -1, 2]
SLIDE_2D = [[1, 5, 7, 2], [0, -2, -4, 1], [2, 6, 4, -3], [0, -2, -2, 1]]
A2 = np.array([[1, 3, 1], [0, -1, 1], [2, 2, -1]], float)
B2 = np.array([[1, 2], [0, -1]], float)


def full_conv2d(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(A * B)_ij = Σ_s Σ_t A_st B_{i−s, j−t}, summed term by term."""
    out = np.zeros((a.shape[0] + b.shape[0] - 1, a.shape[1] + b.shape[1] - 1))
    for (s, t), v in np.ndenumerate(a):
        out[s:s + b.shape[0], t:t + b.shape[1]] += v * b
    return out


def test_the_section_lists_its_examples():
    names = [e.name for e in lecture.examples(section=4)]
    assert names == ["conv1d-translate-and-scale", "conv1d-flip-and-filter", "conv-as-matrix",
                     "conv-properties", "conv2d-translate-and-scale", "conv2d-flip-and-filter",
                     "classic-filters"]


def test_1d_translate_and_scale(tmp_path, check_pictures):
    r = lecture.run("conv1d-translate-and-scale", quick=True, out=tmp_path)
    # 2 x (1,1,2) at 0, −1 x (1,1,2) at 1, 1 x (1,1,2) at 2
    assert r.measured["steps"] == [[2, 2, 4, 0, 0], [0, -1, -1, -2, 0], [0, 0, 1, 1, 2]]
    assert r.measured["sum"] == SLIDE_1D
    assert r.measured["convolve1d"] == np.convolve([2, -1, 1], [1, 1, 2]).tolist()
    check_pictures(r, ["4-conv1d-translate-and-scale.png"])


def test_1d_flip_and_filter(tmp_path, check_pictures):
    r = lecture.run("conv1d-flip-and-filter", quick=True, out=tmp_path)
    assert r.measured["flipped"] == [2, 1, 1]
    assert r.measured["outputs"] == SLIDE_1D == r.measured["correlate_flipped"]
    assert len([ln for ln in r.lines if ln.lstrip().startswith("t = ")]) == 5  # every step
    check_pictures(r, ["4-conv1d-flip-and-filter.png"])


def test_convolution_as_a_matrix(tmp_path, check_pictures):
    r = lecture.run("conv-as-matrix", quick=True, out=tmp_path)
    assert r.measured["matrix"] == [[1, 0, 0], [1, 1, 0], [2, 1, 1], [0, 2, 1], [0, 0, 2]]
    assert r.measured["product"] == SLIDE_1D
    assert r.measured["matrix_2d_shape"] == (16, 9)
    assert r.measured["product_2d"] == full_conv2d(A2, B2).tolist() == SLIDE_2D
    check_pictures(r, ["4-conv-as-matrix.png"])


def test_commutativity_and_distributivity():
    r = lecture.run("conv-properties", quick=True)
    assert len(r.measured["cases"]) == len(r.measured["commutativity_errors"]) >= 4
    assert r.measured["commutativity_errors"][:2] == [0.0, 0.0]  # small integers: exact
    assert r.measured["distributivity_errors"][:2] == [0.0, 0.0]
    assert max(r.measured["commutativity_errors"]) < 1e-12
    assert max(r.measured["distributivity_errors"]) < 1e-12


def test_2d_translate_and_scale(tmp_path, check_pictures):
    r = lecture.run("conv2d-translate-and-scale", quick=True, out=tmp_path)
    terms = [np.array(t) for t in r.measured["terms"]]
    for (s, t), b in np.ndenumerate(B2):  # B_st x A shifted by (s, t)
        expected = np.zeros((4, 4))
        expected[s:s + 3, t:t + 3] = b * A2
        np.testing.assert_array_equal(terms[2 * s + t], expected)
    assert r.measured["sum"] == SLIDE_2D == r.measured["convolve2d"]
    check_pictures(r, ["4-conv2d-translate-and-scale.png"])


def test_2d_flip_and_filter(tmp_path, check_pictures):
    r = lecture.run("conv2d-flip-and-filter", quick=True, out=tmp_path)
    assert r.measured["flipped"] == [[-1, 0], [2, 1]]
    assert r.measured["result"] == SLIDE_2D == r.measured["correlate_flipped"]
    assert len([ln for ln in r.lines if ln.lstrip().startswith("(A * B)_")]) == 16
    check_pictures(r, ["4-conv2d-flip-and-filter.png"])


def test_classic_filters(tmp_path, check_pictures):
    r = lecture.run("classic-filters", quick=True, out=tmp_path)
    m = r.measured
    assert m["kernel_sums"] == {"blur": 8.0, "sharpen": 4.0, "edge": 0.0, "sobel_x": 0.0}
    # Sobel: 1 + 2 + 1 across a 0 → 1 step; nothing along a horizontal edge
    assert m["sobel_vertical_edge_max"] == 4.0
    assert m["sobel_horizontal_edge_max"] == 0.0
    assert m["edge_on_flat_max"] == 0.0
    images = [k for k in ("digit", "photo") if k in m]
    if not images:
        pytest.skip("neither a digit (MNIST or scikit-learn) nor matplotlib's photograph")
    for key in images:  # blurring removes fine detail, sharpening adds it
        s = m[key]
        assert s["roughness_blur"] < s["roughness_image"] < s["roughness_sharpen"]
    check_pictures(r, ["4-classic-filters.png"])
