"""`Tensor`: a NumPy array that remembers how it was computed.

A tensor is a node v_i of the lecture's computation graph. Leaves are created by the user (inputs,
weights); every other tensor has a `grad_fn`, the op (`chainrule.autograd.Function`) that computed
it from its parents `grad_fn.inputs`. `backward()` runs the lecture's backpropagation over that
graph (see `chainrule.autograd.engine`).
"""

from __future__ import annotations

import builtins as _builtins
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule import _device, _dtypes
from chainrule._dtypes import DTypeLike, as_dtype
from chainrule.backend.buffers import memory_order
from chainrule.errors import DTypeError, ShapeError

if TYPE_CHECKING:
    from chainrule.autograd.function import Function

Shape = tuple[int, ...]


def _check_grad_dtype(dtype: np.dtype, op: str = "requires_grad") -> None:
    if dtype.kind != "f":
        raise DTypeError(f"{op}: only floating-point tensors can require gradients, got {dtype} "
                        "(convert with .float() or dtype=cr.float32 first)")


def _array(data: Any, dtype: DTypeLike | None, copy: bool) -> np.ndarray:
    """Convert user data to an ndarray: Python floats become float32 (torch's default dtype)."""
    if isinstance(data, Tensor):
        data = data._data
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


def _to_arguments(args: Sequence[Any], dtype: Any, device: Any, op: str) -> Any:
    """The dtype that `.to(*args, dtype=, device=)` asks for (torch's forms: a device, a dtype,
    a tensor whose dtype to take, or a device and a dtype); refuses any device but the CPU."""
    for a in args:
        if isinstance(a, Tensor):
            dtype = a.dtype
        elif _device.is_device(a):
            device = a
        else:
            dtype = a
    _device.check(device, op)
    return dtype


def _dim_index(dim: int, ndim: int, op: str) -> int:
    """`dim` as an index in [0, ndim): torch's IndexError for one out of range."""
    lo, hi = (-ndim, ndim - 1) if ndim else (-1, 0)
    if not lo <= dim <= hi:
        raise IndexError(f"{op}: dimension out of range (expected to be in range of "
                         f"[{lo}, {hi}], but got {dim})")
    return dim % ndim if ndim else 0


class Size(tuple):
    """A tensor's shape, a tuple of ints (torch.Size)."""

    def numel(self) -> int:
        return math.prod(self)

    def __repr__(self) -> str:
        return f"chainrule.Size({list(self)})"


