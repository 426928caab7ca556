"""The optimizers' updates, in place: each rule's NumPy twin beside its one-pass compiled kernel.

NumPy twins: the code after each function's kernel branch, operation for operation the update
its optimizer's docstring states (`chainrule.optim.SGD`, `Adam`, `RMSprop`). The twin makes one
NumPy pass over the parameter per operation; the kernel makes one pass in all, in the same order
of operations and with the scalars rounded to the parameter's dtype exactly where NumPy rounds
them, so both paths give the same bits. The kernels cover the common cases (SGD with plain
momentum, Adam without AMSGrad, RMSprop uncentered) on C-contiguous float arrays of one dtype,
when `jit.enabled()`; everything else takes the NumPy twin.

Every function updates `param` and the state arrays in place and never writes into `grad`.
"""

from __future__ import annotations

import numpy as np

from chainrule.backend import jit
from chainrule.backend.buffers import empty, memory_order


def sgd(param: np.ndarray, grad: np.ndarray, momentum_buffer: np.ndarray | None, lr: float,
        momentum: float = 0.0, dampening: float = 0.0, weight_decay: float = 0.0,
        nesterov: bool = False) -> np.ndarray | None:
    """θ ← θ − γ d with g ← g + λθ and, when μ ≠ 0, b ← μ b + (1 − τ) g (b = g on the first
    step, when `momentum_buffer` is None), d = g + μ b (Nesterov) or d = b; without momentum
    d = g. Returns the momentum buffer: `momentum_buffer` itself, updated, or the new one."""
    if (momentum != 0 and momentum_buffer is not None and dampening == 0 and not nesterov
            and _fusable(param, grad, momentum_buffer)):
        f = param.dtype.type
        _sgd_momentum_kernel(param.ravel(), grad.ravel(), momentum_buffer.ravel(),
                             f(lr), f(momentum), f(weight_decay))
        return momentum_buffer
    # Every step rewrites the same few arrays: scratch space comes from the buffer cache and
    # updates run in place, so a step allocates no fresh memory (no page faults). The scratch
    # array is laid out like param (None: C order, without memory_order's costlier sort).
    order = None if param.flags.c_contiguous else memory_order(param)
    tmp = empty(param.shape, param.dtype, order)
    if weight_decay != 0:
        grad = np.add(grad, np.multiply(param, weight_decay, out=tmp), out=tmp)
    buf = momentum_buffer
    if momentum != 0:
        if buf is None:
            buf = np.array(grad, copy=True)
        else:
            buf *= momentum
            buf += grad if dampening == 0 else (1 - dampening) * grad
        grad = grad + momentum * buf if nesterov else buf
    param -= np.multiply(grad, lr, out=tmp)
    return buf


@jit.kernel
def _sgd_momentum_kernel(param, grad, buf, lr, momentum, weight_decay):
    """θ ← θ − γ b with b ← μ b + (g + λ θ) in one pass (flat arrays), in the NumPy path's order
    of operations, so both paths give identical results."""
    for i in range(param.size):
        g = grad[i]
        if weight_decay != 0:
            g = g + param[i] * weight_decay
        b = buf[i] * momentum + g
        buf[i] = b
        param[i] = param[i] - b * lr


def adam(param: np.ndarray, grad: np.ndarray, exp_avg: np.ndarray, exp_avg_sq: np.ndarray,
         max_exp_avg_sq: np.ndarray | None, step: float, lr: float, beta1: float, beta2: float,
         eps: float, weight_decay: float = 0.0, decoupled: bool = False) -> None:
    """Adam's step t = `step` (already counted): weight decay (decoupled: θ ← (1 − γλ) θ, else
    g ← g + λθ), m ← lerp(m, g, 1 − β₁), v ← β₂ v + (1 − β₂) g², and with AMSGrad (when
    `max_exp_avg_sq` is given) v̂ ← max(v̂, v), then θ ← θ − γ/(1 − β₁ᵗ) · m / (√v̂ / √(1 − β₂ᵗ)
    + ε) (v̂ = v without AMSGrad)."""
    if max_exp_avg_sq is None and _fusable(param, grad, exp_avg, exp_avg_sq):
        f = param.dtype.type
        w1 = 1 - beta1
        _adam_kernel(param.ravel(), grad.ravel(), exp_avg.ravel(), exp_avg_sq.ravel(),
                     f(1 - lr * weight_decay) if decoupled and weight_decay else f(1),
                     f(0 if decoupled else weight_decay), abs(w1) < 0.5, f(w1), f(1.0 - w1),
                     f(beta2), f(1 - beta2), f((1 - beta2 ** step) ** 0.5), f(eps),
                     f(-(lr / (1 - beta1 ** step))))
        return
    if weight_decay != 0:
        if decoupled:
            param *= 1 - lr * weight_decay
        else:
            grad = grad + weight_decay * param
    _lerp_(exp_avg, grad, 1 - beta1)
    exp_avg_sq *= beta2
    exp_avg_sq += ((1 - beta2) * grad) * grad

    bias_correction1 = 1 - beta1 ** step
    bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
    step_size = lr / bias_correction1
    if max_exp_avg_sq is not None:
        np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        denom = np.sqrt(max_exp_avg_sq)
    else:
        denom = np.sqrt(exp_avg_sq)
    denom /= bias_correction2_sqrt
    denom += eps
    param += (-step_size * exp_avg) / denom


