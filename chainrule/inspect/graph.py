"""Drawings of the computation graph, built from the engine's own graph.

``draw_graph(loss, params=model)`` returns a `Graph`: its `.dot` (Graphviz DOT text, always),
`.svg()` (drawn here, by a layered layout of the topological order: no program to install),
`.png()` / `.render(path)` (by Graphviz, when installed) and inline display in Jupyter.

Value nodes (a tensor: its name, shape and, for small tensors, its value and error signal, like
micrograd's "data | grad" records) alternate with op nodes (the op that computed the next value);
parameters, inputs, outputs and the arrays an op saved for its backward have their own colours,
explained by a legend. ``group="module"`` draws one node per module instead of its ops; the
forward pass run inside ``record_modules(model)`` says exactly which ops each module ran
(otherwise an op belongs to the module whose parameter it uses).
"""

from __future__ import annotations

import contextlib
import shutil
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import numpy as np

from chainrule.autograd.function import Function
from chainrule.inspect import _graph_layout
from chainrule.inspect import _graph_model as gm
from chainrule.tensor import Tensor

#: fill and border colour of each kind of node
COLOURS: dict[str, tuple[str, str]] = {
    "parameter": ("#d9f0d3", "#1b7837"),
    "input": ("#d1e5f0", "#2166ac"),
    "constant": ("#f0f0f0", "#8c8c8c"),
    "value": ("#ffffff", "#4d4d4d"),
    "output": ("#fddbc7", "#b2182b"),
    "op": ("#e7e1ef", "#5e3c99"),
    "saved": ("#fee0b6", "#b35806"),
    "module": ("#fff7bc", "#8c6d00"),
}
LEGEND = {
    "parameter": "parameter (learned)", "input": "input / data", "constant": "constant",
    "value": "computed value", "output": "output", "op": "op", "saved": "saved for backward",
    "module": "module (collapsed)",
}
_SYMBOLS = {"add": "+", "sub": "−", "mul": "×", "div": "÷", "neg": "−x", "matmul": "@",
            "sigmoid": "σ", "exp": "exp", "pow": "^"}
#: tensors with at most this many entries show their values and error signals
SMALL = 4
_FONT = "DejaVu Sans Mono, Menlo, Consolas, monospace"
_FONT_SIZE = 11.0
_CHAR = 0.61 * _FONT_SIZE   # the advance of one monospace character
_LINE = 15.0


# ----------------------------------------------------------------- module membership
class _Registry:
    """Which module call created each graph node: (module name, call number, description),
    filled by `record_modules`."""

    def __init__(self) -> None:
        self.module_of: weakref.WeakKeyDictionary[Function, tuple[str, int, str]] = \
            weakref.WeakKeyDictionary()


_RECORDED = _Registry()


def _describe(module: Any) -> str:
    extra = module.extra_repr() if hasattr(module, "extra_repr") else ""
    return f"{type(module).__name__}({extra})"


def _wrap(text: str, width: int = 36) -> list[str]:
    """Break a module's description after commas into lines of at most `width` characters."""
    lines: list[str] = []
    cur = ""
    for piece in text.split(", "):
        candidate = f"{cur}, {piece}" if cur else piece
        if cur and len(candidate) > width:
            lines.append(cur + ",")
            cur = piece
        else:
            cur = candidate
    lines.append(cur)
    return lines


@contextlib.contextmanager
def record_modules(model: Any) -> Iterator[None]:
    """Note which module computed each node of the graphs built inside this block, so that
    ``draw_graph(..., group="module")`` can collapse each module, parameterless ones (ReLU,
    pooling, Flatten) included, into one node. The innermost module that ran an op owns it; a
    module called twice (a shared ReLU) gives one node per call."""
    if not hasattr(model, "named_modules"):
        raise TypeError(f"record_modules: expected a Module, got {type(model).__name__}")
    handles = []
    for name, module in model.named_modules():
        handles.append(module.register_forward_hook(_claimer(name, _describe(module))))
    try:
        yield
    finally:
        for h in handles:
            h.remove()


