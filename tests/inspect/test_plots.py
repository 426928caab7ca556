"""Training pictures: history curves, confusion matrices, 2-D decision regions and hidden-unit
responses; `chainrule plot`."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.data import DataLoader, TensorDataset, make_moons
from chainrule.inspect import _image as im
from chainrule.inspect import plots as P

RECORDS = [{"epoch": e, "train_loss": 1 / e, "train_accuracy": 0.8 + 0.01 * e,
            "test_loss": 1.2 / e, "test_accuracy": 0.79 + 0.01 * e, "seconds": 5.0}
           for e in range(1, 6)]


def _jsonl(path, records, tail: str = "") -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records) + tail)


# -------------------------------------------------------------------------------- history
def test_read_history_json_lines_and_other_layouts(tmp_path) -> None:
    _jsonl(tmp_path / "a.json", RECORDS)
    assert P.read_history(tmp_path / "a.json") == RECORDS
    (tmp_path / "b.json").write_text(json.dumps(RECORDS))
    assert P.read_history(tmp_path / "b.json") == RECORDS
    (tmp_path / "c.json").write_text(json.dumps({"config": {}, "history": RECORDS}, indent=1))
    assert P.read_history(tmp_path / "c.json") == RECORDS
    (tmp_path / "d.json").write_text(json.dumps(RECORDS[0]))
    assert P.read_history(tmp_path / "d.json") == RECORDS[:1]


def test_read_history_tolerates_a_run_in_progress(tmp_path) -> None:
    """A header line, blank lines, an epoch written again after a resume (the later wins) and
    a last line still being written are all fine."""
    resumed = dict(RECORDS[2], train_loss=0.123)
    _jsonl(tmp_path / "h.json", [{"config": {"model": "mlp"}}, *RECORDS[:4], resumed],
           tail='\n{"epoch": 5, "train_lo')
    got = P.read_history(tmp_path / "h.json")
    assert [r["epoch"] for r in got] == [1, 2, 3, 4]
    assert got[2]["train_loss"] == 0.123
    (tmp_path / "bad.json").write_text('{"epoch": 1}\nnot json\n{"epoch": 2}\n')
    with pytest.raises(ValueError, match="line 2 is not JSON"):
        P.read_history(tmp_path / "bad.json")


def test_history_series_finds_every_split() -> None:
    recs = [dict(r, val_accuracy=0.5) for r in RECORDS]
    recs[1].pop("test_loss")
    series = P.history_series(recs)
    assert set(series) == {"loss", "accuracy"}
    assert set(series["accuracy"]) == {"train", "test", "val"}
    xs, ys = series["loss"]["test"]
    np.testing.assert_array_equal(xs, [1, 3, 4, 5])
    np.testing.assert_allclose(ys, [1.2 / e for e in (1, 3, 4, 5)])


def test_history_image_draws_both_curves(tmp_path) -> None:
    pic = P.history_image(RECORDS, title="run")
    im.write_png(tmp_path / "h.png", pic)
    assert im.read_png(tmp_path / "h.png").shape == (*pic.shape[:2], 3)
    for color in P._split_colors(["train", "test"]).values():
        assert int(np.all(pic == color, axis=-1).sum()) > 200   # two panels' lines, legend
    with pytest.raises(ValueError, match="no \\*_loss"):
        P.history_image([{"epoch": 1, "seconds": 3}])


def test_plot_history_figure() -> None:
    pytest.importorskip("matplotlib")
    fig = P.plot_history(RECORDS)
    loss_ax, acc_ax = fig.axes
    lines = {ln.get_label(): ln for ln in acc_ax.get_lines()}
    np.testing.assert_allclose(lines["test"].get_ydata(), [100 * r["test_accuracy"]
                                                          for r in RECORDS])
    assert {ln.get_label() for ln in loss_ax.get_lines()} == {"train", "test"}


def test_matplotlib_missing_names_the_extra(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"pip install chainrule\[plot\]"):
        P.plot_history(RECORDS)


def test_cli_plot(tmp_path, capsys) -> None:
    from chainrule import cli

    _jsonl(tmp_path / "run.json", RECORDS)
    assert cli.main(["plot", str(tmp_path / "run.json")]) == 0
    pic = im.read_png(tmp_path / "run.png")
    assert f"({pic.shape[1]}×{pic.shape[0]})" in capsys.readouterr().out
    np.testing.assert_array_equal(pic, P.history_image(RECORDS))
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        pass
    else:
        assert cli.main(["plot", str(tmp_path / "run.json"), "--out",
                         str(tmp_path / "run.svg")]) == 0
        assert (tmp_path / "run.svg").read_text().lstrip().startswith("<?xml")
    assert cli.main(["plot", str(tmp_path / "missing.json")]) == 1
    assert "no such file" in capsys.readouterr().err
    (tmp_path / "empty.json").write_text('{"note": 1}\n')
    assert cli.main(["plot", str(tmp_path / "empty.json")]) == 1
    assert "no epoch records" in capsys.readouterr().err


# ------------------------------------------------------------------------ confusion matrix
def test_confusion_matrix_equals_counting_by_hand() -> None:
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 4))
    x = np.random.default_rng(0).normal(size=(53, 5)).astype(np.float32)
    y = np.random.default_rng(1).integers(0, 4, 53)
    got = P.confusion_matrix(model, DataLoader(TensorDataset(x, y), batch_size=10))
    with cr.no_grad():
        pred = np.argmax(model(cr.from_numpy(x)).detach().numpy(), axis=1)
    expected = np.zeros((4, 4), np.int64)
    for t, p in zip(y, pred, strict=True):
        expected[t, p] += 1
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(P.confusion_from_labels(y, pred, 4), expected)
    with pytest.raises(ValueError, match="labels must lie in"):
        P.confusion_from_labels([0, 5], [0, 1], num_classes=3)


def test_confusion_image_shades_by_fraction() -> None:
    m = np.array([[90, 10, 0], [5, 95, 0], [0, 0, 1]])
    pic = P.confusion_image(m)
    darkest = im.color_of("blues", 1.0)
    # The 1/1 cell of class 2 is the one full-fraction cell: one 40×40 block minus its digit.
    assert 1500 < int(np.all(pic == darkest, axis=-1).sum()) <= 1600


# ------------------------------------------------------------------- 2-D decision regions
def _xor_net() -> nn.Sequential:
    """The lecture's 2-2-1 XOR network with weights that solve it: h1 = OR, h2 = AND,
    y = h1 AND NOT h2 (sigmoid units, steep)."""
    net = nn.Sequential(nn.Linear(2, 2), nn.Sigmoid(), nn.Linear(2, 1), nn.Sigmoid())
    with cr.no_grad():
        net[0].weight[...] = [[20.0, 20.0], [20.0, 20.0]]
        net[0].bias[...] = [-10.0, -30.0]
        net[2].weight[...] = [[20.0, -20.0]]
        net[2].bias[...] = [-10.0]
    return net


def test_decision_regions_colour_each_class() -> None:
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0, 1, 1, 0])
    xs, ys, pts = P.plane(X, 50, margin=0.25)
    assert pts.shape == (2500, 2) and ys[0] > ys[-1]   # row 0 is the top of the picture
    probs = P.class_probabilities(P._run(_xor_net(), pts))
    assert probs.shape == (2500, 2)
    pic = P.decision_regions_image(_xor_net(), X, y, resolution=100)
    assert pic.shape[0] > 100 and pic.shape[2] == 3
    # Corners of the plane: near (0, 0) and (1, 1) class 0 (blue), near (1, 0) red.
    region = P._region_colors(probs, 50)
    corner = {(0, 0): region[-1, 0], (1, 1): region[0, -1], (1, 0): region[-1, -1]}
    assert corner[(0, 0)][2] > corner[(0, 0)][0] and corner[(1, 1)][2] > corner[(1, 1)][0]
    assert corner[(1, 0)][0] > corner[(1, 0)][2]


def test_class_probabilities_reads_sigmoid_logit_and_softmax_outputs() -> None:
    np.testing.assert_allclose(P.class_probabilities(np.array([[0.2], [0.9]])),
                               [[0.8, 0.2], [0.1, 0.9]])
    np.testing.assert_allclose(P.class_probabilities(np.array([[0.0], [np.log(3)]])),
                               [[0.5, 0.5], [0.25, 0.75]])
    p = P.class_probabilities(np.array([[1.0, 2.0, 3.0]]))
    np.testing.assert_allclose(p, np.exp([[1, 2, 3]]) / np.exp([1, 2, 3]).sum())


def test_hidden_responses_are_the_layer_over_the_plane(tmp_path) -> None:
    net = _xor_net()
    X = np.array([[0.0, 0.0], [1.0, 1.0]])
    xs, ys, resp = P.hidden_responses(net, X, "1", resolution=7)
    gx, gy = np.meshgrid(xs, ys)
    w, b = net[0].weight.detach().numpy(), net[0].bias.detach().numpy()
    expected = 1 / (1 + np.exp(-(w[:, 0, None, None] * gx + w[:, 1, None, None] * gy
                                 + b[:, None, None])))
    np.testing.assert_allclose(resp, expected, rtol=1e-5, atol=1e-6)
    pic = P.hidden_units_image(net, X, "1", np.array([0, 0]), resolution=40)
    im.write_png(tmp_path / "h.png", pic)
    assert im.read_png(tmp_path / "h.png").shape == (*pic.shape[:2], 3)
    with pytest.raises(ValueError, match="no layer 'h'"):
        P.hidden_responses(net, X, "h")


def test_trained_moons_network_separates_the_moons() -> None:
    """A small MLP trained on the moons: the picture's regions agree with its predictions."""
    X, y = make_moons(200, noise=0.1, seed=0)
    cr.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2))
    opt = cr.optim.Adam(net.parameters(), lr=0.05)
    for _ in range(300):
        loss = nn.functional.cross_entropy(net(cr.from_numpy(X)), cr.from_numpy(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
    probs = P.class_probabilities(P._run(net, X.astype(np.float64)))
    assert np.mean(probs.argmax(axis=1) == y) > 0.97
    pic = P.decision_regions_image(net, X, y, resolution=120)
    assert pic.ndim == 3 and pic.shape[2] == 3


def test_matplotlib_figures_of_regions_and_units() -> None:
    pytest.importorskip("matplotlib")
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    fig = P.plot_decision_regions(_xor_net(), X, np.array([0, 1, 1, 0]), resolution=60)
    assert len(fig.axes) == 1
    fig = P.plot_hidden_units(_xor_net(), X, "1", resolution=30)
    assert sum(ax.get_images() != [] for ax in fig.axes) == 2
    fig = P.plot_confusion(np.eye(3, dtype=int) * 5)
    assert fig.axes[0].get_title() == "accuracy 100.00%"
