"""The backprop trace: the forward pass in topological order, then the backward pass in reverse,
each line in the lecture's notation, with the numbers the engine computes.

    >>> t = trace(L_reg, names=dict(w=w, b=b, x=x, t=t, z=z, y=y, L=L, R=R, L_reg=L_reg))
    Backward pass ...
      R̄ = v̄₁₄ · 0.01            = 0.01         mul
      w̄ = v̄₄ · x + v̄₁₁ · p · w^(p − 1)   = 0.1774 + 0.005 = 0.1824

The backward lines come from the engine's own loop (`chainrule.autograd.engine.backprop`): its
`on_term` hook hands over each term v̄_j ∂v_j/∂v_i as the child's backward computed it, and each
rule is the one the child's op declares in its docstring (`_trace_rules`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from chainrule.autograd import engine
from chainrule.autograd.function import Function
from chainrule.inspect import _graph_model as gm
from chainrule.inspect._trace_rules import rule_of, substitute
from chainrule.tensor import Tensor

#: arrays with at most this many entries are printed in full
SMALL = 8


@dataclass(frozen=True)
class ForwardStep:
    """One node v_i of the forward pass: v_i = f(Pa(v_i))."""

    index: int                      # i, the node's place in the topological order (from 1)
    name: str                       # the name it goes by in the trace
    kind: str                       # parameter, input, value or output
    op: str | None                  # the op that computed it (None for leaves)
    rule: str | None                # its formula with the graph's names: "w · x"
    parents: tuple[str, ...]
    settings: dict[str, Any]
    value: np.ndarray

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.value.shape)


@dataclass(frozen=True)
class Term:
    """One child's contribution v̄_j ∂v_j/∂v_i to v̄_i."""

    child: str                      # v_j's name
    op: str                         # v_j's op
    rule: str                       # the child's rule for this parent: "z̄ · x"
    value: np.ndarray               # the term, in v_i's shape
    summed: bool                    # summed back over the axes broadcasting stretched


@dataclass(frozen=True)
class BackwardStep:
    """One error signal v̄_i = Σ_{j ∈ Ch(v_i)} v̄_j ∂v_j/∂v_i (v̄_N = 1 for the loss)."""

    name: str
    bar: str                        # the error signal's name: "w̄"
    terms: tuple[Term, ...]         # one per child, in the order the engine added them
    value: np.ndarray               # v̄_i, as the engine computed it
    seed: str | None = None         # for v_N: "1" or "given"

    @property
    def rule(self) -> str:
        return self.seed if self.seed is not None else " + ".join(t.rule for t in self.terms)


