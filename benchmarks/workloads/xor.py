"""xor: the lecture's 2-2-1 network (tanh hidden layer, logistic output) on the 4 XOR points.

Loss ½ Σ (y − t)². Tiny tensors: this measures per-op overhead of the engine, not arithmetic.
"""

from __future__ import annotations

import numpy as np

from benchmarks.registry import ChainruleCase, Model, TorchCase, register

LR = 0.5


def init(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    f32 = np.float32
    return {
        "x": np.array([[0, 0], [0, 1], [1, 0], [1, 1]], f32),
        "t": np.array([[0], [1], [1], [0]], f32),
        "w1": rng.standard_normal((2, 2), f32),
        "b1": np.zeros(2, f32),
        "w2": rng.standard_normal((2, 1), f32),
        "b2": np.zeros(1, f32),
    }


def chainrule_case(s: dict[str, np.ndarray]) -> ChainruleCase:
    import chainrule as cr

    x, t = cr.tensor(s["x"]), cr.tensor(s["t"])
    w1, b1, w2, b2 = (cr.tensor(s[k], requires_grad=True) for k in ("w1", "b1", "w2", "b2"))

    def loss():
        h = cr.tanh(x @ w1 + b1)
        y = cr.sigmoid(h @ w2 + b2)
        return 0.5 * ((y - t) ** 2).sum()

    return ChainruleCase({"w1": w1, "b1": b1, "w2": w2, "b2": b2}, loss, LR)


def torch_case(s: dict[str, np.ndarray]) -> TorchCase:
    import torch

    x, t = torch.tensor(s["x"]), torch.tensor(s["t"])
    w1, b1, w2, b2 = (torch.tensor(s[k], requires_grad=True) for k in ("w1", "b1", "w2", "b2"))

    def loss():
        h = torch.tanh(x @ w1 + b1)
        y = torch.sigmoid(h @ w2 + b2)
        return 0.5 * ((y - t) ** 2).sum()

    return TorchCase({"w1": w1, "b1": b1, "w2": w2, "b2": b2}, loss, LR)


register(Model(
    name="xor",
    description="2-2-1 XOR net, tanh hidden, sigmoid output, ½ squared error on 4 points",
    unit="us", inner=200, quick_inner=50,
    init=init, chainrule=chainrule_case, torch=torch_case, check_grad="w1",
))
