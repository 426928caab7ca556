"""The computation graph as the drawings and the trace see it: every tensor (inputs and
constants too, not only those that need gradients) in the engine's topological order, the name
each goes by, and the error signals the engine computes for them.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from chainrule.autograd import engine
from chainrule.autograd.function import Function, freed, vertex
from chainrule.autograd.grad_mode import no_grad
from chainrule.tensor import Tensor

_FREED = ("the graph was freed by an earlier backward(); draw or trace it before calling "
          "backward(), or call backward(retain_graph=True)")

#: the kinds of value node, in the order the legends list them
KINDS = ("parameter", "input", "constant", "value", "output")


def as_roots(output: Tensor | Sequence[Tensor], op: str) -> list[Tensor]:
    if isinstance(output, Tensor):
        roots = [output]
    elif isinstance(output, list | tuple):
        roots = list(output)
    else:
        roots = []
    if not roots or not all(isinstance(r, Tensor) for r in roots):
        raise TypeError(f"{op}: expected a Tensor (or a sequence of Tensors), got "
                        f"{type(output).__name__}")
    return roots


def full_order(roots: Sequence[Tensor], op: str) -> list[Tensor]:
    """Every tensor the roots were computed from, parents before children: the engine's own
    topological order (`engine.topological_order`, the v_1..v_N its backward pass walks back),
    with the tensors that need no gradient (data, targets, constants) placed just before the
    first node that uses them."""
    for r in roots:
        if r.grad_fn is not None and r.grad_fn.released:
            raise RuntimeError(f"{op}: {_FREED}")
    order: list[Tensor] = []
    placed: set[int] = set()
    for t in engine.topological_order([r for r in roots if r.requires_grad]):
        fn = t.grad_fn
        if fn is not None:
            if fn.released:
                raise RuntimeError(f"{op}: {_FREED}")
            for p in parents(fn):
                if not p.requires_grad and id(p) not in placed:
                    placed.add(id(p))
                    order.append(p)
        placed.add(id(t))
        order.append(t)
    for r in roots:
        if id(r) not in placed:
            placed.add(id(r))
            order.append(r)
    return order


def parents(fn: Function) -> list[Tensor]:
    """A node's parents as the graph's vertices: the tensor itself where the node keeps a
    `StandIn` of it (`chainrule.autograd.function.vertex`)."""
    return [vertex(p) for p in fn.inputs]


def names_of(params: Any, op: str) -> dict[int, str]:
    """id(tensor) → name from a Module (its named parameters and buffers), a mapping
    name → tensor, or an iterable of (name, tensor) pairs."""
    if params is None:
        return {}
    if hasattr(params, "named_parameters"):
        pairs: Iterable[tuple[str, Any]] = [*params.named_parameters(), *params.named_buffers()]
    elif isinstance(params, Mapping):
        pairs = params.items()
    else:
        pairs = params
    names: dict[int, str] = {}
    for item in pairs:
        try:
            name, t = item
        except (TypeError, ValueError):
            raise TypeError(f"{op}: params must be a Module, a dict name -> Tensor or (name, "
                            f"Tensor) pairs; got an item {item!r}") from None
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: params[{name!r}] is a {type(t).__name__}, not a Tensor")
        names.setdefault(id(t), str(name))
    return names


def user_name(t: Tensor, names: Mapping[int, str]) -> str | None:
    """The name a tensor goes by: given in `params`, else its `.name` if the user set one."""
    if id(t) in names:
        return names[id(t)]
    name = getattr(t, "name", None)
    return name if isinstance(name, str) and name else None


def kind_of(t: Tensor, roots: Sequence[Tensor], name: str | None = None) -> str:
    """parameter (a leaf that needs a gradient), input (data), constant (an unnamed number), value
    (computed) or output (a root)."""
    if any(t is r for r in roots):
        return "output"
    if t.grad_fn is not None:
        return "value"
    if t.requires_grad:
        return "parameter"
    return "constant" if name is None and t.numel() == 1 and t.ndim <= 1 else "input"


def values(t: Tensor) -> np.ndarray:
    return t.detach().numpy()


def snapshot(t: Tensor) -> np.ndarray:
    """A copy of t's values as they are now (a StandIn's no-values array as it is)."""
    a = values(t)
    return a if freed(a) else a.copy()


def error_signals(roots: Sequence[Tensor], seeds: Sequence[Tensor] | None = None,
                  on_term: Any = None) -> list[tuple[Tensor, Tensor]]:
    """(v_i, v̄_i) for every tensor that needs a gradient, in the engine's backward order: the
    engine's own loop, the graph kept and no `.grad` written."""
    if seeds is None:
        seeds = [Tensor._make(np.ones(r.shape, r.dtype), False, None) for r in roots]
    with no_grad():
        return list(engine.backprop(list(roots), list(seeds), True, on_term))


