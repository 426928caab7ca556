"""Activation modules: the lecture's six units plus softmax. Each calls its functional form."""

from __future__ import annotations

from chainrule.nn import functional as F
from chainrule.nn.module import Module
from chainrule.tensor import Tensor


class ReLU(Module):
    """Rectified linear unit y = max(0, z)."""

    def forward(self, z: Tensor) -> Tensor:
        return F.relu(z)


class Softplus(Module):
    """Soft ReLU y = (1/β) log(1 + e^(βz)); linear where βz > threshold (torch's convention)."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, z: Tensor) -> Tensor:
        return F.softplus(z, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class HardThreshold(Module):
    """Hard threshold (step) unit y = 1[z > 0].

    Not trainable by backprop: its derivative is 0 wherever it exists, so no error signal reaches
    the layers below (the lecture's reason for smooth activations).
    """

    def forward(self, z: Tensor) -> Tensor:
        return F.step(z)


Step = HardThreshold


class Sigmoid(Module):
    """Logistic unit y = 1 / (1 + e^(−z))."""

    def forward(self, z: Tensor) -> Tensor:
        return F.sigmoid(z)


class Tanh(Module):
    """Hyperbolic tangent unit."""

    def forward(self, z: Tensor) -> Tensor:
        return F.tanh(z)


class Softmax(Module):
    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, z: Tensor) -> Tensor:
        return F.softmax(z, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    def forward(self, z: Tensor) -> Tensor:
        return F.log_softmax(z, self.dim)
