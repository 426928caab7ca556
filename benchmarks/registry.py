"""The workload registry: a model written twice (chainrule and torch) from the same start.

A *model* supplies three things:

* ``init(seed)``: the initial weights and data as NumPy arrays (float32), so both libraries start
  from exactly the same numbers;
* ``chainrule(state)`` and ``torch(state)``: each returns a `Case`, i.e. the library's parameters
  (leaf tensors that require grad), a zero-argument ``loss()`` that runs the forward pass in that
  library's plain tensor ops, and the SGD learning rate.

Every registered model is benchmarked in three *phases*, each a workload named ``<model>-<phase>``:

* ``step``: one full training step (zero grads, forward, backward, SGD update under no_grad);
* ``fwdbwd``: zero grads, forward, backward (no update);
* ``fwd``: the forward pass alone, with graph recording on (the forward half of ``fwdbwd``).

To add a workload, write a module in ``benchmarks/workloads/`` that calls `register(Model(...))`
and import it from ``benchmarks/workloads/__init__.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

PHASES = ("step", "fwdbwd", "fwd")
PHASE_DOC = {
    "step": "full training step: zero grads, forward, backward, SGD update",
    "fwdbwd": "zero grads, forward, backward",
    "fwd": "forward only (graph recorded)",
}
LIBS = ("chainrule", "torch")


class Case:
    """One library's instance of a model: params, a loss closure and SGD, run the same way."""

    lib: str = ""

    def __init__(self, params: dict[str, Any], loss: Callable[[], Any], lr: float) -> None:
        self.params = params
        self._plist = list(params.values())
        self.loss = loss
        self.lr = lr

    # the three timed phases ------------------------------------------------------------
    def forward(self) -> Any:
        return self.loss()

    def forward_backward(self) -> Any:
        for p in self._plist:
            p.grad = None
        loss = self.loss()
        loss.backward()
        return loss

    def step(self) -> Any:
        loss = self.forward_backward()
        self.sgd()
        return loss

    def phase(self, name: str) -> Callable[[], Any]:
        return {"step": self.step, "fwdbwd": self.forward_backward, "fwd": self.forward}[name]

    # library specific --------------------------------------------------------------------
    def sgd(self) -> None:
        raise NotImplementedError

    def first_step(self) -> tuple[float, dict[str, np.ndarray]]:
        """Loss and every parameter's gradient after one forward/backward, as NumPy."""
        raise NotImplementedError


class ChainruleCase(Case):
    lib = "chainrule"

    def sgd(self) -> None:
        import chainrule as cr

        lr = self.lr
        with cr.no_grad():
            for p in self._plist:
                p.data -= lr * p.grad.data

    def first_step(self) -> tuple[float, dict[str, np.ndarray]]:
        loss = self.forward_backward()
        return loss.item(), {k: p.grad.data.copy() for k, p in self.params.items()}


class TorchCase(Case):
    lib = "torch"

    def sgd(self) -> None:
        import torch

        lr = self.lr
        with torch.no_grad():
            for p in self._plist:
                p -= lr * p.grad

    def first_step(self) -> tuple[float, dict[str, np.ndarray]]:
        loss = self.forward_backward()
        return loss.item(), {k: p.grad.detach().numpy().copy() for k, p in self.params.items()}


@dataclass(frozen=True)
class Model:
    """A benchmark model; registered once, it yields the workloads ``<name>-<phase>``."""

    name: str
    description: str
    unit: str  # "us" or "ms": how per-iteration times are reported
    inner: int  # iterations per timed sample (the sample's time is divided by it)
    init: Callable[[int], dict[str, np.ndarray]]
    chainrule: Callable[[dict[str, np.ndarray]], Case]
    torch: Callable[[dict[str, np.ndarray]], Case]
    quick_inner: int = 0  # iterations per sample under --quick (default inner // 4)
    check_grad: str = ""  # the gradient printed by the startup check (all are compared)
    phases: tuple[str, ...] = PHASES

    def build(self, lib: str, seed: int) -> Case:
        state = {k: v.copy() for k, v in self.init(seed).items()}
        return self.chainrule(state) if lib == "chainrule" else self.torch(state)


@dataclass(frozen=True)
class Workload:
    model: Model
    phase: str

    @property
    def name(self) -> str:
        return f"{self.model.name}-{self.phase}"


MODELS: dict[str, Model] = {}


def register(model: Model) -> Model:
    if model.name in MODELS:
        raise ValueError(f"benchmark model {model.name!r} registered twice")
    if model.unit not in ("us", "ms"):
        raise ValueError(f"{model.name}: unit must be 'us' or 'ms', got {model.unit!r}")
    MODELS[model.name] = model
    return model


def workloads() -> list[Workload]:
    return [Workload(m, p) for m in MODELS.values() for p in m.phases]


def select(names: list[str] | None) -> list[Workload]:
    """All workloads, or those named (a model name selects all of its phases)."""
    every = workloads()
    if not names:
        return every
    known = {w.name for w in every} | set(MODELS)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"unknown workload(s) {', '.join(unknown)}; choose from: "
                         + ", ".join(sorted(known)))
    return [w for w in every if w.name in names or w.model.name in names]
