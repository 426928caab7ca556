"""Normalisation: batch normalisation with the batch's statistics (`BatchNorm`) or with fixed
ones (`ChannelAffine`), and local response normalisation.

Local response normalisation (Krizhevsky et al. 2012): each unit is divided by the activity of
the units at the same position in neighbouring channels, so strongly responding feature maps
damp their neighbours ("lateral inhibition").

For channel c of an input x (N, C, ...) and a window of n channels
W(c) = {c − ⌊n/2⌋, …, c + ⌊(n − 1)/2⌋} (channels outside 0…C−1 count as zeros):

    d_c = k + (α / n) Σ_{c' ∈ W(c)} x_{c'}²,        y_c = x_c / d_c^β

which is torch.nn.functional.local_response_norm. (The paper writes α without the 1/n: its
α = 10⁻⁴ with n = 5 is α = 5·10⁻⁴ here.)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.autograd.function import Function
from chainrule.autograd.grad_mode import is_grad_enabled
from chainrule.backend import elementwise as backend
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


class BatchNorm(Function):
    """Batch normalisation with the batch's statistics (training), over every axis but 1:

        μ = mean(x),   σ² = mean((x − μ)²),   x̂ = (x − μ) / √(σ² + ε),   y = γ · x̂ + β

    per channel. μ and σ² depend on every x of the channel, so with m values per channel

        β̄ = Σ ȳ,   γ̄ = Σ ȳ · x̂,   x̄ = γ / √(σ² + ε) · (ȳ − mean(ȳ) − x̂ · mean(ȳ · x̂)).

    One op instead of the dozen a composition of means, differences and products records: the
    forward keeps μ and 1/√(σ² + ε) per channel, and the backward recomputes x̂ from x (which
    the node keeps as its input) as the forward rounded it, so that no x̂ the size of x is kept
    beside x, as in torch. Under create_graph the backward rebuilds x̂ and 1/√(σ² + ε)
    from x with Tensor ops, so it can be differentiated again. `running` holds the running mean
    and variance arrays to move by `momentum` towards the batch's (unbiased) statistics, in
    place, as torch's kernel does.
    """

    op_name = "batch_norm"
    eps: float
    affine: tuple[bool, bool]  # whether the inputs after x are γ, β
    running: tuple[np.ndarray, np.ndarray] | None = None
    momentum: float = 0.1

    def forward(self, x, *params):
        m = x.size // x.shape[1]
        gamma, beta = _gamma_beta(self.affine, params)
        shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        y, mean, var, rstd = backend.batch_norm_forward(
            x, self.eps, None if gamma is None else gamma.reshape(shape),
            None if beta is None else beta.reshape(shape))
        if self.running is not None:
            rm, rv = self.running
            k = self.momentum
            rm[...] = (1 - k) * rm + k * mean.reshape(-1)
            rv[...] = (1 - k) * rv + k * var.reshape(-1) * (m / (m - 1))
        self.save(mean=mean, rstd=rstd)
        return y

    def backward(self, g, out):
        x = self.inputs[0]
        axes = _channel_axes(x.ndim)
        gamma, beta = _gamma_beta(self.affine, self.inputs[1:])
        m = x.numel() // x.shape[1]
        if is_grad_enabled():  # create_graph: x̂ and 1/σ as functions of x, for ∂²
            centred = x - x.mean(dim=axes, keepdim=True)
            rstd = ((centred * centred).mean(dim=axes, keepdim=True) + self.eps).rsqrt()
            xhat = centred * rstd
            g_sum = g.sum(dim=axes, keepdim=True)
            gx_sum = (g * xhat).sum(dim=axes, keepdim=True)
        else:  # no graph to record: both sums in one pass over ȳ and x, no x̂ or ȳ · x̂ array
            rstd = Tensor._make(self.rstd, False, None)
            g_sum, gx_sum = (Tensor._make(a, False, None) for a in backend.batch_norm_grad_sums(
                g._data, x._data, self.mean, self.rstd))
        scale = rstd if gamma is None else rstd * gamma.reshape(rstd.shape)
        grads: list[Tensor | None] = []
        gx = None
        if self.needs_grad(0) and is_grad_enabled():
            gx = scale * (g - g_sum / m - xhat * (gx_sum / m))
        elif self.needs_grad(0):  # no graph to record: the same expression in one pass
            gx = Tensor._make(backend.batch_norm_input_grad(
                g._data, x._data, self.mean, self.rstd, scale._data, (g_sum / m)._data,
                (gx_sum / m)._data), False, None)
        grads.append(gx)
        if gamma is not None:
            grads.append(gx_sum.reshape(-1) if self.needs_grad(1) else None)
        if beta is not None:
            grads.append(g_sum.reshape(-1) if self.needs_grad(len(grads)) else None)
        return tuple(grads)


class ChannelAffine(Function):
    """y = x · s_c + t_c per channel c (axis 1): batch normalisation with fixed statistics,
    s = γ / √(σ² + ε) and t = β − μ s.   x̄ = ȳ · s,   s̄ = Σ ȳ · x,   t̄ = Σ ȳ
    (sums over every axis but 1). One op and one output array instead of a product and a sum.
    """

    op_name = "batch_norm"

    def forward(self, x, s, t):
        shape = _channel_shape(x.ndim)
        return backend.affine(x, s.reshape(shape), t.reshape(shape))

    def backward(self, g, out):
        x, s, _ = self.inputs
        axes = _channel_axes(x.ndim)
        return (g * s.reshape(_channel_shape(x.ndim)) if self.needs_grad(0) else None,
                (g * x).sum(dim=axes) if self.needs_grad(1) else None,
                g.sum(dim=axes) if self.needs_grad(2) else None)


def _channel_axes(ndim: int) -> tuple[int, ...]:
    """Every axis but the channels' (1): what a per-channel statistic sums over."""
    return (0, *range(2, ndim))


def _channel_shape(ndim: int) -> tuple[int, ...]:
    """(1, C, 1, …) as a reshape target: a per-channel vector broadcast over an input."""
    return (1, -1) + (1,) * (ndim - 2)


def _gamma_beta(affine: tuple[bool, bool], params: Any) -> tuple[Any, Any]:
    """(γ, β) from the inputs after x, None for the ones the op was not given."""
    it = iter(params)
    return (next(it) if affine[0] else None), (next(it) if affine[1] else None)