def settings_of(fn: Function) -> dict[str, Any]:
    """The op's settings that read as short text (numbers, flags, windows, axes)."""
    out: dict[str, Any] = {}
    for k in sorted(fn.settings):
        v = fn.__dict__.get(k)
        if v is None or isinstance(v, np.ndarray | Tensor) or k in fn.saved_names:
            continue
        if isinstance(v, bool | int | float | str | np.dtype) or (
                isinstance(v, tuple) and (hasattr(v, "kernel") or len(str(v)) <= 40)):
            out[k] = v
    return out


def window_text(w: Any) -> str:
    """A convolution's or pooling's window in brief: '5×5 stride 2 pad 1'."""
    k, s, d, p = w.kernel, w.stride, w.dilation, w.padding
    out = f"{k[0]}×{k[1]}"
    if s != (1, 1):
        out += f" stride {s[0] if s[0] == s[1] else s}"
    if d != (1, 1):
        out += f" dilation {d[0] if d[0] == d[1] else d}"
    if any(p):
        out += f" pad {p[0] if len(set(p)) == 1 else p}"
    return out


def saved_arrays(fn: Function) -> dict[str, tuple[int, ...]]:
    """What the node keeps for its backward beyond its parents: name → shape of each array."""
    out: dict[str, tuple[int, ...]] = {}
    for k, v in fn.saved_values.items():
        if isinstance(v, np.ndarray):
            out[k] = tuple(v.shape)
        elif isinstance(v, Tensor):
            out[k] = tuple(v.shape)
    return out


# ----------------------------------------------------------------- text
def width(s: str) -> int:
    """Columns `s` takes in a terminal: combining marks (the bars) take none."""
    return sum(0 if unicodedata.combining(c) else 1 for c in s)


def pad(s: str, n: int) -> str:
    return s + " " * max(n - width(s), 0)


def number(x: Any) -> str:
    """A number as the trace prints it: 4 significant digits, integers without a point."""
    x = float(x)
    if not np.isfinite(x):
        return str(x)
    if x == int(x) and abs(x) < 1e6:
        return str(int(x))
    return f"{x:.4g}"


def array_text(a: np.ndarray, limit: int) -> str:
    """Small arrays in full, larger ones as shape, range and mean."""
    a = np.asarray(a)
    if freed(a):
        return f"{shape_text(a.shape)} freed: backward reads no value"  # (a StandIn's)
    if a.size == 1:
        return number(a.reshape(()))
    if a.size <= limit:
        text = np.array2string(a, separator=", ", max_line_width=10_000,
                               formatter={"all": number})
        return " ".join(text.split())  # one line, also for matrices
    if a.size == 0:
        return f"{tuple(a.shape)} empty"
    if a.dtype.kind not in "fiu":
        return f"{tuple(a.shape)} {a.dtype}"
    return (f"{shape_text(a.shape)} in [{number(a.min())}, {number(a.max())}], "
            f"mean {number(a.mean())}")


def shape_text(shape: Sequence[int]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")" if len(shape) != 1 else f"({shape[0]},)"


_SUBSCRIPT_DIGITS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def v_name(i: int) -> str:
    """The lecture's v_i, with the index as subscript digits: v₁₂."""
    return "v" + str(i).translate(_SUBSCRIPT_DIGITS)


def bar(name: str) -> str:
    """The error signal's name: a macron on a one-letter stem (z̄, L̄_reg, v̄₃, W̄1), an overline
    over every character of a longer name (f̅c̅1̅.̅w̅e̅i̅g̅h̅t̅), as the lecture writes it."""
    if not name:
        return name
    if name[0].isalpha() and (len(name) == 1 or not name[1].isalpha()):
        return unicodedata.normalize("NFC", name[0] + "\u0304" + name[1:])
    return "".join(c + "\u0305" for c in name)
