"""The workload registry: a model written twice (chainrule and torch) from the same start.

A *model* supplies three things:

* ``init(seed)``: the initial weights and data as NumPy arrays (float32), so both libraries start
  from exactly the same numbers;
* ``chainrule(state)`` and ``torch(state)``: each returns a `Case`, i.e. the library's parameters
  (leaf tensors that require grad), a zero-argument ``loss()`` that runs the forward pass in that
  library's plain tensor ops, and the SGD learning rate.

Every registered model is benchmarked in its *phases* (by default the first three), each a
workload named ``<model>-<phase>`` unless the model's ``names`` says otherwise:

* ``step``: one full training step (zero grads, forward, backward, SGD update under no_grad);
* ``fwdbwd``: zero grads, forward, backward (no update);
* ``fwd``: the forward pass alone, with graph recording on (the forward half of ``fwdbwd``);
* ``epoch``: a training step (zero grads, forward, cross-entropy, backward, optimizer step) on
  the next batch of a fixed slice of a shuffled epoch; the report extrapolates per-step time to
  an epoch (``steps_per_epoch``);
* ``infer``: the forward pass under no_grad (eval mode), the next batch of a fixed slice.

Models built from nn modules (`benchmarks.workloads.nets`) cycle through pre-batched data, so
their ``step`` / ``fwd`` / ``fwdbwd`` also take the next batch each call; `Case.begin_sample`
rewinds to the slice's first batch before every timed sample.

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
    "epoch": "training step on the epoch's next batch: zero grads, forward, cross-entropy, "
             "backward, SGD(momentum) step",
    "infer": "inference: forward only under no_grad, eval mode",
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

    def infer(self) -> Any:
        raise NotImplementedError(f"{type(self).__name__} has no inference phase")

    def phase(self, name: str) -> Callable[[], Any]:
        return {"step": self.step, "fwdbwd": self.forward_backward, "fwd": self.forward,
                "epoch": self.step, "infer": self.infer}[name]

    def begin_sample(self) -> None:
        """Called right before each timed sample (after its untimed warm-up call)."""

    def after_step_loss(self) -> float | None:
        """For the startup check, after `first_step`: apply the update, return the next loss."""
        return None

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
        return loss.item(), {k: p.grad.numpy().copy() for k, p in self.params.items()}


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


@dataclass(frozen=True, eq=False)
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
    names: tuple[tuple[str, str], ...] = ()  # (phase, workload name) where not <name>-<phase>
    group: str = ""  # family name: `--only <group>` selects every model of the family
    rounds: int = 0  # default timed rounds for this model (0: the runner's default)
    warmup: int = -1  # default warm-up rounds (-1: the runner's default)
    steps_per_epoch: int = 0  # for the 'epoch' phase: report per-step time x this
    batch: int = 0  # batch size, for the report

    def workload_name(self, phase: str) -> str:
        return dict(self.names).get(phase, f"{self.name}-{phase}")

    def build(self, lib: str, seed: int) -> Case:
        state = {k: v.copy() for k, v in self.init(seed).items()}
        return self.chainrule(state) if lib == "chainrule" else self.torch(state)


@dataclass(frozen=True)
class Workload:
    model: Model
    phase: str

    @property
    def name(self) -> str:
        return self.model.workload_name(self.phase)


MODELS: dict[str, Model] = {}
# Lines for the report that workloads add while building (e.g. where their data came from).
NOTES: dict[str, str] = {}


def register(model: Model) -> Model:
    if model.name in MODELS:
        raise ValueError(f"benchmark model {model.name!r} registered twice")
    unknown = [p for p in model.phases if p not in PHASE_DOC]
    if unknown:
        raise ValueError(f"{model.name}: unknown phase(s) {unknown}")
    taken = {w.name for w in workloads()}
    clash = [model.workload_name(p) for p in model.phases if model.workload_name(p) in taken]
    if clash:
        raise ValueError(f"{model.name}: workload name(s) {clash} already registered")
    if model.unit not in ("us", "ms"):
        raise ValueError(f"{model.name}: unit must be 'us' or 'ms', got {model.unit!r}")
    MODELS[model.name] = model
    return model


def workloads() -> list[Workload]:
    return [Workload(m, p) for m in MODELS.values() for p in m.phases]


def select(names: list[str] | None) -> list[Workload]:
    """All workloads, or those named (a model or group name selects all of its workloads)."""
    every = workloads()
    if not names:
        return every
    groups = {m.group for m in MODELS.values() if m.group}
    known = {w.name for w in every} | set(MODELS) | groups
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"unknown workload(s) {', '.join(unknown)}; choose from: "
                         + ", ".join(sorted(known)))
    return [w for w in every
            if w.name in names or w.model.name in names or w.model.group in names]
