"""Reverse-mode automatic differentiation: the lecture's backpropagation algorithm.

    Let v_1, ..., v_N be a topological ordering of the computation graph (parents before
    children), with v_N the value we differentiate (the loss).
        v̄_N = 1
        for i = N-1, ..., 1:   v̄_i = Σ_{j ∈ Ch(v_i)} v̄_j · ∂v_j/∂v_i

`topological_order` builds v_1..v_N without recursion; `backpropagate` walks it backwards. Each
node's `Function.backward` supplies the terms v̄_j · ∂v_j/∂v_i of its parents; this module adds
them up, so a value used by several children (fan-out) receives the sum of their error signals.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from chainrule.autograd.grad_mode import _state, set_grad_enabled
from chainrule.errors import ShapeError
from chainrule.tensor import Tensor

_RELEASED = ("Trying to backward through the graph a second time (or to use its saved values "
             "after they were freed by an earlier backward). Pass retain_graph=True to the first "
             "backward() if you need to backpropagate through the same graph again.")


def topological_order(roots: Iterable[Tensor]) -> list[Tensor]:
    """The tensors that need gradients, parents before children, found by iterative DFS."""
    order: list[Tensor] = []
    visited: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(r, False) for r in roots]
    push, pop, seen, done = stack.append, stack.pop, visited.add, order.append
    while stack:
        t, expanded = pop()
        if expanded:
            done(t)
            continue
        if id(t) in visited:
            continue
        seen(id(t))
        push((t, True))
        fn = t.grad_fn
        if fn is not None:
            if fn.released:
                raise RuntimeError(_RELEASED)
            for p in fn.inputs:
                if p._requires_grad and id(p) not in visited:
                    push((p, False))
    return order


def sum_to_shape(grad: Tensor, shape: tuple[int, ...]) -> Tensor:
    """Sum an error signal back over the axes that broadcasting added or stretched.

    This is the single place where broadcasting is undone: if v_j = f(v_i) broadcast v_i from
    `shape` to grad.shape, every copy of an entry of v_i is a child of it, so its v̄ is the sum.
    """
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and grad.shape[lead + i] != 1)
    if not _state.enabled:  # nothing to record (no create_graph): the same sum in plain NumPy
        summed = np.add.reduce(grad.data, axis=axes) if axes else grad.data
        return Tensor._make(summed.reshape(shape), False, None)
    if axes:
        grad = grad.sum(axis=axes)
    return grad.reshape(shape)


def _conform(grad: Tensor, like: Tensor) -> Tensor:
    grad = sum_to_shape(grad, like.shape)
    if grad.dtype != like.dtype:
        grad = grad.astype(like.dtype)
    return grad


def backpropagate(roots: Sequence[Tensor], root_grads: Sequence[Tensor], *,
                  retain_graph: bool, create_graph: bool,
                  inputs: Sequence[Tensor] | None = None) -> dict[int, Tensor]:
    """Run the backward pass from `roots`, seeded with v̄_root = `root_grads`.

    With `inputs=None` the error signals of leaves are accumulated into their `.grad` (as in
    PyTorch, `.grad` adds up across backward calls until zeroed). Otherwise nothing is written and
    the error signals of `inputs` are returned, keyed by id.
    """
    order = topological_order(roots)
    grads: dict[int, Tensor] = {}
    for r, g in zip(roots, root_grads, strict=True):
        grads[id(r)] = grads[id(r)] + g if id(r) in grads else g
    wanted = None if inputs is None else {id(t) for t in inputs}
    given = {id(g.data) for g in root_grads}  # arrays that a leaf's .grad must not share
    captured: dict[int, Tensor] = {}
    with set_grad_enabled(create_graph):
        for i in range(len(order) - 1, -1, -1):
            t = order[i]
            order[i] = None  # type: ignore[call-overload]  # free memory as we go
            g = grads.pop(id(t), None)
            if g is None:
                continue
            if wanted is not None:
                if id(t) in wanted:
                    captured[id(t)] = g
            elif t.grad_fn is None or t._retains_grad:
                if t.grad is not None:
                    t.grad = t.grad + g
                elif create_graph:
                    t.grad = g
                else:
                    # g may be shared (Add hands the same ȳ to both parents, the seed may be the
                    # caller's `gradient`) or a read-only broadcast view (Sum's backward): then
                    # store a private copy, so in-place updates of one .grad touch no other.
                    d = g.data
                    if id(d) in given or not (d.flags.owndata and d.flags.writeable):
                        d = d.copy()
                    given.add(id(d))
                    t.grad = Tensor._make(d, False, None)
            fn = t.grad_fn
            if fn is None:
                continue
            parent_grads = fn.backward(g, t)
            for p, pg in zip(fn.inputs, parent_grads, strict=True):
                if pg is None or not p._requires_grad:
                    continue
                a, b = pg.data, p.data
                if a.shape != b.shape or a.dtype != b.dtype:
                    pg = _conform(pg, p)
                key = id(p)
                grads[key] = grads[key] + pg if key in grads else pg
            if not retain_graph:
                fn.release()
    return captured


def _seed(out: Tensor, gradient: Tensor | np.ndarray | float | None, op: str) -> Tensor:
    if not out.requires_grad:
        raise RuntimeError(f"{op}: the tensor does not require grad and has no grad_fn; "
                           "nothing to differentiate (set requires_grad=True on the inputs)")
    if gradient is None:
        if out.size != 1:
            raise RuntimeError(f"{op}: grad can be implicitly created only for scalar outputs; "
                               f"got shape {tuple(out.shape)}. Pass gradient= of that shape.")
        return Tensor._make(np.ones(out.shape, dtype=out.dtype), False, None)
    g = gradient if isinstance(gradient, Tensor) else Tensor(np.asarray(gradient, out.dtype))
    if g.shape != out.shape:
        raise ShapeError(f"{op}: gradient has shape {tuple(g.shape)} but the output has shape "
                         f"{tuple(out.shape)}")
    return g


def backward(tensor: Tensor, gradient: Tensor | np.ndarray | float | None = None,
             retain_graph: bool | None = None, create_graph: bool = False) -> None:
    """Accumulate d(tensor)/d(leaf) into every leaf's `.grad` (see `Tensor.backward`)."""
    seed = _seed(tensor, gradient, "backward")
    if retain_graph is None:
        retain_graph = create_graph
    backpropagate([tensor], [seed], retain_graph=retain_graph, create_graph=create_graph)


