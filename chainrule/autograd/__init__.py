"""Automatic differentiation: graph nodes (`Function`), the backprop engine, grad modes, checks."""

from chainrule.autograd.engine import backprop, backpropagate, backward, grad, topological_order
from chainrule.autograd.function import Function
from chainrule.autograd.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from chainrule.autograd.gradcheck import GradcheckError, gradcheck

__all__ = [
    "Function", "GradcheckError", "backprop", "backpropagate", "backward", "enable_grad", "grad",
    "gradcheck", "is_grad_enabled", "no_grad", "set_grad_enabled", "topological_order",
]
