"""Adam and AdamW (torch.optim.Adam, torch.optim.AdamW)."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.backend import jit
from chainrule.optim.optimizer import Optimizer, ParamsT, _lerp_


class Adam(Optimizer):
    r"""Adam, step for step as torch.optim.Adam.

    With g_t = ∇f(θ_{t-1}) (negated when `maximize`), γ = lr, λ = weight_decay:

        θ_{t-1} ← (1 − γλ) θ_{t-1}              (decoupled_weight_decay, i.e. AdamW)
        g_t ← g_t + λ θ_{t-1}                   (otherwise, if λ ≠ 0)
        m_t = β₁ m_{t-1} + (1 − β₁) g_t
        v_t = β₂ v_{t-1} + (1 − β₂) g_t²
        v̂_t = max(v̂_{t-1}, v_t)  (amsgrad)   or   v̂_t = v_t
        θ_t = θ_{t-1} − γ/(1 − β₁ᵗ) · m_t / (√v̂_t / √(1 − β₂ᵗ) + ε)

    State per parameter: 'step' (t), 'exp_avg' (m), 'exp_avg_sq' (v), and 'max_exp_avg_sq'
    (v̂) with amsgrad.
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, maximize: bool = False,
                 decoupled_weight_decay: bool = False) -> None:
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "amsgrad": amsgrad, "maximize": maximize,
                    "decoupled_weight_decay": decoupled_weight_decay}
        self._validate_group(defaults)
        defaults["betas"] = tuple(float(b) for b in betas)
        super().__init__(params, defaults)

    def _validate_group(self, group: dict[str, Any]) -> None:
        self._check_number(group, "lr", "learning rate")
        self._check_number(group, "eps", "epsilon value")
        betas = group["betas"]
        if not isinstance(betas, tuple | list) or len(betas) != 2:
            raise self._error(f"betas must be a pair (beta1, beta2), got {betas!r}")
        for i, b in enumerate(betas):
            self._check_number({"beta": b}, "beta", f"beta parameter at index {i}", upper=1.0)
        self._check_number(group, "weight_decay", "weight_decay value")

    def _state_keys(self, group: dict[str, Any]) -> tuple[str, ...]:
        return ("step", "exp_avg", "exp_avg_sq")  # max_exp_avg_sq starts at 0 when missing

    def _update_group(self, group: dict[str, Any]) -> None:
        lr = float(group["lr"])
        beta1, beta2 = (float(b) for b in group["betas"])
        eps = float(group["eps"])
        weight_decay = float(group["weight_decay"])
        for p in group["params"]:
            if p.grad is None:
                continue
            param = p.data
            grad = self._grad(p)
            state = self.state[p]
            if len(state) == 0:
                state["step"] = 0.0
                state["exp_avg"] = np.zeros_like(param)
                state["exp_avg_sq"] = np.zeros_like(param)
                if group["amsgrad"]:
                    state["max_exp_avg_sq"] = np.zeros_like(param)
            if group["maximize"]:
                grad = -grad
            exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
            state["step"] = step = state["step"] + 1.0
            if not group["amsgrad"] and self._fused(param, grad, exp_avg, exp_avg_sq, step,
                                                    lr, beta1, beta2, eps, weight_decay,
                                                    group["decoupled_weight_decay"]):
                continue

            if weight_decay != 0:
                if group["decoupled_weight_decay"]:
                    param *= 1 - lr * weight_decay
                else:
                    grad = grad + weight_decay * param
            _lerp_(exp_avg, grad, 1 - beta1)
            exp_avg_sq *= beta2
            exp_avg_sq += ((1 - beta2) * grad) * grad

            bias_correction1 = 1 - beta1 ** step
            bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
            step_size = lr / bias_correction1
            if group["amsgrad"]:
                max_sq = state.setdefault("max_exp_avg_sq", np.zeros_like(param))
                np.maximum(max_sq, exp_avg_sq, out=max_sq)
                denom = np.sqrt(max_sq)
            else:
                denom = np.sqrt(exp_avg_sq)
            denom /= bias_correction2_sqrt
            denom += eps
            param += (-step_size * exp_avg) / denom


    @staticmethod
    def _fused(param: np.ndarray, grad: np.ndarray, exp_avg: np.ndarray,
               exp_avg_sq: np.ndarray, step: float, lr: float, beta1: float, beta2: float,
               eps: float, weight_decay: float, decoupled: bool) -> bool:
        """The update as one compiled pass when numba is in use (False: take the NumPy path).
        The scalars are rounded to the parameter's dtype exactly where NumPy rounds them."""
        arrays = (param, grad, exp_avg, exp_avg_sq)
        if not jit.enabled() or param.dtype.kind != "f" or not all(
                a.flags.c_contiguous and a.dtype == param.dtype for a in arrays):
            return False
        f = param.dtype.type
        w1 = 1 - beta1
        _adam_step(*(a.reshape(-1) for a in arrays),
                   f(1 - lr * weight_decay) if decoupled and weight_decay else f(1),
                   f(0 if decoupled else weight_decay), abs(w1) < 0.5, f(w1), f(1.0 - w1),
                   f(beta2), f(1 - beta2), f((1 - beta2 ** step) ** 0.5), f(eps),
                   f(-(lr / (1 - beta1 ** step))))
        return True


@jit.kernel
def _adam_step(param, grad, exp_avg, exp_avg_sq, decay, weight_decay, small_w1, w1, w1c,
               beta2, one_minus_beta2, bias_correction2_sqrt, eps, neg_step_size):
    """`Adam._update_group` for one parameter (no amsgrad) in one pass, operation for operation
    in the NumPy path's order (so both give identical results)."""
    for i in range(param.size):
        p = param[i] * decay if decay != 1 else param[i]
        g = grad[i] + weight_decay * p if weight_decay != 0 else grad[i]
        m = exp_avg[i]
        m = m + w1 * (g - m) if small_w1 else g - (g - m) * w1c
        exp_avg[i] = m
        v = exp_avg_sq[i] * beta2 + (one_minus_beta2 * g) * g
        exp_avg_sq[i] = v
        param[i] = p + (neg_step_size * m) / (np.sqrt(v) / bias_correction2_sqrt + eps)


class AdamW(Adam):
    r"""AdamW, step for step as torch.optim.AdamW: Adam with decoupled weight decay.

        θ_{t-1} ← (1 − γλ) θ_{t-1},   then the Adam step without λ in the gradient

    (see `Adam` for the moment estimates). Note the default weight_decay = 1e-2.
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        for group in self.param_groups:  # AdamW always decouples, as in torch
            group["decoupled_weight_decay"] = True
