"""Adadelta (torch.optim.Adadelta)."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from chainrule.optim.optimizer import Optimizer, ParamsT


class _Hyper(NamedTuple):
    """A group's hyperparameters, read once per step (symbols as in `Adadelta`'s docstring)."""

    lr: float
    rho: float
    eps: float
    weight_decay: float


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler 2012), step for step as torch.optim.Adadelta.

    With g_t = ∇f(θ_{t-1}) (negated when `maximize`), γ = lr, λ = weight_decay:

        g_t ← g_t + λ θ_{t-1}                                  (if λ ≠ 0)
        v_t = ρ v_{t-1} + (1 − ρ) g_t²
        Δ_t = √(u_{t-1} + ε) / √(v_t + ε) · g_t
        u_t = ρ u_{t-1} + (1 − ρ) Δ_t²
        θ_t = θ_{t-1} − γ Δ_t

    State per parameter: 'step', 'square_avg' (v), 'acc_delta' (u).
    """

    def __init__(self, params: ParamsT, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, *, maximize: bool = False) -> None:
        defaults = {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay,
                    "maximize": maximize}
        self._validate_group(defaults)
        super().__init__(params, defaults)

    def _validate_group(self, group: dict[str, Any]) -> None:
        self._check_number(group, "lr", "learning rate")
        self._check_number(group, "rho", "rho value", upper=1.0, upper_inclusive=True)
        self._check_number(group, "eps", "epsilon value")
        self._check_number(group, "weight_decay", "weight_decay value")

    def _state_keys(self, group: dict[str, Any]) -> tuple[str, ...]:
        return ("step", "square_avg", "acc_delta")

    def _hyperparameters(self, group: dict[str, Any]) -> _Hyper:
        return _Hyper(float(group["lr"]), float(group["rho"]), float(group["eps"]),
                      float(group["weight_decay"]))

    def _init_state(self, param: np.ndarray, state: dict[str, Any], hyper: _Hyper) -> None:
        state["step"] = 0.0
        state["square_avg"] = np.zeros_like(param)
        state["acc_delta"] = np.zeros_like(param)

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                hyper: _Hyper) -> None:
        lr, rho, eps, weight_decay = hyper
        state["step"] += 1.0
        if weight_decay != 0:
            grad = grad + weight_decay * param
        square_avg, acc_delta = state["square_avg"], state["acc_delta"]
        square_avg *= rho
        square_avg += ((1 - rho) * grad) * grad
        delta = np.sqrt(acc_delta + eps)
        delta /= np.sqrt(square_avg + eps)
        delta *= grad
        acc_delta *= rho
        acc_delta += ((1 - rho) * delta) * delta
        param += -lr * delta
