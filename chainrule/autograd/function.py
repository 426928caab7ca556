"""`Function`: one node of the computation graph.

Every op is a subclass with two methods side by side:

* ``forward(*arrays)`` computes the op's value v_j from the values of its parents (NumPy arrays);
* ``backward(grad, out)`` receives the error signal v̄_j (a Tensor) and returns, for each parent
  v_i, its contribution v̄_j · ∂v_j/∂v_i (a Tensor, or None when that parent needs no gradient).

``backward`` is written with Tensor ops, so with ``create_graph=True`` the gradient computation is
itself recorded and can be differentiated again. The engine (``engine.py``) sums the contributions
over a node's children and, in one place, sums them back over broadcast axes.
"""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule.autograd.grad_mode import _state
from chainrule.errors import ShapeError
from chainrule.tensor import Tensor

if TYPE_CHECKING:
    from collections.abc import Sequence


class _ArrayCache:
    """Large arrays handed out again once nothing refers to them any more.

    A training step allocates the same large arrays (im2col matrices, activations, error
    signals) every time. Fresh memory of that size costs page faults (the allocator returns it to
    the OS between steps), often more than the arithmetic on it. Here each buffer stays owned by
    the cache; `empty` returns a view of one whose only reference is the cache's own — every
    array, view or Tensor still using a buffer holds a reference to it (a view's `.base`), so a
    buffer in use is never handed out twice. At most `limit` bytes are kept (arrays over a quarter
    of it are never cached); least recently used buffers are dropped first (an array in use then
    simply stays alive on its own). `clear()` hands all idle memory back.
    """

    #: arrays smaller than this come straight from np.empty
    min_bytes = 1 << 17

    def __init__(self, limit: int = 256 << 20) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._bufs: dict[tuple[int, np.dtype], list[np.ndarray]] = {}
        self._last: dict[int, int] = {}  # id(buffer) -> tick of its last hand-out
        self._tick = 0
        self._bytes = 0
        self._free_refs = self._refs_of_free_buffer()

    @staticmethod
    def _refs_of_free_buffer() -> int:
        """sys.getrefcount of a buffer referenced only by its list, seen as `empty` sees it."""
        bufs = [np.empty(1)]
        for buf in bufs:
            return sys.getrefcount(buf)
        raise AssertionError

    def empty(self, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        """Like np.empty(shape, dtype) (C order), possibly reusing an idle buffer."""
        dtype = np.dtype(dtype)
        count = 1
        for n in shape:
            count *= n
        nbytes = count * dtype.itemsize
        if nbytes < self.min_bytes or nbytes > self.limit // 4 or dtype.hasobject:
            return np.empty(shape, dtype)
        key = (count, dtype)
        with self._lock:
            self._tick += 1
            bufs = self._bufs.setdefault(key, [])
            for buf in bufs:
                if sys.getrefcount(buf) == self._free_refs:
                    self._last[id(buf)] = self._tick
                    return buf.reshape(shape)
            buf = np.empty(count, dtype)
            if self._bytes + nbytes > self.limit:
                self._evict(self._bytes + nbytes - self.limit)
            if self._bytes + nbytes <= self.limit:
                bufs.append(buf)
                self._last[id(buf)] = self._tick
                self._bytes += nbytes
            return buf.reshape(shape)

    def _evict(self, need: int) -> None:
        entries = sorted(((self._last[id(b)], key, b) for key, bufs in self._bufs.items()
                          for b in bufs), key=lambda e: e[0])
        for _, key, buf in entries:
            if need <= 0:
                break
            self._bufs[key] = [b for b in self._bufs[key] if b is not buf]
            del self._last[id(buf)]
            self._bytes -= buf.nbytes
            need -= buf.nbytes

    def clear(self) -> None:
        """Drop every cached buffer (arrays still in use stay valid)."""
        with self._lock:
            self._bufs.clear()
            self._last.clear()
            self._bytes = 0


array_cache = _ArrayCache()


def empty(shape: tuple[int, ...], dtype: Any, order: tuple[int, ...] | None = None
          ) -> np.ndarray:
    """np.empty for op outputs and scratch space, reusing idle large buffers (`_ArrayCache`).

    `order` lays the memory out in that axis order, outermost first (C order when None), as
    `memory_order` reports it, so an output can share its input's layout.
    """
    if order is None or order == tuple(range(len(shape))):
        return array_cache.empty(shape, dtype)
    buf = array_cache.empty(tuple(shape[i] for i in order), dtype)
    inverse = [0] * len(order)
    for pos, axis in enumerate(order):
        inverse[axis] = pos
    return buf.transpose(inverse)


def copy(a: np.ndarray, order: tuple[int, ...] | None = None) -> np.ndarray:
    """A copy of `a` in a (possibly reused) buffer laid out in `order` (see `empty`)."""
    out = empty(a.shape, a.dtype, order)
    np.copyto(out, a)
    return out


def memory_order(a: np.ndarray) -> tuple[int, ...]:
    """a's axes from the largest stride to the smallest: (0, 1, ...) for a C-ordered array."""
    strides = a.strides
    return tuple(sorted(range(a.ndim), key=lambda i: -abs(strides[i])))


def flat(a: np.ndarray) -> np.ndarray | None:
    """a's entries as a 1-D view in memory order, or None when a is not one dense block.
    Two arrays with the same shape and `memory_order` give views that pair up entry by entry."""
    t = a.transpose(memory_order(a))
    return t.reshape(-1) if t.flags.c_contiguous else None


class Function:
    """Base class of every differentiable op; an instance is a graph node (a tensor's grad_fn)."""

    #: the parent tensors v_i this node's value was computed from (empty once released)
    inputs: tuple[Tensor, ...] = ()
    #: True once backward ran without retain_graph and freed the saved values
    released: bool = False

    @classmethod
    def apply(cls, *inputs: Tensor, **attrs: Any) -> Tensor:
        """Run the forward pass and, when grad mode is on and a parent requires grad, record it."""
        fn = cls.__new__(cls)
        if attrs:
            fn.__dict__.update(attrs)
        try:
            out = fn.forward(*[t.data for t in inputs])
        except (ValueError, TypeError, IndexError) as e:
            if isinstance(e, ShapeError):
                raise
            shapes = ", ".join(str(tuple(t.shape)) for t in inputs)
            kind = ShapeError if isinstance(e, ValueError) else type(e)
            raise kind(f"{fn.op_name}: {e} (input shapes {shapes})") from None
        if _state.enabled:
            for t in inputs:
                if t._requires_grad:
                    fn.inputs = inputs
                    return Tensor._make(out, True, fn)
        return Tensor._make(out, False, None)

    def forward(self, *arrays: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad: Tensor, out: Tensor) -> Sequence[Tensor | None]:
        raise NotImplementedError

    def needs_grad(self, i: int) -> bool:
        """Whether parent i wants an error signal (lets backward skip work, e.g. for data x)."""
        return self.inputs[i].requires_grad

    @property
    def op_name(self) -> str:
        return type(self).__name__.lower()

    def name(self) -> str:
        return f"{type(self).__name__}Backward"

    @property
    def saved_values(self) -> dict[str, Any]:
        """What forward stored for backward besides the inputs (masks, indices, attributes)."""
        return {k: v for k, v in vars(self).items() if k not in ("inputs", "released")}

    @property
    def next_functions(self) -> tuple[tuple[Function | None, int], ...]:
        """PyTorch-style view of the parents' nodes (None for leaves)."""
        return tuple((t.grad_fn, 0) for t in self.inputs)

    def release(self) -> None:
        """Free the saved values (after a backward without retain_graph)."""
        self.__dict__.clear()
        self.released = True

    def __repr__(self) -> str:
        return f"<{self.name()}>"
