"""Graph drawings: DOT text, the dependency-free SVG (well-formed, every node and edge, a
layered layout without overlaps), Graphviz rendering when it is installed and a clear error
when it is not, and module grouping."""

from __future__ import annotations

import shutil
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import chainrule as cr
from chainrule import nn
from chainrule.inspect import Graph, draw_graph, record_modules
from chainrule.inspect._graph_layout import layout
from chainrule.inspect._trace_examples import logistic
from chainrule.models import lenet5
from chainrule.nn import functional as F

GOLDEN = Path(__file__).parent / "golden"
SVG = "{http://www.w3.org/2000/svg}"


def small_graph() -> Graph:
    w = cr.tensor(0.5, dtype=cr.float64, requires_grad=True)
    b = cr.tensor(-1.5, dtype=cr.float64, requires_grad=True)
    x = cr.tensor(2.0, dtype=cr.float64)
    z = w * x + b
    y = z.sigmoid()
    return draw_graph(y, {"w": w, "b": b, "x": x, "z": z, "y": y})


def svg_tree(g: Graph) -> ET.Element:
    return ET.fromstring(g.svg())


def check_svg(g: Graph) -> ET.Element:
    """Well-formed, and holds every node and every edge of the graph exactly once."""
    root = svg_tree(g)
    drawn = {e.get("id"): e for e in root.iter(f"{SVG}g")
             if "node" in (e.get("class") or "").split()}
    assert set(drawn) == {n.id for n in g.nodes}
    for n in g.nodes:
        assert drawn[n.id].find(f"{SVG}title").text == n.title
        texts = [t.text for t in drawn[n.id].iter(f"{SVG}text")]
        assert texts == [n.title, *n.rows]
    paths = [(p.get("data-source"), p.get("data-target")) for p in root.iter(f"{SVG}path")
             if p.get("class") == "edge"]
    assert sorted(paths) == sorted((e.source, e.target) for e in g.edges)
    return root


def boxes(root: ET.Element) -> dict[str, tuple[float, float, float, float]]:
    """(x0, y0, x1, y1) of each node's shape."""
    out = {}
    for e in root.iter(f"{SVG}g"):
        if "node" not in (e.get("class") or "").split():
            continue
        shape = e.find(f"{SVG}rect")
        if shape is not None:
            x, y = float(shape.get("x")), float(shape.get("y"))
            out[e.get("id")] = (x, y, x + float(shape.get("width")),
                                y + float(shape.get("height")))
            continue
        shape = e.find(f"{SVG}ellipse")
        if shape is not None:
            cx, cy = float(shape.get("cx")), float(shape.get("cy"))
            rx, ry = float(shape.get("rx")), float(shape.get("ry"))
            out[e.get("id")] = (cx - rx, cy - ry, cx + rx, cy + ry)
    return out


def assert_no_overlaps(root: ET.Element) -> None:
    b = list(boxes(root).items())
    for i, (a, (ax0, ay0, ax1, ay1)) in enumerate(b):
        for c, (bx0, by0, bx1, by1) in b[i + 1:]:
            assert ax1 <= bx0 or bx1 <= ax0 or ay1 <= by0 or by1 <= ay0, (a, c)


# ----------------------------------------------------------------- DOT
def test_dot_of_a_small_graph_matches_the_golden_file():
    assert small_graph().dot == (GOLDEN / "graph_small.dot").read_text(encoding="utf-8")


def test_dot_names_every_node_and_edge():
    loss, names = logistic()
    g = draw_graph(loss, names)
    for n in g.nodes:
        assert f"  {n.id} [" in g.dot
    for e in g.edges:
        assert f"  {e.source} -> {e.target}" in g.dot


# ----------------------------------------------------------------- what a node shows
def test_nodes_show_names_shapes_values_and_the_engines_error_signals():
    loss, names = logistic()
    g = draw_graph(loss, names)
    by_title = {n.title: n for n in g.nodes}
    assert by_title["w"].kind == "parameter" and by_title["x"].kind == "input"
    assert by_title["L_reg"].kind == "output" and by_title["0.5"].kind == "constant"
    w = names["w"]
    loss.backward(retain_graph=True)
    assert by_title["w"].rows == ["data 0.5", f"grad {w.grad.item():.4g}"]
    assert by_title["z"].rows[1].startswith("grad 0.0887")  # intermediate nodes get v̄ too
    assert w.grad.item() == pytest.approx(0.1824, abs=1e-4)
    ops = [n.title for n in g.nodes if n.kind == "op"]
    assert ops.count("×") == 4 and "σ" in ops and "^2" in ops
    bare = draw_graph(loss, names, show_values=False, show_grads=False)
    assert {n.title: n for n in bare.nodes}["w"].rows == ["scalar"]


