"""Stochastic gradient descent with (Nesterov) momentum and weight decay: torch.optim.SGD."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from chainrule.backend.updates import sgd
from chainrule.optim.optimizer import Optimizer, ParamsT


class _Hyper(NamedTuple):
    """A group's hyperparameters, read once per step (symbols as in `SGD`'s docstring)."""

    lr: float
    momentum: float
    dampening: float
    weight_decay: float
    nesterov: bool


class SGD(Optimizer):
    r"""Stochastic gradient descent, step for step as torch.optim.SGD.

    With g_t = ∇f(θ_{t-1}) (negated when `maximize`), λ = weight_decay, μ = momentum,
    τ = dampening, γ = lr:

        g_t ← g_t + λ θ_{t-1}                          (if λ ≠ 0)
        b_1 = g_1,  b_t = μ b_{t-1} + (1 − τ) g_t      (if μ ≠ 0)
        g_t ← g_t + μ b_t  (nesterov)  or  g_t ← b_t
        θ_t = θ_{t-1} − γ g_t

    State per parameter: 'momentum_buffer' (b_t), only when μ ≠ 0.
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float = 0, nesterov: bool = False, *,
                 maximize: bool = False) -> None:
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening,
                    "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize}
        self._validate_group(defaults)
        super().__init__(params, defaults)

    def _validate_group(self, group: dict[str, Any]) -> None:
        self._check_number(group, "lr", "learning rate")
        self._check_number(group, "momentum", "momentum value")
        self._check_number(group, "weight_decay", "weight_decay value")
        self._check_number(group, "dampening", "dampening value", lower=-float("inf"))
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise self._error("Nesterov momentum requires a momentum and zero dampening")

    def _hyperparameters(self, group: dict[str, Any]) -> _Hyper:
        return _Hyper(float(group["lr"]), float(group["momentum"]), float(group["dampening"]),
                      float(group["weight_decay"]), bool(group["nesterov"]))

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                hyper: _Hyper) -> None:
        """One step of the rule above, in place (as NumPy code: `backend.updates.sgd`)."""
        lr, momentum, dampening, weight_decay, nesterov = hyper
        buf = state.get("momentum_buffer")
        new_buf = sgd(param, grad, buf, lr, momentum, dampening, weight_decay, nesterov)
        if new_buf is not buf:  # b_1 = g_1: the buffer starts with the first step with momentum
            state["momentum_buffer"] = new_buf