@jit.kernel
def _adam_kernel(param, grad, exp_avg, exp_avg_sq, decay, weight_decay, small_w1, w1, w1c,
                 beta2, one_minus_beta2, bias_correction2_sqrt, eps, neg_step_size):
    """`adam` for one parameter (no AMSGrad) in one pass over flat arrays, operation for
    operation in the NumPy path's order (so both give identical results)."""
    for i in range(param.size):
        p = param[i] * decay if decay != 1 else param[i]
        g = grad[i] + weight_decay * p if weight_decay != 0 else grad[i]
        m = exp_avg[i]
        m = m + w1 * (g - m) if small_w1 else g - (g - m) * w1c
        exp_avg[i] = m
        v = exp_avg_sq[i] * beta2 + (one_minus_beta2 * g) * g
        exp_avg_sq[i] = v
        param[i] = p + (neg_step_size * m) / (np.sqrt(v) / bias_correction2_sqrt + eps)


def rmsprop(param: np.ndarray, grad: np.ndarray, square_avg: np.ndarray,
            momentum_buffer: np.ndarray | None, grad_avg: np.ndarray | None, lr: float,
            alpha: float, eps: float, weight_decay: float = 0.0, momentum: float = 0.0) -> None:
    """RMSprop's step: g ← g + λθ, v ← α v + (1 − α) g², centered (when `grad_avg` is given)
    ḡ ← lerp(ḡ, g, 1 − α) and d = √(v − ḡ²) + ε, else d = √v + ε; then with momentum (when
    `momentum_buffer` is given: pass it exactly when μ > 0) b ← μ b + g / d, θ ← θ − γ b, else
    θ ← θ − γ g / d."""
    if grad_avg is None and (_fusable(param, grad, square_avg) if momentum_buffer is None
                             else _fusable(param, grad, square_avg, momentum_buffer)):
        f = param.dtype.type
        sq = square_avg.ravel()
        # Without momentum the kernel never reads its buffer argument: any array of the type
        # will do.
        buf = sq if momentum_buffer is None else momentum_buffer.ravel()
        _rmsprop_kernel(param.ravel(), grad.ravel(), sq, buf, momentum_buffer is not None,
                        f(lr), f(-lr), f(alpha), f(1 - alpha), f(eps), f(weight_decay),
                        f(momentum))
        return
    if weight_decay != 0:
        grad = grad + weight_decay * param
    square_avg *= alpha
    square_avg += ((1 - alpha) * grad) * grad
    if grad_avg is not None:
        _lerp_(grad_avg, grad, 1 - alpha)
        avg = np.sqrt(square_avg + (-grad_avg) * grad_avg)
    else:
        avg = np.sqrt(square_avg)
    avg += eps
    if momentum_buffer is not None:
        momentum_buffer *= momentum
        momentum_buffer += grad / avg
        param -= lr * momentum_buffer
    else:
        param += (-lr * grad) / avg


@jit.kernel
def _rmsprop_kernel(param, grad, square_avg, buf, use_momentum, lr, neg_lr, alpha,
                    one_minus_alpha, eps, weight_decay, momentum):
    """`rmsprop` for one parameter (not centered) in one pass over flat arrays, operation for
    operation in the NumPy path's order. `buf` is unused without momentum."""
    for i in range(param.size):
        g = grad[i] + weight_decay * param[i] if weight_decay != 0 else grad[i]
        s = square_avg[i] * alpha + (one_minus_alpha * g) * g
        square_avg[i] = s
        a = np.sqrt(s) + eps
        if use_momentum:
            b = buf[i] * momentum + g / a
            buf[i] = b
            param[i] = param[i] - lr * b
        else:
            param[i] = param[i] + (neg_lr * g) / a


def _fusable(param: np.ndarray, *others: np.ndarray) -> bool:
    """Whether the kernels can run: numba in use, and C-contiguous float arrays of one dtype. A
    kernel walks them as flat arrays in step: `ravel()` of each, a view (and, called once per
    parameter and step, cheaper than reshape(-1))."""
    if not jit.enabled_for(param) or param.dtype.kind != "f" or not param.flags.c_contiguous:
        return False
    dtype = param.dtype
    for a in others:
        if a.dtype != dtype or not a.flags.c_contiguous:
            return False
    return True


def _lerp_(a: np.ndarray, b: np.ndarray, weight: float) -> None:
    """a <- a + weight (b - a), in place, with torch's two forms for small and large weights."""
    if abs(weight) < 0.5:
        a += weight * (b - a)
    else:
        np.subtract(b, (b - a) * (1.0 - weight), out=a)