def test_unnamed_values_are_called_by_their_op_and_the_tensors_name_is_used():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = (x * 2).exp()
    g = draw_graph(y)
    titles = [n.title for n in g.nodes if n.kind != "op"]
    assert titles == ["leaf", "2", "mul", "exp"]
    x.name = "x"
    assert draw_graph(y).nodes[0].title == "x"


def test_saved_arrays_are_their_own_kind():
    cr.manual_seed(0)
    conv = nn.Conv2d(1, 2, 3)
    out = F.max_pool2d(conv(cr.randn(1, 1, 6, 6)), 2).sum()
    g = draw_graph(out, conv)
    saved = {n.title: n.rows for n in g.nodes if n.kind == "saved"}
    # a 3×3 convolution over one channel builds im2col in blocks and keeps none of it
    assert saved == {"taps": ["(1, 2, 2, 2)"]}
    dashed = [e for e in g.edges if e.dashed]
    assert len(dashed) == 1
    op = {n.id: n for n in g.nodes}
    assert op[dashed[0].target].title == "max_pool2d"


def test_a_convolution_that_keeps_its_im2col_matrix_draws_it():
    cr.manual_seed(0)
    conv = nn.Conv2d(32, 2, 3)  # C·KH·KW = 288: the whole matrix is built and saved for W̄
    out = F.max_pool2d(conv(cr.randn(1, 32, 6, 6)), 2).sum()
    g = draw_graph(out, conv)
    saved = {n.title: n.rows for n in g.nodes if n.kind == "saved"}
    assert saved == {"col": ["(288, 16)"], "taps": ["(1, 2, 2, 2)"]}
    dashed = [e for e in g.edges if e.dashed]
    assert len(dashed) == 2
    op = {n.id: n for n in g.nodes}
    assert {op[e.target].title for e in dashed} == {"conv2d", "max_pool2d"}
    assert "3×3" in op[dashed[0].target].rows or "2×2 stride 2" in op[dashed[1].target].rows


def test_a_freed_graph_cannot_be_drawn():
    loss, _ = logistic()
    loss.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        draw_graph(loss)


def test_bad_arguments_are_errors():
    loss, _ = logistic()
    with pytest.raises(ValueError, match="direction"):
        draw_graph(loss, direction="up")
    with pytest.raises(ValueError, match="group"):
        draw_graph(loss, group="layer")
    with pytest.raises(TypeError, match="Tensor"):
        draw_graph(3.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="params"):
        draw_graph(loss, {"w": 1.0})


# ----------------------------------------------------------------- SVG
@pytest.mark.parametrize("direction", ["LR", "TB", "RL", "BT"])
def test_svg_is_well_formed_and_complete(direction):
    loss, names = logistic()
    g = draw_graph(loss, names, direction=direction)
    root = check_svg(g)
    assert_no_overlaps(root)
    legend = [t.text for t in root.find(f"{SVG}g[@class='legend']").iter(f"{SVG}text")]
    assert legend == ["parameter (learned)", "input / data", "constant", "computed value",
                      "output", "op"]
    assert g._repr_svg_() == g.svg()


def test_edges_run_along_the_rank_direction():
    loss, names = logistic()
    for direction, axis, sign in (("LR", 0, 1), ("TB", 1, 1), ("RL", 0, -1), ("BT", 1, -1)):
        root = svg_tree(draw_graph(loss, names, direction=direction))
        b = boxes(root)
        for p in root.iter(f"{SVG}path"):
            if p.get("class") != "edge":
                continue
            src, dst = b[p.get("data-source")], b[p.get("data-target")]
            s_mid = (src[axis] + src[axis + 2]) / 2
            d_mid = (dst[axis] + dst[axis + 2]) / 2
            assert sign * (d_mid - s_mid) > 0


# ----------------------------------------------------------------- module groups
def lenet_loss(record: bool):
    cr.manual_seed(0)
    model = lenet5()
    x = cr.randn(2, 1, 28, 28)
    if record:
        with record_modules(model):
            out = model(x)
    else:
        out = model(x)
    return model, F.cross_entropy(out, cr.tensor([3, 7]))


def test_lenet5_collapses_to_one_node_per_module():
    model, loss = lenet_loss(record=True)
    g = draw_graph(loss, params=model, group="module", direction="TB")
    modules = [n for n in g.nodes if n.kind == "module"]
    assert [m.title for m in modules] == [name for name, _ in model.named_children()]
    c1 = modules[0]
    assert c1.rows[0].startswith("Conv2d(1, 6, kernel_size=(5, 5),")
    assert "weight (6, 1, 5, 5)" in c1.rows and "bias (6,)" in c1.rows
    assert sorted(n.kind for n in g.nodes if n.kind != "module") == ["input", "op", "output"]
    labels = [e.label for e in g.edges if e.label]
    assert labels[:3] == ["(2, 6, 28, 28)", "(2, 6, 28, 28)", "(2, 6, 14, 14)"]
    root = check_svg(g)
    assert_no_overlaps(root)


