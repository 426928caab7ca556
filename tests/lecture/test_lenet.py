"""Section 6 of the lecture, runnable: LeNet-5 trained by `chainrule train`'s recipe (a short,
seeded quick run), its first-layer filters and its units' top inputs."""

from __future__ import annotations


import numpy as np
import pytest

from chainrule import lecture
from chainrule.data._errors import DataError

pytestmark = pytest.mark.slow  # one short training run (about 10 s), shared by the examples


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("lenet")
    try:
        return {e.name: e.run(lecture.Context(quick=True, out=out)) for e in
                lecture.examples(section=6)}
    except DataError as e:  # neither MNIST nor scikit-learn's digits
        pytest.skip(f"no digits to train on: {e}")


def test_the_section_lists_its_examples():
    assert [e.name for e in lecture.examples(section=6)] == [
        "lenet5-mnist", "lenet5-filters", "lenet5-top-inputs"]


def test_the_quick_run_learns_and_says_which_1998_number_is_which(results, check_pictures):
    r = results["lenet5-mnist"]
    m = r.measured
    assert m["epochs"] == 2 and len(m["history"]) == 2
    if m["mnist"]:
        assert (m["train_examples"], m["test_examples"]) == (6000, 1000)
        # seeded: this run reaches about 90%; any correct 2-epoch run is far above chance
        assert m["test_accuracy"] >= 0.8
    else:  # scikit-learn's 1,438 training digits, said so in the output
        assert any("scikit-learn" in line for line in r.lines)
        assert m["test_accuracy"] >= 0.3
    assert m["history"][1]["train_loss"] < m["history"][0]["train_loss"]
    assert m["test_error"] == pytest.approx(1 - m["test_accuracy"])
    assert m["lecture_accuracy"] == 0.989 and m["paper_error"] == 0.0095
    text = "\n".join(r.lines)
    assert "98.9%" in text and "0.95%" in text and "99.05%" in text
    check_pictures(r, ["6-lenet5-curves.png"], min_h=60, min_w=200)


def test_first_layer_filters_look_like_what_excites_them(results, check_pictures):
    r = results["lenet5-filters"]
    assert r.measured["filter_shape"] == (6, 1, 5, 5)
    # each filter points the way of the mean of its most activating patches
    assert len(r.measured["filter_patch_cosines"]) == 6
    assert min(r.measured["filter_patch_cosines"]) > 0
    check_pictures(r, ["6-lenet5-c1-filters.png"], min_h=60, min_w=200)


def test_higher_units_top_inputs(results, check_pictures):
    r = results["lenet5-top-inputs"]
    m = r.measured
    # C1 5x5 (1 step), S2 2x2 adds 1 and doubles the step, C3 5x5 adds 4 steps of 2
    assert m["c3_field"] == (5 + 1 + 4 * 2, 5 + 1 + 4 * 2) == (14, 14)
    for values in m["c3_top_values"] + m["f5_top_values"]:
        assert len(values) == 8 and values == sorted(values, reverse=True)
    assert len(m["c3_top_values"]) == 6 and len(m["f5_top_values"]) == 4
    assert all(len(labels) == 8 for labels in m["f5_top_labels"])
    np.testing.assert_allclose(m["f5_unit0_recomputed"], m["f5_top_values"][0][0], rtol=1e-5)
    check_pictures(r, ["6-lenet5-c3-top-patches.png", "6-lenet5-f5-top-inputs.png"], min_h=60,
                   min_w=200)
