"""Local response normalisation (Krizhevsky et al. 2012): each unit is divided by the activity of
the units at the same position in neighbouring channels, so strongly responding feature maps
damp their neighbours ("lateral inhibition").

For channel c of an input x (N, C, ...) and a window of n channels
W(c) = {c − ⌊n/2⌋, …, c + ⌊(n − 1)/2⌋} (channels outside 0…C−1 count as zeros):

    d_c = k + (α / n) Σ_{c' ∈ W(c)} x_{c'}²,        y_c = x_c / d_c^β

which is torch.nn.functional.local_response_norm. (The paper writes α without the 1/n: its
α = 10⁻⁴ with n = 5 is α = 5·10⁻⁴ here.)
"""

from __future__ import annotations

import numpy as np

from chainrule.autograd.function import Function
from chainrule.errors import ShapeError
from chainrule.ops._helpers import as_operand
from chainrule.tensor import Tensor


def _window_sum(x: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """s[:, c] = Σ_{c' = c − lo}^{c + hi} x[:, c'], zero outside the channels: one add per
    window tap (windows are a few channels wide)."""
    c = x.shape[1]
    s = np.zeros_like(x)
    for shift in range(-lo, hi + 1):  # s[:, c] += x[:, c + shift]
        if abs(shift) < c:
            s[:, max(0, -shift):c - max(0, shift)] += x[:, max(0, shift):c - max(0, -shift)]
    return s


class ChannelWindowSum(Function):
    """y[:, c] = Σ_{c' = c − lo}^{c + hi} x[:, c'] (zero outside the channels): the sum over a
    window of neighbouring channels.

    Linear, so x̄[:, c'] = Σ_{c : c' ∈ window(c)} ȳ[:, c] = ȳ summed over the mirrored window
    (lo and hi swapped); that is its own adjoint again, so every order of derivative works.
    """

    lo: int
    hi: int

    def forward(self, x):
        return _window_sum(x, self.lo, self.hi)

    def backward(self, g, out):
        return (ChannelWindowSum.apply(g, lo=self.hi, hi=self.lo),)


class LocalResponse(Function):
    """y_c = x_c / d_c^β with d_c = k + (α/n) Σ_{c' ∈ W(c)} x_{c'}².

    x̄_j = ȳ_j / d_j^β − (2αβ/n) · x_j · Σ_{c : j ∈ W(c)} ȳ_c y_c / d_c

    (the second term: x_j enters the denominators of every unit whose window holds j, and
    ∂d_c/∂x_j = 2α x_j / n; y_c / d_c = x_c d_c^(−β−1)). The backward recomputes d from x with
    Tensor ops, so it can be differentiated again.
    """

    op_name = "local_response_norm"
    size: int
    alpha: float
    beta: float
    k: float

    def forward(self, x):
        n = self.size
        d = (_window_sum(x * x, n // 2, (n - 1) // 2) / n) * self.alpha + self.k
        return x / d ** self.beta

    def backward(self, g, out):
        x = self.inputs[0]
        n = self.size
        lo, hi = n // 2, (n - 1) // 2
        d = (ChannelWindowSum.apply(x * x, lo=lo, hi=hi) / n) * self.alpha + self.k
        spread = ChannelWindowSum.apply(g * out / d, lo=hi, hi=lo)  # Σ over c with j ∈ W(c)
        return (g / d ** self.beta - x * spread * (2 * self.alpha * self.beta / n),)


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0) -> Tensor:
    """torch.nn.functional.local_response_norm over channels (dim 1) of an (N, C, ...) input:
    y_c = x_c / (k + (α/n) Σ_{c' ∈ W(c)} x_{c'}²)^β with a window of n = `size` channels."""
    x = as_operand(input, op="local_response_norm")
    if x.ndim < 3:
        raise ShapeError(f"local_response_norm: expected 3D or higher dimensionality input "
                         f"(N, C, ...), got shape {x.shape}")
    if isinstance(size, bool) or not isinstance(size, int | np.integer) or size < 1:
        raise ValueError(f"local_response_norm: size must be a positive integer, got {size!r}")
    if x.numel() == 0:
        return x
    return LocalResponse.apply(x, size=int(size), alpha=float(alpha), beta=float(beta),
                               k=float(k))