def grad(outputs: Tensor | Sequence[Tensor], inputs: Tensor | Sequence[Tensor],
         grad_outputs: Tensor | Sequence[Tensor | None] | None = None,
         retain_graph: bool | None = None, create_graph: bool = False,
         allow_unused: bool = False) -> tuple[Tensor | None, ...]:
    """Gradients of `outputs` with respect to `inputs`, returned instead of stored (as in torch).

    With `create_graph=True` the returned gradients are on the graph, so they can be
    differentiated again (Hessian-vector products, gradient penalties).
    """
    outs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    ins = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        gos: list = [grad_outputs] * len(outs) if grad_outputs is None else [grad_outputs]
    else:
        gos = list(grad_outputs)
    if len(gos) != len(outs):
        raise ValueError(f"grad: got {len(outs)} outputs but {len(gos)} grad_outputs")
    for t in ins:
        if not t.requires_grad:
            raise RuntimeError("grad: one of the inputs does not require grad")
    seeds = [_seed(o, g, "grad") for o, g in zip(outs, gos, strict=True)]
    if retain_graph is None:
        retain_graph = create_graph
    captured = backpropagate(outs, seeds, retain_graph=retain_graph,
                             create_graph=create_graph, inputs=ins)
    result = tuple(captured.get(id(t)) for t in ins)
    if not allow_unused and any(r is None for r in result):
        raise RuntimeError("grad: one of the inputs was not used to compute the outputs "
                           "(pass allow_unused=True to get None for it)")
    return result
