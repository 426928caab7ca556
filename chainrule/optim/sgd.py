"""Stochastic gradient descent with (Nesterov) momentum and weight decay: torch.optim.SGD."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.autograd.function import empty, memory_order
from chainrule.optim.optimizer import Optimizer, ParamsT


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

    def _update_group(self, group: dict[str, Any]) -> None:
        lr = float(group["lr"])
        momentum = float(group["momentum"])
        dampening = float(group["dampening"])
        weight_decay = float(group["weight_decay"])
        for p in group["params"]:
            if p.grad is None:
                continue
            param = p.data
            grad = self._grad(p)
            # Every step rewrites the same few arrays: scratch space comes from the buffer cache
            # and updates run in place, so a step allocates no fresh memory (no page faults).
            tmp = empty(param.shape, param.dtype, memory_order(param))
            if group["maximize"]:
                grad = -grad
            if weight_decay != 0:
                grad = np.add(grad, np.multiply(param, weight_decay, out=tmp), out=tmp)
            if momentum != 0:
                state = self.state[p]
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = np.array(grad, copy=True)
                    state["momentum_buffer"] = buf
                else:
                    buf *= momentum
                    buf += grad if dampening == 0 else (1 - dampening) * grad
                grad = grad + momentum * buf if group["nesterov"] else buf
            param -= np.multiply(grad, lr, out=tmp)