class Tensor:
    """An n-dimensional array with reverse-mode automatic differentiation.

    `.grad` accumulates: each backward() adds the new error signal to what is already there, as in
    PyTorch, so call `zero_grad()` (or set `.grad = None`) between training steps.
    """

    __slots__ = ("_data", "_requires_grad", "grad", "grad_fn", "_retains_grad", "_vbox", "name",
                 "__weakref__")
    # NumPy must hand `ndarray (op) Tensor` to our reflected operators instead of looping itself.
    __array_ufunc__ = None

    _data: np.ndarray
    grad: Tensor | None
    grad_fn: Function | None
    #: how many times this tensor's memory was changed in place, in a box shared with the tensors
    #: that view the same memory (None until one of them is); see `autograd.inplace`
    _vbox: list[int] | None
    #: an optional label for drawings and traces (`chainrule.inspect`)
    name: str | None

    def __init__(self, data: Any, dtype: DTypeLike | None = None,
                 requires_grad: bool = False) -> None:
        self._data = _array(data, dtype, copy=False)
        self.grad = None
        self.grad_fn = None
        self._retains_grad = False
        self._requires_grad = False
        self._vbox = None
        self.name = None
        if requires_grad:
            self.requires_grad = True

    @classmethod
    def _make(cls, data: Any, requires_grad: bool, grad_fn: Function | None) -> Tensor:
        """Fast path for op outputs: no validation."""
        t = cls.__new__(cls)
        t._data = data if type(data) is np.ndarray else np.asarray(data)
        t._requires_grad = requires_grad
        t.grad = None
        t.grad_fn = grad_fn
        t._retains_grad = False
        t._vbox = None
        t.name = None
        return t

    # ----------------------------------------------------------------- autograd attributes
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if value:
            _check_grad_dtype(self._data.dtype)
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

    def register_post_accumulate_grad_hook(self, hook: Callable[[Tensor], None]) -> Any:
        """hook(self) runs after each backward pass has added into this leaf's `.grad`;
        returns a handle whose `.remove()` unregisters it (torch's API)."""
        return _engine.register_post_accumulate_grad_hook(self, hook)

    def detach(self) -> Tensor:
        """The same values (shared memory), cut from the graph; an in-place change to either is
        seen by the other's version counter (unlike `.data`)."""
        t = Tensor._make(self._data, False, None)
        t._vbox = self._version_box()
        return t

    def _version_box(self) -> list[int]:
        if self._vbox is None:
            self._vbox = [0]
        return self._vbox

    @property
    def _version(self) -> int:
        """How many times this memory was changed in place (torch's `_version`)."""
        return 0 if self._vbox is None else self._vbox[0]

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
        return self._data.shape

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    def size(self, dim: int | None = None) -> Any:
        """The shape as a `Size` (a tuple), or the length of one dimension (torch's meaning)."""
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_dim_index(dim, self._data.ndim, "size")]

    def numel(self) -> int:
        return self._data.size

    @property
    def data(self) -> Tensor:
        """The same values (shared memory) as a tensor outside the graph, as in PyTorch.

        Changing it in place changes this tensor without autograd seeing it; the NumPy array
        itself is `.numpy()`."""
        return Tensor._make(self._data, False, None)

    @data.setter
    def data(self, value: Tensor) -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"data: expected a Tensor, got {type(value).__name__}")
        self._data = value._data

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        if self._requires_grad:
            raise RuntimeError("__array__: can't convert a tensor that requires grad to a NumPy "
                               "array; use tensor.detach().numpy()")
        if dtype is None:
            return self._data.copy() if copy else self._data
        return np.array(self._data, dtype=dtype, copy=copy or None)

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
        return self._data

    def __format__(self, spec: str) -> str:
        """A 0-d tensor formats as its number (f"{loss:.4f}"), as in torch."""
        if self._data.ndim == 0:
            return format(self._data.item(), spec)
        return object.__format__(self, spec)

    def item(self) -> Any:
        if self._data.size != 1:
            raise ShapeError(f"item: only one-element tensors can be converted to a Python "
                             f"scalar, got shape {tuple(self.shape)}")
        return self._data.item()

    def tolist(self) -> Any:
        return self._data.tolist()

    def astype(self, dtype: DTypeLike) -> Tensor:
        return _ops.astype(self, dtype)

    def to(self, *args: Any, dtype: DTypeLike | None = None, device: Any = None,
           non_blocking: bool = False, copy: bool = False, memory_format: Any = None) -> Tensor:
        """`.to(dtype)`, `.to(device)`, `.to(device, dtype)` or `.to(other)` (other's dtype), as
        in torch; the CPU is the only device (see `chainrule.device`)."""
        dtype = _to_arguments(args, dtype, device, "to")
        if dtype is None:
            return _ops.astype(self, self.dtype, copy=True) if copy else self
        return _ops.astype(self, dtype, copy=copy)

    @property
    def device(self) -> _device.device:
        return _device.CPU

    @property
    def is_cuda(self) -> bool:
        return False

    def cpu(self) -> Tensor:
        return self

    def cuda(self, device: Any = None, non_blocking: bool = False) -> Tensor:
        _device.check("cuda" if device is None else device, "cuda")
        return self

    def type(self, dtype: DTypeLike | None = None) -> Any:
        """Without an argument the type's name ('torch.FloatTensor'); else `.to(dtype)`."""
        if dtype is None:
            return _dtypes.tensor_type_name(self.dtype)
        return _ops.astype(self, dtype)

    def float(self) -> Tensor:
        return _ops.astype(self, _dtypes.float32)

    def double(self) -> Tensor:
        return _ops.astype(self, _dtypes.float64)

    def half(self) -> Tensor:
        return _ops.astype(self, _dtypes.float16)

    def long(self) -> Tensor:
        return _ops.astype(self, _dtypes.int64)

    def int(self) -> Tensor:
        return _ops.astype(self, _dtypes.int32)

    def short(self) -> Tensor:
        return _ops.astype(self, _dtypes.int16)

    def byte(self) -> Tensor:
        return _ops.astype(self, _dtypes.uint8)

    def bool(self) -> Tensor:
        return _ops.astype(self, _dtypes.bool_)

    def clone(self) -> Tensor:
        return _ops.astype(self, self.dtype, copy=True)

    def __len__(self) -> _builtins.int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __bool__(self) -> _builtins.bool:
        if self._data.size != 1:
            raise RuntimeError(f"bool: the truth value of a tensor with {self._data.size} "
                               "elements is ambiguous; use .any() or .all()")
        return bool(self._data)

    def __float__(self) -> _builtins.float:
        return float(self.item())

    def __int__(self) -> _builtins.int:
        return int(self.item())

    def __index__(self) -> _builtins.int:
        if self.dtype.kind not in "iub":
            raise TypeError("only integer tensors of a single element can be used as an index")
        return int(self.item())

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        body = np.array2string(self._data, separator=", ", prefix="tensor(", precision=4,
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
        """`x[index] = value`, in place (see `autograd.inplace`); recorded as `setitem` when
        the graph needs it."""
        _inplace.apply_inplace(self, "setitem",
                               lambda t: _ops.shape.index_put(t, index, value), value)

    # ----------------------------------------------------------------- in place (autograd.inplace)
    # Each writes its out-of-place twin's value into this tensor's memory and returns the tensor.
    def add_(self, other: Any, *, alpha: Any = 1) -> Tensor:
        o = other if alpha == 1 else other * alpha
        return _inplace.apply_inplace(self, "add_", lambda t: _ops.add(t, o), o,
                                     reads_old=False)

    def sub_(self, other: Any, *, alpha: Any = 1) -> Tensor:
        o = other if alpha == 1 else other * alpha
        return _inplace.apply_inplace(self, "sub_", lambda t: _ops.sub(t, o), o,
                                     reads_old=False)

    def mul_(self, other: Any) -> Tensor:
        return _inplace.apply_inplace(self, "mul_", lambda t: _ops.mul(t, other), other)

    def div_(self, other: Any) -> Tensor:
        return _inplace.apply_inplace(self, "div_", lambda t: _ops.div(t, other), other)

    def pow_(self, exponent: Any) -> Tensor:
        return _inplace.apply_inplace(self, "pow_", lambda t: _ops.pow(t, exponent), exponent)

    def neg_(self) -> Tensor:
        return _inplace.apply_inplace(self, "neg_", _ops.neg, reads_old=False)

    def abs_(self) -> Tensor:
        return _inplace.apply_inplace(self, "abs_", _ops.abs)

    def exp_(self) -> Tensor:
        return _inplace.apply_inplace(self, "exp_", _ops.exp)

    def log_(self) -> Tensor:
        return _inplace.apply_inplace(self, "log_", _ops.log)

    def sqrt_(self) -> Tensor:
        return _inplace.apply_inplace(self, "sqrt_", _ops.sqrt)

    def relu_(self) -> Tensor:
        return _ops.activation.relu_(self)

    def sigmoid_(self) -> Tensor:
        return _inplace.apply_inplace(self, "sigmoid_", _ops.sigmoid, reads_old=False)

    def tanh_(self) -> Tensor:
        return _inplace.apply_inplace(self, "tanh_", _ops.tanh, reads_old=False)

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
        return _inplace.apply_inplace(self, "clamp_", lambda t: _ops.clip(t, min, max))

    clip_ = clamp_

    def zero_(self) -> Tensor:
        return self.fill_(0)

    def fill_(self, value: Any) -> Tensor:
        return _inplace.apply_inplace(
            self, "fill_", lambda t: Tensor._make(np.full(t.shape, value, t.dtype), False, None))

    def copy_(self, src: Any) -> Tensor:
        """Copy `src` (broadcast to this shape, cast to this dtype) into this tensor."""
        s = src if isinstance(src, Tensor) else Tensor(src)
        return _inplace.apply_inplace(
            self, "copy_", lambda t: _ops.astype(_ops.broadcast_to(s, t.shape), t.dtype), s)

    def normal_(self, mean: _builtins.float = 0.0, std: _builtins.float = 1.0) -> Tensor:
        return _inplace.apply_inplace(self, "normal_", lambda t: Tensor._make(
            _generator.normal(mean, std, t.shape).astype(t.dtype), False, None))

    def uniform_(self, a: _builtins.float = 0.0, b: _builtins.float = 1.0) -> Tensor:
        return _inplace.apply_inplace(self, "uniform_", lambda t: Tensor._make(
            _generator.uniform(a, b, t.shape).astype(t.dtype), False, None))

    def __iadd__(self, other: Any) -> Tensor:
        return self.add_(other)

    def __isub__(self, other: Any) -> Tensor:
        return self.sub_(other)

    def __imul__(self, other: Any) -> Tensor:
        return self.mul_(other)

    def __itruediv__(self, other: Any) -> Tensor:
        return self.div_(other)

    def __ipow__(self, other: Any) -> Tensor:
        return self.pow_(other)

    # ----------------------------------------------------------------- elementwise math
    def abs(self) -> Tensor:
        """|x| (see `chainrule.ops.abs`)."""
        return _ops.abs(self)

    def exp(self) -> Tensor:
        """e^x (see `chainrule.ops.exp`)."""
        return _ops.exp(self)

    def log(self) -> Tensor:
        """Natural log (see `chainrule.ops.log`)."""
        return _ops.log(self)

    def log1p(self) -> Tensor:
        """log(1 + x) (see `chainrule.ops.log1p`)."""
        return _ops.log1p(self)

    def sqrt(self) -> Tensor:
        """√x (see `chainrule.ops.sqrt`)."""
        return _ops.sqrt(self)

    def sin(self) -> Tensor:
        """sin x (see `chainrule.ops.sin`)."""
        return _ops.sin(self)

    def cos(self) -> Tensor:
        """cos x (see `chainrule.ops.cos`)."""
        return _ops.cos(self)

    def sign(self) -> Tensor:
        """−1, 0 or 1 (see `chainrule.ops.sign`)."""
        return _ops.sign(self)

    def clip(self, min: _builtins.float | None = None,
             max: _builtins.float | None = None) -> Tensor:
        """Clamp into [min, max] (see `chainrule.ops.clip`)."""
        return _ops.clip(self, min, max)

    def clamp(self, min: _builtins.float | None = None,
              max: _builtins.float | None = None) -> Tensor:
        """Alias of `clip` (see `chainrule.ops.clamp`)."""
        return _ops.clamp(self, min, max)

    def maximum(self, other: Any) -> Tensor:
        """Elementwise maximum (see `chainrule.ops.maximum`)."""
        return _ops.maximum(self, other)

    def minimum(self, other: Any) -> Tensor:
        """Elementwise minimum (see `chainrule.ops.minimum`)."""
        return _ops.minimum(self, other)

    # ----------------------------------------------------------------- arithmetic by name
    def add(self, other: Any) -> Tensor:
        """self + other (see `chainrule.ops.add`)."""
        return _ops.add(self, other)

    def sub(self, other: Any) -> Tensor:
        """self − other (see `chainrule.ops.sub`)."""
        return _ops.sub(self, other)

    def mul(self, other: Any) -> Tensor:
        """self · other (see `chainrule.ops.mul`)."""
        return _ops.mul(self, other)

    def div(self, other: Any) -> Tensor:
        """self / other (see `chainrule.ops.div`)."""
        return _ops.div(self, other)

    def pow(self, other: Any) -> Tensor:
        """self ** other (see `chainrule.ops.pow`)."""
        return _ops.pow(self, other)

    def neg(self) -> Tensor:
        """−self (see `chainrule.ops.neg`)."""
        return _ops.neg(self)

    def matmul(self, other: Any) -> Tensor:
        """Matrix product self @ other (see `chainrule.ops.matmul`)."""
        return _ops.matmul(self, other)

    # ----------------------------------------------------------------- activations
    def identity(self) -> Tensor:
        """The tensor itself (see `chainrule.ops.identity`)."""
        return _ops.identity(self)

    def relu(self) -> Tensor:
        """max(0, x) (see `chainrule.ops.relu`)."""
        return _ops.relu(self)

    def sigmoid(self) -> Tensor:
        """Logistic 1 / (1 + e^−x) (see `chainrule.ops.sigmoid`)."""
        return _ops.sigmoid(self)

    def tanh(self) -> Tensor:
        """tanh x (see `chainrule.ops.tanh`)."""
        return _ops.tanh(self)

    def softplus(self, beta: _builtins.float = 1.0,
                 threshold: _builtins.float = 20.0) -> Tensor:
        """Soft ReLU (see `chainrule.ops.softplus`)."""
        return _ops.softplus(self, beta, threshold)

    def step(self) -> Tensor:
        """Hard threshold 1[x > 0] (see `chainrule.ops.step`)."""
        return _ops.step(self)

    def hard_threshold(self) -> Tensor:
        """Alias of `step` (see `chainrule.ops.hard_threshold`)."""
        return _ops.hard_threshold(self)

    # ----------------------------------------------------------------- reductions
    def sum(self, dim: Any = None, keepdim: _builtins.bool = False, *,
            dtype: DTypeLike | None = None,
            axis: Any = None, keepdims: _builtins.bool | None = None) -> Tensor:
        """Sum over `dim`, in `dtype` if given (see `chainrule.ops.sum`)."""
        return _ops.sum(self, dim, keepdim, dtype=dtype, axis=axis, keepdims=keepdims)

    def mean(self, dim: Any = None, keepdim: _builtins.bool = False, *, axis: Any = None,
             keepdims: _builtins.bool | None = None) -> Tensor:
        """Mean over `dim` (see `chainrule.ops.mean`)."""
        return _ops.mean(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def var(self, dim: Any = None, unbiased: _builtins.bool | None = None,
            keepdim: _builtins.bool = False, *,
            correction: _builtins.float | None = None, axis: Any = None,
            keepdims: _builtins.bool | None = None) -> Tensor:
        """Variance over `dim` (see `chainrule.ops.var`)."""
        return _ops.var(self, dim, unbiased, keepdim, correction=correction, axis=axis,
                        keepdims=keepdims)

    def std(self, dim: Any = None, unbiased: _builtins.bool | None = None,
            keepdim: _builtins.bool = False, *,
            correction: _builtins.float | None = None, axis: Any = None,
            keepdims: _builtins.bool | None = None) -> Tensor:
        """Standard deviation over `dim` (see `chainrule.ops.std`)."""
        return _ops.std(self, dim, unbiased, keepdim, correction=correction, axis=axis,
                        keepdims=keepdims)

    def max(self, dim: Any = None, keepdim: _builtins.bool = False, *, axis: Any = None) -> Any:
        """Largest value, or (values, indices) along `dim` (see `chainrule.ops.max`)."""
        return _ops.max(self, dim, keepdim, axis=axis)

    def min(self, dim: Any = None, keepdim: _builtins.bool = False, *, axis: Any = None) -> Any:
        """Smallest value, or (values, indices) along `dim` (see `chainrule.ops.min`)."""
        return _ops.min(self, dim, keepdim, axis=axis)

    def amax(self, dim: Any = None, keepdim: _builtins.bool = False, *, axis: Any = None,
             keepdims: _builtins.bool | None = None) -> Tensor:
        """Largest values over `dim` (see `chainrule.ops.amax`)."""
        return _ops.amax(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def amin(self, dim: Any = None, keepdim: _builtins.bool = False, *, axis: Any = None,
             keepdims: _builtins.bool | None = None) -> Tensor:
        """Smallest values over `dim` (see `chainrule.ops.amin`)."""
        return _ops.amin(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def argmax(self, dim: Any = None, keepdim: _builtins.bool = False, *,
               axis: Any = None) -> Tensor:
        """Index of the maximum (see `chainrule.ops.argmax`)."""
        return _ops.argmax(self, dim, keepdim, axis=axis)

    def argmin(self, dim: Any = None, keepdim: _builtins.bool = False, *,
               axis: Any = None) -> Tensor:
        """Index of the minimum (see `chainrule.ops.argmin`)."""
        return _ops.argmin(self, dim, keepdim, axis=axis)

    def logsumexp(self, dim: Any = None, keepdim: _builtins.bool = False, *, axis: Any = None,
                  keepdims: _builtins.bool | None = None) -> Tensor:
        """log Σ e^x over `dim` (see `chainrule.ops.logsumexp`)."""
        return _ops.logsumexp(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def softmax(self, dim: Any = None, *, axis: Any = None) -> Tensor:
        """Softmax along `dim` (see `chainrule.ops.softmax`)."""
        return _ops.softmax(self, dim, axis=axis)

    def log_softmax(self, dim: Any = None, *, axis: Any = None) -> Tensor:
        """log(softmax) along `dim` (see `chainrule.ops.log_softmax`)."""
        return _ops.log_softmax(self, dim, axis=axis)

    # ----------------------------------------------------------------- shape
    # torch spells these with *sizes: x.reshape(2, 3) and x.reshape((2, 3)) both work.
    def reshape(self, *shape: Any) -> Tensor:
        """Same elements, new shape (see `chainrule.ops.reshape`)."""
        return _ops.reshape(self, *shape)

    def view(self, *shape: Any) -> Tensor:
        """Alias of `reshape` (see `chainrule.ops.reshape`)."""
        return _ops.reshape(self, *shape)

    def permute(self, *dims: Any) -> Tensor:
        """Reorder the axes (see `chainrule.ops.permute`)."""
        return _ops.permute(self, *dims)

    def expand(self, *sizes: Any) -> Tensor:
        """Broadcast to `sizes`, -1 keeping a dim (see `chainrule.ops.expand`)."""
        return _ops.expand(self, *sizes)

    def broadcast_to(self, *shape: Any) -> Tensor:
        """Broadcast to `shape` (see `chainrule.ops.broadcast_to`)."""
        return _ops.broadcast_to(self, *shape)

    def sum_to_size(self, *size: Any) -> Tensor:
        """Sum down to `size` (see `chainrule.ops.sum_to_size`)."""
        return _ops.sum_to_size(self, *size)

    def flatten(self, start_dim: _builtins.int = 0, end_dim: _builtins.int = -1) -> Tensor:
        """Merge dims start_dim..end_dim (see `chainrule.ops.flatten`)."""
        return _ops.flatten(self, start_dim, end_dim)

    def transpose(self, dim0: _builtins.int, dim1: _builtins.int) -> Tensor:
        """Swap two axes (see `chainrule.ops.transpose`)."""
        return _ops.transpose(self, dim0, dim1)

    def squeeze(self, dim: Any = None) -> Tensor:
        """Drop axes of length 1 (see `chainrule.ops.squeeze`)."""
        return _ops.squeeze(self, dim)

    def unsqueeze(self, dim: _builtins.int) -> Tensor:
        """Insert an axis of length 1 (see `chainrule.ops.unsqueeze`)."""
        return _ops.unsqueeze(self, dim)

    def pad(self, pad: Sequence[_builtins.int], value: _builtins.float = 0.0,
            mode: str = "constant") -> Tensor:
        """Constant padding, torch's convention (see `chainrule.ops.pad`)."""
        return _ops.pad(self, pad, value, mode)

    def split(self, split_size_or_sections: _builtins.int | Sequence[_builtins.int],
              dim: _builtins.int = 0
              ) -> tuple[Tensor, ...]:
        """Pieces along `dim` (see `chainrule.ops.split`)."""
        return _ops.split(self, split_size_or_sections, dim)

    def chunk(self, chunks: _builtins.int, dim: _builtins.int = 0) -> tuple[Tensor, ...]:
        """`chunks` near-equal pieces along `dim` (see `chainrule.ops.chunk`)."""
        return _ops.chunk(self, chunks, dim)

    # ----------------------------------------------------------------- torch surface (issue 10)
    # Annotations spell builtins through `_builtins`: methods above (float, int, bool, ...)
    # shadow those names inside the class body.
    def eq(self, other: Any) -> Tensor:
        """self == other elementwise, a bool tensor (see `chainrule.ops.eq`)."""
        return _ops.eq(self, other)

    def ne(self, other: Any) -> Tensor:
        """self != other elementwise (see `chainrule.ops.ne`)."""
        return _ops.ne(self, other)

    def lt(self, other: Any) -> Tensor:
        """self < other elementwise (see `chainrule.ops.lt`)."""
        return _ops.lt(self, other)

    def le(self, other: Any) -> Tensor:
        """self <= other elementwise (see `chainrule.ops.le`)."""
        return _ops.le(self, other)

    def gt(self, other: Any) -> Tensor:
        """self > other elementwise (see `chainrule.ops.gt`)."""
        return _ops.gt(self, other)

    def ge(self, other: Any) -> Tensor:
        """self >= other elementwise (see `chainrule.ops.ge`)."""
        return _ops.ge(self, other)

    def logical_and(self, other: Any) -> Tensor:
        """Elementwise and of truth values (see `chainrule.ops.logical_and`)."""
        return _ops.logical_and(self, other)

    def logical_or(self, other: Any) -> Tensor:
        """Elementwise or of truth values (see `chainrule.ops.logical_or`)."""
        return _ops.logical_or(self, other)

    def logical_xor(self, other: Any) -> Tensor:
        """Elementwise xor of truth values (see `chainrule.ops.logical_xor`)."""
        return _ops.logical_xor(self, other)

    def logical_not(self) -> Tensor:
        """Elementwise not (see `chainrule.ops.logical_not`)."""
        return _ops.logical_not(self)

    def isnan(self) -> Tensor:
        """Where the entries are NaN (see `chainrule.ops.isnan`)."""
        return _ops.isnan(self)

    def isinf(self) -> Tensor:
        """Where the entries are ±∞ (see `chainrule.ops.isinf`)."""
        return _ops.isinf(self)

    def isfinite(self) -> Tensor:
        """Where the entries are finite (see `chainrule.ops.isfinite`)."""
        return _ops.isfinite(self)

    def isclose(self, other: Any, rtol: _builtins.float = 1e-5, atol: _builtins.float = 1e-8,
                equal_nan: _builtins.bool = False) -> Tensor:
        """|self − other| ≤ atol + rtol · |other| elementwise (see `chainrule.ops.isclose`)."""
        return _ops.isclose(self, other, rtol, atol, equal_nan)

    def allclose(self, other: Any, rtol: _builtins.float = 1e-5, atol: _builtins.float = 1e-8,
                 equal_nan: _builtins.bool = False) -> _builtins.bool:
        """Whether every entry is close (see `chainrule.ops.allclose`)."""
        return _ops.allclose(self, other, rtol, atol, equal_nan)

    def any(self, dim: Any = None, keepdim: _builtins.bool = False) -> Tensor:
        """Whether any entry is non-zero (see `chainrule.ops.any`)."""
        return _ops.any(self, dim, keepdim)

    def all(self, dim: Any = None, keepdim: _builtins.bool = False) -> Tensor:
        """Whether every entry is non-zero (see `chainrule.ops.all`)."""
        return _ops.all(self, dim, keepdim)

    def where(self, condition: Any, other: Any) -> Tensor:
        """self where condition holds, else other (see `chainrule.ops.where`)."""
        return _ops.where(condition, self, other)

    def masked_fill(self, mask: Any, value: Any) -> Tensor:
        """value where mask is True (see `chainrule.ops.masked_fill`)."""
        return _ops.masked_fill(self, mask, value)

    def masked_select(self, mask: Any) -> Tensor:
        """The entries where mask is True, 1-D (see `chainrule.ops.masked_select`)."""
        return _ops.masked_select(self, mask)

    def square(self) -> Tensor:
        """self² (see `chainrule.ops.square`)."""
        return _ops.square(self)

    def rsqrt(self) -> Tensor:
        """1 / √self (see `chainrule.ops.rsqrt`)."""
        return _ops.rsqrt(self)

    def reciprocal(self) -> Tensor:
        """1 / self (see `chainrule.ops.reciprocal`)."""
        return _ops.reciprocal(self)

    def floor(self) -> Tensor:
        """⌊self⌋ (see `chainrule.ops.floor`)."""
        return _ops.floor(self)

    def ceil(self) -> Tensor:
        """⌈self⌉ (see `chainrule.ops.ceil`)."""
        return _ops.ceil(self)

    def trunc(self) -> Tensor:
        """Rounded towards zero (see `chainrule.ops.trunc`)."""
        return _ops.trunc(self)

    def round(self, decimals: _builtins.int = 0) -> Tensor:
        """Rounded half to even (see `chainrule.ops.round`)."""
        return _ops.round(self, decimals)

    def norm(self, p: Any = "fro", dim: Any = None, keepdim: _builtins.bool = False,
             dtype: DTypeLike | None = None) -> Tensor:
        """The p-norm over `dim` (see `chainrule.ops.norm`)."""
        return _ops.norm(self, p, dim, keepdim, dtype)

    def cumsum(self, dim: _builtins.int, dtype: DTypeLike | None = None) -> Tensor:
        """Running sum along `dim` (see `chainrule.ops.cumsum`)."""
        return _ops.cumsum(self, dim, dtype=dtype)

    def sort(self, dim: _builtins.int = -1, descending: _builtins.bool = False, *,
             stable: _builtins.bool = False) -> Any:
        """(values, indices) sorted along `dim` (see `chainrule.ops.sort`)."""
        return _ops.sort(self, dim, descending, stable)

    def argsort(self, dim: _builtins.int = -1, descending: _builtins.bool = False, *,
                stable: _builtins.bool = False) -> Tensor:
        """The indices that sort `dim` (see `chainrule.ops.argsort`)."""
        return _ops.argsort(self, dim, descending, stable)

    def topk(self, k: _builtins.int, dim: _builtins.int = -1, largest: _builtins.bool = True,
             sorted: _builtins.bool = True) -> Any:
        """(values, indices) of the k largest along `dim` (see `chainrule.ops.topk`)."""
        return _ops.topk(self, k, dim, largest, sorted)

    def mm(self, mat2: Any) -> Tensor:
        """Matrix product of two matrices (see `chainrule.ops.mm`)."""
        return _ops.mm(self, mat2)

    def bmm(self, mat2: Any) -> Tensor:
        """Batched matrix product (see `chainrule.ops.bmm`)."""
        return _ops.bmm(self, mat2)

    def mv(self, vec: Any) -> Tensor:
        """Matrix times vector (see `chainrule.ops.mv`)."""
        return _ops.mv(self, vec)

    def dot(self, other: Any) -> Tensor:
        """Inner product of two vectors (see `chainrule.ops.dot`)."""
        return _ops.dot(self, other)

    def outer(self, vec2: Any) -> Tensor:
        """Outer product of two vectors (see `chainrule.ops.outer`)."""
        return _ops.outer(self, vec2)

    def t(self) -> Tensor:
        """The transpose of a matrix (see `chainrule.ops.t`)."""
        return _ops.t(self)

    def view_as(self, other: Tensor) -> Tensor:
        """View with other's shape (see `chainrule.ops.reshape`)."""
        return _ops.reshape(self, other.shape)

    def reshape_as(self, other: Tensor) -> Tensor:
        """Reshape to other's shape (see `chainrule.ops.reshape`)."""
        return _ops.reshape(self, other.shape)

    def expand_as(self, other: Tensor) -> Tensor:
        """Broadcast to other's shape (see `chainrule.ops.expand`)."""
        return _ops.expand(self, other.shape)

    def repeat(self, *sizes: Any) -> Tensor:
        """Tile `sizes` times along each dim (see `chainrule.ops.repeat`)."""
        return _ops.repeat(self, *sizes)

    def flip(self, *dims: Any) -> Tensor:
        """Reversed along `dims` (see `chainrule.ops.flip`)."""
        return _ops.flip(self, dims[0] if len(dims) == 1 else dims)

    def gather(self, dim: _builtins.int, index: Any) -> Tensor:
        """Entries picked along `dim` by index (see `chainrule.ops.gather`)."""
        return _ops.gather(self, dim, index)

    def scatter(self, dim: _builtins.int, index: Any, src: Any = None, *,
                value: Any = None) -> Tensor:
        """A copy with src written at index along `dim` (see `chainrule.ops.scatter`)."""
        return _ops.scatter(self, dim, index, src, value=value)

    def scatter_add(self, dim: _builtins.int, index: Any, src: Tensor) -> Tensor:
        """self + src added at index along `dim` (see `chainrule.ops.scatter_add`)."""
        return _ops.scatter_add(self, dim, index, src)

    def index_select(self, dim: _builtins.int, index: Any) -> Tensor:
        """The entries at index along `dim` (see `chainrule.ops.index_select`)."""
        return _ops.index_select(self, dim, index)

    def unbind(self, dim: _builtins.int = 0) -> tuple[Tensor, ...]:
        """The slices along `dim` (see `chainrule.ops.unbind`)."""
        return _ops.unbind(self, dim)

    def nonzero(self, *, as_tuple: _builtins.bool = False) -> Any:
        """Indices of the non-zero entries (see `chainrule.ops.nonzero`)."""
        return _ops.nonzero(self, as_tuple=as_tuple)

    def is_contiguous(self) -> _builtins.bool:
        """Whether the values lie in row-major order in memory (a permuted view's do not)."""
        return _builtins.bool(self._data.flags.c_contiguous)

    def contiguous(self) -> Tensor:
        """self if it is contiguous, else a row-major copy (see `chainrule.ops.contiguous`)."""
        return _ops.contiguous(self)


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
def tensor(data: Any, dtype: DTypeLike | None = None, requires_grad: bool = False,
           device: Any = None) -> Tensor:
    """A new leaf tensor holding a copy of `data` (Python floats become float32, ints int64)."""
    _device.check(device, "tensor")
    return _leaf(_array(data, dtype, copy=True), requires_grad)


def as_tensor(data: Any, dtype: DTypeLike | None = None, device: Any = None) -> Tensor:
    """Like `tensor` but returns `data` itself when it already is a Tensor of that dtype."""
    _device.check(device, "as_tensor")
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


def zeros(*size: Any, dtype: DTypeLike | None = None, requires_grad: bool = False,
          device: Any = None) -> Tensor:
    _device.check(device, "zeros")
    return _leaf(np.zeros(_shape_args(size, "zeros"), _dt(dtype)), requires_grad)


def ones(*size: Any, dtype: DTypeLike | None = None, requires_grad: bool = False,
         device: Any = None) -> Tensor:
    _device.check(device, "ones")
    return _leaf(np.ones(_shape_args(size, "ones"), _dt(dtype)), requires_grad)


def empty(*size: Any, dtype: DTypeLike | None = None, requires_grad: bool = False,
          device: Any = None) -> Tensor:
    _device.check(device, "empty")
    return _leaf(np.empty(_shape_args(size, "empty"), _dt(dtype)), requires_grad)


def full(size: Any, fill_value: Any, dtype: DTypeLike | None = None,
         requires_grad: bool = False, device: Any = None) -> Tensor:
    """Dtype follows fill_value when not given: bool, int64 or float32, as in torch."""
    _device.check(device, "full")
    if dtype is None:
        dtype = _array(fill_value, None, copy=False).dtype
    return _leaf(np.full(_shape_args((size,), "full"), fill_value, as_dtype(dtype)),
                 requires_grad)


def arange(start: float, end: float | None = None, step: float = 1,
           dtype: DTypeLike | None = None, requires_grad: bool = False,
           device: Any = None) -> Tensor:
    """int64 when start, end and step are integers, float32 otherwise (torch's rule)."""
    _device.check(device, "arange")
    if end is None:
        start, end = 0, start
    if dtype is None:
        ints = all(isinstance(v, int | np.integer) for v in (start, end, step))
        dtype = _dtypes.int64 if ints else _dtypes.default_float
    return _leaf(np.arange(start, end, step, dtype=as_dtype(dtype)), requires_grad)


def linspace(start: float, end: float, steps: int, dtype: DTypeLike | None = None,
             requires_grad: bool = False, device: Any = None) -> Tensor:
    _device.check(device, "linspace")
    return _leaf(np.linspace(start, end, steps, dtype=_dt(dtype)), requires_grad)


def eye(n: int, m: int | None = None, dtype: DTypeLike | None = None,
        requires_grad: bool = False, device: Any = None) -> Tensor:
    _device.check(device, "eye")
    return _leaf(np.eye(n, m, dtype=_dt(dtype)), requires_grad)


def zeros_like(t: Tensor, dtype: DTypeLike | None = None, requires_grad: bool = False,
               device: Any = None) -> Tensor:
    _device.check(device, "zeros_like")
    return _leaf(np.zeros_like(t._data, dtype or t.dtype), requires_grad)


def ones_like(t: Tensor, dtype: DTypeLike | None = None, requires_grad: bool = False,
              device: Any = None) -> Tensor:
    _device.check(device, "ones_like")
    return _leaf(np.ones_like(t._data, dtype or t.dtype), requires_grad)


def empty_like(t: Tensor, dtype: DTypeLike | None = None, requires_grad: bool = False,
               device: Any = None) -> Tensor:
    _device.check(device, "empty_like")
    return _leaf(np.empty_like(t._data, dtype or t.dtype), requires_grad)


def full_like(t: Tensor, fill_value: Any, dtype: DTypeLike | None = None,
              requires_grad: bool = False, device: Any = None) -> Tensor:
    _device.check(device, "full_like")
    return _leaf(np.full_like(t._data, fill_value, dtype or t.dtype), requires_grad)


# ----------------------------------------------------------------- randomness
_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Seed the one generator behind every random function (randn, init, dropout, shuffling)."""
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


def default_generator() -> np.random.Generator:
    return _generator


def randn(*size: Any, dtype: DTypeLike | None = None, requires_grad: bool = False,
          device: Any = None) -> Tensor:
    _device.check(device, "randn")
    dt = _dt(dtype)
    return _leaf(_generator.standard_normal(_shape_args(size, "randn"), dtype=dt), requires_grad)


def rand(*size: Any, dtype: DTypeLike | None = None, requires_grad: bool = False,
         device: Any = None) -> Tensor:
    _device.check(device, "rand")
    dt = _dt(dtype)
    return _leaf(_generator.random(_shape_args(size, "rand"), dtype=dt), requires_grad)


def randint(low: int, high: int | None = None, size: Any = (), dtype: DTypeLike | None = None,
            device: Any = None) -> Tensor:
    """Integers in [low, high) (or [0, low) when high is omitted), int64 by default."""
    _device.check(device, "randint")
    if high is None:
        low, high = 0, low
    dt = _dtypes.int64 if dtype is None else as_dtype(dtype)
    return _leaf(_generator.integers(low, high, size=_shape_args((size,), "randint"), dtype=dt),
                 False)


def randn_like(t: Tensor, dtype: DTypeLike | None = None, requires_grad: bool = False,
               device: Any = None) -> Tensor:
    _device.check(device, "randn_like")
    dt = _dt(dtype or t.dtype)
    return _leaf(_laid_out_like(t, lambda shape: _generator.standard_normal(shape, dtype=dt)),
                 requires_grad)


def rand_like(t: Tensor, dtype: DTypeLike | None = None, requires_grad: bool = False,
              device: Any = None) -> Tensor:
    _device.check(device, "rand_like")
    dt = _dt(dtype or t.dtype)
    return _leaf(_laid_out_like(t, lambda shape: _generator.random(shape, dtype=dt)),
                 requires_grad)


def _laid_out_like(t: Tensor, draw: Callable[[tuple[int, ...]], np.ndarray]) -> np.ndarray:
    """draw's array, taken in t's memory order (torch's preserve_format, as np.*_like keep it for
    the other *_like functions): the draws of a batch-last activation are batch-last too, so an
    elementwise product with it runs through both arrays in one order. A C-ordered t gets
    exactly `draw(t.shape)`."""
    a = t._data
    if a.flags.c_contiguous:
        return draw(a.shape)
    order = memory_order(a)
    return draw(tuple(a.shape[i] for i in order)).transpose(np.argsort(order))


def randperm(n: int, dtype: DTypeLike | None = None, device: Any = None) -> Tensor:
    _device.check(device, "randperm")
    if dtype is not None:
        return Tensor._make(_generator.permutation(n).astype(as_dtype(dtype)), False, None)
    return Tensor._make(_generator.permutation(n).astype(np.int64), False, None)


# The ops build on Tensor, and Tensor's methods call the ops (late-bound through `_ops`):
# import them once Tensor exists.
from chainrule import ops as _ops  # noqa: E402
from chainrule.autograd import inplace as _inplace  # noqa: E402
from chainrule.autograd import engine as _engine  # noqa: E402

