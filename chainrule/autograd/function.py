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

from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule.autograd.grad_mode import _state
from chainrule.errors import ShapeError
from chainrule.tensor import Tensor

if TYPE_CHECKING:
    from collections.abc import Sequence


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
                if t.requires_grad:
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