@dataclass
class Trace:
    """What `trace` found: `.forward` and `.backward` steps, printable as text or markdown."""

    forward: list[ForwardStep] = field(default_factory=list)
    backward: list[BackwardStep] = field(default_factory=list)
    limit: int = SMALL

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return (f"<Trace: {len(self.forward)} forward steps, {len(self.backward)} backward "
                f"steps; print() it for the lines>")

    def step(self, name: str) -> BackwardStep:
        """The backward step of the node called `name`."""
        for s in self.backward:
            if s.name == name:
                return s
        raise KeyError(f"trace: no backward step for {name!r}; the steps are "
                       f"{', '.join(s.name for s in self.backward)}")

    # ------------------------------------------------------------- text
    def _value(self, a: np.ndarray) -> str:
        return gm.array_text(a, self.limit)

    def _terms_inline(self, s: BackwardStep) -> str | None:
        """'0.1774 + 0.005 = 0.1824' when every term is a number, else None."""
        if len(s.terms) < 2 or any(t.value.size != 1 for t in s.terms):
            return None
        return " + ".join(self._value(t.value) for t in s.terms) + " = " + self._value(s.value)

    def _lines(self) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
        fw: list[tuple[str, str, str]] = []
        for f in self.forward:
            if f.op is None:
                fw.append((f"{f.name} = {self._value(f.value)}", "", f"({f.kind})"))
                continue
            extra = _settings_text(f.settings)
            fw.append((f"{f.name} = {f.rule}", self._value(f.value),
                       f.op + (f" {extra}" if extra else "")))
        bw: list[tuple[str, str, str]] = []
        for s in self.backward:
            ops = ", ".join(dict.fromkeys(t.op for t in s.terms))
            inline = self._terms_inline(s)
            if len(s.terms) < 2 or inline is not None:
                note = " (summed over broadcast axes)" if any(t.summed for t in s.terms) else ""
                bw.append((f"{s.bar} = {s.rule}", inline or self._value(s.value), ops + note))
                continue
            bw.append((f"{s.bar} = {s.rule}", self._value(s.value),
                       f"sum over {len(s.terms)} children"))
            for t in s.terms:
                note = ", summed over broadcast axes" if t.summed else ""
                bw.append((f"    from {t.child}: {t.rule}", self._value(t.value), t.op + note))
        return fw, bw

    def to_text(self) -> str:
        """The trace as aligned lines: formula, '= value', and the op that gave the rule."""
        fw, bw = self._lines()
        col = min(max((gm.width(a) for a, _, _ in fw + bw), default=0), 56)
        vcol = min(max((gm.width(v) for _, v, _ in fw + bw), default=0), 40)

        def line(a: str, v: str, note: str) -> str:
            if not v:
                return ("  " + gm.pad(a, col) + "   " + gm.pad("", vcol + 2) + "  " + note).rstrip()
            return ("  " + gm.pad(a, col) + "   = " + gm.pad(v, vcol) + "  " + note).rstrip()

        n = len(self.forward)
        out = [f"Forward pass: v₁, …, {gm.v_name(n)} in topological order (parents before "
               "children)"]
        out += [line(*x) for x in fw]
        out.append("")
        out.append("Backward pass: v̄_N = 1, then v̄_i = Σ_{j ∈ Ch(v_i)} v̄_j ∂v_j/∂v_i for "
                   "i = N−1, …, 1 (children before parents)")
        out += [line(*x) for x in bw]
        return "\n".join(out) + "\n"

    def to_markdown(self) -> str:
        """The trace as two markdown tables (forward, backward)."""
        def cell(s: str) -> str:
            return s.replace("|", "\\|")

        out = ["**Forward pass** (topological order: parents before children)", "",
               "| i | node | formula | op | value |", "|---|---|---|---|---|"]
        for f in self.forward:
            formula = "" if f.rule is None else f.rule
            op = f.op if f.op is not None else f.kind
            extra = _settings_text(f.settings)
            out.append(f"| {f.index} | {cell(f.name)} | {cell(formula)} | "
                       f"{cell((op + ' ' + extra).strip())} | {cell(self._value(f.value))} |")
        out += ["", "**Backward pass** (v̄_N = 1; v̄_i = Σ_{j ∈ Ch(v_i)} v̄_j ∂v_j/∂v_i)", "",
                "| error signal | rule | terms | value |", "|---|---|---|---|"]
        for s in self.backward:
            terms = "" if len(s.terms) < 2 else " + ".join(self._value(t.value)
                                                            for t in s.terms)
            out.append(f"| {cell(s.bar)} | {cell(s.rule)} | {cell(terms)} | "
                       f"{cell(self._value(s.value))} |")
        return "\n".join(out) + "\n"


def _settings_text(settings: dict[str, Any]) -> str:
    return " ".join(f"{k}={_setting(v)}" for k, v in settings.items() if v is not False)


def _setting(v: Any) -> str:
    if isinstance(v, float):
        return gm.number(v)
    if isinstance(v, tuple) and hasattr(v, "kernel"):  # a Window: its geometry in brief
        return gm.window_text(v).replace(" ", "_")
    return str(v)


def _constant_text(t: Tensor) -> str:
    s = gm.number(gm.values(t).reshape(()))
    return f"({s})" if s.startswith("-") else s


def _forward_rule(fn: Function, parents: list[str], name: str) -> str:
    r = rule_of(type(fn))
    if r.forward is None:
        return f"{fn.op_name}({', '.join(parents)})"
    if r.varargs:
        return f"{fn.op_name}({', '.join(parents)})"
    return substitute(r.forward, r.symbols(parents, name, gm.bar(name), fn.__dict__))


def _term_rule(child: Tensor, k: int, names: dict[int, str]) -> str:
    """The child's declared rule for its parent k, in the graph's names."""
    fn = child.grad_fn
    assert fn is not None
    r = rule_of(type(fn))
    parents = [names[id(p)] for p in gm.parents(fn)]
    cname = names[id(child)]
    text = r.parent_rule(k)
    if text is None:
        # No rule stated: the lecture's generic term, so the line still says what it is.
        return f"{gm.bar(cname)} · ∂{cname}/∂{parents[k]}"
    if r.varargs:
        sym = next(iter(r.backward))[1:]  # "*a": the docstring's a₁, a₂, … stand for parent k
        mapping = {sym: parents[k], sym + "ᵢ": parents[k]}
        mapping.update(r.symbols([], cname, gm.bar(cname), fn.__dict__))
        return substitute(text, mapping)
    return substitute(text, r.symbols(parents, cname, gm.bar(cname), fn.__dict__))


