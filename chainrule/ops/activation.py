"""The lecture's activation functions φ, each with its local derivative: z̄ = ȳ · φ'(z)."""

from __future__ import annotations

import numpy as np

from chainrule.autograd.function import Function
from chainrule.backend import elementwise as backend
from chainrule.ops._helpers import as_operand
from chainrule.ops.elementwise import where
from chainrule.tensor import Tensor


class RectifiedLinear(Function):
    """Rectified linear unit y = max(0, z).   z̄ = ȳ · 1[z > 0]   (0 at z = 0, as in torch)."""

    op_name = "relu"

    def forward(self, z):
        return backend.relu(z)

    def backward(self, g, out):
        return (Gate.apply(g, mask=out.data),)  # 1[y > 0] = 1[z > 0]


class Gate(Function):
    """y = x · 1[m > 0] for a fixed array m (ReLU's local derivative, with m its output).
    x̄ = ȳ · 1[m > 0]."""

    mask: np.ndarray

    def forward(self, x):
        return backend.gate(x, self.mask)

    def backward(self, g, out):
        return (Gate.apply(g, mask=self.mask),)


class Logistic(Function):
    """Logistic y = 1 / (1 + e^(−z)).   z̄ = ȳ · y (1 − y).

    Computed from e = e^(−|z|) ≤ 1 as 1/(1 + e) for z ≥ 0 and e/(1 + e) for z < 0, which never
    overflows for large |z| and keeps full relative precision in the tail σ(z) ≈ e^z (the form
    ½(1 + tanh(z/2)) rounds σ(−30) to 0 in float32 and log σ(z) to −inf).
    """

    op_name = "sigmoid"

    def forward(self, z):
        e = np.exp(-np.abs(z))
        return np.where(z >= 0, 1 / (1 + e), e / (1 + e))

    def backward(self, g, out):
        return (g * out * (1 - out),)


class HyperbolicTangent(Function):
    """Hyperbolic tangent y = (e^z − e^(−z)) / (e^z + e^(−z)).   z̄ = ȳ · (1 − y²)."""

    op_name = "tanh"

    def forward(self, z):
        return np.tanh(z)

    def backward(self, g, out):
        return (g * (1 - out * out),)


class SoftReLU(Function):
    """Soft ReLU y = (1/β) log(1 + e^(βz)), and y = z where βz > threshold (torch's convention).

    z̄ = ȳ · σ(βz)  (ȳ on the linear part). log(1 + e^x) is evaluated as logaddexp(0, x), which
    is exact for large |x| instead of overflowing.
    """

    op_name = "softplus"

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


class Heaviside(Function):
    """Hard threshold (the Heaviside step) y = 1[z > 0].

    z̄ = 0: the derivative is 0 everywhere except at z = 0, where it does not exist, so no error
    signal flows back. A network of hard-threshold units cannot be trained by backprop.
    """

    op_name = "step"

    def forward(self, z):
        return (z > 0).astype(z.dtype)

    def backward(self, g, out):
        z = self.inputs[0]
        return (Tensor._make(np.zeros(z.shape, z.dtype), False, None),)


def identity(z: Tensor) -> Tensor:
    """Identity unit y = z (z̄ = ȳ): returns its input unchanged, as torch.nn.Identity does."""
    return z


def relu(z: Tensor) -> Tensor:
    return RectifiedLinear.apply(as_operand(z, op="relu"))


def sigmoid(z: Tensor) -> Tensor:
    return Logistic.apply(as_operand(z, op="sigmoid"))


def tanh(z: Tensor) -> Tensor:
    return HyperbolicTangent.apply(as_operand(z, op="tanh"))


def softplus(z: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    return SoftReLU.apply(as_operand(z, op="softplus"), beta=beta, threshold=threshold)


def step(z: Tensor) -> Tensor:
    return Heaviside.apply(as_operand(z, op="step"))


hard_threshold = step
logistic = sigmoid