def _claimer(name: str, description: str) -> Any:
    calls = [0]

    def hook(module: Any, inputs: tuple, output: Any) -> None:
        calls[0] += 1
        outs = output if isinstance(output, tuple | list) else (output,)
        stop = {id(t) for t in inputs if isinstance(t, Tensor)}
        stack = [t for t in outs if isinstance(t, Tensor)]
        seen: set[int] = set()
        while stack:
            t = stack.pop()
            if id(t) in seen or id(t) in stop or t.grad_fn is None:
                continue
            seen.add(id(t))
            owner = _RECORDED.module_of.get(t.grad_fn)
            if owner is None:
                _RECORDED.module_of[t.grad_fn] = (name, calls[0], description)
            elif name and not (owner[0] == name or owner[0].startswith(name + ".")):
                continue  # an earlier sibling's node: this module's work ends here
            stack.extend(gm.parents(t.grad_fn))
    return hook


# ----------------------------------------------------------------- the scene
@dataclass
class Node:
    """A node of the drawing: its id in DOT and SVG, its kind (colour), title and lines."""

    id: str
    kind: str
    title: str
    rows: list[str] = field(default_factory=list)


@dataclass
class Edge:
    source: str
    target: str
    label: str = ""
    dashed: bool = False


class Graph:
    """A drawing of a computation graph: `.dot`, `.svg()`, `.png()`, `.render(path)`."""

    def __init__(self, nodes: list[Node], edges: list[Edge], direction: str) -> None:
        self.nodes = nodes
        self.edges = edges
        self.direction = direction

    def __repr__(self) -> str:
        return f"<Graph: {len(self.nodes)} nodes, {len(self.edges)} edges>"

    # ------------------------------------------------------------- DOT
    @property
    def dot(self) -> str:
        """Graphviz DOT text (plain text: needs nothing installed)."""
        out = ["digraph chainrule {",
               f'  graph [rankdir={self.direction}, fontname="Helvetica", fontsize=10, '
               'nodesep=0.25, ranksep=0.4];',
               '  node [fontname="Helvetica", fontsize=10];',
               '  edge [color="#555555", arrowsize=0.6, fontname="Helvetica", fontsize=9];']
        for n in self.nodes:
            out.append(f"  {n.id} [{_dot_attrs(n, self.direction)}];")
        for e in self.edges:
            attrs = []
            if e.label:
                attrs.append(f'label="{_dot_escape(e.label)}"')
            if e.dashed:
                attrs.append('style=dashed, color="#b35806"')
            out.append(f"  {e.source} -> {e.target}" + (f" [{', '.join(attrs)}]" if attrs
                                                          else "") + ";")
        kinds = self._kinds()
        out.append("  subgraph cluster_legend {")
        out.append('    label="legend"; fontsize=9; color="#bbbbbb";')
        for k in kinds:
            fill, line = COLOURS[k]
            shape = "ellipse" if k == "op" else "note" if k == "saved" else "box"
            out.append(f'    legend_{k} [label="{LEGEND[k]}", shape={shape}, style="filled'
                       f'{",rounded" if shape == "box" else ""}", fillcolor="{fill}", '
                       f'color="{line}", fontsize=9];')
        for a, b in zip(kinds, kinds[1:], strict=False):
            out.append(f"    legend_{a} -> legend_{b} [style=invis];")
        out.append("  }")
        out.append("}")
        return "\n".join(out) + "\n"

    def _kinds(self) -> list[str]:
        present = {n.kind for n in self.nodes}
        return [k for k in COLOURS if k in present]

    # ------------------------------------------------------------- SVG (no dependency)
    def svg(self) -> str:
        """The drawing as SVG text, laid out here (no Graphviz needed)."""
        return _svg(self)

    def _repr_svg_(self) -> str:
        return self.svg()

    # ------------------------------------------------------------- Graphviz
    def png(self) -> bytes:
        """PNG bytes rendered by Graphviz (`pip install chainrule[graphviz]` and the Graphviz
        program `dot`); `.svg()` needs neither."""
        return self._pipe("png", "png")

    def render(self, path: str | Path, format: str | None = None) -> Path:  # noqa: A002
        """Write the drawing to `path`: '.dot'/'.gv' as DOT text and '.svg' as `.svg()`, both
        without any dependency; other formats (png, pdf, ...) by Graphviz. `format` defaults
        to the file's suffix."""
        path = Path(path)
        fmt = (format or path.suffix.lstrip(".")).lower()
        if not fmt:
            raise ValueError(f"render: cannot tell the format of {str(path)!r}; give a suffix "
                             "(.svg, .png, .pdf, .dot) or format=")
        if fmt in ("dot", "gv"):
            path.write_text(self.dot, encoding="utf-8")
        elif fmt == "svg":
            path.write_text(self.svg(), encoding="utf-8")
        else:
            path.write_bytes(self._pipe(fmt, "render"))
        return path

    def _pipe(self, fmt: str, op: str) -> bytes:
        try:
            import graphviz
        except ImportError:
            raise ImportError(f"Graph.{op}: rendering to {fmt} needs the graphviz Python package "
                              "and the Graphviz program: pip install chainrule[graphviz], and "
                              "Graphviz itself (apt-get install graphviz, brew install graphviz "
                              "or conda install graphviz). .svg() and .dot need neither.") from None
        if shutil.which("dot") is None:
            raise RuntimeError(f"Graph.{op}: rendering to {fmt} needs the Graphviz program "
                               "`dot`, which is not on PATH: install Graphviz (apt-get install "
                               "graphviz, brew install graphviz or conda install graphviz). "
                               ".svg() and .dot need no Graphviz.")
        try:
            return graphviz.Source(self.dot).pipe(format=fmt)
        except graphviz.ExecutableNotFound:
            raise RuntimeError(f"Graph.{op}: the Graphviz program `dot` could not be run; "
                               "install Graphviz (apt-get install graphviz, brew install "
                               "graphviz or conda install graphviz)") from None


