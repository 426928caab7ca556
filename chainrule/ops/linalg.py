"""Matrix multiplication, the op behind every fully connected layer."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.autograd.function import Function
from chainrule.errors import DTypeError, ShapeError
from chainrule.ops._helpers import operands, same_dtype
from chainrule.tensor import Tensor


class MatMul(Function):
    """Y = A B with numpy.matmul's shapes (1-D, 2-D and batched, batch dims broadcast).

    Ā = Ȳ Bᵀ,   B̄ = Aᵀ Ȳ   — the lecture's W̄ = ȳ hᵀ and h̄ = Wᵀ ȳ. A 1-D operand is treated
    as a row (A) or a column (B) vector; the engine sums batch dims that broadcasting added.
    """

    def forward(self, a, b):
        return np.matmul(a, b)

    def backward(self, g, out):
        a, b = self.inputs
        need_a, need_b = self.needs_grad(0), self.needs_grad(1)
        if a.ndim == 1 and b.ndim == 1:
            return (g * b if need_a else None, g * a if need_b else None)
        if a.ndim == 1:  # y[..., m] = a[k] B[..., k, m]
            ga = (g.unsqueeze(-2) @ b.mT).squeeze(-2) if need_a else None
            gb = a.unsqueeze(-1) @ g.unsqueeze(-2) if need_b else None
            return ga, gb
        if b.ndim == 1:  # y[..., n] = A[..., n, k] b[k]
            ga = g.unsqueeze(-1) @ b.unsqueeze(-2) if need_a else None
            gb = (a.mT @ g.unsqueeze(-1)).squeeze(-1) if need_b else None
            return ga, gb
        return (g @ b.mT if need_a else None, a.mT @ g if need_b else None)


def matmul(a: Any, b: Any) -> Tensor:
    """Matrix product following numpy.matmul's shape rules."""
    same_dtype("matmul", a, b, names=("input", "other"))
    a, b = operands(a, b, "matmul")
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"matmul: both operands must have at least 1 dimension, got shapes "
                         f"{a.shape} and {b.shape} (use * for scaling)")
    ka = a.shape[-1]
    kb_dim = -2 if b.ndim > 1 else 0
    if ka != b.shape[kb_dim]:
        raise ShapeError(f"matmul: shapes {a.shape} and {b.shape} are not aligned: dim -1 of the "
                         f"first ({ka}) must equal dim {kb_dim} of the second "
                         f"({b.shape[kb_dim]})")
    return MatMul.apply(a, b)


class Affine(Function):
    """The fully connected layer's map y = x Wᵀ + b (W of shape (out, in), as in torch).

    x̄ = ȳ W,   W̄ = ȳᵀ x (summed over all leading dims of x),   b̄ = ȳ (the engine sums it over
    the batch) — the lecture's W̄ = ȳ hᵀ and b̄ = ȳ, for a whole batch at once.
    """

    op_name = "linear"

    def forward(self, x, w, b=None):
        # Leading dims are folded into one: numpy.matmul would loop over them as a batch of
        # small products instead of making one large BLAS call.
        y = (x.reshape(-1, x.shape[-1]) @ w.T).reshape(*x.shape[:-1], w.shape[0])
        if b is not None:
            y += b
        return y

    def backward(self, g, out):
        x, w = self.inputs[0], self.inputs[1]
        g2 = g.reshape(-1, g.shape[-1])
        x2 = x.reshape(-1, x.shape[-1])
        gx = None
        if self.needs_grad(0):
            # x̄ in x's layout: a flattened batch-last activation (a conv net's) is column-major,
            # and so is (W ᵀȳᵀ)ᵀ; the ops before it then meet their error signal in their order
            column_major = x2.mT.is_contiguous() and not x2.is_contiguous()
            gx = ((w.mT @ g2.mT).mT if column_major else g2 @ w).reshape(x.shape)
        gw = g2.T @ x2 if self.needs_grad(1) else None
        if len(self.inputs) == 3:
            return gx, gw, g
        return gx, gw


