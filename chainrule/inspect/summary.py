"""`summary(model, input_size)`: a network's size, counted from the ops that actually ran.

The lecture measures a network three ways: its **units** (activations kept for backprop), its
**weights** (memory and overfitting) and its **connections** (about 3 add-multiplies each per
training example). `summary` runs one forward pass and tabulates, per layer,

* ``units``: output values per example of the layers that have units: convolutions, fully
  connected layers and matrix products, pooling (and mean/max reductions over spatial axes,
  i.e. global pooling). Activation functions, normalisation, additions, reshapes and
  concatenations add no units: they transform the values of units that exist already;
* ``weights`` (without biases), ``biases`` and ``params``: the parameters the layer's ops read
  (a parameter is counted in the totals once however many layers use it);
* ``connections``: for a convolution or fully connected unit, the inputs it is connected to
  (biases not counted); for a pooling unit, the inputs it reads; summed over the units;
* ``macs``: multiply-adds of convolutions, linear layers and matrix products, biases not
  counted (the figure torchvision publishes) and ``flops`` = 2 × macs;
* ``activation_memory``: bytes of the layer's outputs that the recorded graph keeps for the
  backward pass (chainrule's nodes hold their inputs, but not a large one whose value no
  node's derivative reads: `chainrule.autograd.function.StandIn`), plus the arrays its nodes
  keep for backward (a convolution's im2col matrix, max pooling's argmax taps, an in-place
  op's copy of the old value, array settings such as a mask), for the whole batch. Views
  (reshape, permute, slicing) are counted as free, also where NumPy has to copy a reshaped
  array that is not contiguous;
* ``param_memory``: bytes of the parameters it reads.

Units, connections and multiply-adds are per example; memory is for the batch that ran.

How it counts: for the duration of the pass, `Function.apply` (the one entry point of every op)
is wrapped to record each op with the module that was running (found by forward pre-hooks and
hooks on every submodule). So a functional call counts like a layer, a module used twice counts
twice, and shared weights are counted once in the totals. Nested modules are shown to `depth`.

With ``shapes_only`` (the default for `input_size`) the expensive ops do not compute anything:
convolutions, linear layers, matrix products, pooling, reductions and the elementwise ops return
zero-stride arrays (one value seen at every position) of the right shape and dtype, and save
arrays of the right shape for backward, so ResNet-152's table takes about half a second instead
of twenty. Their values are meaningless and never leave the summary. Shape ops (reshape,
slicing, concatenation, padding) and ops without a rule run for real on those arrays. A model
whose control flow depends on values needs ``shapes_only=False``.

The recording patches classes for the duration of the call, so do not run another chainrule
computation in a second thread at the same time.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from numpy.lib.stride_tricks import as_strided

from chainrule import _dtypes
from chainrule.autograd.function import Function
from chainrule.autograd.grad_mode import enable_grad
from chainrule.backend import conv, windows
from chainrule.backend.pooling import tap_dtype
from chainrule.nn.module import Module, RemovableHandle
from chainrule.nn.parameter import Parameter
from chainrule.ops import activation as _activation
from chainrule.ops import conv as _conv
from chainrule.ops import elementwise as _elementwise
from chainrule.ops import linalg as _linalg
from chainrule.ops import normalization as _normalization
from chainrule.ops import pooling as _pooling
from chainrule.ops import reductions as _reductions
from chainrule.ops import shape as _shape
from chainrule.tensor import Tensor, default_generator

__all__ = ["COLUMNS", "DEFAULT_COLUMNS", "Summary", "summary"]

#: every per-row column, in display order
COLUMNS = ("output_shape", "units", "weights", "biases", "params", "connections", "macs", "flops",
           "activation_memory", "param_memory")
#: the columns `print(summary(...))` shows unless told otherwise
DEFAULT_COLUMNS = ("output_shape", "units", "weights", "params", "connections", "macs")
_HEADERS = {"output_shape": "Output Shape", "units": "Units", "weights": "Weights",
            "biases": "Biases", "params": "Params", "connections": "Connections",
            "macs": "Mult-Adds", "flops": "FLOPs", "activation_memory": "Activations",
            "param_memory": "Param Memory"}
_MEMORY = ("activation_memory", "param_memory")
_COUNTS = ("units", "weights", "biases", "params", "connections", "macs")
_MODES = ("eval", "train", "same")


# ----------------------------------------------------------------- what each op counts
def _fan_in_conv(inputs: Sequence[Tensor], settings: Mapping[str, Any]) -> int:
    return math.prod(inputs[1].shape[1:])  # C/groups · KH · KW: the weight's (o, ...) slice


def _fan_in_linear(inputs: Sequence[Tensor], settings: Mapping[str, Any]) -> int:
    return inputs[1].shape[1]


def _fan_in_matmul(inputs: Sequence[Tensor], settings: Mapping[str, Any]) -> int:
    return inputs[0].shape[-1]


def _fan_in_pool(inputs: Sequence[Tensor], settings: Mapping[str, Any]) -> int:
    kh, kw = settings["window"].kernel
    return kh * kw


def _reduced_axes(ndim: int, settings: Mapping[str, Any]) -> tuple[int, ...]:
    """The axes a reduction op's settings name (`axis`, or `axes` with None for all)."""
    if "axis" in settings:
        return (settings["axis"] % ndim,)
    axes = settings.get("axes")
    return tuple(range(ndim)) if axes is None else tuple(a % ndim for a in axes)


