"""`Tensor`: a NumPy array that remembers how it was computed.

A tensor is a node v_i of the lecture's computation graph. Leaves are created by the user (inputs,
weights); every other tensor has a `grad_fn`, the op (`chainrule.autograd.Function`) that computed
it from its parents `grad_fn.inputs`. `backward()` runs the lecture's backpropagation over that
graph (see `chainrule.autograd.engine`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule import _dtypes
from chainrule._dtypes import DTypeLike, as_dtype

if TYPE_CHECKING:
    from chainrule.autograd.function import Function

Shape = tuple[int, ...]


def _check_grad_dtype(dtype: np.dtype, op: str = "requires_grad") -> None:
    if dtype.kind != "f":
        raise TypeError(f"{op}: only floating-point tensors can require gradients, got {dtype} "
                        "(convert with .float() or dtype=cr.float32 first)")


def _array(data: Any, dtype: DTypeLike | None, copy: bool) -> np.ndarray:
    """Convert user data to an ndarray: Python floats become float32 (torch's default dtype)."""
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        return np.array(data, dtype=as_dtype(dtype), copy=copy or None)
    if isinstance(data, np.ndarray | np.generic):
        return np.array(data, copy=copy or None)
    arr = np.array(data)
    if arr.dtype == np.float64:
        arr = arr.astype(_dtypes.default_float)
    elif arr.dtype.kind not in "biuf":
        raise TypeError(f"tensor: cannot build a tensor from {type(data).__name__} data of "
                        f"NumPy dtype {arr.dtype}; expected numbers, bools or arrays of them")
    return arr


class Tensor:
    """An n-dimensional array with reverse-mode automatic differentiation.

    `.grad` accumulates: each backward() adds the new error signal to what is already there, as in
    PyTorch, so call `zero_grad()` (or set `.grad = None`) between training steps.
    """

    __slots__ = ("data", "_requires_grad", "grad", "grad_fn", "_retains_grad", "__weakref__")
    # NumPy must hand `ndarray (op) Tensor` to our reflected operators instead of looping itself.
    __array_ufunc__ = None

    data: np.ndarray
    grad: Tensor | None
    grad_fn: Function | None

    def __init__(self, data: Any, dtype: DTypeLike | None = None,
                 requires_grad: bool = False) -> None:
        self.data = _array(data, dtype, copy=False)
        self.grad = None
        self.grad_fn = None
        self._retains_grad = False
        self._requires_grad = False
        if requires_grad:
            self.requires_grad = True

    @classmethod
    def _make(cls, data: Any, requires_grad: bool, grad_fn: Function | None) -> Tensor:
        """Fast path for op outputs: no validation."""
        t = cls.__new__(cls)
        t.data = data if type(data) is np.ndarray else np.asarray(data)
        t._requires_grad = requires_grad
        t.grad = None
        t.grad_fn = grad_fn
        t._retains_grad = False
        return t

    # ----------------------------------------------------------------- autograd attributes
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if value:
            _check_grad_dtype(self.data.dtype)
        elif self.grad_fn is not None:
            raise RuntimeError("requires_grad: you can only change requires_grad of leaf "
                               "tensors; use .detach() to get a tensor outside the graph")
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self) -> bool:
        """Created by the user rather than by an op (only leaves get `.grad` by default)."""
        return self.grad_fn is None

    def retain_grad(self) -> None:
        """Also store `.grad` for this non-leaf tensor during backward."""
        if not self._requires_grad:
            raise RuntimeError("retain_grad: can't retain_grad on a tensor that does not "
                               "require grad")
        self._retains_grad = True

    def detach(self) -> Tensor:
        """The same values (shared memory), cut from the graph."""
        return Tensor._make(self.data, False, None)

    def backward(self, gradient: Any = None, retain_graph: bool | None = None,
                 create_graph: bool = False) -> None:
        """Backpropagate from this tensor and add d(self)/d(leaf) into each leaf's `.grad`.

        `gradient` is v̄ for this tensor; it defaults to 1 for a scalar. After the pass the
        graph's saved values are freed unless `retain_graph=True`; with `create_graph=True` the
        gradients are recorded too, so they can be differentiated again.
        """
        _engine.backward(self, gradient, retain_graph, create_graph)

    # ----------------------------------------------------------------- array attributes
    @property
    def shape(self) -> Shape:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    def dim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:  # NumPy's meaning: the number of elements
        return self.data.size

    def numel(self) -> int:
        return self.data.size

    @property
    def T(self) -> Tensor:  # noqa: N802
        return _ops.permute(self, tuple(range(self.ndim - 1, -1, -1)))

    @property
    def mT(self) -> Tensor:  # noqa: N802
        return _ops.transpose(self, -2, -1)

    def numpy(self) -> np.ndarray:
        if self._requires_grad:
            raise RuntimeError("numpy: can't call numpy() on a tensor that requires grad; "
                               "use tensor.detach().numpy()")
        return self.data

    def item(self) -> Any:
        if self.data.size != 1:
            raise ValueError(f"item: only one-element tensors can be converted to a Python "
                             f"scalar, got shape {tuple(self.shape)}")
        return self.data.item()

    def tolist(self) -> Any:
        return self.data.tolist()

    def astype(self, dtype: DTypeLike) -> Tensor:
        return _ops.astype(self, dtype)

    to = astype

    def float(self) -> Tensor:
        return _ops.astype(self, _dtypes.float32)

    def double(self) -> Tensor:
        return _ops.astype(self, _dtypes.float64)

    def long(self) -> Tensor:
        return _ops.astype(self, _dtypes.int64)

    def clone(self) -> Tensor:
        return _ops.astype(self, self.dtype, copy=True)

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.data.shape[0]))

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise RuntimeError(f"bool: the truth value of a tensor with {self.data.size} "
                               "elements is ambiguous; use .any() or .all()")
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.dtype.kind not in "iub":
            raise TypeError("only integer tensors of a single element can be used as an index")
        return int(self.item())

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="tensor(", precision=4,
                               threshold=1000, edgeitems=3)
        extras = []
        if self.dtype not in (_dtypes.float32, _dtypes.int64, _dtypes.bool_):
            extras.append(f"dtype={self.dtype}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{self.grad_fn.name()}>")
        elif self._requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body, *extras]) + ")"

    # ----------------------------------------------------------------- arithmetic
    def __add__(self, other: Any) -> Tensor:
        return _ops.add(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return _ops.add(other, self)

    def __sub__(self, other: Any) -> Tensor:
        return _ops.sub(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return _ops.sub(other, self)

    def __mul__(self, other: Any) -> Tensor:
        return _ops.mul(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return _ops.mul(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return _ops.div(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return _ops.div(other, self)

    def __pow__(self, other: Any) -> Tensor:
        return _ops.pow(self, other)

    def __rpow__(self, other: Any) -> Tensor:
        return _ops.pow(other, self)

    def __matmul__(self, other: Any) -> Tensor:
        return _ops.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return _ops.matmul(other, self)

    def __neg__(self) -> Tensor:
        return _ops.neg(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return _ops.abs(self)

    # comparisons give bool tensors outside the graph
    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return _ops.eq(self, other)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return _ops.ne(self, other)

    def __lt__(self, other: Any) -> Tensor:
        return _ops.lt(self, other)

    def __le__(self, other: Any) -> Tensor:
        return _ops.le(self, other)

    def __gt__(self, other: Any) -> Tensor:
        return _ops.gt(self, other)

    def __ge__(self, other: Any) -> Tensor:
        return _ops.ge(self, other)

    def __invert__(self) -> Tensor:
        return _ops.logical_not(self)

    def __getitem__(self, index: Any) -> Tensor:
        return _ops.getitem(self, index)

    def __setitem__(self, index: Any, value: Any) -> None:
        """In-place write; allowed on tensors outside the graph (e.g. under no_grad for init)."""
        from chainrule.autograd.grad_mode import is_grad_enabled

        if self.grad_fn is not None or (self._requires_grad and is_grad_enabled()):
            raise RuntimeError("setitem: in-place assignment to a tensor that requires grad "
                               "would corrupt the graph; wrap it in cr.no_grad() or use "
                               "cr.where / out-of-place ops")
        self.data[_ops.index_to_numpy(index)] = value.data if isinstance(value, Tensor) else value


def _shape_args(size: tuple[Any, ...], op: str) -> Shape:
    """Accept f(2, 3) and f((2, 3)) as torch does."""
    if len(size) == 1 and isinstance(size[0], Sequence | np.ndarray):
        size = tuple(size[0])
    try:
        shape = tuple(int(s) for s in size)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: size must be integers, got {size!r}") from None
    if any(s < 0 for s in shape):
        raise ValueError(f"{op}: negative dimension in size {shape}")
    return shape


def _leaf(data: np.ndarray, requires_grad: bool) -> Tensor:
    t = Tensor._make(data, False, None)
    if requires_grad:
        t.requires_grad = True
    return t


# ----------------------------------------------------------------- creation functions
def tensor(data: Any, dtype: DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """A new leaf tensor holding a copy of `data` (Python floats become float32, ints int64)."""
    return _leaf(_array(data, dtype, copy=True), requires_grad)


def as_tensor(data: Any, dtype: DTypeLike | None = None) -> Tensor:
    """Like `tensor` but returns `data` itself when it already is a Tensor of that dtype."""
    if isinstance(data, Tensor) and (dtype is None or data.dtype == as_dtype(dtype)):
        return data
    return Tensor(data, dtype=dtype)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with `array` (its dtype is kept)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray, got {type(array).__name__}")
    return Tensor._make(array, False, None)


def _dt(dtype: DTypeLike | None) -> np.dtype:
    return _dtypes.default_float if dtype is None else as_dtype(dtype)


def zeros(*size: Any, dtype: DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    return _leaf(np.zeros(_shape_args(size, "zeros"), _dt(dtype)), requires_grad)


def ones(*size: Any, dtype: DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    return _leaf(np.ones(_shape_args(size, "ones"), _dt(dtype)), requires_grad)


def empty(*size: Any, dtype: DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    return _leaf(np.empty(_shape_args(size, "empty"), _dt(dtype)), requires_grad)


def full(size: Any, fill_value: Any, dtype: DTypeLike | None = None,
         requires_grad: bool = False) -> Tensor:
    """Dtype follows fill_value when not given: bool, int64 or float32, as in torch."""
    if dtype is None:
        dtype = _array(fill_value, None, copy=False).dtype
    return _leaf(np.full(_shape_args((size,), "full"), fill_value, as_dtype(dtype)),
                 requires_grad)


def arange(start: float, end: float | None = None, step: float = 1,
           dtype: DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """int64 when start, end and step are integers, float32 otherwise (torch's rule)."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        ints = all(isinstance(v, int | np.integer) for v in (start, end, step))
        dtype = _dtypes.int64 if ints else _dtypes.default_float
    return _leaf(np.arange(start, end, step, dtype=as_dtype(dtype)), requires_grad)


def linspace(start: float, end: float, steps: int, dtype: DTypeLike | None = None,
             requires_grad: bool = False) -> Tensor:
    return _leaf(np.linspace(start, end, steps, dtype=_dt(dtype)), requires_grad)


def eye(n: int, m: int | None = None, dtype: DTypeLike | None = None,
        requires_grad: bool = False) -> Tensor:
    return _leaf(np.eye(n, m, dtype=_dt(dtype)), requires_grad)


def zeros_like(t: Tensor, dtype: DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    return _leaf(np.zeros(t.shape, dtype or t.dtype), requires_grad)


def ones_like(t: Tensor, dtype: DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    return _leaf(np.ones(t.shape, dtype or t.dtype), requires_grad)


def empty_like(t: Tensor, dtype: DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    return _leaf(np.empty(t.shape, dtype or t.dtype), requires_grad)


def full_like(t: Tensor, fill_value: Any, dtype: DTypeLike | None = None,
              requires_grad: bool = False) -> Tensor:
    return _leaf(np.full(t.shape, fill_value, dtype or t.dtype), requires_grad)


# ----------------------------------------------------------------- randomness
_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Seed the one generator behind every random function (randn, init, dropout, shuffling)."""
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


def default_generator() -> np.random.Generator:
    return _generator


def randn(*size: Any, dtype: DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    dt = _dt(dtype)
    return _leaf(_generator.standard_normal(_shape_args(size, "randn"), dtype=dt), requires_grad)


def rand(*size: Any, dtype: DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    dt = _dt(dtype)
    return _leaf(_generator.random(_shape_args(size, "rand"), dtype=dt), requires_grad)


def randint(low: int, high: int | None = None, size: Any = (), dtype: DTypeLike | None = None
            ) -> Tensor:
    """Integers in [low, high) (or [0, low) when high is omitted), int64 by default."""
    if high is None:
        low, high = 0, low
    dt = _dtypes.int64 if dtype is None else as_dtype(dtype)
    return _leaf(_generator.integers(low, high, size=_shape_args((size,), "randint"), dtype=dt),
                 False)


def randn_like(t: Tensor, dtype: DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    return randn(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def rand_like(t: Tensor, dtype: DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    return rand(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def randperm(n: int) -> Tensor:
    return Tensor._make(_generator.permutation(n).astype(np.int64), False, None)


# The ops build on Tensor, and Tensor's operators call the ops: bind them once both exist.
from chainrule import ops as _ops  # noqa: E402
from chainrule.autograd import engine as _engine  # noqa: E402

_ops._install_tensor_methods(Tensor)
