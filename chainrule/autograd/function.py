"""`Function`: one node of the computation graph.

Every op is a subclass with two methods side by side:

* ``forward(*arrays)`` computes the op's value v_j from the values of its parents (NumPy arrays);
* ``backward(grad, out)`` receives the error signal v̄_j (a Tensor) and returns, for each parent
  v_i, its contribution v̄_j · ∂v_j/∂v_i (a Tensor, or None when that parent needs no gradient).

``backward`` is written with Tensor ops, so with ``create_graph=True`` the gradient computation is
itself recorded and can be differentiated again. The engine (``engine.py``) sums the contributions
over a node's children, and each parent's sum back over its broadcast axes.

A node keeps three kinds of state, each declared where a reader looks for it:

* its parents, ``inputs``. An op whose local derivatives need no parent's value
  (``reads_inputs = False``: ReLU's ∂y/∂z = 1[y > 0] reads its output, a sum only shapes) keeps
  a large parent as a `StandIn`: the same vertex of the graph (its grad_fn, shape, dtype and
  version) without the values, so that those are freed once nothing else needs them, as torch
  frees what no node saved. A convolution's output read only by its ReLU is gone after the
  forward pass instead of living until the ReLU's backward;
* its settings: the op's keyword arguments, declared as annotations on the class
  (``axes: tuple[int, ...] | None``) and given to ``apply``, which rejects any other keyword;
* what ``forward`` computed for ``backward`` to reuse, stored with ``self.save(name=value)``.

``release()`` frees all three once backward has used them.
"""

from __future__ import annotations

import dis
import inspect
import os
import weakref
from typing import TYPE_CHECKING, Any, ClassVar, cast

import numpy as np

from chainrule.autograd.grad_mode import _state
from chainrule.errors import ShapeError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from chainrule.tensor import Tensor

_NODE_FIELDS = frozenset({"inputs", "released", "settings", "saved_names", "op_name",
                          "input_versions", "output_version"})


def _uses_argument(f: Any, i: int) -> bool:
    """Whether function f's code reads its argument number i (or a closure of it does); True
    where it may (the argument is part of *args)."""
    code = f.__code__
    if i >= code.co_argcount:
        return bool(code.co_flags & inspect.CO_VARARGS)
    name = code.co_varnames[i]
    if name in code.co_cellvars:
        return True
    for ins in dis.get_instructions(code):
        if ins.opname.startswith("LOAD_FAST") and (
                ins.argval == name or (isinstance(ins.argval, tuple) and name in ins.argval)):
            return True
    return False