def test_without_recording_ops_go_to_the_module_whose_parameters_they_use():
    model, loss = lenet_loss(record=False)
    g = draw_graph(loss, params=model, group="module")
    modules = [n.title for n in g.nodes if n.kind == "module"]
    assert modules == ["c1", "c3", "f5", "f6", "output"]
    ops = [n.title for n in g.nodes if n.kind == "op"]
    assert ops.count("relu") == 4 and ops.count("max_pool2d") == 2
    check_svg(g)


def test_a_module_called_twice_is_two_nodes():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 3)
            self.act = nn.ReLU()

        def forward(self, x):
            return self.act(self.fc(self.act(x)))

    m = Twice()
    with record_modules(m):
        out = m(cr.randn(2, 3).requires_grad_()).sum()
    g = draw_graph(out, params=m, group="module")
    assert [n.title for n in g.nodes if n.kind == "module"] == \
        ["act (call 1)", "fc", "act (call 2)"]
    check_svg(g)  # collapsing made no cycle


# ----------------------------------------------------------------- Graphviz
def test_render_writes_dot_and_svg_without_graphviz(tmp_path):
    g = small_graph()
    assert g.render(tmp_path / "g.dot").read_text() == g.dot
    assert g.render(tmp_path / "g.svg").read_text() == g.svg()
    assert g.render(tmp_path / "g", format="gv").read_text() == g.dot
    with pytest.raises(ValueError, match="suffix"):
        g.render(tmp_path / "g")


def test_png_without_the_dot_program_names_what_to_install(monkeypatch, tmp_path):
    pytest.importorskip("graphviz", reason="the graphviz Python package is not installed")
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` anywhere
    g = small_graph()
    with pytest.raises(RuntimeError, match=r"Graphviz program `dot`.*apt-get install graphviz"):
        g.png()
    with pytest.raises(RuntimeError, match="Graphviz"):
        g.render(tmp_path / "g.pdf")


def test_png_without_the_graphviz_package_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)  # import graphviz raises ImportError
    with pytest.raises(ImportError, match=r"pip install chainrule\[graphviz\]"):
        small_graph().png()


@pytest.mark.skipif(shutil.which("dot") is None, reason="the Graphviz program `dot` is not "
                    "installed (apt-get install graphviz)")
def test_dot_renders_with_graphviz():
    pytest.importorskip("graphviz", reason="pip install chainrule[graphviz]")
    model, loss = lenet_loss(record=True)
    for g in (small_graph(), draw_graph(loss, model), draw_graph(loss, model, group="module")):
        assert g.png()[:8] == b"\x89PNG\r\n\x1a\n"
        import graphviz
        svg = graphviz.Source(g.dot).pipe(format="svg").decode()
        for n in g.nodes:  # Graphviz drew every node under its id
            assert f"<title>{n.id}</title>" in svg


# ----------------------------------------------------------------- the layout
@given(st.data())
def test_layout_keeps_ranks_apart_and_nodes_from_overlapping(data):
    n = data.draw(st.integers(1, 14))
    edges = sorted({(u, v) for u, v in data.draw(st.lists(
        st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=24)) if u < v})
    sizes = data.draw(st.lists(st.tuples(st.floats(10, 120), st.floats(10, 60)), min_size=n,
                               max_size=n))
    direction = data.draw(st.sampled_from(["LR", "TB"]))
    lay = layout(sizes, edges, direction)
    rects = [(x - w / 2, y - h / 2, x + w / 2, y + h / 2)
             for (x, y), (w, h) in zip(lay.centres, sizes, strict=True)]
    for i in range(n):
        x0, y0, x1, y1 = rects[i]
        assert 0 <= x0 and x1 <= lay.width + 1e-6 and 0 <= y0 and y1 <= lay.height + 1e-6
        for j in range(i + 1, n):
            a0, b0, a1, b1 = rects[j]
            assert x1 <= a0 + 1e-6 or a1 <= x0 + 1e-6 or y1 <= b0 + 1e-6 or b1 <= y0 + 1e-6
    axis = 0 if direction == "LR" else 1
    for route in lay.routes:
        along = [p[axis] for p in route]
        assert along == sorted(along) and along[0] < along[-1]  # forward, never back
