"""Stochastic gradient descent with (Nesterov) momentum and weight decay: torch.optim.SGD."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.backend import jit
from chainrule.backend.buffers import empty, memory_order
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
            if (momentum != 0 and not group["maximize"] and not group["nesterov"]
                    and dampening == 0 and self._fused(p, param, grad, lr, momentum,
                                                       weight_decay)):
                continue
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

    def _fused(self, p: Any, param: np.ndarray, grad: np.ndarray, lr: float, momentum: float,
               weight_decay: float) -> bool:
        """The common update (momentum, maybe weight decay) as one compiled pass over the
        arrays, when numba is in use; False if this parameter takes the NumPy path."""
        buf = self.state[p].get("momentum_buffer")
        if (not jit.enabled() or buf is None or param.dtype.kind != "f"
                or not (param.flags.c_contiguous and grad.flags.c_contiguous
                        and buf.flags.c_contiguous and buf.dtype == param.dtype)):
            return False
        f = param.dtype.type
        _momentum_step(param.reshape(-1), grad.reshape(-1), buf.reshape(-1), f(lr),
                       f(momentum), f(weight_decay))
        return True


@jit.kernel
def _momentum_step(param, grad, buf, lr, momentum, weight_decay):
    """θ ← θ − γ b with b ← μ b + (g + λ θ) in one pass (flat arrays), in the NumPy path's order
    of operations, so both paths give identical results."""
    for i in range(param.size):
        g = grad[i]
        if weight_decay != 0:
            g = g + param[i] * weight_decay
        b = buf[i] * momentum + g
        buf[i] = b
        param[i] = param[i] - b * lr