class Function:
    """Base class of every differentiable op; an instance is a graph node (a tensor's grad_fn)."""

    #: the parent tensors v_i this node's value was computed from (empty once released)
    inputs: tuple[Tensor, ...] = ()
    #: True once backward ran without retain_graph and freed the saved values
    released: bool = False
    #: the names of the op's settings: its class annotations (filled in for each subclass)
    settings: ClassVar[frozenset[str]] = frozenset()
    #: the names stored by `save` in this node's forward
    saved_names: tuple[str, ...] = ()
    #: the name errors give the op (the class name in lower case unless a subclass sets one)
    op_name: ClassVar[str] = "function"
    #: the parents' version counters when this node was recorded (None: all were at 0)
    input_versions: tuple[int, ...] | None = None
    #: the output's version counter when recorded (not 0 only for a node made by an in-place op)
    output_version: int = 0
    #: whether backward reads the parents' values; False: only their shapes and dtypes (and
    #: `out`, saved arrays and settings), so a large parent is kept as a `StandIn`
    reads_inputs: ClassVar[bool] = True
    #: whether backward uses its `out` argument (read off its code when the class is made): a
    #: node whose backward never looks at its output lets a child keep that output as a StandIn
    reads_output: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        names: set[str] = set()
        for klass in cls.__mro__:
            for name, kind in vars(klass).get("__annotations__", {}).items():
                if "ClassVar" not in str(kind):
                    names.add(name)
        cls.settings = frozenset(names - _NODE_FIELDS)
        if "op_name" not in vars(cls):
            cls.op_name = cls.__name__.lower()
        backward = vars(cls).get("backward")
        if "reads_output" not in vars(cls) and inspect.isfunction(backward):
            cls.reads_output = _uses_argument(backward, 2)
        if isinstance(vars(cls).get("forward"), staticmethod):
            # PyTorch's way of writing a custom op: forward(ctx, ...) / backward(ctx, grad).
            cls.apply = classmethod(_apply_custom)  # type: ignore[assignment]

    @classmethod
    def apply(cls, *inputs: Tensor, **settings: Any) -> Tensor:
        """Run the forward pass and, when grad mode is on and a parent requires grad, record it."""
        fn = cls.__new__(cls)
        if settings:
            if not cls.settings.issuperset(settings):
                unknown = ", ".join(sorted(settings.keys() - cls.settings))
                raise TypeError(f"{cls.__name__}.apply: unknown setting(s) {unknown}; the op "
                                f"declares {', '.join(sorted(cls.settings)) or 'none'}")
            fn.__dict__.update(settings)
        try:
            out = fn.forward(*[t._data for t in inputs])
        except (ValueError, TypeError, IndexError) as e:
            if isinstance(e, ShapeError):
                raise
            shapes = ", ".join(str(tuple(t.shape)) for t in inputs)
            kind = ShapeError if isinstance(e, ValueError) else type(e)
            raise kind(f"{fn.op_name}: {e} (input shapes {shapes})") from None
        result = None
        if _state.enabled:
            for t in inputs:
                if t._requires_grad:
                    fn.inputs = inputs if cls.reads_inputs else _parents(inputs)
                    for u in inputs:  # record versions only once some input was changed
                        if u._vbox is not None and u._vbox[0]:
                            fn.input_versions = tuple(v._version for v in inputs)
                            break
                    result = Tensor._make(out, True, fn)
                    break
        if result is None:
            result = Tensor._make(out, False, None)
        base = getattr(out, "base", None)
        if base is not None:
            _share_version(result, base, inputs)
            if fn.inputs:  # a view of a value already changed in place starts at its version
                fn.output_version = result._version
        return result

    def forward(self, *arrays: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad: Tensor, out: Tensor) -> Sequence[Tensor | None]:
        raise NotImplementedError

    def save(self, **values: Any) -> None:
        """Keep values that forward computed and backward needs (masks, indices, matrices)."""
        self.__dict__.update(values)
        self.saved_names = (*self.saved_names, *values)

    def check_versions(self, out: Tensor) -> None:
        """Refuse to backpropagate with values that an in-place op changed after they were used:
        ∂v_j/∂v_i would be evaluated at the wrong point (torch's version-counter check)."""
        expected = self.input_versions
        if expected is None:  # the common case: nothing was changed in place when recorded
            for t in self.inputs:
                if t._vbox is not None and t._vbox[0]:
                    break
            else:
                if out._version == self.output_version:
                    return
            expected = (0,) * len(self.inputs)
        for i, (t, v) in enumerate(zip(self.inputs, expected, strict=True)):
            if t._version != v:
                _modified(t, f"input {i}", self, v)
        if out._version != self.output_version:
            _modified(out, "the output", self, self.output_version)

    def needs_grad(self, i: int) -> bool:
        """Whether parent i wants an error signal (lets backward skip work, e.g. for data x)."""
        return self.inputs[i].requires_grad

    def name(self) -> str:
        return f"{type(self).__name__}Backward"

    @property
    def saved_values(self) -> dict[str, Any]:
        """The node's settings and what its forward saved for backward, by name."""
        return {k: v for k, v in vars(self).items() if k in self.settings
                or k in self.saved_names}

    @property
    def next_functions(self) -> tuple[tuple[Function | None, int], ...]:
        """PyTorch-style view of the parents' nodes (None for leaves)."""
        return tuple((t.grad_fn, 0) for t in self.inputs)

    def release(self) -> None:
        """Free the inputs, settings and saved values (after a backward without retain_graph)."""
        self.__dict__.clear()
        self.released = True

    def __repr__(self) -> str:
        return f"<{self.name()}>"