def _dot_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"')


def _record_escape(s: str) -> str:
    for ch in "\\{}|<>\"":
        s = s.replace(ch, "\\" + ch)
    return s


def _dot_attrs(n: Node, direction: str) -> str:
    fill, line = COLOURS[n.kind]
    if n.kind == "op":
        label = "\\n".join(_dot_escape(x) for x in [n.title, *n.rows])
        return f'label="{label}", shape=ellipse, style=filled, fillcolor="{fill}", ' \
               f'color="{line}"'
    if n.kind == "saved":
        label = "\\n".join(_dot_escape(x) for x in [n.title, *n.rows])
        return f'label="{label}", shape=note, style=filled, fillcolor="{fill}", ' \
               f'color="{line}", fontsize=9'
    fields = "|".join(_record_escape(x) for x in [n.title, *n.rows])
    # a record lays its fields out across the rank direction (so one under the other in LR);
    # braces turn them, so that in TB too the fields stack one per line
    label = fields if direction in ("LR", "RL") else f"{{{fields}}}"
    return f'label="{label}", shape=record, style="filled,rounded", fillcolor="{fill}", ' \
           f'color="{line}"'


# ----------------------------------------------------------------- building the scene
def _op_title(fn: Function) -> str:
    exponent = fn.__dict__.get("exponent")
    if fn.op_name == "pow" and isinstance(exponent, int | float):
        return "^" + gm.number(exponent)
    return _SYMBOLS.get(fn.op_name, fn.op_name)


def _op_rows(fn: Function) -> list[str]:
    rows = []
    for k, v in gm.settings_of(fn).items():
        if fn.op_name == "pow" and k == "exponent":
            continue
        if hasattr(v, "_fields") and hasattr(v, "kernel"):
            rows.append(gm.window_text(v))
        elif isinstance(v, float):
            rows.append(f"{k}={gm.number(v)}")
        elif not (isinstance(v, bool) and not v):
            rows.append(f"{k}={v}")
    return rows


def _value_rows(t: Tensor, grad: np.ndarray | None, show_values: bool, show_grads: bool
                ) -> list[str]:
    small = t.numel() <= SMALL
    # a scalar whose value is shown needs no shape line
    rows = [] if t.ndim == 0 and show_values else [gm.shape_text(tuple(t.shape)) if t.ndim
                                                   else "scalar"]
    if show_values and small:
        rows.append("data " + gm.array_text(gm.values(t), SMALL))
    if show_grads and grad is not None and small:
        rows.append("grad " + gm.array_text(grad, SMALL))
    return rows


