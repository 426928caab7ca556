"""Adam and AdamW (torch.optim.Adam, torch.optim.AdamW)."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from chainrule.backend.updates import adam
from chainrule.optim.optimizer import Optimizer, ParamsT


class _Hyper(NamedTuple):
    """A group's hyperparameters, read once per step (symbols as in `Adam`'s docstring)."""

    lr: float
    beta1: float
    beta2: float
    eps: float
    weight_decay: float
    amsgrad: bool
    decoupled_weight_decay: bool


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
        self._check_betas(group)
        self._check_number(group, "weight_decay", "weight_decay value")

    def _state_keys(self, group: dict[str, Any]) -> tuple[str, ...]:
        return ("step", "exp_avg", "exp_avg_sq")  # max_exp_avg_sq starts at 0 when missing

    def _hyperparameters(self, group: dict[str, Any]) -> _Hyper:
        beta1, beta2 = group["betas"]
        return _Hyper(float(group["lr"]), float(beta1), float(beta2), float(group["eps"]),
                      float(group["weight_decay"]), bool(group["amsgrad"]),
                      bool(group["decoupled_weight_decay"]))

    def _init_state(self, param: np.ndarray, state: dict[str, Any], hyper: _Hyper) -> None:
        state["step"] = 0.0
        state["exp_avg"] = np.zeros_like(param)
        state["exp_avg_sq"] = np.zeros_like(param)
        if hyper.amsgrad:
            state["max_exp_avg_sq"] = np.zeros_like(param)

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                hyper: _Hyper) -> None:
        """One step of the rule above, in place (as NumPy code: `backend.updates.adam`)."""
        lr, beta1, beta2, eps, weight_decay, amsgrad, decoupled = hyper
        state["step"] = t = state["step"] + 1.0
        max_exp_avg_sq = self._buffer(state, "max_exp_avg_sq", param) if amsgrad else None
        adam(param, grad, state["exp_avg"], state["exp_avg_sq"], max_exp_avg_sq, t, lr, beta1,
             beta2, eps, weight_decay, decoupled)


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