class FunctionCtx:
    """The `ctx` of a custom Function written the PyTorch way: what `forward(ctx, ...)` keeps
    for `backward(ctx, grad)`."""

    def __init__(self, needs_input_grad: tuple[bool, ...]) -> None:
        #: for each argument of forward, whether it is a tensor that wants an error signal
        self.needs_input_grad = needs_input_grad
        self._saved: tuple[Tensor | None, ...] = ()
        self._saved_versions: tuple[int, ...] = ()
        self.materialize_grads = True
        self._non_differentiable: set[int] = set()

    def save_for_backward(self, *tensors: Tensor | None) -> None:
        self._saved = tensors
        self._saved_versions = tuple(0 if t is None else t._version for t in tensors)

    @property
    def saved_tensors(self) -> tuple[Tensor | None, ...]:
        for i, (t, v) in enumerate(zip(self._saved, self._saved_versions, strict=True)):
            if t is not None and t._version != v:
                raise RuntimeError(f"saved_tensors: saved tensor {i} (shape {list(t.shape)}) "
                                   f"has been modified by an inplace operation: it is at version "
                                   f"{t._version}; expected version {v} instead")
        return self._saved

    def mark_non_differentiable(self, *tensors: Tensor) -> None:
        """The output, if among `tensors`, leaves the graph (it does not require grad)."""
        self._non_differentiable = {id(t) for t in tensors}

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = value


class _CustomNode(Function):
    """The graph node of a PyTorch-style custom Function: its backward calls the user's."""

    op_name = "custom"

    def __init__(self, cls: type, ctx: FunctionCtx, positions: tuple[int, ...]) -> None:
        self.cls, self.ctx, self.positions = cls, ctx, positions

    def name(self) -> str:
        cls = self.__dict__.get("cls")  # (gone once released)
        return f"{cls.__name__}Backward" if cls is not None else "CustomBackward"

    def backward(self, grad: Tensor, out: Tensor) -> Sequence[Tensor | None]:
        grads = self.cls.backward(self.ctx, grad)  # type: ignore[attr-defined]
        grads = grads if isinstance(grads, tuple) else (grads,)
        n = len(self.ctx.needs_input_grad)
        if len(grads) != n:
            raise RuntimeError(f"{self.cls.__name__}.backward: returned {len(grads)} gradients, "
                               f"but forward took {n} arguments (return None for each "
                               f"argument that needs no gradient)")
        terms: list[Tensor | None] = []
        for i, t in zip(self.positions, self.inputs, strict=True):
            g = grads[i]
            if g is not None and not isinstance(g, Tensor):
                g = Tensor(np.asarray(g, t.dtype))
            if g is not None and g.shape != t.shape:
                raise RuntimeError(f"{self.cls.__name__}.backward: the gradient of argument {i} "
                                   f"has shape {list(g.shape)}, the argument {list(t.shape)}")
            terms.append(g)
        return terms


def _apply_custom(cls: type, *args: Any, **kwargs: Any) -> Any:
    """`F.apply(...)` for a custom Function: run forward(ctx, ...) outside the graph and record
    one node whose backward is the user's."""
    from chainrule.autograd.grad_mode import no_grad

    positions = tuple(i for i, a in enumerate(args) if isinstance(a, Tensor))
    needs = tuple(isinstance(a, Tensor) and a._requires_grad for a in args)
    ctx = FunctionCtx(needs)
    with no_grad():
        out = cls.forward(ctx, *args, **kwargs)  # type: ignore[attr-defined]
    if isinstance(out, tuple | list):
        raise NotImplementedError(f"{cls.__name__}.forward returned {len(out)} outputs; custom "
                                  f"Functions here return one tensor")
    if not isinstance(out, Tensor):
        raise TypeError(f"{cls.__name__}.forward must return a Tensor, got {type(out).__name__}")
    if not (_state.enabled and any(needs)) or id(out) in ctx._non_differentiable:
        return out
    node = _CustomNode(cls, ctx, positions)
    node.inputs = tuple(args[i] for i in positions)
    return Tensor._make(out._data, True, node)


#: a parent smaller than this is kept as it is (a stand-in would save little and cost time);
#: CHAINRULE_STAND_IN_BYTES=0 makes every parent that can be one a stand-in (CI runs the
#: autograd, ops and nn tests so too)
STAND_IN_BYTES = int(os.environ.get("CHAINRULE_STAND_IN_BYTES", 1 << 16))


