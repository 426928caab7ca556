"""Functional forms of every layer, activation and loss. Modules call these, so each computation
exists once; the differentiable primitives themselves live in `chainrule.ops`."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from chainrule.autograd.inplace import apply_inplace
from chainrule.errors import ArgumentError, ShapeError
from chainrule.ops import (  # noqa: F401  (re-exported as F.relu, F.softmax, ...)
    adaptive_avg_pool2d, avg_pool1d, avg_pool2d, conv1d, conv2d, hard_threshold, identity, linear,
    local_response_norm, log_softmax, logsumexp, max_pool1d, max_pool2d, pad, patches,
    sigmoid, softmax, softplus, step, tanh, unfold, where,
)
from chainrule.ops import max_unpool2d  # noqa: F401  (F.max_unpool2d)
from chainrule.ops import activation as _act
from chainrule.ops._helpers import same_dtype
from chainrule.ops.geometry import conv_padding, pair
from chainrule.ops.loss import BinaryCrossEntropyTerms, KLDivergenceTerms, SoftmaxCrossEntropy
from chainrule.ops.normalization import BatchNorm, ChannelAffine
from chainrule.tensor import Tensor, default_generator, rand_like

_REDUCTIONS = ("mean", "sum", "none")


def _reduce(loss: Tensor, reduction: str, op: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _same_shape(input: Tensor, target: Tensor, op: str) -> None:
    if input.shape != target.shape:
        raise ShapeError(f"{op}: input shape {input.shape} and target shape {target.shape} "
                         "must match")


def _tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


# ----------------------------------------------------------------- layers
def dropout(x: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each entry with probability p and scale the rest by 1/(1 − p) (inverted dropout).

    x̄ = ȳ · mask / (1 − p). Identity when not training or p = 0. With inplace=True the result
    is written into x, as in torch.
    """
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: probability has to be between 0 and 1, but got {p}")
    if not training or p == 0:
        return x
    if p == 1:
        return _maybe_in_place(x, lambda z: z * 0, inplace, "dropout")
    keep = rand_like(x, dtype=np.float32)._data >= p  # in x's layout, like the product below
    scale = np.where(keep, x.dtype.type(1.0 / (1.0 - p)), x.dtype.type(0))
    return _maybe_in_place(x, lambda z: z * scale, inplace, "dropout")


def flatten(x: Tensor, start_dim: int = 1, end_dim: int = -1) -> Tensor:
    return x.flatten(start_dim, end_dim)