def trace(loss: Tensor, names: Any = None, *, gradient: Any = None,
          file: TextIO | None = sys.stdout, limit: int = SMALL) -> Trace:
    """Trace backprop through the graph of `loss`, in the lecture's notation.

    Prints (to `file`; None prints nothing) the forward pass in topological order — each node,
    its formula and value — then the backward pass in reverse order: each error signal, the
    rule that produced it (the sum over its children, one term each), and the numbers. Returns
    the same as a `Trace` (`.forward`, `.backward`, `.to_markdown()`).

    `names` gives the nodes their names: a Module (its named parameters), a dict name → tensor
    or (name, tensor) pairs; a tensor's `.name`, if set, is used too. Other nodes are v_i, i
    their place in the topological order; scalar constants show their value. `gradient` is
    v̄_N for a non-scalar `loss` (default 1 for a scalar). The graph is kept and no `.grad` is
    written, so `loss.backward()` works afterwards as usual. Arrays with at most `limit`
    entries are printed in full, larger ones as shape, range and mean.
    """
    if not isinstance(loss, Tensor):
        raise TypeError(f"trace: expected a Tensor, got {type(loss).__name__}")
    seed = engine._seed(loss, gradient, "trace")
    given = gm.names_of(names, "trace")
    order = gm.full_order([loss], "trace")
    labels: dict[int, str] = {}
    steps: list[ForwardStep] = []
    i = 0
    for t in order:
        name = gm.user_name(t, given)
        kind = gm.kind_of(t, [loss], name)
        if kind == "constant" and name is None:
            labels[id(t)] = _constant_text(t)
            continue
        i += 1
        labels[id(t)] = name if name is not None else gm.v_name(i)
        fn = t.grad_fn
        if fn is None:
            steps.append(ForwardStep(i, labels[id(t)], kind, None, None, (), {},
                                     gm.snapshot(t)))
            continue
        parents = [labels[id(p)] for p in gm.parents(fn)]
        steps.append(ForwardStep(i, labels[id(t)], kind, fn.op_name,
                                 _forward_rule(fn, parents, labels[id(t)]), tuple(parents),
                                 gm.settings_of(fn), gm.snapshot(t)))

    terms: dict[int, list[Term]] = {}
    next_input: dict[int, int] = {}  # per child: where to look for the next parent's position

    def on_term(parent: Tensor, child: Tensor, term: Tensor) -> None:
        fn = child.grad_fn
        assert fn is not None
        k = next_input.get(id(child), 0)
        vertices = gm.parents(fn)
        while vertices[k] is not parent:  # terms come in the order of the child's inputs
            k += 1
        next_input[id(child)] = k + 1
        summed = term.shape != parent.shape
        if summed:
            term = engine.SumToShape.apply(term, shape=parent.shape)
        terms.setdefault(id(parent), []).append(Term(
            labels[id(child)], fn.op_name, _term_rule(child, k, labels),
            gm.values(term).astype(parent.dtype, copy=True), summed))

    backward: list[BackwardStep] = []
    for v, g in gm.error_signals([loss], [seed], on_term):
        name = labels[id(v)]
        is_root = v is loss
        backward.append(BackwardStep(
            name, gm.bar(name), tuple(terms.get(id(v), ())), gm.values(g).copy(),
            ("1" if gradient is None else "given") if is_root else None))
    result = Trace(steps, backward, limit)
    if file is not None:
        print(result.to_text(), file=file, end="")
    return result




# ----------------------------------------------------------------- `chainrule trace`
def add_trace_parser(sub: Any) -> None:
    """The `chainrule trace` subcommand (`sub`: the CLI's subparsers)."""
    from chainrule.inspect._trace_examples import EXAMPLES

    p = sub.add_parser("trace", help="print backprop step by step on a lecture example",
                       description="Print the forward pass of one of the lecture's worked "
                       "examples in topological order, then the backward pass in reverse, each "
                       "line in the lecture's notation with the numbers the engine computes.",
                       epilog="examples: " + "; ".join(f"{k}: {d}" for k, (d, _) in
                                                       EXAMPLES.items()))
    p.add_argument("example", nargs="?", default="logistic", choices=list(EXAMPLES),
                   help="which example (default: logistic)")
    p.add_argument("--markdown", action="store_true", help="print markdown tables instead")
    p.add_argument("--svg", metavar="PATH", help="also write the example's graph drawing")


def trace_command(args: Any) -> int:
    """Run `chainrule trace`: print the trace, optionally write the drawing."""
    from chainrule.inspect._trace_examples import EXAMPLES, example
    from chainrule.inspect.graph import draw_graph

    loss, names = example(args.example)
    print(f"{args.example}: {EXAMPLES[args.example][0]}\n")
    result = trace(loss, names, file=None)
    print(result.to_markdown() if args.markdown else result.to_text(), end="")
    if args.svg:
        Path(args.svg).write_text(draw_graph(loss, names).svg(), encoding="utf-8")
        print(f"\nwrote the graph drawing to {args.svg}")
    return 0


__all__ = ["BackwardStep", "ForwardStep", "Term", "Trace", "add_trace_parser", "trace",
           "trace_command"]
