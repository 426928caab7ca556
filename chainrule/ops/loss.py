"""Losses that are one node each: their error signals in closed form, stable where a composition
of log, exp and clip would overflow or give 0 · ∞ (the functional forms are in `nn.functional`)."""

from __future__ import annotations

import numpy as np

from chainrule.autograd.function import Function
from chainrule.ops.elementwise import where
from chainrule.ops.reductions import log_softmax_array, softmax
from chainrule.tensor import Tensor


class SoftmaxCrossEntropy(Function):
    """L = Σ_i w_i · (−log softmax(z_i)[t_i]) / D for logits z (N, C) and class indices t:
    log_softmax followed by the negative log-likelihood, fused into one node.

    z̄_i = ȳ · w_i / D · (softmax(z_i) − onehot(t_i))   (`SoftmaxCrossEntropyGrad`).
    w_i is 0 for ignored targets and 1 otherwise; D is the number of counted targets ('mean') or
    1 ('sum'). The same numbers as `nll_loss(log_softmax(z), t)`, without the five intermediate
    graph nodes.
    """

    target: np.ndarray  # safe class indices (ignored ones replaced by 0)
    weight: np.ndarray  # w_i as z's dtype
    mean: bool

    def forward(self, z):
        logp = log_softmax_array(z, 1)
        picked = logp[np.arange(z.shape[0]), self.target]
        total = (-picked * self.weight).sum()
        self.save(logp=logp)
        with np.errstate(invalid="ignore", divide="ignore"):  # every target ignored: NaN
            return total / self.weight.sum() if self.mean else total

    def backward(self, g, out):
        with np.errstate(invalid="ignore", divide="ignore"):
            scale = self.weight / (self.weight.sum() if self.mean else 1)
        return (SoftmaxCrossEntropyGrad.apply(self.inputs[0], g, target=self.target,
                                              scale=scale, logp=self.logp),)


class SoftmaxCrossEntropyGrad(Function):
    """z̄ = ȳ · s_i · (p_i − onehot(t_i)) as an op of (z, ȳ), with p = softmax(z) and s_i the
    per-row scale w_i / D (`logp` is log p, saved by the forward pass).

    Its own backward, for an upstream error signal H shaped like z:
    ȳ̄ = Σ_i s_i H_i · (p_i − onehot(t_i)),   z̄ = p ∘ (u − Σ_k u_k p_k) with u_i = ȳ s_i H_i
    (softmax's Jacobian applied to u).
    """

    target: np.ndarray
    scale: np.ndarray
    logp: np.ndarray

    def forward(self, z, g):
        d = np.exp(self.logp)
        d[np.arange(self.target.size), self.target] -= 1
        d *= self.scale[:, None] * g
        return d

    def backward(self, h, out):
        z, g = self.inputs
        rows = np.arange(self.target.size)
        onehot = np.zeros(self.logp.shape, self.logp.dtype)
        onehot[rows, self.target] = 1
        scale = Tensor._make(self.scale[:, None].astype(self.logp.dtype), False, None)
        p = softmax(z, dim=1)
        gz = gg = None
        if self.needs_grad(0):
            u = h * (scale * g)
            gz = p * (u - (u * p).sum(dim=1, keepdim=True))
        if self.needs_grad(1):
            gg = (h * (p - onehot) * scale).sum()
        return gz, gg


class BinaryCrossEntropyTerms(Function):
    """ℓ = −[t · max(log y, −100) + (1 − t) · max(log(1 − y), −100)], entry by entry.

    ȳ = ḡ · (y − t) / max(y (1 − y), 1e-12) — torch's formula, finite where a saturated sigmoid
    gives y = 0 or 1 (composing log and clip would give 0 · ∞ = NaN there).
    t̄ = ḡ · (max(log(1 − y), −100) − max(log y, −100)).
    """

    op_name = "binary_cross_entropy"

    def forward(self, y, t):
        with np.errstate(divide="ignore"):
            log_y, log_1my = np.maximum(np.log(y), -100), np.maximum(np.log(1 - y), -100)
        return -(t * log_y + (1 - t) * log_1my)

    def backward(self, g, out):
        y, t = self.inputs
        gy = g * (y - t) / (y * (1 - y)).clip(min=1e-12) if self.needs_grad(0) else None
        gt = None
        if self.needs_grad(1):
            with np.errstate(divide="ignore"):
                gt = g * ((1 - y).log().clip(min=-100) - y.log().clip(min=-100))
        return gy, gt


class KLDivergenceTerms(Function):
    """ℓ = t (log t − x) entry by entry, for log-probabilities x and probabilities t, with
    t log t = 0 at t = 0 (torch's xlogy); with log_target, t holds log-probabilities:
    ℓ = e^t (t − x).

    x̄ = −ȳ · t                  (log_target: x̄ = −ȳ · e^t)
    t̄ = ȳ · (log t + 1 − x)     (log_target: t̄ = ȳ · e^t (t − x + 1))
    At t = 0 the derivative of t log t is −∞; t̄ is NaN there, as torch gives.
    """

    op_name = "kl_div"
    log_target: bool

    def forward(self, x, t):
        if self.log_target:
            return np.exp(t) * (t - x)
        with np.errstate(divide="ignore", invalid="ignore"):
            t_log_t = np.where(t == 0, np.zeros((), t.dtype), t * np.log(t))
        return t_log_t - t * x

    def backward(self, g, out):
        x, t = self.inputs
        gx = gt = None
        if self.log_target:
            e = t.exp()
            if self.needs_grad(0):
                gx = -g * e
            if self.needs_grad(1):
                gt = g * e * (t - x + 1)
            return gx, gt
        if self.needs_grad(0):
            gx = -g * t
        if self.needs_grad(1):
            with np.errstate(divide="ignore", invalid="ignore"):
                gt = where(t._data == 0, np.nan, g * (t.log() + 1 - x))
        return gx, gt
