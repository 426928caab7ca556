"""One playground run on chainrule's engine: the data, the network (an `nn.Sequential` of
`nn.Linear` layers and the chosen unit), the optimizer, the training steps, the pictures the page
draws, the look-inside trace of one example, and the export (checkpoint and script).

A `Session` is used from several server threads (the training loop, the page's requests); every
public method takes its lock.
"""

from __future__ import annotations

import base64
import io as _io
import json
import os
import tempfile
import threading
from typing import Any

import numpy as np

import chainrule as cr
from chainrule import nn, optim
from chainrule.nn import functional as F
from chainrule.playground import config as C
from chainrule.playground import datasets as D

REGION = 40        # the output picture: REGION × REGION points
UNIT_STRIDE = 2    # each unit's picture takes every second point of it (20 × 20)
HISTORY = 400      # loss-curve points kept (older ones thinned out)

UNITS = {"identity": nn.Identity, "relu": nn.ReLU, "softplus": nn.Softplus,
         "threshold": nn.HardThreshold, "logistic": nn.Sigmoid, "tanh": nn.Tanh}
UNIT_CODE = {"identity": "nn.Identity()", "relu": "nn.ReLU()", "softplus": "nn.Softplus()",
             "threshold": "nn.HardThreshold()", "logistic": "nn.Sigmoid()", "tanh": "nn.Tanh()"}
NOTES = {
    "threshold": "The hard threshold y = 𝕀[z > 0] has ∂y/∂z = 0 wherever the derivative exists, "
                 "so every error signal z̄ = ȳ · 0 reaching the layers below it is 0: only the "
                 "last layer's weights ever change (watch the gradient norms). This is why the "
                 "lecture trains with smooth units.",
    "identity": "With the identity unit every layer is affine, and a stack of affine layers is "
                "one affine map W′x + b′: the network can only draw a straight boundary.",
}

# Model construction reads chainrule's global generator; sessions live in several threads.
_SEED_LOCK = threading.Lock()


def build_model(n_in: int, layers: list[int], activation: str, n_out: int, seed: int
                ) -> nn.Sequential:
    """Linear → unit → … → Linear, initialised from `seed` as chainrule's nn.Linear does."""
    mods: list[nn.Module] = []
    sizes = [n_in, *layers]
    with _SEED_LOCK:
        cr.manual_seed(seed)
        for a, b in zip(sizes, sizes[1:], strict=False):
            mods += [nn.Linear(a, b), UNITS[activation]()]
        mods.append(nn.Linear(sizes[-1], n_out))
    return nn.Sequential(*mods)


def data_loss(out: cr.Tensor, t: cr.Tensor, problem: str, loss: str) -> cr.Tensor:
    """The mean loss of outputs `out` (n, n_out) against targets `t`."""
    if problem == "binary":
        z = out[:, 0]
        if loss == "cross-entropy":
            return F.binary_cross_entropy_with_logits(z, t)
        return F.mse_loss(F.sigmoid(z), t)
    if problem == "multiclass":
        if loss == "cross-entropy":
            return F.cross_entropy(out, t)
        return F.mse_loss(F.softmax(out, dim=1), cr.eye(out.shape[1])[t])
    return F.mse_loss(out[:, 0], t)


def penalty(model: nn.Module, reg: str) -> cr.Tensor | None:
    """Σ|w| (L1) or Σw² (L2) over the weight matrices (biases are not regularised)."""
    if reg == "none":
        return None
    terms = [(p.abs() if reg == "l1" else p * p).sum()
             for name, p in model.named_parameters() if name.endswith("weight")]
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    return total


def make_optimizer(model: nn.Module, name: str, lr: float) -> optim.Optimizer:
    if name == "adam":
        return optim.Adam(model.parameters(), lr=lr)
    return optim.SGD(model.parameters(), lr=lr, momentum=0.9 if name == "momentum" else 0.0)


class Batches:
    """Minibatch indices: a fresh permutation of the training set each epoch (the last batch of
    an epoch may be smaller), drawn from default_rng(seed)."""

    def __init__(self, n: int, size: int, seed: int) -> None:
        self.n, self.size = n, size
        self.rng = np.random.default_rng(seed)
        self.perm = self.rng.permutation(n)
        self.pos = 0

    def next(self) -> np.ndarray:
        if self.pos >= self.n:
            self.perm, self.pos = self.rng.permutation(self.n), 0
        idx = self.perm[self.pos:self.pos + self.size]
        self.pos += self.size
        return idx


