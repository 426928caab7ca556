"""Reverse-mode automatic differentiation: the lecture's backpropagation algorithm.

    Let v_1, ..., v_N be a topological ordering of the computation graph (parents before
    children), with v_N the value we differentiate (the loss).
        v̄_N = 1
        for i = N-1, ..., 1:   v̄_i = Σ_{j ∈ Ch(v_i)} v̄_j · ∂v_j/∂v_i

`topological_order` builds v_1..v_N without recursion; `backprop` walks it backwards, line for
line as above. Each node's `Function.backward` supplies the terms v̄_j · ∂v_j/∂v_i of its parents;
`backprop` adds them up, so a value used by several children (fan-out) receives the sum of their
error signals, and sums each term back over the axes that broadcasting stretched (`SumToShape`).
`backpropagate` stores what it yields into `.grad`, or captures it for `grad`.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np

from chainrule.autograd.function import Function, vertex
from chainrule.backend.buffers import exclusive
from chainrule.autograd.grad_mode import set_grad_enabled
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
            for p in map(vertex, fn.inputs):  # a StandIn's tensor, where a node kept one
                if p._requires_grad and id(p) not in visited:
                    push((p, False))
    return order


def backprop(roots: Sequence[Tensor], root_grads: Sequence[Tensor], retain_graph: bool,
             on_term: Callable[[Tensor, Tensor, Tensor], None] | None = None
             ) -> Iterator[tuple[Tensor, Tensor]]:
    """The lecture's backward pass: yield each v_i with its error signal v̄_i, children first.

    `on_term(v_i, v_j, term)`, if given, sees each term v̄_j ∂v_j/∂v_i as v_j's backward returns
    it, before it is added into v̄_i (the backprop trace of `chainrule.inspect` shows them).
    """
    order = topological_order(roots)                  # v_1, ..., v_N
    v_bar: dict[int, Tensor] = {}
    for r, g in zip(roots, root_grads, strict=True):  # v̄_N = 1 (or the caller's seed)
        _add_term(v_bar, r, g)
    while order:                                      # for i = N, ..., 1
        v = order.pop()
        grad = v_bar.pop(id(v), None)
        if grad is None:
            continue
        yield v, grad                                 # every child has added its term
        fn = v.grad_fn
        if fn is None:
            continue
        fn.check_versions(v)                          # (no value changed in place since)
        for parent, term in zip(map(vertex, fn.inputs), fn.backward(grad, v), strict=True):
            if term is not None and parent._requires_grad:
                if on_term is not None:
                    on_term(parent, v, term)
                _add_term(v_bar, parent, term)        # v̄_i += v̄_j ∂v_j/∂v_i
        if not retain_graph:
            fn.release()


def _add_term(v_bar: dict[int, Tensor], v: Tensor, term: Tensor) -> None:
    """Add one child's term into v̄, summed back over broadcast axes and cast to v's dtype."""
    if term._data.shape != v._data.shape:
        term = SumToShape.apply(term, shape=v._data.shape)
    if term._data.dtype != v._data.dtype:
        term = term.astype(v.dtype)
    key = id(v)
    v_bar[key] = v_bar[key] + term if key in v_bar else term


class SumToShape(Function):
    """y = a summed over the axes that broadcasting added or stretched, down to `shape` — the one
    place where broadcasting is undone.   ā = ȳ broadcast back to a's shape.

    If v_j = f(v_i) broadcast v_i from `shape` up to a's shape, every copy of an entry of v_i is a
    child of it, so the entry's error signal is the sum over its copies.
    """

    shape: tuple[int, ...]

    def forward(self, a):
        lead = a.ndim - len(self.shape)
        axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(self.shape)
                                          if n == 1 and a.shape[lead + i] != 1)
        return (np.add.reduce(a, axis=axes) if axes else a).reshape(self.shape)

    def backward(self, g, out):
        return (g.broadcast_to(self.inputs[0].shape),)


class _HookHandle:
    """Returned by `register_post_accumulate_grad_hook`; `.remove()` unregisters the hook."""

    _next = 0

    def __init__(self, hooks: dict[int, Callable[[Tensor], None]]) -> None:
        self.hooks, self.id = hooks, _HookHandle._next
        _HookHandle._next += 1

    def remove(self) -> None:
        self.hooks.pop(self.id, None)


# Post-accumulate-grad hooks by id(leaf), with a weak reference that tells a live leaf from a
# later tensor that reuses a dead one's id. A dict beside the engine, so Tensor stays unchanged.
_POST_ACCUMULATE: dict[int, tuple[weakref.ref, dict[int, Callable[[Tensor], None]]]] = {}


def _forget(key: int) -> Callable[[weakref.ref], None]:
    def forget(_: weakref.ref) -> None:
        _POST_ACCUMULATE.pop(key, None)
    return forget


def register_post_accumulate_grad_hook(t: Tensor, hook: Callable[[Tensor], None]) -> _HookHandle:
    """hook(t) runs each time a backward pass has added into the leaf t's `.grad` (torch's
    Tensor.register_post_accumulate_grad_hook; DistributedDataParallel starts its allreduces
    from it while the rest of the backward pass goes on)."""
    if t.grad_fn is not None:
        raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
    if not t.requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    key = id(t)
    entry = _POST_ACCUMULATE.get(key)
    if entry is None or entry[0]() is not t:
        entry = (weakref.ref(t, _forget(key)), {})
        _POST_ACCUMULATE[key] = entry
    handle = _HookHandle(entry[1])
    entry[1][handle.id] = hook
    return handle


def _run_post_accumulate_hooks(t: Tensor) -> None:
    entry = _POST_ACCUMULATE.get(id(t))
    if entry is not None and entry[0]() is t:
        for hook in list(entry[1].values()):
            hook(t)


class _GradStore:
    """Stores a leaf's error signal in its `.grad`, adding to what is there (torch's rule).

    An error signal may be shared: Add hands the same ȳ to both parents, the seed may be the
    caller's `gradient`, Sum's backward gives a read-only broadcast view. Without create_graph,
    a `.grad` gets its own writable array, so an in-place update of one `.grad` touches no other:
    the error signal's array itself when nothing else can reach its memory, else a copy.
    """

    def __init__(self, seeds: Sequence[Tensor], create_graph: bool) -> None:
        self.create_graph = create_graph
        self.taken = {id(g._data) for g in seeds}  # arrays a new .grad must not share

    def __call__(self, t: Tensor, g: Tensor) -> None:
        if t.grad is not None:
            t.grad = t.grad + g
        elif self.create_graph:
            t.grad = g
        else:
            d = g._data
            if id(d) in self.taken or not (d.flags.writeable and exclusive(d)):
                d = d.copy()
            self.taken.add(id(d))
            t.grad = Tensor._make(d, False, None)
        if _POST_ACCUMULATE and t.grad_fn is None:
            _run_post_accumulate_hooks(t)


def backpropagate(roots: Sequence[Tensor], root_grads: Sequence[Tensor], *,
                  retain_graph: bool, create_graph: bool,
                  inputs: Sequence[Tensor] | None = None) -> dict[int, Tensor]:
    """Run the backward pass from `roots`, seeded with v̄_root = `root_grads`.

    With `inputs=None` the error signals of leaves (and of tensors that `retain_grad`) are added
    into their `.grad`. Otherwise nothing is written and the error signals of `inputs` are
    returned, keyed by id.
    """
    captured: dict[int, Tensor] = {}
    wanted = None if inputs is None else {id(t) for t in inputs}
    store = _GradStore(root_grads, create_graph)
    with set_grad_enabled(create_graph):
        for v, grad in backprop(roots, root_grads, retain_graph):
            if wanted is not None:
                if id(v) in wanted:
                    captured[id(v)] = grad
            elif v.grad_fn is None or v._retains_grad:
                store(v, grad)
    return captured


def _seed(out: Tensor, gradient: Tensor | np.ndarray | float | None, op: str) -> Tensor:
    if not out.requires_grad:
        raise RuntimeError(f"{op}: the tensor does not require grad and has no grad_fn; "
                           "nothing to differentiate (set requires_grad=True on the inputs)")
    if gradient is None:
        if out.numel() != 1:
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
