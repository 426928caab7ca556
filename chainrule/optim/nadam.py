"""NAdam: Adam with Nesterov momentum (torch.optim.NAdam)."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from chainrule import _dtypes
from chainrule.backend.updates import _lerp_
from chainrule.optim.optimizer import Optimizer, ParamsT
from chainrule.tensor import Tensor


class _Hyper(NamedTuple):
    """A group's hyperparameters, read once per step (symbols as in `NAdam`'s docstring)."""

    lr: float
    beta1: float
    beta2: float
    eps: float
    weight_decay: float
    momentum_decay: float
    decoupled_weight_decay: bool


class NAdam(Optimizer):
    r"""NAdam (Dozat 2016), step for step as torch.optim.NAdam.

    With g_t = ∇f(θ_{t-1}) (negated when `maximize`), γ = lr, λ = weight_decay,
    ψ = momentum_decay:

        θ_{t-1} ← (1 − γλ) θ_{t-1}                      (decoupled_weight_decay)
        g_t ← g_t + λ θ_{t-1}                           (otherwise, if λ ≠ 0)
        μ_t = β₁ (1 − ½ · 0.96^(tψ)),   μ_{t+1} = β₁ (1 − ½ · 0.96^((t+1)ψ))
        Π_t = Π_{t-1} μ_t                               (Π_0 = 1)
        m_t = β₁ m_{t-1} + (1 − β₁) g_t
        v_t = β₂ v_{t-1} + (1 − β₂) g_t²
        d_t = √(v_t / (1 − β₂ᵗ)) + ε
        θ_t = θ_{t-1} − γ (1 − μ_t)/(1 − Π_t) · g_t / d_t − γ μ_{t+1}/(1 − Π_t μ_{t+1}) · m_t / d_t

    State per parameter: 'step' (t), 'mu_product' (Π, a number rounded to the default float
    dtype at every step, as torch keeps it in a float32 tensor), 'exp_avg' (m), 'exp_avg_sq' (v).
    """

    def __init__(self, params: ParamsT, lr: float = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, maximize: bool = False) -> None:
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "momentum_decay": momentum_decay,
                    "decoupled_weight_decay": decoupled_weight_decay, "maximize": maximize}
        self._validate_group(defaults)
        defaults["betas"] = tuple(float(b) for b in betas)
        super().__init__(params, defaults)

    def _validate_group(self, group: dict[str, Any]) -> None:
        self._check_number(group, "lr", "learning rate")
        self._check_number(group, "eps", "epsilon value")
        self._check_betas(group)
        self._check_number(group, "weight_decay", "weight_decay value")
        self._check_number(group, "momentum_decay", "momentum_decay value")

    def _state_keys(self, group: dict[str, Any]) -> tuple[str, ...]:
        return ("step", "mu_product", "exp_avg", "exp_avg_sq")

    def _hyperparameters(self, group: dict[str, Any]) -> _Hyper:
        beta1, beta2 = group["betas"]
        return _Hyper(float(group["lr"]), float(beta1), float(beta2), float(group["eps"]),
                      float(group["weight_decay"]), float(group["momentum_decay"]),
                      bool(group["decoupled_weight_decay"]))

    def _init_state(self, param: np.ndarray, state: dict[str, Any], hyper: _Hyper) -> None:
        state["step"] = 0.0
        state["mu_product"] = 1.0
        state["exp_avg"] = np.zeros_like(param)
        state["exp_avg_sq"] = np.zeros_like(param)

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                hyper: _Hyper) -> None:
        lr, beta1, beta2, eps, weight_decay, momentum_decay, decoupled = hyper
        state["step"] = t = state["step"] + 1.0
        bias_correction2 = 1 - beta2 ** t
        if weight_decay != 0:
            if decoupled:
                param *= 1 - lr * weight_decay
            else:
                grad = grad + weight_decay * param
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * momentum_decay))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
        scalar = _dtypes.default_float.type
        mu_product = float(scalar(state["mu_product"]) * scalar(mu))
        state["mu_product"] = mu_product
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        _lerp_(exp_avg, grad, 1 - beta1)
        exp_avg_sq *= beta2
        exp_avg_sq += ((1 - beta2) * grad) * grad
        denom = np.sqrt(exp_avg_sq / bias_correction2)
        denom += eps
        param += (-lr * (1.0 - mu) / (1.0 - mu_product) * grad) / denom
        param += (-lr * mu_next / (1.0 - mu_product * mu_next) * exp_avg) / denom

    @staticmethod
    def _load_value(name: str, index: int, p: Tensor, key: str, value: Any) -> Any:
        if key == "mu_product":  # a number (torch saves a 0-d tensor)
            return float(np.asarray(value._data if isinstance(value, Tensor) else value).item())
        return Optimizer._load_value(name, index, p, key, value)
