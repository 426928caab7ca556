"""Training: `fit` (epochs of minibatch gradient descent with progress and history), `evaluate`,
and checkpoints that let a run resume exactly where it stopped."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from chainrule import distributed, io
from chainrule.autograd.grad_mode import no_grad
from chainrule.nn.module import Module
from chainrule.tensor import Tensor, default_generator
from chainrule.utils.progress import progress as progress_bar

Record = dict[str, Any]


def accuracy(output: Tensor, target: Tensor) -> float:
    """Fraction of rows whose largest output is the target class."""
    return float(np.mean(np.argmax(output._data, axis=-1) == target._data))


class Callback:
    """Hooks into `fit`; override what you need. Return True from on_epoch_end to stop early."""

    def on_epoch_begin(self, epoch: int) -> None: ...

    def on_batch_end(self, step: int, loss: float) -> None: ...

    def on_epoch_end(self, epoch: int, record: Record) -> bool | None: ...


class History(list):
    """One record (a dict) per epoch: epoch, train_loss, train_accuracy, val_*, lr, seconds."""

    def column(self, key: str) -> list[Any]:
        return [r.get(key) for r in self]


def evaluate(model: Module, loader: Iterable[tuple[Tensor, Tensor]],
             loss_fn: Callable[[Tensor, Tensor], Tensor] | None = None, *,
             all_ranks: bool = False) -> Record:
    """Mean loss (when loss_fn is given) and accuracy over a loader, in eval mode without grad.
    `all_ranks`: each MPI rank's loader holds its share, and the sums are added over the ranks
    (every rank must call it; `fit` does so under several ranks)."""
    was_training = model.training
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    try:
        with no_grad():
            for x, y in loader:
                out = model(x)
                n = len(y)
                if loss_fn is not None:
                    total_loss += float(loss_fn(out, y).item()) * n
                correct += int(np.sum(np.argmax(out._data, axis=-1) == y._data))
                count += n
    finally:
        model.train(was_training)
    if all_ranks:
        total_loss, correct, count = distributed.all_reduce([total_loss, correct, count])
    if count == 0:
        raise ValueError("evaluate: the loader yielded no examples")
    record = {"loss": total_loss / count} if loss_fn is not None else {}
    record["accuracy"] = correct / count
    return record


def _lr(optimizer: Any) -> float:
    return float(optimizer.param_groups[0]["lr"])


def save_checkpoint(path: str | os.PathLike, model: Module, optimizer: Any = None,
                    scheduler: Any = None, loader: Any = None, epoch: int = 0,
                    history: Sequence[Record] = (), config: dict[str, Any] | None = None
                    ) -> None:
    """Everything a run needs to continue exactly: weights, optimizer and scheduler state, the
    data order (loader and global RNG state), the epoch reached and the history so far."""
    state: dict[str, Any] = {
        "model": dict(model.state_dict()),
        "epoch": epoch,
        "history": [dict(r) for r in history],
        "rng": default_generator().bit_generator.state,
        "config": config or {},
    }
    if optimizer is not None:
        state["optimizer"] = optimizer.state_dict()
    if scheduler is not None:
        state["scheduler"] = scheduler.state_dict()
    if loader is not None and hasattr(loader, "state_dict"):
        state["loader"] = loader.state_dict()
    io.save(state, path)


def load_checkpoint(path: str | os.PathLike, model: Module, optimizer: Any = None,
                    scheduler: Any = None, loader: Any = None) -> dict[str, Any]:
    """Restore what `save_checkpoint` wrote; returns the checkpoint (epoch, history, config)."""
    state = io.load(path)
    if not isinstance(state, dict) or "model" not in state:
        raise io.CheckpointError(f"{path}: not a chainrule training checkpoint (no 'model' entry)")
    model.load_state_dict(state["model"])
    if optimizer is not None and "optimizer" in state:
        optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None and "scheduler" in state:
        scheduler.load_state_dict(state["scheduler"])
    if loader is not None and "loader" in state and hasattr(loader, "load_state_dict"):
        loader.load_state_dict(state["loader"])
    if "rng" in state:
        default_generator().bit_generator.state = state["rng"]
    return state


def fit(model: Module, train_loader: Any, loss_fn: Callable[[Tensor, Tensor], Tensor],
        optimizer: Any, epochs: int, *, val_loader: Any = None, val_name: str = "val",
        scheduler: Any = None, scheduler_interval: str = "epoch",
        metrics: dict[str, Callable[[Tensor, Tensor], float]] | None = None,
        callbacks: Sequence[Callback] = (), progress: bool | None = None,
        log: Callable[[str], None] | None = print, checkpoint: str | os.PathLike | None = None,
        resume: bool = False, config: dict[str, Any] | None = None,
        initial_epoch: int = 0, initial_history: Sequence[Record] = ()) -> History:
    """Train for `epochs` epochs and return the per-epoch history.

    Each step is the lecture's recipe: forward, loss, backward (error signals for every
    parameter), optimizer update. `metrics` maps names to fn(output, target) averaged over the
    epoch (accuracy is always included). `scheduler_interval` is 'epoch' or 'batch'. With
    `checkpoint`, the full training state is saved after every epoch; with `resume=True` and an
    existing checkpoint, training continues from it exactly as an uninterrupted run would.
    A caller that restored the state itself passes `initial_epoch` (the epochs already done)
    and `initial_history` (their records) instead.
    """
    if scheduler_interval not in ("epoch", "batch"):
        raise ValueError(f"fit: scheduler_interval must be 'epoch' or 'batch', "
                         f"got {scheduler_interval!r}")
    metric_fns = {"accuracy": accuracy, **(metrics or {})}
    history = History(initial_history)
    start = initial_epoch
    # Data-parallel under MPI: every rank trains on its share, rank 0 alone reports and saves
    # (the bare model, so the checkpoint loads with or without DistributedDataParallel).
    ranks, main_rank = distributed.world_size(), distributed.rank() == 0
    if not main_rank:
        log, progress = None, False
    bare = model.module if isinstance(model, distributed.DistributedDataParallel) else model
    set_epoch = getattr(getattr(train_loader, "sampler", None), "set_epoch", None)
    if resume and checkpoint is not None and os.path.exists(checkpoint):
        state = load_checkpoint(checkpoint, bare, optimizer, scheduler, train_loader)
        start = int(state["epoch"])
        history.extend(state.get("history", []))
        if log:
            log(f"resumed from {checkpoint} after epoch {start}")
    for epoch in range(start + 1, epochs + 1):
        for cb in callbacks:
            cb.on_epoch_begin(epoch)
        model.train()
        if set_epoch is not None:  # DistributedSampler: this epoch's order
            set_epoch(epoch - 1)
        t0 = time.perf_counter()
        sums = dict.fromkeys(["loss", *metric_fns], 0.0)
        seen = 0
        # Without tqdm a plain one-line counter shows instead of the bar. `with` closes the bar
        # on an error too, so the message is not printed onto the bar's line.
        bar = progress_bar(total=len(train_loader), desc=f"epoch {epoch}/{epochs}",
                           unit="batch", enabled=progress, dynamic_ncols=True)
        with bar:
            for step, (x, y) in enumerate(train_loader, 1):
                out = model(x)
                loss = loss_fn(out, y)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                if scheduler is not None and scheduler_interval == "batch":
                    scheduler.step()
                n = len(y)
                value = float(loss.item())
                if not math.isfinite(value):
                    raise FloatingPointError(f"fit: the loss became {value} at epoch {epoch}, "
                                             f"step {step}; lower the learning rate")
                sums["loss"] += value * n
                for name, fn in metric_fns.items():
                    sums[name] += fn(out, y) * n
                seen += n
                for cb in callbacks:
                    cb.on_batch_end(step, value)
                bar.update(1)
                if step % 10 == 0 or step == len(train_loader):
                    bar.set_postfix(loss=f"{sums['loss'] / seen:.4f}",
                                    acc=f"{sums['accuracy'] / seen:.4f}")
        if ranks > 1:
            keys = list(sums)
            *totals, seen = distributed.all_reduce([*(sums[k] for k in keys), seen])
            sums = dict(zip(keys, totals, strict=True))
        record: Record = {"epoch": epoch}
        record.update({f"train_{k}": v / max(seen, 1) for k, v in sums.items()})
        record["lr"] = _lr(optimizer)
        if scheduler is not None and scheduler_interval == "epoch":
            scheduler.step()
        if val_loader is not None:
            result = evaluate(model, val_loader, loss_fn, all_ranks=ranks > 1)
            record.update({f"{val_name}_{k}": v for k, v in result.items()})
        record["seconds"] = time.perf_counter() - t0
        history.append(record)
        if log:
            log(format_record(record))
        if checkpoint is not None and main_rank:
            save_checkpoint(checkpoint, bare, optimizer, scheduler, train_loader, epoch,
                            history, config)
        if any(cb.on_epoch_end(epoch, record) for cb in callbacks):
            break
    return history


def format_record(record: Record) -> str:
    """One summary line per epoch."""
    parts = [f"epoch {record['epoch']:3d}"]
    for key in record:
        if key in ("epoch", "seconds", "lr"):
            continue
        value = record[key]
        parts.append(f"{key} {value:.2%}" if key.endswith("accuracy") else f"{key} {value:.4f}")
    parts.append(f"lr {record['lr']:.3g}")
    parts.append(f"{record['seconds']:.1f}s")
    return "  ".join(parts)
