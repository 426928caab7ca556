"""RMSprop (torch.optim.RMSprop)."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from chainrule.backend.updates import rmsprop
from chainrule.optim.optimizer import Optimizer, ParamsT


class _Hyper(NamedTuple):
    """A group's hyperparameters, read once per step (symbols as in `RMSprop`'s docstring)."""

    lr: float
    alpha: float
    eps: float
    weight_decay: float
    momentum: float
    centered: bool


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

    def _hyperparameters(self, group: dict[str, Any]) -> _Hyper:
        return _Hyper(float(group["lr"]), float(group["alpha"]), float(group["eps"]),
                      float(group["weight_decay"]), float(group["momentum"]),
                      bool(group["centered"]))

    def _init_state(self, param: np.ndarray, state: dict[str, Any], hyper: _Hyper) -> None:
        state["step"] = 0.0
        state["square_avg"] = np.zeros_like(param)
        if hyper.momentum > 0:
            state["momentum_buffer"] = np.zeros_like(param)
        if hyper.centered:
            state["grad_avg"] = np.zeros_like(param)

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                hyper: _Hyper) -> None:
        """One step of the rule above, in place (as NumPy code: `backend.updates.rmsprop`)."""
        lr, alpha, eps, weight_decay, momentum, centered = hyper
        state["step"] += 1.0
        buf = self._buffer(state, "momentum_buffer", param) if momentum > 0 else None
        grad_avg = self._buffer(state, "grad_avg", param) if centered else None
        rmsprop(param, grad, state["square_avg"], buf, grad_avg, lr, alpha, eps, weight_decay,
                momentum)