def _wb(lin: nn.Linear) -> tuple[cr.Tensor, cr.Tensor]:
    """A layer's weight and bias (the playground's layers always have one)."""
    assert lin.bias is not None
    return lin.weight, lin.bias


def _pack(values: np.ndarray) -> str:
    """Values in [−1, 1] as base64 of int8 (× 127): small enough to stream 10 times a second."""
    q = np.round(np.clip(np.nan_to_num(values), -1, 1) * 127).astype(np.int8)
    return base64.b64encode(q.tobytes()).decode("ascii")


def _round(a: np.ndarray, digits: int = 4) -> Any:
    return np.round(np.asarray(a, dtype=np.float64), digits).tolist()


class Session:
    """One run: settings `cfg` (validated by config.validate), optionally an uploaded dataset."""

    def __init__(self, cfg: dict[str, Any], upload: tuple[np.ndarray, np.ndarray, str, int]
                 | None = None) -> None:
        self.lock = threading.RLock()
        self.upload = upload
        self.data_version = 0
        self.configure(cfg)

    # -------------------------------------------------------------- setting up
    def configure(self, cfg: dict[str, Any]) -> None:
        """Start over with settings `cfg`: new data, new network, iteration 0."""
        with self.lock:
            if cfg["dataset"] == "custom" and self.upload is None:
                raise C.ConfigError("dataset: custom needs an uploaded CSV file first")
            self.cfg = cfg
            if cfg["dataset"] == "custom":
                assert self.upload is not None
                X, y, problem, k = self.upload
                self.data = D.from_upload(X, y, problem, k, seed=cfg["seed"], ratio=cfg["ratio"])
            else:
                self.data = D.generate(cfg["dataset"], seed=cfg["seed"], points=cfg["points"],
                                       noise=cfg["noise"], ratio=cfg["ratio"],
                                       classes=cfg["classes"])
            self.data_version += 1
            self.reset()

    def set_upload(self, upload: tuple[np.ndarray, np.ndarray, str, int]) -> None:
        with self.lock:
            self.upload = upload
            self.configure({**self.cfg, "dataset": "custom", "preset": "none"})

    @property
    def problem(self) -> str:
        return self.data.problem

    @property
    def loss_name(self) -> str:
        return "squared" if self.problem == "regression" else self.cfg["loss"]

    @property
    def n_out(self) -> int:
        return self.data.classes if self.problem == "multiclass" else 1

    def reset(self) -> None:
        """Fresh weights from the seed (and the preset's hand-set ones), iteration 0."""
        with self.lock:
            cfg = self.cfg
            self.model = build_model(len(cfg["features"]), cfg["layers"], cfg["activation"],
                                     self.n_out, cfg["seed"])
            self.opt = make_optimizer(self.model, cfg["optimizer"], cfg["lr"])
            self.batches = Batches(self.data.n_train, cfg["batch"], cfg["seed"])
            self.Xf_train = cr.from_numpy(D.features(self.data.X_train, cfg["features"]))
            self.Xf_test = cr.from_numpy(D.features(self.data.X_test, cfg["features"]))
            ttype = np.int64 if self.problem == "multiclass" else np.float32
            self.t_train = cr.from_numpy(self.data.y_train.astype(ttype))
            self.t_test = cr.from_numpy(self.data.y_test.astype(ttype))
            self.iteration = 0
            # (iteration, layer, row, column or -1 for the bias, value)
            self.edits: list[tuple[int, int, int, int, float]] = []
            self.history: list[tuple[int, float, float]] = []
            self.grad_norms: list[float] = [0.0] * (len(cfg["layers"]) + 1)
            if cfg["preset"] != "none":
                for layer, (W, b) in C.PRESETS[cfg["preset"]]["weights"].items():
                    for r, row in enumerate(W):
                        for c, v in enumerate(row):
                            self._edit(layer, r, c, v)
                        self._edit(layer, r, -1, b[r])
            self._record_losses()

    def linears(self) -> list[nn.Linear]:
        return [m for m in self.model if isinstance(m, nn.Linear)]

    def _edit(self, layer: int, row: int, col: int, value: float) -> None:
        W, b = _wb(self.linears()[layer])
        with cr.no_grad():
            if col < 0:
                b[row] = value
            else:
                W[row, col] = value
        self.edits.append((self.iteration, layer, row, col, float(value)))

    def set_weight(self, layer: Any, row: Any, col: Any, value: Any) -> None:
        """Set one weight (col −1: the bias) by hand, as the page's weight editor does."""
        with self.lock:
            lins = self.linears()
            for name, v, hi in (("layer", layer, len(lins)),):
                if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < hi:
                    raise C.ConfigError(f"{name}: expected an integer in [0, {hi - 1}], got {v!r}")
            W = lins[layer].weight
            rows, cols = W.shape
            if isinstance(row, bool) or not isinstance(row, int) or not 0 <= row < rows:
                raise C.ConfigError(f"row: expected an integer in [0, {rows - 1}], got {row!r}")
            if isinstance(col, bool) or not isinstance(col, int) or not -1 <= col < cols:
                raise C.ConfigError(f"col: expected an integer in [-1, {cols - 1}] (-1: the "
                                    f"bias), got {col!r}")
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not np.isfinite(value) or abs(value) > 100:
                raise C.ConfigError(f"value: expected a number in [-100, 100], got {value!r}")
            self._edit(layer, row, col, float(value))

    # -------------------------------------------------------------- training
    def _loss(self, out: cr.Tensor, t: cr.Tensor) -> cr.Tensor:
        return data_loss(out, t, self.problem, self.loss_name)

    def step(self, n: int = 1) -> None:
        """n minibatch steps of the optimizer on loss + rate · penalty."""
        with self.lock:
            reg, rate = self.cfg["reg"], self.cfg["regRate"]
            for _ in range(n):
                idx = cr.from_numpy(self.batches.next())
                loss = self._loss(self.model(self.Xf_train[idx]), self.t_train[idx])
                p = penalty(self.model, reg) if rate > 0 else None
                if p is not None:
                    loss = loss + rate * p
                self.opt.zero_grad()
                loss.backward()
                self.opt.step()
                self.iteration += 1
            self.grad_norms = [float(np.linalg.norm(lin.weight.grad.detach().numpy()))
                               if lin.weight.grad is not None else 0.0
                               for lin in self.linears()]
            self._record_losses()

    def _record_losses(self) -> None:
        with cr.no_grad():
            train = float(self._loss(self.model(self.Xf_train), self.t_train).item())
            test = (float(self._loss(self.model(self.Xf_test), self.t_test).item())
                    if len(self.data.X_test) else float("nan"))
        if self.history and self.history[-1][0] == self.iteration:
            self.history[-1] = (self.iteration, train, test)
        else:
            self.history.append((self.iteration, train, test))
        if len(self.history) > HISTORY:  # thin out the older half, keep the recent detail
            keep = self.history[:HISTORY // 2:2] + self.history[HISTORY // 2:]
            self.history = keep

    # -------------------------------------------------------------- pictures
    def _grid(self) -> np.ndarray:
        lo, hi = self.data.domain
        s = np.linspace(lo, hi, REGION)
        gx, gy = np.meshgrid(s, s[::-1])  # row 0 at the top: y decreasing
        return np.stack([gx.ravel(), gy.ravel()], axis=1)

    def snapshot(self, with_data: bool = False) -> dict[str, Any]:
        """Everything the page draws, JSON-ready."""
        with self.lock, cr.no_grad():
            grid = self._grid()
            feats = D.features(grid, self.cfg["features"])
            h = cr.from_numpy(feats)
            maps: list[list[str]] = []
            for m in self.model:
                h = m(h)
                if not isinstance(m, nn.Linear):  # after each unit: that layer's pictures
                    maps.append(self._unit_maps(h.detach().numpy()))
            out = h.detach().numpy()
            region: dict[str, Any] = {"size": REGION}
            if self.problem == "binary":
                p = 1 / (1 + np.exp(-out[:, 0].astype(np.float64)))
                region["values"] = _pack(2 * p - 1)
            elif self.problem == "multiclass":
                e = np.exp(out - out.max(axis=1, keepdims=True))
                prob = e / e.sum(axis=1, keepdims=True)
                region["classes"] = base64.b64encode(prob.argmax(1).astype(np.int8).tobytes()
                                                     ).decode("ascii")
                region["values"] = _pack(prob.max(1) * 2 - 1)
            else:
                region["values"] = _pack(out[:, 0])
            inputs = self._unit_maps(feats / max(1.0, float(np.abs(feats).max())))
            state: dict[str, Any] = {
                "iteration": self.iteration,
                "train_loss": self.history[-1][1], "test_loss": self.history[-1][2],
                "history": self.history, "problem": self.problem, "classes": self.data.classes,
                "loss": self.loss_name, "region": region, "inputs": inputs, "units": maps,
                "weights": [{"W": _round(W.detach().numpy()), "b": _round(b.detach().numpy())}
                            for W, b in map(_wb, self.linears())],
                "grad_norms": self.grad_norms, "note": NOTES.get(self.cfg["activation"]),
                "config": self.cfg, "data_version": self.data_version,
                "domain": list(self.data.domain),
            }
            if with_data:
                state["data"] = {"train": self._points(self.data.X_train, self.data.y_train),
                                 "test": self._points(self.data.X_test, self.data.y_test)}
            return state

    def _unit_maps(self, values: np.ndarray) -> list[str]:
        sub = values.reshape(REGION, REGION, -1)[::UNIT_STRIDE, ::UNIT_STRIDE]
        return [_pack(sub[:, :, j]) for j in range(sub.shape[2])]

    @staticmethod
    def _points(X: np.ndarray, y: np.ndarray) -> list[list[float]]:
        return np.round(np.column_stack([X, y]).astype(np.float64), 3).tolist()

    # -------------------------------------------------------------- look inside
    def inspect(self, split: Any, index: Any) -> dict[str, Any]:
        """The backprop trace of one example: forward values on every unit, then each error
        signal v̄ in reverse order, as chainrule.inspect.trace computes them."""
        from chainrule.inspect.trace import trace

        with self.lock:
            if split not in ("train", "test"):
                raise C.ConfigError(f"split: expected train or test, got {split!r}")
            X = self.Xf_train if split == "train" else self.Xf_test
            T = self.t_train if split == "train" else self.t_test
            n = X.shape[0]
            if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < n:
                raise C.ConfigError(f"index: expected an integer in [0, {n - 1}], got {index!r}")
            x = X[index:index + 1].detach().clone()
            t = T[index:index + 1].detach().clone()
            sup = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
            names: dict[str, cr.Tensor] = {"x": x, "t": t}
            h = x
            lins = self.linears()
            units = [m for m in self.model if not isinstance(m, nn.Linear)]
            for i, lin in enumerate(lins):
                k = f"⁽{str(i + 1).translate(sup)}⁾"
                W, b = _wb(lin)
                names["W" + k], names["b" + k] = W, b
                z = F.linear(h, W, b)
                if i < len(units):
                    names["z" + k] = z
                    h = units[i](z)
                    if h is not z:
                        names["h" + k] = h
                else:
                    names["z"] = z
                    out = z
            if self.problem == "binary" and self.loss_name == "cross-entropy":
                # the lecture's form, y = σ(z) and L = −t log y − (1 − t) log(1 − y): the same
                # value as the training loss (BCE on the logit), with ȳ and z̄ = ȳ · y(1 − y)
                z1 = out[:, 0]
                y = F.sigmoid(z1)
                names["z₁"], names["y"] = z1, y
                loss = F.binary_cross_entropy(y, t)
            else:
                loss = self._loss(out, t)
            names["L"] = loss
            tr = trace(loss, names, file=None)
            point = (self.data.X_train if split == "train" else self.data.X_test)[index]
            return {
                "split": split, "index": index, "point": _round(point, 3),
                "target": float(T[index].item()),
                "forward": [{"index": f.index, "name": f.name, "kind": f.kind, "op": f.op,
                             "rule": f.rule, "value": _round(f.value)} for f in tr.forward],
                "backward": [{"name": b.name, "bar": b.bar, "rule": b.rule,
                              "value": _round(b.value),
                              "terms": [{"child": t_.child, "rule": t_.rule,
                                         "value": _round(t_.value)} for t_ in b.terms]}
                             for b in tr.backward],
                "text": tr.to_text(),
            }

    # -------------------------------------------------------------- export
    def checkpoint_bytes(self) -> bytes:
        """The model's state_dict as a safetensors checkpoint (chainrule.io), the settings in
        its metadata."""
        with self.lock:
            meta = {"playground_config": json.dumps(self.cfg),
                    "iteration": str(self.iteration)}
            fd, name = tempfile.mkstemp(suffix=".safetensors")
            os.close(fd)
            try:
                cr.save(self.model.state_dict(), name, metadata=meta)
                with open(name, "rb") as f:
                    return f.read()
            finally:
                os.unlink(name)

    def script(self) -> str:
        """A Python program that rebuilds this run with chainrule and saves its weights."""
        with self.lock:
            return _script(self)


def _script(s: Session) -> str:
    cfg = s.cfg
    if cfg["dataset"] == "custom":
        buf = _io.StringIO()
        np.savetxt(buf, np.column_stack([s.data.X, s.data.y]), fmt="%.17g", delimiter=",")
        data_src = (
            "# the uploaded points, already shuffled as the playground did\n"
            f"rows = np.loadtxt(io.StringIO('''{buf.getvalue()}'''), delimiter=',', ndmin=2)\n"
            f"X, y = rows[:, :2], rows[:, 2]\n"
            f"n_train = {s.data.n_train}\n")
    else:
        data_src = (
            f"data = generate({cfg['dataset']!r}, seed={cfg['seed']}, points={cfg['points']}, "
            f"noise={cfg['noise']}, ratio={cfg['ratio']}, classes={cfg['classes']})\n"
            "X, y, n_train = data.X, data.y, data.n_train\n")
    sizes = [len(cfg["features"]), *cfg["layers"]]
    unit = UNIT_CODE[cfg["activation"]]
    layers = "".join(f"        nn.Linear({a}, {b}), {unit},\n"
                     for a, b in zip(sizes, sizes[1:], strict=False))
    layers += f"        nn.Linear({sizes[-1]}, {s.n_out}),\n"
    opt = {"sgd": f"optim.SGD(model.parameters(), lr={cfg['lr']!r}, momentum=0.0)",
           "momentum": f"optim.SGD(model.parameters(), lr={cfg['lr']!r}, momentum=0.9)",
           "adam": f"optim.Adam(model.parameters(), lr={cfg['lr']!r})"}[cfg["optimizer"]]
    ttype = "np.int64" if s.problem == "multiclass" else "np.float32"
    reg = ""
    if cfg["reg"] != "none" and cfg["regRate"] > 0:
        reg = (f"    loss = loss + {cfg['regRate']!r} * penalty(model, {cfg['reg']!r})"
               "  # weights only\n")
    edits = "{" + ", ".join(f"({it}, {l}, {r}, {c}): {v!r}" for it, l, r, c, v in s.edits) + "}"
    return f'''"""Reproduces a chainrule playground run: {cfg['dataset']} data, features
{', '.join(cfg['features'])}, hidden layers {cfg['layers']} of {cfg['activation']} units,
{cfg['optimizer']} (lr {cfg['lr']}), {s.loss_name} loss, {s.iteration} iterations.

    python this_script.py [out.safetensors]
"""

import io
import sys

import numpy as np

import chainrule as cr
from chainrule import nn, optim
from chainrule.playground.datasets import features, generate
from chainrule.playground.session import Batches, data_loss, penalty

{data_src}
train_x = cr.from_numpy(features(X[:n_train], {cfg['features']!r}))
train_t = cr.from_numpy(y[:n_train].astype({ttype}))

cr.manual_seed({cfg['seed']})  # the initial weights: nn.Linear's default init from this seed
model = nn.Sequential(
{layers})
opt = {opt}
batches = Batches(n_train, {cfg['batch']}, seed={cfg['seed']})
# weights set by hand: (iteration, layer, row, column; column -1 = bias) -> value
edits = {edits}
linears = [m for m in model if isinstance(m, nn.Linear)]


def apply_edits(iteration):
    with cr.no_grad():
        for (it, layer, row, col), value in edits.items():
            if it == iteration:
                if col < 0:
                    linears[layer].bias[row] = value
                else:
                    linears[layer].weight[row, col] = value


for iteration in range({s.iteration}):
    apply_edits(iteration)
    idx = cr.from_numpy(batches.next())
    loss = data_loss(model(train_x[idx]), train_t[idx], {s.problem!r}, {s.loss_name!r})
{reg}    opt.zero_grad()
    loss.backward()
    opt.step()
apply_edits({s.iteration})

with cr.no_grad():
    final = data_loss(model(train_x), train_t, {s.problem!r}, {s.loss_name!r}).item()
print(f"training loss after {s.iteration} iterations: {{final:.6f}}")
out = sys.argv[1] if len(sys.argv) > 1 else "playground.safetensors"
cr.save(model.state_dict(), out)
print("saved", out)
'''