def _fan_in_reduction(inputs: Sequence[Tensor], settings: Mapping[str, Any]) -> int:
    """A reduction over spatial axes only (all ≥ 2 of an (N, C, ...) input) is a pooling layer
    (global average pooling written as x.mean((2, 3))); over the batch or the channels it is
    not (batch norm's statistics, a layer norm): 0 then."""
    x = inputs[0]
    axes = _reduced_axes(x.ndim, settings)
    if x.ndim < 3 or not axes or min(axes) < 2:
        return 0
    return math.prod(x.shape[a] for a in axes)


_MULTIPLY_ADDS = {_conv.Convolution: _fan_in_conv, _linalg.Affine: _fan_in_linear,
                  _linalg.MatMul: _fan_in_matmul}
_POOLING = {_pooling.MaxPool: _fan_in_pool, _pooling.AvgPool: _fan_in_pool}
for _name in ("Sum", "Mean", "Amax", "Amin", "MaxAlong", "MinAlong", "LogSumExp"):
    if hasattr(_reductions, _name):
        _POOLING[getattr(_reductions, _name)] = _fan_in_reduction


def _is_view(cls: type[Function], settings: Mapping[str, Any]) -> bool:
    """Ops whose output shares its input's memory (NumPy views)."""
    if cls in (_shape.Reshape, _shape.Permute, _shape.BroadcastTo):
        return True
    if cls is _shape.GetItem:
        index = settings["index"]
        items = index if isinstance(index, tuple) else (index,)
        return all(i is None or i is Ellipsis or isinstance(i, slice | int | np.integer)
                   for i in items)
    return False


# ----------------------------------------------------------------- shape-only forwards
def _blank(shape: Sequence[int], dtype: Any) -> np.ndarray:
    """An array of the right shape and dtype that holds one value: what shape-only ops return.

    Every element aliases the same one (zero strides). It is writable so that in-place ops
    (``x += y``, ``relu_``) run on it too: their writes all land on that one value.
    """
    return as_strided(np.zeros(1, dtype), tuple(shape), (0,) * len(shape), writeable=True)


def _first(a: np.ndarray) -> np.ndarray:
    """The first element of every axis (same ndim): enough to learn an op's output dtype."""
    return a[(slice(0, 1),) * a.ndim] if a.ndim else a


