"""The lecture's activation functions φ, each with its local derivative: z̄ = ȳ · φ'(z)."""

from __future__ import annotations

import numpy as np

from chainrule import jit
from chainrule.autograd.function import Function, empty, flat, memory_order
from chainrule.ops._helpers import as_operand
from chainrule.ops.elementwise import where
from chainrule.tensor import Tensor


class Relu(Function):
    """Rectified linear unit y = max(0, z).   z̄ = ȳ · 1[z > 0]   (0 at z = 0, as in torch)."""

    def forward(self, z):
        if z.dtype.kind != "f":
            return np.maximum(z, 0)
        return np.maximum(z, 0, out=empty(z.shape, z.dtype, memory_order(z)))

    def backward(self, g, out):
        return (MaskMul.apply(g, mask=out.data),)


class MaskMul(Function):
    """y = x · 1[m > 0] for a fixed array m (ReLU passes its output y: 1[y > 0] = 1[z > 0],
    its local derivative).   x̄ = ȳ · 1[m > 0].

    The same as multiplying by 1[m > 0] cast to x's dtype (so NaN · 0 is still NaN); the
    compiled path does it in one pass without forming the 0/1 array.
    """

    mask: np.ndarray

    def forward(self, x):
        m = self.mask
        if x.dtype.kind != "f" or x.shape != m.shape:
            return x * (m > 0).astype(x.dtype)
        order = memory_order(x)
        out = empty(x.shape, x.dtype, order)
        if jit.enabled() and memory_order(m) == order:
            xs, ms, os_ = flat(x), flat(m), flat(out)
            if xs is not None and ms is not None and os_ is not None:
                _mask_mul_kernel(xs, ms, os_, x.dtype.type(0))
                return out
        gate = m if m.dtype == np.bool_ else np.greater(m, 0, out=empty(m.shape, np.bool_,
                                                                          memory_order(m)))
        return np.multiply(x, gate, out=out)

    def backward(self, g, out):
        return (MaskMul.apply(g, mask=self.mask),)


@jit.kernel
def _mask_mul_kernel(x, m, out, zero):
    """out = x · 1[m > 0] on flat arrays: x, or x · 0 (−0.0 for negative x, NaN for NaN or ±∞),
    exactly as NumPy multiplies by a bool."""
    for i in range(x.size):
        out[i] = x[i] if m[i] > 0 else x[i] * zero


class Sigmoid(Function):
    """Logistic y = 1 / (1 + e^(−z)).   z̄ = ȳ · y (1 − y).

    Computed from e = e^(−|z|) ≤ 1 as 1/(1 + e) for z ≥ 0 and e/(1 + e) for z < 0, which never
    overflows for large |z| and keeps full relative precision in the tail σ(z) ≈ e^z (the form
    ½(1 + tanh(z/2)) rounds σ(−30) to 0 in float32 and log σ(z) to −inf).
    """

    def forward(self, z):
        e = np.exp(-np.abs(z))
        return np.where(z >= 0, 1 / (1 + e), e / (1 + e))

    def backward(self, g, out):
        return (g * out * (1 - out),)


class Tanh(Function):
    """Hyperbolic tangent y = (e^z − e^(−z)) / (e^z + e^(−z)).   z̄ = ȳ · (1 − y²)."""

    def forward(self, z):
        return np.tanh(z)

    def backward(self, g, out):
        return (g * (1 - out * out),)


class Softplus(Function):
    """Soft ReLU y = (1/β) log(1 + e^(βz)), and y = z where βz > threshold (torch's convention).

    z̄ = ȳ · σ(βz)  (ȳ on the linear part). log(1 + e^x) is evaluated as logaddexp(0, x), which
    is exact for large |x| instead of overflowing.
    """

    beta: float
    threshold: float

    def forward(self, z):
        bz = z * self.beta if self.beta != 1 else z
        soft = np.logaddexp(0, bz)
        if self.beta != 1:
            soft /= self.beta
        return np.where(bz > self.threshold, z, soft)

    def backward(self, g, out):
        (z,) = self.inputs
        linear = z.data * self.beta > self.threshold
        slope = sigmoid(z * self.beta if self.beta != 1 else z)
        return (where(linear, g, g * slope),)


class Step(Function):
    """Hard threshold y = 1[z > 0].

    z̄ = 0: the derivative is 0 everywhere except at z = 0, where it does not exist, so no error
    signal flows back. A network of hard-threshold units cannot be trained by backprop.
    """

    def forward(self, z):
        return (z > 0).astype(z.dtype)

    def backward(self, g, out):
        z = self.inputs[0]
        return (Tensor._make(np.zeros(z.shape, z.dtype), False, None),)


def identity(z: Tensor) -> Tensor:
    """Identity unit y = z (z̄ = ȳ): returns its input unchanged, as torch.nn.Identity does."""
    return z


def relu(z: Tensor) -> Tensor:
    return Relu.apply(as_operand(z, op="relu"))


def sigmoid(z: Tensor) -> Tensor:
    return Sigmoid.apply(as_operand(z, op="sigmoid"))


def tanh(z: Tensor) -> Tensor:
    return Tanh.apply(as_operand(z, op="tanh"))


def softplus(z: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    return Softplus.apply(as_operand(z, op="softplus"), beta=beta, threshold=threshold)


def step(z: Tensor) -> Tensor:
    return Step.apply(as_operand(z, op="step"))


hard_threshold = step
logistic = sigmoid