def _parents(inputs: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
    """What a node that reads no parent's value keeps of its parents: a StandIn for each large
    parent computed by a node that does not read its own output either."""
    return tuple(stand_in(t) if stands_in(t) else t for t in inputs)


def stands_in(t: Tensor) -> bool:
    """Whether a node that reads no parent's value keeps parent t as a StandIn."""
    fn = t.grad_fn
    return fn is not None and not fn.reads_output and t._data.nbytes >= STAND_IN_BYTES


def stand_in(t: Tensor) -> Tensor:
    """t as a vertex of the graph without its values (`StandIn`): one per node output, kept by
    t's grad_fn, so that every child that reads no value shares it."""
    fn = t.grad_fn
    assert fn is not None
    ref = fn.__dict__.get("_stand_in")  # weak: the stand-in refers to fn, and no cycle may
    s = None if ref is None else ref()  # keep a dropped graph from being freed at once
    if s is None or vertex(s) is not t:
        s = StandIn._of(t)
        fn.__dict__["_stand_in"] = weakref.ref(s)
    return s


def vertex(p: Tensor) -> Tensor:
    """The tensor that node parent `p` stands for: p itself, or for a stand-in its tensor while
    that is alive and still the same node's output (an in-place op makes it another node)."""
    if type(p) is not StandIn:
        return p
    t = p._real()
    return t if t is not None and t.grad_fn is p.grad_fn else p


def _share_version(view: Tensor, base: np.ndarray, inputs: Sequence[Tensor]) -> None:
    """An op's output that is a NumPy view of an input's memory (reshape, slicing, transpose)
    shares that input's version counter, so an in-place change through either is seen by both.
    (A view's `.base` is the array that owns the memory, so identity tells.)"""
    exact = type(base) is np.ndarray  # else a strided view (as_strided): ask NumPy
    for t in inputs:
        a = t._data
        if base is a or base is a.base or (not exact and np.may_share_memory(view._data, a)):
            view._vbox = t._version_box()
            return


def _modified(t: Tensor, which: str, fn: Function, expected: int) -> None:
    raise RuntimeError(
        f"one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: {which} of {fn.name()}, a tensor of shape {list(t.shape)} and dtype "
        f"{t.dtype}, is at version {t._version}; expected version {expected} instead. Use an "
        f"out-of-place op (x = x + y instead of x += y), or .clone() the value before changing it")


# Tensor's methods call the ops, and every op is a Function: bind Tensor once Function exists,
# so that importing either module first works.
from chainrule.tensor import Tensor  # noqa: E402


_NAN: dict[np.dtype, np.ndarray] = {}


def freed(a: np.ndarray) -> bool:
    """Whether `a` is a StandIn's array (no values: the tensor's were freed)."""
    return a.base is not None and a.base is _NAN.get(a.dtype)


class StandIn(Tensor):
    """A node's parent without its values: same grad_fn, shape, dtype and version counter as
    the tensor it stands for, and NaN entries (a read-only zero-stride view of one NaN), so that
    a backward that read them by mistake would say so. `vertex` returns the tensor itself while
    it is alive; after that the stand-in is the graph's vertex for it."""

    __slots__ = ("_real",)

    _real: weakref.ref[Tensor]

    @classmethod
    def _of(cls, t: Tensor) -> StandIn:
        a = t._data
        nan = _NAN.get(a.dtype)
        if nan is None:
            nan = _NAN.setdefault(a.dtype, np.full(1, np.nan, a.dtype))
        values = np.ndarray(a.shape, a.dtype, buffer=nan, strides=(0,) * a.ndim)
        values.flags.writeable = False
        s = cast(StandIn, cls._make(values, True, t.grad_fn))
        s._vbox = t._version_box()
        s.name = t.name
        s._real = weakref.ref(t)
        return s

    def __repr__(self) -> str:
        return (f"StandIn(shape={list(self.shape)}, dtype={self.dtype}, grad_fn={self.grad_fn}: "
                "the values were freed; no node's derivative reads them)")