def draw_graph(output: Tensor | Sequence[Tensor], params: Any = None, show_values: bool = True,
               show_grads: bool = True, direction: str = "LR", group: str | None = None
               ) -> Graph:
    """Draw the computation graph that produced `output`.

    `params` names the tensors: a Module (its `named_parameters`), a dict name → tensor or
    (name, tensor) pairs; a tensor's `.name`, if set, is used too; other values are called by
    the op that computed them. `show_values` / `show_grads` add the values and error signals of
    tensors with at most 4 entries; the error signals are v̄ = ∂output/∂v for every node,
    computed by the engine's backward pass (graph kept, no `.grad` written) when `output` is
    one scalar that requires grad, else each tensor's `.grad`. `direction` is Graphviz's rankdir
    (LR, TB, RL, BT). ``group="module"`` collapses each module into one node (see
    `record_modules`).
    """
    op = "draw_graph"
    roots = gm.as_roots(output, op)
    if direction not in _graph_layout.DIRECTIONS:
        raise ValueError(f"{op}: direction must be one of {', '.join(_graph_layout.DIRECTIONS)},"
                         f" got {direction!r}")
    if group not in (None, "module"):
        raise ValueError(f"{op}: group must be None or 'module', got {group!r}")
    names = gm.names_of(params, op)
    order = gm.full_order(roots, op)
    grads: dict[int, np.ndarray] = {}
    if show_grads:
        if len(roots) == 1 and roots[0].requires_grad and roots[0].numel() == 1:
            grads = {id(v): gm.values(g) for v, g in gm.error_signals(roots)}
        else:
            grads = {id(t): gm.values(t.grad) for t in order if t.grad is not None}

    nodes: list[Node] = []
    edges: list[Edge] = []
    vid: dict[int, str] = {}
    for i, t in enumerate(order):
        vid[id(t)] = f"v{i}"
    ops = [t for t in order if t.grad_fn is not None]
    fid = {id(t.grad_fn): f"f{k}" for k, t in enumerate(ops)}

    membership = _membership(ops, params, names) if group == "module" else {}
    if group == "module":
        return _grouped(order, roots, names, membership, vid, fid, direction)

    for t in order:
        name = gm.user_name(t, names)
        kind = gm.kind_of(t, roots, name)
        if name is None:
            if kind == "constant":
                name = gm.number(gm.values(t).reshape(()))
            elif t.grad_fn is not None:
                name = t.grad_fn.op_name
            else:
                name = "input" if kind == "input" else "leaf"
        rows = _value_rows(t, grads.get(id(t)), show_values, show_grads)
        if kind == "constant":
            rows = []
        nodes.append(Node(vid[id(t)], kind, name, rows))
    for k, t in enumerate(ops):
        fn = t.grad_fn
        assert fn is not None
        f = fid[id(fn)]
        nodes.append(Node(f, "op", _op_title(fn), _op_rows(fn)))
        for p in gm.parents(fn):
            edges.append(Edge(vid[id(p)], f))
        edges.append(Edge(f, vid[id(t)]))
        for j, (sname, shape) in enumerate(gm.saved_arrays(fn).items()):
            s = f"s{k}_{j}"
            nodes.append(Node(s, "saved", sname, [gm.shape_text(shape)]))
            edges.append(Edge(s, f, dashed=True))
    return Graph(nodes, edges, direction)


@dataclass(frozen=True)
class _Member:
    """The group an op is drawn in: one call of one module."""

    key: str            # unique per group
    module: str         # the module's name in the model ("" for the model itself)
    title: str
    description: str


