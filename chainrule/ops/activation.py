"""The lecture's activation functions φ, each with its local derivative: z̄ = ȳ · φ'(z)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from chainrule.autograd.function import Function
from chainrule.autograd.inplace import apply_inplace
from chainrule.backend import elementwise as backend
from chainrule.errors import DTypeError
from chainrule.ops._helpers import as_operand
from chainrule.ops.elementwise import clip, exp, where
from chainrule.tensor import Tensor


class RectifiedLinear(Function):
    """Rectified linear unit y = max(0, z).   z̄ = ȳ · 1[z > 0]   (0 at z = 0, as in torch)."""

    reads_inputs = False
    op_name = "relu"

    def forward(self, z):
        return backend.relu(z)

    def backward(self, g, out):
        return (Gate.apply(g, mask=out._data),)  # 1[y > 0] = 1[z > 0]


class Gate(Function):
    """y = x · 1[m > 0] for a fixed array m (ReLU's local derivative, with m its output).
    x̄ = ȳ · 1[m > 0]."""

    reads_inputs = False

    mask: np.ndarray

    def forward(self, x):
        return backend.gate(x, self.mask)

    def backward(self, g, out):
        return (Gate.apply(g, mask=self.mask),)


def _sigmoid_array(z: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


class Logistic(Function):
    """Logistic y = 1 / (1 + e^(−z)).   z̄ = ȳ · y (1 − y).

    Computed from e = e^(−|z|) ≤ 1 as 1/(1 + e) for z ≥ 0 and e/(1 + e) for z < 0, which never
    overflows for large |z| and keeps full relative precision in the tail σ(z) ≈ e^z (the form
    ½(1 + tanh(z/2)) rounds σ(−30) to 0 in float32 and log σ(z) to −inf).
    """

    reads_inputs = False
    op_name = "sigmoid"

    def forward(self, z):
        return _sigmoid_array(z)

    def backward(self, g, out):
        return (g * out * (1 - out),)


class HyperbolicTangent(Function):
    """Hyperbolic tangent y = (e^z − e^(−z)) / (e^z + e^(−z)).   z̄ = ȳ · (1 − y²)."""

    reads_inputs = False
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
        linear = z._data * self.beta > self.threshold
        slope = sigmoid(z * self.beta if self.beta != 1 else z)
        return (where(linear, g, g * slope),)


class Heaviside(Function):
    """Hard threshold (the Heaviside step) y = 1[z > 0].

    z̄ = 0: the derivative is 0 everywhere except at z = 0, where it does not exist, so no error
    signal flows back. A network of hard-threshold units cannot be trained by backprop.
    """

    reads_inputs = False
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


def relu_(z: Tensor) -> Tensor:
    """z ← max(0, z) in z's memory (torch.relu_, `nn.ReLU(inplace=True)`): recorded as the node
    relu(z_old) where the graph needs it, else computed in the array itself."""
    return apply_inplace(z, "relu_", relu, reads_old=False,
                         direct=backend.relu_ if z._data.dtype.kind == "f" else None)


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


# ----------------------------------------------------------------- units beyond the lecture's six
_SQRT1_2 = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_KAPPA = 0.044715
# NumPy has no erf; the C library's, element by element (about 0.25 µs an element).
_erf = np.frompyfunc(math.erf, 1, 1)


def _normal_cdf_array(z: np.ndarray) -> np.ndarray:
    """Φ(z) = ½(1 + erf(z/√2)) in z's dtype (computed in float64, then rounded once)."""
    erf = np.asarray(_erf(np.asarray(z, np.float64) * _SQRT1_2), np.float64)
    return np.asarray(0.5 * (1.0 + erf), z.dtype)


def _normal_pdf(z: Tensor) -> Tensor:
    """φ(z) = e^(−z²/2) / √(2π) as Tensor ops (so that it can be differentiated again)."""
    return exp(z * z * -0.5) * _INV_SQRT_2PI


class LeakyRectifiedLinear(Function):
    """Leaky ReLU y = z for z > 0, a·z otherwise (a = negative_slope).

    z̄ = ȳ · (1 if z > 0 else a)   (a at z = 0, as in torch).
    """

    reads_inputs = False
    op_name = "leaky_relu"
    negative_slope: float

    def forward(self, z):
        slope = np.where(z > 0, 1.0, self.negative_slope).astype(z.dtype)
        self.save(slope=slope)
        return z * slope

    def backward(self, g, out):
        return (g * Tensor._make(self.slope, False, None),)


class ExponentialLinear(Function):
    """Exponential linear unit y = z for z > 0, α(e^z − 1) otherwise.

    z̄ = ȳ · (1 if z > 0 else α e^z)   (α at z = 0, as in torch). e^z is taken of min(z, 0), so
    a large positive z never overflows in the branch it does not use.
    """

    op_name = "elu"
    alpha: float

    def forward(self, z):
        negative = np.where(z > 0, z.dtype.type(0), z)  # keeps −0.0 (np.minimum may not)
        return np.where(z > 0, z, self.alpha * np.expm1(negative))

    def backward(self, g, out):
        (z,) = self.inputs
        negative_side = exp(clip(z, max=0.0)) * self.alpha  # α e^z, its own derivative for z ≤ 0
        return (where(z._data > 0, g, g * negative_side),)


class NormalCDF(Function):
    """Standard normal cumulative distribution y = Φ(z) = ½(1 + erf(z/√2)).

    z̄ = ȳ · φ(z),  φ(z) = e^(−z²/2) / √(2π). `value`, when given, is Φ(z) already computed
    (GELU's forward saves it), so its backward does not evaluate erf again.
    """

    op_name = "normal_cdf"
    value: np.ndarray | None = None

    def forward(self, z):
        return self.value if self.value is not None else _normal_cdf_array(z)

    def backward(self, g, out):
        return (g * _normal_pdf(self.inputs[0]),)


class GaussianErrorLinear(Function):
    """Gaussian error linear unit y = z · Φ(z), Φ the standard normal CDF.

    z̄ = ȳ · (Φ(z) + z φ(z)),  φ(z) = e^(−z²/2) / √(2π).

    approximate='tanh' (torch's option): y = ½ z (1 + tanh u) with u = √(2/π) (z + κ z³),
    κ = 0.044715;  z̄ = ȳ · (½ (1 + tanh u) + ½ z (1 − tanh² u) · √(2/π) (1 + 3κ z²)).
    """

    op_name = "gelu"
    approximate: str

    def forward(self, z):
        if self.approximate == "tanh":
            u = _SQRT_2_OVER_PI * (z + _GELU_KAPPA * (z * z * z))
            return 0.5 * z * (1 + np.tanh(u))
        cdf = _normal_cdf_array(z)
        self.save(cdf=cdf)
        return np.asarray(np.asarray(z, np.float64) * cdf, z.dtype)

    def backward(self, g, out):
        (z,) = self.inputs
        if self.approximate == "tanh":
            t = tanh((z + z * z * z * _GELU_KAPPA) * _SQRT_2_OVER_PI)
            du = (z * z * (3 * _GELU_KAPPA) + 1) * _SQRT_2_OVER_PI
            return (g * ((t + 1) * 0.5 + z * 0.5 * (1 - t * t) * du),)
        cdf = NormalCDF.apply(z, value=self.cdf)
        return (g * (cdf + z * _normal_pdf(z)),)


class SigmoidWeightedLinear(Function):
    """Sigmoid-weighted linear unit (SiLU, "swish") y = z · σ(z).

    z̄ = ȳ · σ(z) (1 + z (1 − σ(z))).
    """

    op_name = "silu"

    def forward(self, z):
        return z * _sigmoid_array(z)

    def backward(self, g, out):
        (z,) = self.inputs
        s = sigmoid(z)
        return (g * s * (1 + z * (1 - s)),)


class HardHyperbolicTangent(Function):
    """Hard tanh y = min(max(z, lo), hi) (lo = min_val, hi = max_val).

    z̄ = ȳ · 1[lo < z < hi]   (0 at the bounds themselves, as in torch; torch.clamp passes ȳ there).
    """

    reads_inputs = False
    op_name = "hardtanh"
    min_val: float
    max_val: float

    def forward(self, z):
        self.save(inside=(z > self.min_val) & (z < self.max_val))
        return np.clip(z, self.min_val, self.max_val)

    def backward(self, g, out):
        return (Gate.apply(g, mask=self.inside),)


def _float_operand(z: Any, op: str) -> Tensor:
    z = as_operand(z, op=op)
    if z.dtype.kind != "f":
        raise DTypeError(f"{op}: expected a floating-point tensor, got dtype {z.dtype}")
    return z


def leaky_relu(z: Tensor, negative_slope: float = 0.01) -> Tensor:
    return LeakyRectifiedLinear.apply(_float_operand(z, "leaky_relu"),
                                      negative_slope=float(negative_slope))


def elu(z: Tensor, alpha: float = 1.0) -> Tensor:
    return ExponentialLinear.apply(_float_operand(z, "elu"), alpha=float(alpha))


def normal_cdf(z: Tensor) -> Tensor:
    """Φ(z), the standard normal CDF (torch.special.ndtr)."""
    return NormalCDF.apply(_float_operand(z, "normal_cdf"))


def gelu(z: Tensor, approximate: str = "none") -> Tensor:
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return GaussianErrorLinear.apply(_float_operand(z, "gelu"), approximate=approximate)


def silu(z: Tensor) -> Tensor:
    return SigmoidWeightedLinear.apply(_float_operand(z, "silu"))


def hardtanh(z: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val cannot be greater than max_val, got min_val="
                         f"{min_val} and max_val={max_val}")
    return HardHyperbolicTangent.apply(_float_operand(z, "hardtanh"), min_val=float(min_val),
                                       max_val=float(max_val))
