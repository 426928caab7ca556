"""The lecture's worked backprop examples as graphs (float64), for `chainrule trace NAME` and the
docs. Each returns the value to differentiate and the names of its nodes."""

from __future__ import annotations

from collections.abc import Callable

import chainrule as cr
from chainrule.nn import functional as F
from chainrule.tensor import Tensor

Example = tuple[Tensor, dict[str, Tensor]]


def _scalar(v: float, requires_grad: bool = False) -> Tensor:
    return cr.tensor(v, dtype=cr.float64, requires_grad=requires_grad)


def logistic(w: float = 0.5, b: float = -1.5, x: float = 2.0, t: float = 0.0,
             lam: float = 0.01) -> Example:
    """Univariate logistic least squares with an L2 regulariser:
    z = wx + b,  y = σ(z),  L = ½(y − t)²,  R = ½w²,  L_reg = L + λR."""
    w_, b_ = _scalar(w, True), _scalar(b, True)
    x_, t_, lam_ = _scalar(x), _scalar(t), _scalar(lam)
    z = w_ * x_ + b_
    y = z.sigmoid()
    L = 0.5 * (y - t_) ** 2
    R = 0.5 * w_ ** 2
    L_reg = L + lam_ * R
    return L_reg, {"w": w_, "b": b_, "x": x_, "t": t_, "λ": lam_, "z": z, "y": y, "L": L,
                   "R": R, "L_reg": L_reg}


def multivariate(t: float = 0.7) -> Example:
    """The multivariate chain rule: f(x, y) = y + e^{xy} with x = cos t, y = t²."""
    t_ = _scalar(t, True)
    x = t_.cos()
    y = t_ ** 2
    f = y + (x * y).exp()
    return f, {"t": t_, "x": x, "y": y, "f": f}


def mlp() -> Example:
    """The lecture's multilayer perceptron, 2 inputs, 3 logistic hidden units, 2 outputs:
    z = W⁽¹⁾x + b⁽¹⁾,  h = σ(z),  y = W⁽²⁾h + b⁽²⁾,  L = ½‖y − t‖²."""
    def param(rows: list) -> Tensor:
        return cr.tensor(rows, dtype=cr.float64, requires_grad=True)

    W1 = param([[0.1, -0.2], [0.4, 0.3], [-0.5, 0.2]])
    b1 = param([0.1, 0.0, -0.1])
    W2 = param([[0.3, -0.1, 0.2], [-0.4, 0.5, 0.1]])
    b2 = param([0.05, -0.05])
    x = cr.tensor([1.0, 2.0], dtype=cr.float64)
    t = cr.tensor([1.0, 0.0], dtype=cr.float64)
    z = F.linear(x, W1, b1)
    h = z.sigmoid()
    y = F.linear(h, W2, b2)
    L = 0.5 * ((y - t) ** 2).sum()
    return L, {"W⁽¹⁾": W1, "b⁽¹⁾": b1, "W⁽²⁾": W2, "b⁽²⁾": b2, "x": x, "t": t, "z": z, "h": h,
               "y": y, "L": L}


EXAMPLES: dict[str, tuple[str, Callable[[], Example]]] = {
    "logistic": ("univariate logistic least squares with L2: z = wx + b, y = σ(z), "
                 "L = ½(y − t)², R = ½w², L_reg = L + λR", logistic),
    "multivariate": ("the multivariate chain rule: f = y + e^{xy}, x = cos t, y = t²",
                     multivariate),
    "mlp": ("the lecture's MLP: z = W⁽¹⁾x + b⁽¹⁾, h = σ(z), y = W⁽²⁾h + b⁽²⁾, "
            "L = ½‖y − t‖²", mlp),
}


def example(name: str) -> Example:
    if name not in EXAMPLES:
        raise ValueError(f"trace: unknown example {name!r}; the examples are "
                         f"{', '.join(EXAMPLES)}")
    return EXAMPLES[name][1]()