def _membership(ops: list[Tensor], params: Any, names: dict[int, str]) -> dict[int, _Member]:
    """id(grad_fn) → its group: the module call recorded by `record_modules`, else the module
    owning a parameter the op uses, one group per connected run of its ops (a module applied
    twice is two nodes, so collapsing never makes a cycle)."""
    modules = dict(params.named_modules()) if hasattr(params, "named_modules") else {}
    found: dict[int, tuple[str, str, str]] = {}   # id(fn) → (module, call key, description)
    loose: dict[int, tuple[str, str]] = {}        # by parameter: id(fn) → (module, description)
    for t in ops:
        fn = t.grad_fn
        assert fn is not None
        rec = _RECORDED.module_of.get(fn)
        if rec is not None:
            found[id(fn)] = (rec[0], str(rec[1]), rec[2])
            continue
        for p in gm.parents(fn):
            pname = names.get(id(p))
            if pname is not None and p.grad_fn is None:
                mname = pname.rsplit(".", 1)[0] if "." in pname else pname
                m = modules.get(mname)
                loose[id(fn)] = (mname, _describe(m) if m is not None else "")
                break
    # connected runs of one module's ops (union-find over parent → child links)
    parent = {k: k for k in loose}

    def root(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for t in ops:
        fn = t.grad_fn
        assert fn is not None
        if id(fn) not in loose:
            continue
        for p in gm.parents(fn):
            pf = p.grad_fn
            if pf is not None and id(pf) in loose and loose[id(pf)][0] == loose[id(fn)][0]:
                parent[root(id(pf))] = root(id(fn))
    for k, (mname, desc) in loose.items():
        found[k] = (mname, f"run{root(k)}", desc)
    calls: dict[str, list[str]] = {}
    for mname, key, _ in found.values():
        if key not in calls.setdefault(mname, []):
            calls[mname].append(key)
    out: dict[int, _Member] = {}
    for k, (mname, key, desc) in found.items():
        title = mname or desc.split("(", 1)[0] or "model"
        if len(calls[mname]) > 1:
            title += f" (call {calls[mname].index(key) + 1})"
        out[k] = _Member(f"{mname}#{key}", mname, title, desc)
    return out


def _grouped(order: list[Tensor], roots: list[Tensor], names: dict[int, str],
             membership: dict[int, _Member], vid: dict[int, str], fid: dict[int, str],
             direction: str) -> Graph:
    """One node per module: its ops, its parameters and the values inside it collapse."""
    groups: dict[str, Node] = {}
    gid: dict[str, str] = {}
    rep: dict[str, str] = {}        # node id → the id drawn for it
    group_of_value: dict[int, str] = {}
    nodes: list[Node] = []
    for t in order:
        fn = t.grad_fn
        if fn is None or id(fn) not in membership:
            continue
        member = membership[id(fn)]
        mname = member.module
        if member.key not in gid:
            gid[member.key] = f"m{len(gid)}"
            groups[member.key] = Node(gid[member.key], "module", member.title,
                                      _wrap(member.description) if member.description else [])
            nodes.append(groups[member.key])
        g = gid[member.key]
        rep[fid[id(fn)]] = g
        group_of_value[id(t)] = g
        for p in gm.parents(fn):
            pname = names.get(id(p))
            if p.grad_fn is None and p.requires_grad and pname is not None \
                    and (pname.startswith(mname + ".") or pname == mname):
                if vid[id(p)] not in rep:
                    groups[member.key].rows.append(f"{pname[len(mname) + 1:] or pname} "
                                              f"{gm.shape_text(tuple(p.shape))}")
                rep[vid[id(p)]] = g
    # an unnamed constant (batch norm's ε) used only inside one module belongs to it
    users: dict[int, set[str]] = {}
    for t in order:
        if t.grad_fn is not None:
            for p in gm.parents(t.grad_fn):
                users.setdefault(id(p), set()).add(rep.get(fid[id(t.grad_fn)], "-"))
    for t in order:
        v = vid[id(t)]
        used_by = users.get(id(t), set())
        if v not in rep and len(used_by) == 1 and "-" not in used_by \
                and gm.kind_of(t, roots, gm.user_name(t, names)) == "constant":
            rep[v] = next(iter(used_by))
    edges: list[Edge] = []
    seen_edges: set[tuple[str, str]] = set()

    def connect(a: str, b: str, label: str = "") -> None:
        if a != b and (a, b) not in seen_edges:
            seen_edges.add((a, b))
            edges.append(Edge(a, b, label))

    for t in order:
        v = vid[id(t)]
        is_root = any(t is r for r in roots)
        inside = id(t) in group_of_value
        if inside and not is_root:
            rep[v] = group_of_value[id(t)]
        if v not in rep or is_root:
            name = gm.user_name(t, names)
            kind = gm.kind_of(t, roots, name)
            if name is None:
                name = (gm.number(gm.values(t).reshape(())) if kind == "constant"
                        else t.grad_fn.op_name if t.grad_fn is not None else "input")
            rows = [] if kind == "constant" else [gm.shape_text(tuple(t.shape)) if t.ndim
                                                  else "scalar"]
            nodes.append(Node(v, kind, name, rows))
        fn = t.grad_fn
        if fn is None:
            continue
        f = fid[id(fn)]
        if f not in rep:
            nodes.append(Node(f, "op", _op_title(fn), _op_rows(fn)))
        target = rep.get(f, f)
        for p in gm.parents(fn):
            pv = vid[id(p)]
            src = rep.get(pv, pv)
            label = gm.shape_text(tuple(p.shape)) if pv in rep and src != pv else ""
            connect(src, target, label)
        if is_root or vid[id(t)] not in rep:
            connect(target, v)
    return Graph(nodes, edges, direction)


# ----------------------------------------------------------------- SVG
def _text_width(s: str, bold: bool = False) -> float:
    return gm.width(s) * _CHAR * (1.05 if bold else 1.0)


def _box(n: Node) -> tuple[float, float]:
    lines = [n.title, *n.rows]
    w = max(_text_width(x, i == 0) for i, x in enumerate(lines)) + 20
    h = _LINE * len(lines) + 8
    if n.kind == "op":
        return max(w + 10, 34.0), max(h, 26.0)
    return max(w, 40.0), h


def _svg(g: Graph) -> str:
    index = {n.id: i for i, n in enumerate(g.nodes)}
    sizes = [_box(n) for n in g.nodes]
    edge_idx = [(index[e.source], index[e.target]) for e in g.edges]
    horizontal = g.direction in ("LR", "RL")
    label_room = max((_text_width(e.label) for e in g.edges if e.label), default=0.0)
    gap = max(44.0, label_room + 28) if horizontal else (56.0 if label_room else 40.0)
    lay = _graph_layout.layout(sizes, edge_idx, g.direction, rank_gap=gap)
    kinds = g._kinds()
    legend_h = 30.0
    legend_w = sum(_text_width(LEGEND[k]) + 40 for k in kinds) + 12
    width = max(lay.width, legend_w)
    height = lay.height + legend_h
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.1f} {height:.1f}" font-family="{_FONT}" '
           f'font-size="{_FONT_SIZE:g}">',
           "<defs>",
           '<marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
           'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
           'fill="#555555"/></marker>',
           '<marker id="arrow-saved" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
           'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
           'fill="#b35806"/></marker>',
           "</defs>",
           f'<rect width="{width:.1f}" height="{height:.1f}" fill="#ffffff"/>',
           '<g class="edges" fill="none">']
    labels = []
    for e, pts in zip(g.edges, lay.routes, strict=True):
        colour = "#b35806" if e.dashed else "#555555"
        dash = ' stroke-dasharray="4,3"' if e.dashed else ""
        marker = "arrow-saved" if e.dashed else "arrow"
        out.append(f'<path class="edge" data-source="{e.source}" data-target="{e.target}" '
                   f'd="{_path(pts, horizontal)}" stroke="{colour}" stroke-width="1.2"{dash} '
                   f'marker-end="url(#{marker})"/>')
        if e.label:
            (x0, y0), (x1, y1) = pts[0], pts[1]
            mx, my = (x0 + x1) / 2, (y0 + y1) / 2
            tw = _text_width(e.label) * 0.9
            labels.append(f'<g class="edge-label"><rect x="{mx - tw / 2 - 3:.1f}" '
                          f'y="{my - 8:.1f}" width="{tw + 6:.1f}" height="14" fill="#ffffff" '
                          f'opacity="0.9"/><text x="{mx:.1f}" y="{my + 3:.1f}" '
                          f'text-anchor="middle" font-size="{_FONT_SIZE * 0.9:g}" '
                          f'fill="#333333">{escape(e.label)}</text></g>')
    out.append("</g>")
    out.append('<g class="edge-labels">')
    out.extend(labels)
    out.append("</g>")
    out.append('<g class="nodes">')
    for n, (cx, cy), (w, h) in zip(g.nodes, lay.centres, sizes, strict=True):
        out.append(_svg_node(n, cx, cy, w, h))
    out.append("</g>")
    out.append(_svg_legend(kinds, lay.height, width))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _path(pts: list[tuple[float, float]], horizontal: bool) -> str:
    """A smooth curve through the route: each step bends half-way along the rank axis."""
    d = [f"M{pts[0][0]:.1f},{pts[0][1]:.1f}"]
    for (x0, y0), (x1, y1) in zip(pts, pts[1:], strict=False):
        if horizontal:
            mx = (x0 + x1) / 2
            d.append(f"C{mx:.1f},{y0:.1f} {mx:.1f},{y1:.1f} {x1:.1f},{y1:.1f}")
        else:
            my = (y0 + y1) / 2
            d.append(f"C{x0:.1f},{my:.1f} {x1:.1f},{my:.1f} {x1:.1f},{y1:.1f}")
    return " ".join(d)


