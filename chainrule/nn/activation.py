"""Activation modules: the lecture's six units, softmax, and torch's LeakyReLU, ELU, GELU, SiLU and
Hardtanh. Each calls its functional form."""

from __future__ import annotations

import warnings

from chainrule.nn import functional as F
from chainrule.nn.module import Module
from chainrule.tensor import Tensor


class ReLU(Module):
    """Rectified linear unit y = max(0, z); `inplace=True` writes y into z, as in torch."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, z: Tensor) -> Tensor:
        return F.relu(z, inplace=self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


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


def _inplace_repr(inplace: bool) -> str:
    return "inplace=True" if inplace else ""


class LeakyReLU(Module):
    """Leaky ReLU y = z for z > 0, negative_slope · z otherwise."""

    def __init__(self, negative_slope: float = 1e-2, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, z: Tensor) -> Tensor:
        return F.leaky_relu(z, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class ELU(Module):
    """Exponential linear unit y = z for z > 0, α(e^z − 1) otherwise."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, z: Tensor) -> Tensor:
        return F.elu(z, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class GELU(Module):
    """Gaussian error linear unit y = z · Φ(z); approximate='tanh' for torch's tanh form."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, z: Tensor) -> Tensor:
        return F.gelu(z, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    """Sigmoid-weighted linear unit ("swish") y = z · σ(z)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, z: Tensor) -> Tensor:
        return F.silu(z, self.inplace)

    def extra_repr(self) -> str:
        return _inplace_repr(self.inplace)


class Hardtanh(Module):
    """Hard tanh y = min(max(z, min_val), max_val)."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False,
                 min_value: float | None = None, max_value: float | None = None) -> None:
        super().__init__()
        if min_value is not None:  # torch's deprecated spellings
            warnings.warn("keyword argument `min_value` is deprecated and renamed to `min_val`",
                          FutureWarning, stacklevel=2)
            min_val = min_value
        if max_value is not None:
            warnings.warn("keyword argument `max_value` is deprecated and renamed to `max_val`",
                          FutureWarning, stacklevel=2)
            max_val = max_value
        if not max_val > min_val:
            raise ValueError(f"Hardtanh: max_val ({max_val}) must be greater than min_val "
                             f"({min_val})")
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def forward(self, z: Tensor) -> Tensor:
        return F.hardtanh(z, self.min_val, self.max_val, self.inplace)

    def extra_repr(self) -> str:
        return (f"min_val={self.min_val}, max_val={self.max_val}"
                + (", inplace=True" if self.inplace else ""))
