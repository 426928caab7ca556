"""Parameters as one flat vector and back (torch.nn.utils.parameters_to_vector and its inverse)."""

from __future__ import annotations

from collections.abc import Iterable

from chainrule.ops.shape import cat
from chainrule.tensor import Tensor


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """The parameters flattened and concatenated, in order: a 1-D tensor on the graph (its
    gradient flows back to each parameter)."""
    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Give each parameter, in order, the next `numel()` entries of `vec` as its values.

    As in torch, each parameter then shares memory with its slice of `vec`, and the
    assignment is not recorded on the graph.
    """
    if not isinstance(vec, Tensor):
        raise TypeError(f"vector_to_parameters: expected a Tensor, but got: "
                        f"{type(vec).__name__}")
    if vec.ndim != 1:
        raise ValueError(f"vector_to_parameters: expected a 1-D vector, got shape "
                         f"{tuple(vec.shape)}")
    pointer = 0
    for p in parameters:
        n = p.numel()
        if pointer + n > vec.shape[0]:
            raise RuntimeError(f"vector_to_parameters: the vector has {vec.shape[0]} entries, "
                               f"too few for the parameters (at least {pointer + n} needed)")
        p._data = vec._data[pointer:pointer + n].reshape(p.shape)
        pointer += n
