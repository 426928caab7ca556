"""Adagrad (torch.optim.Adagrad)."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from chainrule.optim.optimizer import Optimizer, ParamsT


class _Hyper(NamedTuple):
    """A group's hyperparameters, read once per step (symbols as in `Adagrad`'s docstring)."""

    lr: float
    lr_decay: float
    weight_decay: float
    initial_accumulator_value: float
    eps: float


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al. 2011), step for step as torch.optim.Adagrad.

    With g_t = ∇f(θ_{t-1}) (negated when `maximize`), γ = lr, η = lr_decay, λ = weight_decay:

        g_t ← g_t + λ θ_{t-1}                          (if λ ≠ 0)
        γ_t = γ / (1 + (t − 1) η)
        s_t = s_{t-1} + g_t²,   s_0 = initial_accumulator_value
        θ_t = θ_{t-1} − γ_t g_t / (√s_t + ε)

    State per parameter: 'step' (t) and 'sum' (s), created for every parameter when the
    optimizer is built (as torch does, so a fresh state dict lists them all), with s_0 the
    constructor's initial_accumulator_value even where a group sets its own (torch's rule).
    """

    def __init__(self, params: ParamsT, lr: float = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0,
                 eps: float = 1e-10, *, maximize: bool = False) -> None:
        defaults = {"lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value,
                    "maximize": maximize}
        self._validate_group(defaults)
        super().__init__(params, defaults)
        # As torch: every parameter given here starts from the constructor's
        # initial_accumulator_value, whatever its group says (a group added later, whose state
        # is created at its first step, starts from its own).
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p] = {"step": 0.0, "sum": np.full_like(p._data,
                                                                  initial_accumulator_value)}

    def _validate_group(self, group: dict[str, Any]) -> None:
        self._check_number(group, "lr", "learning rate")
        self._check_number(group, "lr_decay", "lr_decay value")
        self._check_number(group, "weight_decay", "weight_decay value")
        self._check_number(group, "initial_accumulator_value",
                           "initial_accumulator_value value")
        self._check_number(group, "eps", "epsilon value")

    def _state_keys(self, group: dict[str, Any]) -> tuple[str, ...]:
        return ("step", "sum")

    def _hyperparameters(self, group: dict[str, Any]) -> _Hyper:
        return _Hyper(float(group["lr"]), float(group["lr_decay"]),
                      float(group["weight_decay"]), float(group["initial_accumulator_value"]),
                      float(group["eps"]))

    def _init_state(self, param: np.ndarray, state: dict[str, Any], hyper: _Hyper) -> None:
        state["step"] = 0.0
        state["sum"] = np.full_like(param, hyper.initial_accumulator_value)

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                hyper: _Hyper) -> None:
        lr, lr_decay, weight_decay, _, eps = hyper
        state["step"] = t = state["step"] + 1.0
        if weight_decay != 0:
            grad = grad + weight_decay * param
        clr = lr / (1 + (t - 1) * lr_decay)
        total = state["sum"]
        total += grad * grad
        std = np.sqrt(total)
        std += eps
        param += (-clr * grad) / std