def _elementwise_rule(forward: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
    def rule(self: Function, *arrays: np.ndarray) -> np.ndarray:
        y = forward(self, *[_first(a) for a in arrays])
        return _blank(np.broadcast_shapes(y.shape, *(a.shape for a in arrays)), y.dtype)
    return rule


def _reduction_rule(forward: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
    def rule(self: Any, a: np.ndarray) -> np.ndarray:
        settings = vars(self)
        axes = set(_reduced_axes(a.ndim, settings))
        kept = tuple(1 if i in axes else n for i, n in enumerate(a.shape))
        dtype = forward(self, _first(a)).dtype
        if "indices" in self.saved_names:  # max/min along an axis saves the argmax indices
            self.indices = _blank(kept, np.intp)
        keepdims = settings.get("keepdims", False)
        return _blank(kept if keepdims else tuple(
            n for i, n in enumerate(a.shape) if i not in axes), dtype)
    return rule


def _conv_rule(self: Any, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None
               ) -> np.ndarray:
    n, c, h, wd = x.shape
    oh, ow = self.window.out_shape(h, wd)
    # what the op keeps for W̄: the whole im2col matrix, unless the backend builds it in blocks
    # or the window is pointwise (its im2col is a view of x). Its size is not passed: the
    # estimate follows the rules that hold on every machine, not `conv.WHOLE_BYTES` (on a CPU
    # with a large last-level cache a training step also keeps mid-sized im2cols whole), and
    # leave out the taps that read only padding, as the op does
    live = conv.live_taps(self.window, h, wd)
    win = self.window if live is None else live[1]
    kh, kw = win.kernel
    keeps = not (conv.blocked(c * kh * kw, win, self.keep_col) or windows.pointwise(win))
    self.save(col=_blank((c * kh * kw, oh * ow * n), x.dtype) if keeps else None)
    return _blank((n, w.shape[0], oh, ow), np.result_type(x, w))


def _patches_rule(self: Any, x: np.ndarray) -> np.ndarray:
    n, c, h, w = x.shape
    return _blank((n, *self.window.out_shape(h, w), c, *self.window.kernel), x.dtype)


def _affine_rule(self: Any, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None
                 ) -> np.ndarray:
    return _blank((*x.shape[:-1], w.shape[0]), np.result_type(x, w))


def _matmul_rule(self: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if a.ndim == 1 and b.ndim == 1:
        shape: tuple[int, ...] = ()
    elif a.ndim == 1:
        shape = (*b.shape[:-2], b.shape[-1])
    elif b.ndim == 1:
        shape = a.shape[:-1]
    else:
        shape = (*np.broadcast_shapes(a.shape[:-2], b.shape[:-2]), a.shape[-2], b.shape[-1])
    return _blank(shape, np.result_type(a, b))


def _max_pool_rule(self: Any, x: np.ndarray) -> np.ndarray:
    out = (*x.shape[:2], *self.window.out_shape(*x.shape[2:]))
    self.save(taps=_blank(out, tap_dtype(self.window)))
    return _blank(out, x.dtype)


def _avg_pool_rule(self: Any, x: np.ndarray) -> np.ndarray:
    return _blank((*x.shape[:2], *self.window.out_shape(*x.shape[2:])), x.dtype)


_ELEMENTWISE = (
    (_elementwise, ("Add", "Sub", "Mul", "Div", "Pow", "PowScalar", "Neg", "Abs", "Exp", "Log",
                    "Log1p", "Sqrt", "Sin", "Cos", "Sign", "Maximum", "Minimum", "Clip",
                    "Where", "Astype")),
    (_activation, ("RectifiedLinear", "Logistic", "HyperbolicTangent", "SoftReLU",
                   "Heaviside")),
    (_reductions, ("SoftmaxAlong", "LogSoftmaxAlong")),
    (_normalization, ("LocalResponse", "ChannelWindowSum")),  # shape-preserving too
)


def _shape_rules() -> dict[type, Callable[..., np.ndarray]]:
    """The forward each op runs in shape-only mode, by class (only classes that define
    `forward` themselves; a subclass inherits nothing from a patched parent)."""
    rules: dict[type, Callable[..., np.ndarray]] = {
        _conv.Convolution: _conv_rule, _conv.Patches: _patches_rule,
        _linalg.Affine: _affine_rule, _linalg.MatMul: _matmul_rule,
        _pooling.MaxPool: _max_pool_rule, _pooling.AvgPool: _avg_pool_rule,
    }
    for module, names in _ELEMENTWISE:
        for name in names:
            cls = getattr(module, name, None)
            if cls is not None and "forward" in vars(cls):
                rules[cls] = _elementwise_rule(vars(cls)["forward"])
    for cls in _POOLING:
        if "forward" in vars(cls) and cls not in rules:
            rules[cls] = _reduction_rule(vars(cls)["forward"])
    return rules


# ----------------------------------------------------------------- the recording
@dataclass(eq=False)
class _Op:
    """One op that ran: what it counts, for the whole batch."""

    name: str
    shape: tuple[int, ...]
    units: int = 0
    connections: int = 0
    macs: int = 0
    params: dict[int, Tensor] = field(default_factory=dict)
    out_bytes: int = 0  # new memory its output holds (0 for a view)
    kept: bool = False  # a recorded node holds the output for backward
    saved_bytes: int = 0

    def counts(self) -> bool:
        """An op that is a layer in its own right (shown as a row when its module is expanded)."""
        return bool(self.units or self.macs or self.params)


@dataclass(eq=False)
class _Call:
    """One call of a module (or of the model function), with what ran inside it, in order."""

    name: str  # the qualified module name ('' for the model)
    attr: str  # its last component, shown in the table
    type: str
    children: list[_Call | _Op] = field(default_factory=list)
    output: Any = None

    def ops(self) -> Iterator[_Op]:
        for c in self.children:
            if isinstance(c, _Op):
                yield c
            else:
                yield from c.ops()


class _Recorder:
    """Wraps `Function.apply` (and, for shapes only, the expensive forwards) while active."""

    active: ClassVar[bool] = False

    def __init__(self, root: _Call, shapes_only: bool) -> None:
        self.stack = [root]
        self.shapes_only = shapes_only
        # id(op output) → the op that owns its memory (None: a view of a parameter or constant)
        self.source: dict[int, _Op | None] = {}
        self.alive: list[Tensor] = []  # keeps ids unique while the pass runs
        self.inputs: set[int] = set()
        self.copies: set[int] = set()  # in-place ops' copies of old values, counted once
        self.saved: dict[int, np.ndarray] = {}  # arrays nodes keep for backward, counted once
        self._patched: list[tuple[type, str, Any]] = []
        self._errstate: Any = None

    def __enter__(self) -> _Recorder:
        if _Recorder.active:
            raise RuntimeError("summary: already recording (summary cannot run inside another "
                               "summary or in two threads at once)")
        _Recorder.active = True
        original = vars(Function)["apply"].__func__
        recorder = self

        def apply(cls: type[Function], *inputs: Tensor, **settings: Any) -> Tensor:
            out = original(cls, *inputs, **settings)
            recorder.record(cls, inputs, settings, out)
            return out

        self._patch(Function, "apply", classmethod(apply))
        if self.shapes_only:
            for cls, rule in _shape_rules().items():
                self._patch(cls, "forward", rule)
            self._errstate = np.errstate(all="ignore")  # log(0) and 0/0 of the blank values
            self._errstate.__enter__()
        return self

    def _patch(self, cls: type, name: str, value: Any) -> None:
        self._patched.append((cls, name, vars(cls)[name]))
        setattr(cls, name, value)

    def __exit__(self, *exc: Any) -> None:
        for cls, name, value in reversed(self._patched):
            setattr(cls, name, value)
        if self._errstate is not None:
            self._errstate.__exit__(*exc)
        _Recorder.active = False

    def add_input(self, t: Tensor) -> None:
        self.inputs.add(id(t))
        self.alive.append(t)

    def record(self, cls: type[Function], inputs: Sequence[Tensor],
               settings: Mapping[str, Any], out: Tensor) -> None:
        if not isinstance(out, Tensor):
            return
        op = _Op(cls.op_name, tuple(out.shape))
        self.stack[-1].children.append(op)
        self.alive.append(out)
        activation = False
        node = out.grad_fn
        recorded = node is not None and isinstance(node, cls)  # then it holds its inputs
        if node is not None and recorded:  # what forward saved, and array settings (masks)
            for v in node.saved_values.values():
                if isinstance(v, np.ndarray) and id(v) not in self.saved:
                    self.saved[id(v)] = v
                    op.saved_bytes += v.nbytes
        for i, t in enumerate(inputs):
            # the node holds t itself, not a StandIn (a value that no node's derivative reads)
            held = node is not None and recorded and node.inputs[i] is t
            if isinstance(t, Parameter) or (t.requires_grad and t.grad_fn is None
                                            and id(t) not in self.inputs):
                op.params[id(t)] = t
            elif id(t) in self.inputs or self.source.get(id(t)) is not None:
                activation = True
                if held:
                    self.keep(t)
            elif t.grad_fn is not None and id(t) not in self.source:
                # a graph value that no op returned: the copy of its old value that an
                # in-place op (x += y) makes for backward. Its memory is this op's.
                activation = True
                if held and id(t) not in self.copies:
                    self.copies.add(id(t))
                    self.alive.append(t)
                    op.saved_bytes += t.numel() * t.dtype.itemsize
        if _is_view(cls, settings):
            self.source[id(out)] = self.source.get(id(inputs[0])) if inputs else None
            if inputs and id(inputs[0]) in self.inputs:
                self.inputs.add(id(out))
        else:
            self.source[id(out)] = op
            op.out_bytes = out.numel() * out.dtype.itemsize
        if cls in _MULTIPLY_ADDS:
            fan_in = _MULTIPLY_ADDS[cls](inputs, settings)
            op.macs = out.numel() * fan_in
            if activation:
                op.units, op.connections = out.numel(), out.numel() * fan_in
        elif cls in _POOLING and activation:
            fan_in = _POOLING[cls](inputs, settings)
            if fan_in:
                op.units, op.connections = out.numel(), out.numel() * fan_in

    def keep(self, t: Tensor) -> None:
        """A recorded node holds t: its memory (if an op of this pass made it) is kept."""
        owner = self.source.get(id(t))
        if owner is not None:
            owner.kept = True

    # module hooks
    def pre_hook(self, names: Mapping[int, str]) -> Callable[[Module, tuple], None]:
        def hook(module: Module, args: tuple) -> None:
            name = names.get(id(module), "")
            call = _Call(name, name.rsplit(".", 1)[-1], type(module).__name__)
            self.stack[-1].children.append(call)
            self.stack.append(call)
        return hook

    def post_hook(self, module: Module, args: tuple, out: Any) -> None:
        if len(self.stack) > 1:
            self.stack.pop().output = _shapes(out)


def _shapes(out: Any) -> Any:
    """A module's output as shapes: [n, c, h, w] for a tensor, a list for a tuple or list, a
    dict for a mapping (torchinfo's "Output Shape")."""
    if isinstance(out, Tensor | np.ndarray):
        return list(out.shape)
    if isinstance(out, Mapping):
        return {str(k): _shapes(v) for k, v in out.items()}
    if isinstance(out, tuple | list):
        return [_shapes(v) for v in out]
    return None


def _tensors(out: Any) -> Iterator[Tensor]:
    if isinstance(out, Tensor):
        yield out
    elif isinstance(out, Mapping):
        for v in out.values():
            yield from _tensors(v)
    elif isinstance(out, tuple | list):
        for v in out:
            yield from _tensors(v)


# ----------------------------------------------------------------- the result
def _per_example(value: int, batch: int) -> int | float:
    q, r = divmod(value, batch)
    return q if r == 0 else value / batch


@dataclass(eq=False)
class _Node:
    row: dict[str, Any]
    children: list[_Node] = field(default_factory=list)


class Summary:
    """The table `summary` returns: `print(s)`, `s.to_markdown()`, `s.to_dict()` / `s.to_json()`,
    `s.rows` (one dict per row) and the totals as attributes."""

    def __init__(self, tree: _Node, leaves: _Node, *, model_name: str,
                 input_shapes: list[list[int]],
                 input_dtypes: list[str], batch_size: int, depth: int,
                 columns: tuple[str, ...], shapes_only: bool, mode: str,
                 totals: dict[str, Any]) -> None:
        self._tree, self._leaves = tree, leaves
        self.rows: list[dict[str, Any]] = []
        self._labels: list[str] = []
        self._walk(tree, "", True, True)
        self.model_name = model_name
        self.input_shapes, self.input_dtypes = input_shapes, input_dtypes
        self.batch_size, self.depth, self.columns = batch_size, depth, columns
        self.shapes_only, self.mode = shapes_only, mode
        self.totals = totals
        for k, v in totals.items():
            setattr(self, k, v)

    # the totals, declared for readers and type checkers (set from `totals`)
    total_params: int
    trainable_params: int
    non_trainable_params: int
    total_weights: int
    total_biases: int
    unused_params: int
    total_units: int | float
    total_connections: int | float
    total_macs: int | float
    total_flops: int | float
    input_memory: int
    activation_memory: int
    param_memory: int
    training_memory: int

    def _walk(self, node: _Node, prefix: str, last: bool, root: bool) -> None:
        row = node.row
        label = row["type"] if root else (
            f"{row['name'].rsplit('.', 1)[-1]}()" if row["kind"] == "function"
            else f"{row['attr']} ({row['type']})")
        self.rows.append({k: v for k, v in row.items() if k != "attr"})
        self._labels.append(label if root else prefix + ("└─" if last else "├─") + label)
        inner = "" if root else prefix + ("  " if last else "│ ")
        for i, child in enumerate(node.children):
            self._walk(child, inner, i == len(node.children) - 1, False)

    # ----------------------------------------------------------------- printing
    def _cell(self, column: str, row: Mapping[str, Any]) -> str:
        """A row's value as text: "--" for a zero memory, and for the zero counts of a row that
        counts nothing at all (an activation function); a layer's zeros show as 0 (pooling's
        weights, as in the lecture's table)."""
        value = row[column]
        if column == "output_shape":
            return _shape_text(value)
        if not value and (column in _MEMORY or not any(row[c] for c in _COUNTS)):
            return "--"
        if column in _MEMORY:
            return _bytes_text(value)
        return f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"

    def _header(self) -> str:
        inputs = ", ".join(f"{s} {d}" for s, d in zip(self.input_shapes, self.input_dtypes,
                                                       strict=True))
        how = "shapes only (no values computed)" if self.shapes_only else "values computed"
        return (f"{self.model_name}: input {inputs}; {self.mode} mode; {how}; counts per "
                f"example, memory for a batch of {self.batch_size}")

    def _footer(self) -> list[str]:
        t = self.totals
        lines = [
            f"Total params: {t['total_params']:,} (weights {t['total_weights']:,}, "
            f"biases {t['total_biases']:,})",
            f"Trainable params: {t['trainable_params']:,}",
            f"Non-trainable params: {t['non_trainable_params']:,}",
        ]
        if t["unused_params"]:
            lines.append(f"Params not used in this pass: {t['unused_params']:,}")
        lines += [
            f"Units per example: {_count_text(t['total_units'])}",
            f"Connections per example: {_count_text(t['total_connections'])}",
            f"Mult-adds per example: {_count_text(t['total_macs'])}"
            f"{_scaled(t['total_macs'])}; FLOPs = 2 × mult-adds: "
            f"{_count_text(t['total_flops'])}",
            "-" * 20,
            f"Input size (MB): {t['input_memory'] / 1e6:.2f}",
            f"Activations kept for backward (MB): {t['activation_memory'] / 1e6:.2f}",
            f"Params size (MB): {t['param_memory'] / 1e6:.2f}",
            f"Estimated training memory (MB): {t['training_memory'] / 1e6:.2f} "
            "(params, their gradients, activations and input)",
        ]
        return lines

    def table(self, columns: Sequence[str] | None = None) -> str:
        """The torchinfo-style text table (what `print` shows)."""
        cols = self.columns if columns is None else _check_columns(columns)
        heads = ["Layer (type)", *(_HEADERS[c] for c in cols)]
        body = [[label, *(self._cell(c, row) for c in cols)]
                for label, row in zip(self._labels, self.rows, strict=True)]
        widths = [max(len(r[i]) for r in [heads, *body]) for i in range(len(heads))]
        widths = [max(widths[0], 24), *widths[1:]]

        def line(cells: list[str]) -> str:  # names and shapes left-aligned, numbers right
            return "  ".join(c.ljust(w) if i == 0 or cols[i - 1] == "output_shape"
                             else c.rjust(w) for i, (c, w) in
                             enumerate(zip(cells, widths, strict=True))).rstrip()

        width = sum(widths) + 2 * (len(widths) - 1)
        rule = "=" * width
        out = [self._header(), rule, line(heads), rule, *(line(r) for r in body), rule,
               *self._footer(), rule]
        return "\n".join(out)

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        return self.table()

    def to_markdown(self, columns: Sequence[str] | None = None) -> str:
        """A GitHub-flavoured Markdown table of the rows (qualified names), then the totals."""
        cols = self.columns if columns is None else _check_columns(columns)
        heads = ["Layer", "Type", *(_HEADERS[c] for c in cols)]
        lines = ["| " + " | ".join(heads) + " |",
                 "|" + "|".join(["---", "---", *("---" if c == "output_shape" else "---:"
                                                  for c in cols)]) + "|"]
        for row in self.rows:
            name = f"`{row['name']}`" if row["name"] else "(model)"
            cells = [name, row["type"], *(self._cell(c, row) for c in cols)]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join([self._header(), "", *lines, "", *(
            f"- {x}" for x in self._footer() if not x.startswith("-"))]) + "\n"

    def by_type(self) -> dict[str, dict[str, int | float]]:
        """The counts summed by layer type over every nesting level (whatever `depth` shows):
        {'Conv2d': {'layers': 53, 'units': ..., 'weights': ..., ...}, 'Linear': ...}; functional
        calls appear as 'linear()', 'matmul()'. Handy for the lecture's rules of thumb."""
        out: dict[str, dict[str, int | float]] = {}
        stack = [self._leaves]
        while stack:
            node = stack.pop()
            stack.extend(reversed(node.children))
            r = node.row
            key = f"{r['attr']}()" if r["kind"] == "function" else r["type"]
            acc = out.setdefault(key, dict.fromkeys(("layers", *_COUNTS, "flops",
                                                     *_MEMORY), 0))
            acc["layers"] += 1
            for c in (*_COUNTS, "flops", *_MEMORY):
                acc[c] += r[c]
        return out

    def to_dict(self) -> dict[str, Any]:
        """Everything as plain Python values (JSON-ready): the inputs, the rows, the totals."""
        return {"model": self.model_name, "input_shapes": self.input_shapes,
                "input_dtypes": self.input_dtypes, "batch_size": self.batch_size,
                "mode": self.mode, "shapes_only": self.shapes_only, "depth": self.depth,
                "rows": [dict(r) for r in self.rows], "totals": dict(self.totals)}

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)


def _shape_text(shape: Any) -> str:
    if shape is None:
        return "--"
    if isinstance(shape, dict):
        return "{" + ", ".join(f"{k}: {_shape_text(v)}" for k, v in shape.items()) + "}"
    if shape and all(isinstance(s, int) for s in shape) or shape == []:
        return "[" + ", ".join(str(s) for s in shape) + "]"
    return ", ".join(_shape_text(s) for s in shape)


def _bytes_text(n: int) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= size:
            return f"{n / size:.2f} {unit}"
    return f"{n} B"


def _count_text(v: int | float) -> str:
    return f"{v:,}" if isinstance(v, int) else f"{v:,.2f}"


def _scaled(v: int | float) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if v >= size:
            return f" ({v / size:.3f} {unit})"
    return ""


def _check_columns(columns: Sequence[str] | str) -> tuple[str, ...]:
    if columns == "all":
        return COLUMNS
    if isinstance(columns, str):
        columns = (columns,)
    bad = [c for c in columns if c not in COLUMNS]
    if bad:
        raise ValueError(f"summary: unknown column(s) {', '.join(map(repr, bad))}; choose from "
                         f"{', '.join(COLUMNS)} or 'all'")
    return tuple(columns)


# ----------------------------------------------------------------- building the rows
class _Rows:
    """Turns the call tree into rows: a module shown to `depth` with its children expanded
    reports only what ran in it directly (each layer-like functional call as a row of its own);
    a collapsed module reports everything inside it."""

    def __init__(self, batch: int, depth: int, param_names: Mapping[int, str]) -> None:
        self.batch, self.depth, self.names = batch, depth, param_names

    def node(self, call: _Call, level: int) -> _Node:
        calls = [c for c in call.children if isinstance(c, _Call)]
        if level >= self.depth or not calls:
            return _Node(self.row(call.name, call.attr, call.type, "module", level,
                                  call.output, list(call.ops())))
        own = [c for c in call.children if isinstance(c, _Op)]
        node = _Node(self.row(call.name, call.attr, call.type, "module", level, call.output,
                              [op for op in own if not op.counts()]))
        for c in call.children:
            if isinstance(c, _Call):
                node.children.append(self.node(c, level + 1))
            elif c.counts():
                name = f"{call.name}.{c.name}" if call.name else c.name
                node.children.append(_Node(self.row(name, c.name, "function", "function",
                                                    level + 1, list(c.shape), [c])))
        return node

    def row(self, name: str, attr: str, type_: str, kind: str, level: int, output: Any,
            ops: list[_Op]) -> dict[str, Any]:
        params: dict[int, Tensor] = {}
        for op in ops:
            params.update(op.params)
        biases = sum(p.numel() for i, p in params.items() if _is_bias(self.names.get(i, "")))
        total = sum(p.numel() for p in params.values())
        macs = _per_example(sum(op.macs for op in ops), self.batch)
        return {
            "name": name, "attr": attr, "type": type_, "kind": kind, "depth": level,
            "output_shape": output,
            "units": _per_example(sum(op.units for op in ops), self.batch),
            "weights": total - biases, "biases": biases, "params": total,
            "connections": _per_example(sum(op.connections for op in ops), self.batch),
            "macs": macs, "flops": 2 * macs,
            "activation_memory": sum(op.out_bytes * op.kept + op.saved_bytes for op in ops),
            "param_memory": sum(p.numel() * p.dtype.itemsize for p in params.values()),
        }


def _is_bias(name: str) -> bool:
    """torch's naming: `bias`, `in_proj_bias`, `bias_ih_l0` are biases; the rest weights."""
    return "bias" in name.rsplit(".", 1)[-1]


def _inputs(input_size: Any, input_data: Any, dtype: Any, shapes_only: bool
            ) -> tuple[list[Tensor], dict[str, Tensor]]:
    """The positional and keyword inputs of the pass."""
    if (input_size is None) == (input_data is None):
        raise ValueError("summary: give exactly one of input_size (a shape such as "
                         "(1, 3, 224, 224), or a list of shapes) and input_data")
    if input_size is not None:
        shapes = [input_size] if all(isinstance(s, int | np.integer) for s in input_size) \
            else list(input_size)
        dt = _dtypes.as_dtype(dtype)
        args = []
        for s in shapes:
            shape = tuple(int(n) for n in s)
            if any(n < 0 for n in shape):
                raise ValueError(f"summary: input_size {tuple(s)} has a negative dimension")
            args.append(Tensor(_blank(shape, dt)) if shapes_only else Tensor(np.zeros(shape, dt)))
        return args, {}
    if isinstance(input_data, Mapping):
        return [], {k: _as_input(v, shapes_only) for k, v in input_data.items()}
    if isinstance(input_data, tuple | list):
        return [_as_input(v, shapes_only) for v in input_data], {}
    return [_as_input(input_data, shapes_only)], {}


def _as_input(value: Any, shapes_only: bool) -> Tensor:
    t = value if isinstance(value, Tensor) else Tensor(np.asarray(value))
    return Tensor(_blank(t.shape, t.dtype)) if shapes_only else t


def summary(model: Module | Callable[..., Any], input_size: Sequence[Any] | None = None,
            input_data: Any = None, *, depth: int = 3,
            columns: Sequence[str] | str = DEFAULT_COLUMNS, dtype: Any = "float32",
            mode: str = "eval", shapes_only: bool | None = None) -> Summary:
    """Run `model` once and count its units, weights, connections and multiply-adds per layer.

    input_size: the input's shape *with* the batch dimension, e.g. (1, 3, 224, 224), or a list
    of shapes for several inputs (filled with zeros of `dtype`); or input_data: a tensor or
    array, a tuple/list of them (positional inputs) or a dict (keyword inputs).
    depth: how many levels of nested modules get rows of their own (the model is level 0).
    columns: which of `COLUMNS` the printed table shows ('all' for every one); `rows` always
    hold all of them.
    mode: 'eval' (the default, as torchinfo) or 'train' switch the model for the pass, 'same'
    keeps each module's mode; the modes, buffers (batch-norm statistics) and the random
    generator are restored afterwards.
    shapes_only: compute no values (see the module docstring); default True for input_size and
    False for input_data.
    """
    if mode not in _MODES:
        raise ValueError(f"summary: mode must be one of {', '.join(_MODES)}, got {mode!r}")
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
        raise ValueError(f"summary: depth must be a non-negative int, got {depth!r}")
    cols = _check_columns(columns)
    if shapes_only is None:
        shapes_only = input_size is not None
    args, kwargs = _inputs(input_size, input_data, dtype, shapes_only)
    first = next(iter([*args, *kwargs.values()]), None)
    batch = first.shape[0] if first is not None and first.ndim else 1
    if batch < 1:
        raise ValueError(f"summary: the batch dimension of the input must be at least 1, got "
                         f"shape {tuple(first.shape) if first is not None else ()}")

    is_module = isinstance(model, Module)
    name = type(model).__name__ if is_module else getattr(model, "__name__", type(model).__name__)
    sentinel = _Call("", "", name)
    handles: list[RemovableHandle] = []
    modules: list[tuple[str, Module]] = list(model.named_modules()) if is_module else []  # type: ignore[union-attr]
    param_names: dict[int, str] = {}
    all_params: dict[int, Tensor] = {}
    if is_module:
        for pname, p in model.named_parameters(remove_duplicate=False):  # type: ignore[union-attr]
            param_names.setdefault(id(p), pname)
            all_params[id(p)] = p
    training = [(m, m.training) for _, m in modules]
    buffers = [(b, b.detach().numpy().copy()) for _, m in modules
               for b in m.buffers(recurse=False)]
    rng = default_generator().bit_generator.state
    recorder = _Recorder(sentinel, shapes_only)
    try:
        with recorder:
            for t in [*args, *kwargs.values()]:
                recorder.add_input(t)
            names = {id(m): n for n, m in modules}
            for _, m in modules:
                handles.append(m.register_forward_pre_hook(recorder.pre_hook(names)))
                handles.append(m.register_forward_hook(recorder.post_hook))
            if is_module and mode != "same":
                model.train(mode == "train")  # type: ignore[union-attr]
            with enable_grad():
                out = model(*args, **kwargs)
            for t in _tensors(out):
                if t.requires_grad:  # the loss will hold it
                    recorder.keep(t)
    finally:
        for h in handles:
            h.remove()
        for m, flag in training:
            m.training = flag
        for b, value in buffers:
            np.copyto(b.detach().numpy(), value)  # in place: the model keeps its tensors
        default_generator().bit_generator.state = rng

    if is_module:
        root = sentinel.children[0] if len(sentinel.children) == 1 and isinstance(
            sentinel.children[0], _Call) else sentinel
        if root is not sentinel:
            root.attr = ""
    else:
        root = sentinel
        root.output = _shapes(out)
    tree = _Rows(batch, depth, param_names).node(root, 0)
    leaves = _Rows(batch, sys.maxsize, param_names).node(root, 0)

    ops = list(sentinel.ops())
    used: dict[int, Tensor] = {}
    for op in ops:
        used.update(op.params)
    every = {**all_params, **used}
    total = sum(p.numel() for p in every.values())
    trainable = sum(p.numel() for p in every.values() if p.requires_grad)
    biases = sum(p.numel() for i, p in every.items() if _is_bias(param_names.get(i, "")))
    param_bytes = sum(p.numel() * p.dtype.itemsize for p in every.values())
    grad_bytes = sum(p.numel() * p.dtype.itemsize for p in every.values() if p.requires_grad)
    input_bytes = sum(t.numel() * t.dtype.itemsize for t in [*args, *kwargs.values()])
    act_bytes = sum(op.out_bytes * op.kept + op.saved_bytes for op in ops)
    macs = _per_example(sum(op.macs for op in ops), batch)
    totals = {
        "total_params": total, "trainable_params": trainable,
        "non_trainable_params": total - trainable, "total_weights": total - biases,
        "total_biases": biases,
        "unused_params": sum(p.numel() for i, p in every.items() if i not in used),
        "total_units": _per_example(sum(op.units for op in ops), batch),
        "total_connections": _per_example(sum(op.connections for op in ops), batch),
        "total_macs": macs, "total_flops": 2 * macs,
        "input_memory": input_bytes, "activation_memory": act_bytes,
        "param_memory": param_bytes,
        "training_memory": param_bytes + grad_bytes + act_bytes + input_bytes,
    }
    return Summary(tree, leaves, model_name=name, input_shapes=[list(t.shape) for t in
                                                        [*args, *kwargs.values()]],
                   input_dtypes=[str(t.dtype) for t in [*args, *kwargs.values()]],
                   batch_size=batch, depth=depth, columns=cols, shapes_only=shapes_only,
                   mode=mode, totals=totals)


# ----------------------------------------------------------------- the command line
#: input shapes (without the batch) for `chainrule summary` when --input is not given
DEFAULT_INPUTS = {"lenet5": (1, 28, 28), "mlp": (1, 28, 28), "alexnet_original": (3, 227, 227)}
_IMAGENET = (3, 224, 224)


def add_summary_parser(subparsers: Any) -> None:
    """The `chainrule summary` subcommand's flags (cli.py adds it with this)."""
    s = subparsers.add_parser(
        "summary", help="tabulate a model's units, weights, connections and mult-adds",
        description="Run a model once (shapes only: no values are computed) and print its "
        "layers with the lecture's size measures: units, weights and connections per "
        "example, and multiply-adds.")
    s.add_argument("--model", required=True, help="model name, as in `chainrule train --model`")
    s.add_argument("--input", metavar="CxHxW",
                   help="one example's shape, e.g. 3x224x224 (default: 1x28x28 for lenet5 and "
                   "mlp, 3x227x227 for alexnet_original, 3x224x224 for the other models)")
    s.add_argument("--batch-size", type=int, default=1, help="examples in the pass (memory "
                   "columns scale with it); default 1")
    s.add_argument("--depth", type=int, default=3, help="levels of nested modules shown")
    s.add_argument("--format", choices=("table", "markdown", "json"), default="table")
    s.add_argument("--columns", metavar="LIST",
                   help=f"comma-separated columns for table/markdown, or 'all' "
                   f"({', '.join(COLUMNS)})")
    s.add_argument("--values", action="store_true",
                   help="compute real values instead of shapes only (slower)")


def _parse_shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(p) for p in text.lower().replace("×", "x").split("x"))
    except ValueError:
        raise ValueError(f"--input {text!r}: expected sizes separated by x, e.g. 3x224x224"
                         ) from None
    if not shape or min(shape) < 1:
        raise ValueError(f"--input {text!r}: every size must be positive")
    return shape


def summary_command(args: argparse.Namespace) -> int:
    """`chainrule summary`: print the summary of a named model; mistakes raise ValueError."""
    from chainrule import models  # the zoo is only needed here

    if args.model not in models.MODELS:
        raise ValueError(f"unknown model {args.model!r}; choose from "
                         f"{', '.join(models.MODELS)}")
    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be positive, got {args.batch_size}")
    if args.depth < 0:
        raise ValueError(f"--depth must be >= 0, got {args.depth}")
    shape = _parse_shape(args.input) if args.input else DEFAULT_INPUTS.get(args.model, _IMAGENET)
    columns = DEFAULT_COLUMNS if not args.columns else _check_columns(
        "all" if args.columns == "all" else [c.strip() for c in args.columns.split(",")])
    model = models.get_model(args.model)
    s = summary(model, (args.batch_size, *shape), depth=args.depth, columns=columns,
                shapes_only=not args.values)
    render: dict[str, Callable[[], str]] = {"table": s.table, "markdown": s.to_markdown,
                                            "json": s.to_json}
    text = render[args.format]()
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0
