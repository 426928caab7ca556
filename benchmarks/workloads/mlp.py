"""mlp: a 784-256-10 ReLU network on a batch of 128 random float32 inputs with random labels.

Cross-entropy written out in plain tensor ops, identically in both libraries:
loss = −Σ (log_softmax(z) ∘ onehot) / N. Dominated by the three 128×784×256-sized matmuls.
"""

from __future__ import annotations

import numpy as np

from benchmarks.registry import ChainruleCase, Model, TorchCase, register

N, D_IN, D_HID, D_OUT = 128, 784, 256, 10
LR = 0.01


def init(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    f32 = np.float32

    def uniform(fan_in: int, shape: tuple[int, ...]) -> np.ndarray:
        bound = 1 / np.sqrt(fan_in)  # torch.nn.Linear's default range
        return rng.uniform(-bound, bound, shape).astype(f32)

    labels = rng.integers(0, D_OUT, N)
    return {
        "x": rng.standard_normal((N, D_IN), f32),
        "onehot": np.eye(D_OUT, dtype=f32)[labels],
        "w1": uniform(D_IN, (D_IN, D_HID)),
        "b1": uniform(D_IN, (D_HID,)),
        "w2": uniform(D_HID, (D_HID, D_OUT)),
        "b2": uniform(D_HID, (D_OUT,)),
    }


def chainrule_case(s: dict[str, np.ndarray]) -> ChainruleCase:
    import chainrule as cr

    x, onehot = cr.tensor(s["x"]), cr.tensor(s["onehot"])
    w1, b1, w2, b2 = (cr.tensor(s[k], requires_grad=True) for k in ("w1", "b1", "w2", "b2"))
    n = x.shape[0]

    def loss():
        h = cr.relu(x @ w1 + b1)
        z = h @ w2 + b2
        return -(cr.log_softmax(z, dim=1) * onehot).sum() / n

    return ChainruleCase({"w1": w1, "b1": b1, "w2": w2, "b2": b2}, loss, LR)


def torch_case(s: dict[str, np.ndarray]) -> TorchCase:
    import torch

    x, onehot = torch.tensor(s["x"]), torch.tensor(s["onehot"])
    w1, b1, w2, b2 = (torch.tensor(s[k], requires_grad=True) for k in ("w1", "b1", "w2", "b2"))
    n = x.shape[0]

    def loss():
        h = torch.relu(x @ w1 + b1)
        z = h @ w2 + b2
        return -(torch.log_softmax(z, dim=1) * onehot).sum() / n

    return TorchCase({"w1": w1, "b1": b1, "w2": w2, "b2": b2}, loss, LR)


register(Model(
    name="mlp",
    description=f"MLP {D_IN}-{D_HID}-{D_OUT} ReLU, batch {N}, log_softmax·onehot cross-entropy",
    unit="ms", inner=10, quick_inner=3,
    init=init, chainrule=chainrule_case, torch=torch_case, check_grad="w1",
))