# ----------------------------------------------------------------- losses
def mse_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Mean squared error (torch's): mean over *all* elements of (y − t)²."""
    target = _tensor(target)
    _same_shape(input, target, "mse_loss")
    diff = input - target
    return _reduce(diff * diff, reduction, "mse_loss")


def half_squared_error(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """The lecture's squared-error loss L = ½‖y − t‖² per example (summed over every dim but the
    first), then averaged ('mean') or summed over the batch. Its error signal is ȳ = y − t.
    A 1-D input is a batch of scalar outputs."""
    target = _tensor(target)
    _same_shape(input, target, "half_squared_error")
    diff = input - target
    per_example = 0.5 * (diff * diff)
    if per_example.ndim > 1:
        per_example = per_example.sum(dim=tuple(range(1, per_example.ndim)))
    return _reduce(per_example, reduction, "half_squared_error")


def binary_cross_entropy(input: Tensor, target: Any, weight: Any = None,
                         reduction: str = "mean") -> Tensor:
    """−[t log y + (1 − t) log(1 − y)] for probabilities y; logs clamped at −100 as in torch."""
    target = _tensor(target)
    _same_shape(input, target, "binary_cross_entropy")
    if np.any((input._data < 0) | (input._data > 1)):
        raise ValueError("binary_cross_entropy: all elements of input should be between 0 and 1 "
                         "(use binary_cross_entropy_with_logits for logits)")
    loss = BinaryCrossEntropyTerms.apply(input, target)
    if weight is not None:
        loss = loss * _tensor(weight)
    return _reduce(loss, reduction, "binary_cross_entropy")


def binary_cross_entropy_with_logits(input: Tensor, target: Any, weight: Any = None,
                                     reduction: str = "mean", pos_weight: Any = None) -> Tensor:
    """BCE on logits z, stable for any |z|: (1 − t) z + w_t · softplus(−z),
    with w_t = 1 + (pos_weight − 1) t. Its error signal is z̄ = σ(z) − t (for pos_weight 1)."""
    target = _tensor(target)
    _same_shape(input, target, "binary_cross_entropy_with_logits")
    soft = softplus(-input, threshold=float("inf"))
    if pos_weight is not None:
        soft = soft * ((_tensor(pos_weight) - 1) * target + 1)
    loss = (1 - target) * input + soft
    if weight is not None:
        loss = loss * _tensor(weight)
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")


def _class_last(x: Tensor) -> Tensor:
    """(N, C, d1, ...) → (N·d1·…, C): classes along the last axis."""
    if x.ndim <= 2:
        return x
    return x.permute(0, *range(2, x.ndim), 1).reshape(-1, x.shape[1])


def nll_loss(input: Tensor, target: Any, weight: Any = None, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of class indices: −w_t · log p_t, given log-probabilities
    (N, C) or (N, C, d1, ...). 'mean' divides by the summed weights of the counted targets."""
    t = target._data if isinstance(target, Tensor) else np.asarray(target)
    if t.dtype.kind not in "iu":
        raise TypeError(f"nll_loss: target must hold integer class indices, got dtype {t.dtype}")
    out_shape = t.shape  # () for a single (C,) input, as in torch
    if input.ndim == 1:
        input, t = input.unsqueeze(0), t.reshape(1)
    n_classes = input.shape[1]
    if t.shape != (input.shape[0], *input.shape[2:]):
        raise ShapeError(f"nll_loss: target shape {t.shape} does not fit input shape "
                         f"{input.shape} (expected {(input.shape[0], *input.shape[2:])})")
    flat_t = t.reshape(-1)
    valid = flat_t != ignore_index
    if np.any((flat_t[valid] < 0) | (flat_t[valid] >= n_classes)):
        bad = flat_t[valid][(flat_t[valid] < 0) | (flat_t[valid] >= n_classes)][0]
        raise IndexError(f"nll_loss: target {int(bad)} is out of bounds for {n_classes} classes")
    safe_t = np.where(valid, flat_t, 0)
    w = np.ones(n_classes, input.dtype) if weight is None else _tensor(weight)._data
    w_n = (w[safe_t] * valid).astype(input.dtype)
    picked = _class_last(input)[np.arange(flat_t.size), safe_t]
    losses = -picked * w_n
    if reduction == "none":
        return losses.reshape(out_shape)
    if reduction == "sum":
        return losses.sum()
    if reduction == "mean":
        return losses.sum() / w_n.sum()
    raise ValueError(f"nll_loss: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def cross_entropy(input: Tensor, target: Any, weight: Any = None, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy L = −Σ_k t_k log y_k on logits (N, C) or (N, C, d1, ...).

    `target` holds class indices (N, ...) or class probabilities (same shape as input). With
    label smoothing ε the target becomes (1 − ε) t + ε / C, as in torch. For index targets
    z̄ = (softmax(z) − onehot(t)) / N under 'mean'.
    """
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    class_dim = 0 if input.ndim == 1 else 1
    n_classes = input.shape[class_dim]
    tgt = _tensor(target)
    w = None if weight is None else _tensor(weight)
    if (w is None and label_smoothing == 0 and isinstance(input, Tensor) and input.ndim == 2
            and reduction in ("mean", "sum") and tgt.dtype.kind in "iu"
            and tgt.shape == (input.shape[0],)):  # the common case as one fused node
        t = tgt._data
        valid = t != ignore_index
        if np.all((t[valid] >= 0) & (t[valid] < n_classes)):  # else nll_loss names the error
            return SoftmaxCrossEntropy.apply(input, target=np.where(valid, t, 0),
                                             weight=valid.astype(input.dtype),
                                             mean=reduction == "mean")
    logp = log_softmax(input, dim=class_dim)
    wshape = [1] * input.ndim
    wshape[class_dim] = n_classes
    if tgt.dtype.kind == "f":  # class probabilities
        _same_shape(input, tgt, "cross_entropy")
        if label_smoothing > 0:
            tgt = tgt * (1 - label_smoothing) + label_smoothing / n_classes
        terms = logp * tgt if w is None else logp * tgt * w.reshape(wshape)
        return _reduce(-terms.sum(dim=class_dim), reduction, "cross_entropy")
    nll = nll_loss(logp, tgt, weight, ignore_index, reduction)
    if label_smoothing == 0:
        return nll
    ignored = tgt._data == ignore_index
    smooth = -(logp if w is None else logp * w.reshape(wshape)).sum(dim=class_dim)
    smooth = where(ignored, 0.0, smooth)
    if reduction == "mean":
        if w is None:
            smooth = smooth.sum() / max(int((~ignored).sum()), 1)
        else:
            smooth = smooth.sum() / w._data[tgt._data[~ignored]].sum()
    else:
        smooth = _reduce(smooth, reduction, "cross_entropy")
    return (1 - label_smoothing) * nll + smooth * (label_smoothing / n_classes)


def l2_penalty(parameters: Iterable[Tensor]) -> Tensor:
    """The lecture's regulariser R = ½ Σ‖w‖²; add λR to the loss (its gradient is λw)."""
    total: Tensor | None = None
    for p in parameters:
        term = 0.5 * (p * p).sum()
        total = term if total is None else total + term
    if total is None:
        raise ValueError("l2_penalty: no parameters given")
    return total


# ----------------------------------------------------------------- convolution and normalisation


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise each channel (dim 1) by batch statistics while training, by the running ones
    otherwise: y = (x − μ) / √(σ² + ε) · γ + β. In training, the running mean and (unbiased)
    variance move by `momentum` towards the batch's, in place, as in torch."""
    same_dtype("batch_norm", input, weight, bias, running_mean)
    if input.ndim < 2:
        raise ShapeError(f"batch_norm: expected at least 2-D input (N, C, ...), got {input.shape}")
    c = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and t.shape != (c,):
            raise ShapeError(f"batch_norm: {name} of shape {t.shape} does not fit {c} channels "
                             f"of input {input.shape}")
    if training:
        n = input.numel() // c
        if n <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when "
                             f"training, got input of shape {input.shape}")
        running = None
        if running_mean is not None and running_var is not None:
            running = (running_mean._data, running_var._data)
        params = [t for t in (weight, bias) if t is not None]
        return BatchNorm.apply(input, *params, eps=eps, momentum=momentum, running=running,
                               affine=(weight is not None, bias is not None))
    if running_mean is None or running_var is None:
        raise ValueError("batch_norm: running statistics are needed in eval mode")
    # Fixed statistics make the layer affine per channel, y = x · s + t with s = γ / √(σ² + ε)
    # and t = β − μ s (torch's CPU inference kernel computes the same): two passes, not four.
    scale = (running_var + eps).rsqrt()
    if weight is not None:
        scale = scale * weight
    shift = -running_mean * scale
    if bias is not None:
        shift = shift + bias
    return ChannelAffine.apply(input, scale, shift)


def locally_connected2d(input: Tensor, weight: Tensor, bias: Tensor | None = None,
                        stride: Any = 1, padding: Any = 0) -> Tensor:
    """The lecture's locally connected layer: like conv2d, but every output position (oh, ow)
    has its own filter. weight (OH, OW, O, C, KH, KW), bias (O, OH, OW)."""
    oh, ow, o, c, kh, kw = weight.shape
    if input.ndim != 4 or input.shape[1] != c:
        raise ShapeError(f"locally_connected2d: input {input.shape} does not fit weight "
                         f"{weight.shape} (expected (N, {c}, H, W))")
    s = pair(stride, "stride", "locally_connected2d")
    pads = conv_padding(padding, (kh, kw), (1, 1), s, "locally_connected2d")
    p = patches(input, (kh, kw), s, pads)
    if p.shape[1:3] != (oh, ow):
        raise ShapeError(f"locally_connected2d: input {input.shape} gives {p.shape[1:3]} output "
                         f"positions but the weight has {(oh, ow)}")
    n = input.shape[0]
    cols = p.reshape(n, oh * ow, -1).permute(1, 0, 2)             # (L, N, C·KH·KW)
    y = cols @ weight.reshape(oh * ow, o, -1).mT                   # (L, N, O)
    y = y.permute(1, 2, 0).reshape(n, o, oh, ow)
    return y if bias is None else y + bias


# ----------------------------------------------------------------- more activations
def _maybe_in_place(x: Tensor, f: Callable[[Tensor], Tensor], inplace: bool, op: str,
                    f_: Callable[[Tensor], Tensor] | None = None) -> Tensor:
    """f(x), or with inplace=True f(x) written into x's memory: x becomes the node f(x_old), as
    torch's in-place variants make it (a leaf that requires grad is refused outside no_grad).
    `f_` is the op's own in-place form, where it has one (relu_)."""
    if not inplace:
        return f(x)
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: inplace=True needs a Tensor input, got {type(x).__name__}")
    return f_(x) if f_ is not None else apply_inplace(x, op + "_", f)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """y = max(0, z) (`chainrule.ops.relu`); with inplace=True written into z, as in torch."""
    return _maybe_in_place(input, _act.relu, inplace, "relu", _act.relu_)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """y = z for z > 0, negative_slope · z otherwise."""
    return _maybe_in_place(input, lambda z: _act.leaky_relu(z, negative_slope), inplace,
                           "leaky_relu")


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """y = z for z > 0, α(e^z − 1) otherwise."""
    return _maybe_in_place(input, lambda z: _act.elu(z, alpha), inplace, "elu")


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """y = z · Φ(z) (Φ the standard normal CDF), or torch's tanh approximation of it."""
    return _act.gelu(input, approximate)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """y = z · σ(z)."""
    return _maybe_in_place(input, _act.silu, inplace, "silu")


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """y = min(max(z, min_val), max_val); its gradient is 0 at and beyond the bounds."""
    return _maybe_in_place(input, lambda z: _act.hardtanh(z, min_val, max_val), inplace,
                           "hardtanh")


# ----------------------------------------------------------------- layer norm, channel dropout
def layer_norm(input: Tensor, normalized_shape: Any, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalise over the trailing dims `normalized_shape` of each example:
    y = (x − μ) / √(σ² + ε) · γ + β, with μ and the biased σ² taken over those dims."""
    shape = ((int(normalized_shape),) if isinstance(normalized_shape, int | np.integer)
             else tuple(int(s) for s in normalized_shape))
    k = len(shape)
    if k == 0 or input.ndim < k or tuple(input.shape[input.ndim - k:]) != shape:
        dims = ", ".join(str(s) for s in shape)
        raise ShapeError(f"layer_norm: given normalized_shape={list(shape)}, expected input with "
                         f"shape [*, {dims}], but got input of size {list(input.shape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise ShapeError(f"layer_norm: expected {name} to be of same shape as "
                             f"normalized_shape, but got {name} of shape {list(t.shape)} and "
                             f"normalized_shape={list(shape)}")
    axes = tuple(range(input.ndim - k, input.ndim))
    centred = input - input.mean(dim=axes, keepdim=True)
    var = (centred * centred).mean(dim=axes, keepdim=True)
    y = centred / (var + eps).sqrt()
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Channel dropout: zero each whole channel (the (H, W) map of one example and channel) with
    probability p and scale the rest by 1/(1 − p). Input (N, C, H, W).

    As torch 2.x: the first two dims are always (N, C), so a 3-D input is read as (N, C, L)
    (channel-wise 1-D dropout, with torch's warning), and other ranks are deprecated.
    """
    if not 0 <= p <= 1:
        raise ValueError(f"dropout2d: dropout probability has to be between 0 and 1, but got {p}")
    if input.ndim not in (3, 4):
        warnings.warn(f"dropout2d: received a {input.ndim}-D input, which torch deprecates; "
                      "dropout2d expects (N, C, H, W) (use dropout instead)", UserWarning,
                      stacklevel=2)
    elif input.ndim == 3:
        warnings.warn("dropout2d: received a 3-D input; as torch does, it is read as (N, C, L) "
                      "and whole (n, c) rows are dropped (use dropout1d to say so, or add the "
                      "batch dim of an unbatched (C, H, W) image)", UserWarning, stacklevel=2)
    if input.ndim < 2:
        raise ShapeError(f"dropout2d: feature dropout requires at least 2 dimensions in the "
                         f"input, got shape {tuple(input.shape)}")
    if not training or p == 0:
        return input
    if p == 1:
        scale = np.zeros((), input.dtype)
    else:
        keep = default_generator().random(input.shape[:2] + (1,) * (input.ndim - 2),
                                          dtype=np.float32) >= p
        scale = (keep * (1.0 / (1.0 - p))).astype(input.dtype)
    return _maybe_in_place(input, lambda x: x * scale, inplace, "dropout2d")


# ----------------------------------------------------------------- robust and divergence losses
def _legacy_reduction(size_average: bool | None, reduce: bool | None, reduction: str) -> str:
    """torch's deprecated size_average/reduce pair, mapped to `reduction` as torch maps it."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    out = "mean" if size_average and reduce else "sum" if reduce else "none"
    warnings.warn(f"size_average and reduce args will be deprecated, please use "
                  f"reduction='{out}' instead.", UserWarning, stacklevel=3)
    return out


def _weighted_reduce(loss: Tensor, weight: Any, reduction: str, op: str, input: Tensor,
                     mean_over_weights: bool) -> Tensor:
    """Per-element weights w: 'mean' is Σ wℓ / Σ w or the plain mean of wℓ (torch's l1_loss
    and huber_loss differ in this)."""
    if weight is None:
        return _reduce(loss, reduction, op)
    w = _tensor(weight)
    if tuple(w.shape) != tuple(input.shape):
        raise ValueError(f"{op}: weights and input must have the same size, got weight of shape "
                         f"{tuple(w.shape)} and input of shape {tuple(input.shape)}")
    loss = loss * w
    if reduction == "mean" and mean_over_weights:
        return loss.sum() / w.sum()
    return _reduce(loss, reduction, op)


def l1_loss(input: Tensor, target: Any, size_average: bool | None = None,
            reduce: bool | None = None, reduction: str = "mean", weight: Any = None) -> Tensor:
    """Mean absolute error: mean over all elements of |y − t| (ȳ = sign(y − t) / n); with
    `weight`, Σ w |y − t| / Σ w."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    target = _tensor(target)
    _same_shape(input, target, "l1_loss")
    return _weighted_reduce((input - target).abs(), weight, reduction, "l1_loss", input, True)


def smooth_l1_loss(input: Tensor, target: Any, size_average: bool | None = None,
                   reduce: bool | None = None, reduction: str = "mean",
                   beta: float = 1.0) -> Tensor:
    """ℓ = ½ d² / β where |d| < β, |d| − ½β elsewhere (d = y − t); β = 0 is the L1 loss."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if beta < 0:
        raise ArgumentError(f"smooth_l1_loss: beta must not be negative, got {beta}")
    if beta == 0:
        return l1_loss(input, target, reduction=reduction)
    target = _tensor(target)
    _same_shape(input, target, "smooth_l1_loss")
    d = input - target
    z = d.abs()
    loss = where(z._data < beta, d * d * 0.5 / beta, z - 0.5 * beta)
    return _reduce(loss, reduction, "smooth_l1_loss")


def huber_loss(input: Tensor, target: Any, reduction: str = "mean", delta: float = 1.0,
               weight: Any = None) -> Tensor:
    """ℓ = ½ d² where |d| < δ, δ (|d| − ½δ) elsewhere (d = y − t): β · smooth L1 with β = δ.
    With `weight`, 'mean' is the mean of w ℓ (torch's; its l1_loss divides by Σ w instead)."""
    if delta <= 0:
        raise ArgumentError(f"huber_loss: delta must be positive, got {delta}")
    target = _tensor(target)
    _same_shape(input, target, "huber_loss")
    d = input - target
    z = d.abs()
    loss = where(z._data < delta, d * d * 0.5, (z - 0.5 * delta) * delta)
    return _weighted_reduce(loss, weight, reduction, "huber_loss", input, False)


def kl_div(input: Tensor, target: Any, size_average: bool | None = None,
           reduce: bool | None = None, reduction: str = "mean",
           log_target: bool = False) -> Tensor:
    """Kullback–Leibler divergence KL(t ‖ p) = Σ t (log t − log p), for log-probabilities
    `input` = log p and probabilities `target` = t (log-probabilities with log_target).

    'batchmean' divides the sum by the batch size (the divergence per example); 'mean' divides
    by the number of elements (torch's default, which it warns about).
    """
    legacy = size_average is not None or reduce is not None
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if reduction not in ("mean", "batchmean", "sum", "none"):
        raise ValueError(f"kl_div: reduction must be one of ('mean', 'batchmean', 'sum', "
                         f"'none'), got {reduction!r}")
    if reduction == "mean" and not legacy:
        warnings.warn("kl_div: reduction='mean' divides the total loss by both the batch size "
                      "and the support size; 'batchmean' divides only by the batch size, as "
                      "the KL divergence is defined (torch gives the same warning).",
                      UserWarning, stacklevel=2)
    target = _tensor(target)
    if target.dtype != input.dtype and target.dtype.kind != "f":
        target = target.astype(input.dtype)
    loss = KLDivergenceTerms.apply(input, target, log_target=bool(log_target))
    if reduction == "batchmean":
        total = loss.sum()
        return total / input.shape[0] if input.ndim != 0 else total
    return _reduce(loss, reduction, "kl_div")
