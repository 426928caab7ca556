"""`Function`: one node of the computation graph.

Every op is a subclass with two methods side by side:

* ``forward(*arrays)`` computes the op's value v_j from the values of its parents (NumPy arrays);
* ``backward(grad, out)`` receives the error signal v̄_j (a Tensor) and returns, for each parent
  v_i, its contribution v̄_j · ∂v_j/∂v_i (a Tensor, or None when that parent needs no gradient).

``backward`` is written with Tensor ops, so with ``create_graph=True`` the gradient computation is
itself recorded and can be differentiated again. The engine (``engine.py``) sums the contributions
over a node's children, and each parent's sum back over its broadcast axes.

A node keeps three kinds of state, each declared where a reader looks for it:

* its parents, ``inputs``;
* its settings: the op's keyword arguments, declared as annotations on the class
  (``axes: tuple[int, ...] | None``) and given to ``apply``, which rejects any other keyword;
* what ``forward`` computed for ``backward`` to reuse, stored with ``self.save(name=value)``.

``release()`` frees all three once backward has used them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from chainrule.autograd.grad_mode import _state
from chainrule.errors import ShapeError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from chainrule.tensor import Tensor

_NODE_FIELDS = frozenset({"inputs", "released", "settings", "saved_names", "op_name"})


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

    def save(self, **values: Any) -> None:
        """Keep values that forward computed and backward needs (masks, indices, matrices)."""
        self.__dict__.update(values)
        self.saved_names = (*self.saved_names, *values)

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


# Tensor's methods call the ops, and every op is a Function: bind Tensor once Function exists,
# so that importing either module first works.
from chainrule.tensor import Tensor  # noqa: E402