def linear(x: Any, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x Wᵀ + b for x of shape (..., in_features), W (out_features, in_features)."""
    x = x if isinstance(x, Tensor) else Tensor(x)
    same_dtype("linear", x, weight, bias)
    if weight.ndim != 2 or x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        raise ShapeError(f"linear: input of shape {x.shape} does not fit weight of shape "
                         f"{weight.shape} (expected input (..., {weight.shape[-1]}))")
    if bias is None:
        return Affine.apply(x, weight)
    if bias.shape != (weight.shape[0],):
        raise ShapeError(f"linear: bias of shape {bias.shape} does not fit weight of shape "
                         f"{weight.shape} (expected ({weight.shape[0]},))")
    return Affine.apply(x, weight, bias)


# ----------------------------------------------------------------- torch's fixed-rank products
def _fixed(x: Any, y: Any, ranks: tuple[int, int], op: str) -> tuple[Tensor, Tensor]:
    """The operands of torch's fixed-rank products, checked: the ranks each takes, and one
    dtype for both (torch promotes nothing here)."""
    if isinstance(x, Tensor) and isinstance(y, Tensor) and x.dtype != y.dtype:
        raise DTypeError(f"{op}: both operands must have the same dtype, got {x.dtype} and "
                         f"{y.dtype}")
    a, b = operands(x, y, op)
    if (a.ndim, b.ndim) != ranks:
        names = {1: "a vector (1-D)", 2: "a matrix (2-D)", 3: "a batch of matrices (3-D)"}
        raise ShapeError(f"{op}: expects {names[ranks[0]]} and {names[ranks[1]]}, got shapes "
                         f"{a.shape} and {b.shape}")
    return a, b


def mm(input: Any, mat2: Any) -> Tensor:
    """Matrix product of two matrices (torch.mm): (n, k) @ (k, m) → (n, m), no broadcasting."""
    a, b = _fixed(input, mat2, (2, 2), "mm")
    if a.shape[1] != b.shape[0]:
        raise ShapeError(f"mm: shapes {a.shape} and {b.shape} cannot be multiplied "
                         f"({a.shape[0]}x{a.shape[1]} and {b.shape[0]}x{b.shape[1]})")
    return MatMul.apply(a, b)


def bmm(input: Any, mat2: Any) -> Tensor:
    """Batched matrix product (torch.bmm): (B, n, k) @ (B, k, m) → (B, n, m), no broadcasting."""
    a, b = _fixed(input, mat2, (3, 3), "bmm")
    if a.shape[0] != b.shape[0] or a.shape[2] != b.shape[1]:
        raise ShapeError(f"bmm: shapes {a.shape} and {b.shape} do not fit: expected the second "
                         f"of shape ({a.shape[0]}, {a.shape[2]}, m)")
    return MatMul.apply(a, b)


def mv(input: Any, vec: Any) -> Tensor:
    """Matrix times vector (torch.mv): (n, k) @ (k,) → (n,)."""
    a, b = _fixed(input, vec, (2, 1), "mv")
    if a.shape[1] != b.shape[0]:
        raise ShapeError(f"mv: matrix of shape {a.shape} and vector of shape {b.shape} do not "
                         "fit")
    return MatMul.apply(a, b)


def dot(input: Any, other: Any) -> Tensor:
    """Inner product of two vectors of equal length (torch.dot), a 0-d tensor."""
    a, b = _fixed(input, other, (1, 1), "dot")
    if a.shape != b.shape:
        raise ShapeError(f"dot: vectors of shapes {a.shape} and {b.shape} differ in length")
    return MatMul.apply(a, b)


def outer(input: Any, vec2: Any) -> Tensor:
    """Outer product of two vectors (torch.outer): y_ij = a_i b_j."""
    a, b = operands(input, vec2, "outer")
    if a.ndim != 1 or b.ndim != 1:
        raise ShapeError(f"outer: expects two vectors (1-D), got shapes {a.shape} and {b.shape}")
    return a.reshape(-1, 1) * b.reshape(1, -1)
