"""Gradient clipping as torch.nn.utils does it: by the total norm of all gradients, or by value.

The gradients are changed in place with the in-place tensor ops under no_grad: every reference
to a parameter's `.grad` sees the clipped values, and their version counters move. The norms
are computed in float64 and rounded to the gradients' dtype once; torch accumulates float32
norms in float32, so float32 results may differ from torch's in the last bits.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from chainrule.autograd.grad_mode import no_grad
from chainrule.tensor import Tensor, tensor

TensorOrTensors = Tensor | Iterable[Tensor]


def _tensors(tensors: TensorOrTensors) -> list[Tensor]:
    return [tensors] if isinstance(tensors, Tensor) else list(tensors)


def _grads(parameters: TensorOrTensors) -> list[Tensor]:
    return [p.grad for p in _tensors(parameters) if p.grad is not None]


def _vector_norm(x: np.ndarray, p: float) -> float:
    """‖x‖_p of the flattened array, as torch.linalg.vector_norm (p = ±inf, 0 or any real)."""
    a = np.abs(np.asarray(x, np.float64).ravel())
    if p == math.inf:
        return float(a.max()) if a.size else 0.0
    if p == -math.inf:
        if not a.size:
            raise RuntimeError("get_total_norm: the -inf norm of an empty gradient is undefined "
                               "(the minimum has no identity)")
        return float(a.min())
    if p == 0:
        return float(np.count_nonzero(a))
    if p == 1:
        return float(a.sum())
    if p == 2:
        return float(np.sqrt(np.dot(a, a)))
    return float(np.sum(a ** p) ** (1.0 / p))


def get_total_norm(tensors: TensorOrTensors, norm_type: float | str = 2.0,
                   error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """The p-norm of the norms of `tensors`: the norm of all of them as one vector.

    A 0-d tensor in the tensors' dtype (float32 0.0 when there are none), as torch's.
    `foreach` is accepted for torch's signature; there is one implementation.
    """
    ts = _tensors(tensors)
    p = float(norm_type)
    if not ts:
        return tensor(0.0)
    dtype = np.result_type(*[t.dtype for t in ts])
    per_tensor = [np.asarray(_vector_norm(t._data, p), t.dtype) for t in ts]
    total = np.asarray(_vector_norm(np.asarray(per_tensor, np.float64), p), dtype)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"The total norm of order {p} for gradients from `parameters` is "
                           "non-finite, so it cannot be clipped. To disable this error and scale "
                           "the gradients by the non-finite norm anyway, set "
                           "`error_if_nonfinite=False`")
    return tensor(total)


def _distinct(grads: list[Tensor]) -> list[Tensor]:
    """The gradients with one tensor per memory: two `.grad`s sharing an array (create_graph=True
    can leave them so) are changed once."""
    seen: set[int] = set()
    out = []
    for g in grads:
        if id(g._data) not in seen:
            seen.add(id(g._data))
            out.append(g)
    return out


def clip_grads_with_norm_(parameters: TensorOrTensors, max_norm: float,
                          total_norm: Tensor, foreach: bool | None = None) -> None:
    """Scale every gradient by min(1, max_norm / (total_norm + 1e-6)), in place."""
    grads = _grads(parameters)
    if not grads:
        return
    total = np.asarray(total_norm._data if isinstance(total_norm, Tensor) else total_norm)
    if total.dtype.kind != "f":
        total = total.astype(np.float32)
    coef = np.minimum(float(max_norm) / (total + 1e-6), 1.0).astype(total.dtype)
    with no_grad(), np.errstate(invalid="ignore"):  # an infinite norm gives 0 · ∞ = NaN, as torch
        for g in _distinct(grads):
            g.mul_(tensor(coef.astype(g.dtype)))


def clip_grad_norm_(parameters: TensorOrTensors, max_norm: float,
                    norm_type: float | str = 2.0, error_if_nonfinite: bool = False,
                    foreach: bool | None = None) -> Tensor:
    """Rescale the gradients so that their total p-norm is at most `max_norm`:
    g ← g · min(1, max_norm / (‖g‖ + 1e-6)), in place. Returns the total norm before clipping.
    """
    params = _tensors(parameters)  # a generator is read twice
    total = get_total_norm(_grads(params), norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(params, max_norm, total, foreach)
    return total


def clip_grad_value_(parameters: TensorOrTensors, clip_value: float,
                     foreach: bool | None = None) -> None:
    """Clamp every gradient entry into [−clip_value, clip_value], in place."""
    c = float(clip_value)
    with no_grad():
        for g in _distinct(_grads(parameters)):
            g.clamp_(-c, c)
