"""RMSprop (torch.optim.RMSprop)."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.backend import jit
from chainrule.optim.optimizer import Optimizer, ParamsT, _lerp_


class RMSprop(Optimizer):
    r"""RMSprop, step for step as torch.optim.RMSprop.

    With g_t = ∇f(θ_{t-1}) (negated when `maximize`), γ = lr, λ = weight_decay, μ = momentum:

        g_t ← g_t + λ θ_{t-1}                            (if λ ≠ 0)
        v_t = α v_{t-1} + (1 − α) g_t²
        ḡ_t = α ḡ_{t-1} + (1 − α) g_t                    (centered)
        d_t = √(v_t − ḡ_t²) + ε  (centered)   or   d_t = √v_t + ε
        b_t = μ b_{t-1} + g_t / d_t,  θ_t = θ_{t-1} − γ b_t     (if μ > 0)
        θ_t = θ_{t-1} − γ g_t / d_t                             (otherwise)

    State per parameter: 'step', 'square_avg' (v), 'momentum_buffer' (b) when μ > 0 and
    'grad_avg' (ḡ) when centered.
    """

    def __init__(self, params: ParamsT, lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0, momentum: float = 0,
                 centered: bool = False, *, maximize: bool = False) -> None:
        defaults = {"lr": lr, "momentum": momentum, "alpha": alpha, "eps": eps,
                    "centered": centered, "weight_decay": weight_decay, "maximize": maximize}
        self._validate_group(defaults)
        super().__init__(params, defaults)

    def _validate_group(self, group: dict[str, Any]) -> None:
        self._check_number(group, "lr", "learning rate")
        self._check_number(group, "eps", "epsilon value")
        self._check_number(group, "momentum", "momentum value")
        self._check_number(group, "weight_decay", "weight_decay value")
        self._check_number(group, "alpha", "alpha value")

    def _state_keys(self, group: dict[str, Any]) -> tuple[str, ...]:
        return ("step", "square_avg")  # the optional buffers start at 0 when missing

    def _update_group(self, group: dict[str, Any]) -> None:
        lr = float(group["lr"])
        alpha = float(group["alpha"])
        eps = float(group["eps"])
        weight_decay = float(group["weight_decay"])
        momentum = float(group["momentum"])
        for p in group["params"]:
            if p.grad is None:
                continue
            param = p.data
            grad = self._grad(p)
            state = self.state[p]
            if len(state) == 0:
                state["step"] = 0.0
                state["square_avg"] = np.zeros_like(param)
                if momentum > 0:
                    state["momentum_buffer"] = np.zeros_like(param)
                if group["centered"]:
                    state["grad_avg"] = np.zeros_like(param)
            if group["maximize"]:
                grad = -grad
            square_avg = state["square_avg"]
            state["step"] += 1.0
            if not group["centered"] and self._fused(param, grad, square_avg,
                                                     state.get("momentum_buffer"), lr, alpha,
                                                     eps, weight_decay, momentum):
                continue

            if weight_decay != 0:
                grad = grad + weight_decay * param
            square_avg *= alpha
            square_avg += ((1 - alpha) * grad) * grad
            if group["centered"]:
                grad_avg = state.setdefault("grad_avg", np.zeros_like(param))
                _lerp_(grad_avg, grad, 1 - alpha)
                avg = np.sqrt(square_avg + (-grad_avg) * grad_avg)
            else:
                avg = np.sqrt(square_avg)
            avg += eps
            if momentum > 0:
                buf = state.setdefault("momentum_buffer", np.zeros_like(param))
                buf *= momentum
                buf += grad / avg
                param -= lr * buf
            else:
                param += (-lr * grad) / avg

    @staticmethod
    def _fused(param: np.ndarray, grad: np.ndarray, square_avg: np.ndarray,
               buf: np.ndarray | None, lr: float, alpha: float, eps: float,
               weight_decay: float, momentum: float) -> bool:
        """The (uncentered) update as one compiled pass when numba is in use (False: take the
        NumPy path). Scalars are rounded to the parameter's dtype where NumPy rounds them."""
        if momentum > 0 and buf is None:
            return False
        arrays = (param, grad, square_avg) + ((buf,) if momentum > 0 else ())
        if not jit.enabled() or param.dtype.kind != "f" or not all(
                a.flags.c_contiguous and a.dtype == param.dtype for a in arrays):
            return False
        f = param.dtype.type
        flat = [a.reshape(-1) for a in arrays]
        _rmsprop_step(flat[0], flat[1], flat[2], flat[-1], momentum > 0, f(lr), f(-lr),
                      f(alpha), f(1 - alpha), f(eps), f(weight_decay), f(momentum))
        return True


@jit.kernel
def _rmsprop_step(param, grad, square_avg, buf, use_momentum, lr, neg_lr, alpha,
                  one_minus_alpha, eps, weight_decay, momentum):
    """`RMSprop._update_group` for one parameter (not centered) in one pass, operation for
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