def _svg_node(n: Node, cx: float, cy: float, w: float, h: float) -> str:
    fill, line = COLOURS[n.kind]
    x, y = cx - w / 2, cy - h / 2
    parts = [f'<g class="node {n.kind}" id="{n.id}">', f"<title>{escape(n.title)}</title>"]
    if n.kind == "op":
        parts.append(f'<ellipse cx="{cx:.1f}" cy="{cy:.1f}" rx="{w / 2:.1f}" ry="{h / 2:.1f}" '
                     f'fill="{fill}" stroke="{line}" stroke-width="1.2"/>')
    elif n.kind == "saved":
        fold = 7
        parts.append(f'<path d="M{x:.1f},{y:.1f} H{x + w - fold:.1f} L{x + w:.1f},'
                     f'{y + fold:.1f} V{y + h:.1f} H{x:.1f} Z" fill="{fill}" stroke="{line}" '
                     'stroke-width="1.1" stroke-dasharray="3,2"/>')
    else:
        rx = 2 if n.kind == "module" else 6
        sw = 1.8 if n.kind in ("output", "module") else 1.2
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" '
                     f'rx="{rx}" fill="{fill}" stroke="{line}" stroke-width="{sw}"/>')
        if n.rows:
            ly = y + _LINE + 5
            parts.append(f'<line x1="{x:.1f}" y1="{ly:.1f}" x2="{x + w:.1f}" y2="{ly:.1f}" '
                         f'stroke="{line}" stroke-width="0.6" opacity="0.6"/>')
    lines = [n.title, *n.rows]
    top = cy - _LINE * len(lines) / 2 + _LINE * 0.72
    for i, text in enumerate(lines):
        weight = ' font-weight="bold"' if i == 0 else ""
        colour = "#222222" if i == 0 else "#444444"
        dy = 2 if i > 0 and n.kind not in ("op", "saved") else 0
        parts.append(f'<text x="{cx:.1f}" y="{top + i * _LINE + dy:.1f}" text-anchor="middle"'
                     f'{weight} fill="{colour}">{escape(text)}</text>')
    parts.append("</g>")
    return "".join(parts)


def _svg_legend(kinds: list[str], top: float, width: float) -> str:
    parts = [f'<g class="legend" transform="translate(12,{top + 6:.1f})">']
    x = 0.0
    for k in kinds:
        fill, line = COLOURS[k]
        if k == "op":
            parts.append(f'<ellipse cx="{x + 9:.1f}" cy="8" rx="9" ry="6" fill="{fill}" '
                         f'stroke="{line}"/>')
        else:
            dash = ' stroke-dasharray="3,2"' if k == "saved" else ""
            parts.append(f'<rect x="{x:.1f}" y="2" width="18" height="12" rx="3" fill="{fill}" '
                         f'stroke="{line}"{dash}/>')
        parts.append(f'<text x="{x + 24:.1f}" y="12" font-size="{_FONT_SIZE * 0.9:g}" '
                     f'fill="#333333">{escape(LEGEND[k])}</text>')
        x += _text_width(LEGEND[k]) * 0.9 + 40
    parts.append("</g>")
    return "".join(parts)


__all__ = ["COLOURS", "Edge", "Graph", "Node", "draw_graph", "record_modules"]
