"""`Parameter`: a leaf tensor that a Module registers as learnable."""

from __future__ import annotations

from typing import Any

from chainrule.tensor import Tensor, _array


class Parameter(Tensor):
    """A Tensor that requires grad and is found by `Module.parameters()` when set as an attribute.

    Shares memory with `data` when it is a float array or tensor (as torch.nn.Parameter does).
    """

    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        super().__init__(_array(data if data is not None else [], None, copy=False),
                         requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
