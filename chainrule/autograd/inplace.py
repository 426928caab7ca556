"""In-place operations (`x.add_(y)`, `x += y`, `x[i] = v`) as PyTorch defines them.

An in-place op writes its result into the tensor's own memory, so every tensor viewing that
memory sees the new values. For the graph it is the op y = f(x, ...) applied to the old value x,
with the result taking x's place: afterwards the tensor *is* the node y, and backprop reaches the
old value x through f's local derivative as for any other op.

Two rules keep gradients right:

* a leaf that requires grad (a weight) may be changed in place only where no graph is recorded
  (under `no_grad`, as optimizers and `nn.init` do); anywhere else torch refuses, and so do we;
* every change bumps the memory's version counter. A node records its parents' versions, and
  backprop refuses (`Function.check_versions`) if a value it needs was changed after it was used,
  instead of returning a gradient evaluated at the wrong point.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule.autograd.function import stands_in
from chainrule.autograd.grad_mode import _state, no_grad
from chainrule.backend.buffers import copy, memory_order
from chainrule.tensor import Tensor


def apply_inplace(t: Tensor, op: str, f: Callable[[Tensor], Tensor], *operands: Any,
                  direct: Callable[[np.ndarray], None] | None = None,
                  reads_old: bool = True) -> Tensor:
    """Write f(t) into t's memory and make t the node f(t_old). `operands` are the other inputs
    of f (to tell whether the graph must record the op). `direct`, when given, computes f's value
    in the array itself (one pass instead of f's result and a copy), used where no graph is
    recorded and t's memory is writeable. `reads_old=False` says that f is one op whose
    backward reads no input's value (`Function.reads_inputs`): a large t_old, which its node
    keeps as a `StandIn`, then needs no copy of the values."""
    record = _state.enabled and (t._requires_grad or any(
        isinstance(o, Tensor) and o._requires_grad for o in operands))
    if record and t._requires_grad and t.grad_fn is None:
        raise RuntimeError(f"{op}: a leaf tensor that requires grad (shape {list(t.shape)}) is "
                           f"being used in an in-place operation; change it under "
                           f"`with chainrule.no_grad():` or use the out-of-place form")
    if direct is not None and not record and t._data.flags.writeable:
        direct(t._data)
        bump_version(t)
        return t
    if record:
        # The old value keeps t's place in the graph built so far; it gets its own copy of the
        # values, which f's backward may need and the write below overwrites (in t's memory
        # layout, so that f's result, laid out like it, is written back in one straight pass).
        values = t._data if not reads_old and stands_in(t) else copy(t._data, memory_order(t._data))
        old = Tensor._make(values, t._requires_grad, t.grad_fn)
        if t.grad_fn is not None and _saved_by(t.grad_fn, t._data):
            old._vbox = t._version_box()  # its node kept this memory: backprop must refuse
        else:
            old._vbox = [t._version]      # the version t's node expects of its output
        result = f(old)
    else:
        with no_grad():
            result = f(t)
    _write(t, result, op)
    box = t._version_box()
    box[0] += 1
    if record:
        t.grad_fn = result.grad_fn
        t._requires_grad = result._requires_grad
        if t.grad_fn is not None:
            t.grad_fn.output_version = box[0]
    return t


def _saved_by(fn: Any, array: np.ndarray) -> bool:
    """Whether node `fn` kept `array` itself for its backward (e.g. σ(z) for the logistic)."""
    return any(v is array for v in fn.saved_values.values())


def _write(t: Tensor, result: Tensor, op: str) -> None:
    if result.shape != t.shape:
        raise RuntimeError(f"{op}: output with shape {list(t.shape)} doesn't match the broadcast "
                           f"shape {list(result.shape)}")
    if result._data is t._data:
        return
    try:
        np.copyto(t._data, result._data, casting="same_kind")
    except TypeError:
        raise RuntimeError(f"{op}: result type {result.dtype} can't be cast to the desired output "
                           f"type {t.dtype} of the tensor changed in place") from None
    except ValueError as e:  # read-only memory: a broadcast (expanded) view
        raise RuntimeError(f"{op}: cannot write into this tensor in place ({e}); it is an "
                           f"expanded view whose elements share memory; .clone() it first"
                           ) from None


def bump_version(t: Tensor) -> None:
    """Record that t's memory was changed in place outside `apply_inplace` (optimizer steps)."""
    box = t._vbox
    if box is None:
        t._vbox = [1]
    else:
        box[0] += 1
