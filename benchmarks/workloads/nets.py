"""Networks built from nn modules, trained on MNIST batches: LeNet-5, two MLPs, a wider CNN.

Both libraries get the same weights (drawn here in NumPy like torch's default init,
U(±1/√fan_in), and loaded with `load_state_dict`), the same data and the same optimizer,
SGD(lr=0.05, momentum=0.9), with cross-entropy on the logits.

Data: MNIST train (60,000 images) when `$CHAINRULE_DATA` holds it (`mnist/` or `MNIST/raw/`,
with or without .gz), else 60,000 synthetic uniform-random 28×28 uint8 images with random
labels (the report says which). The images are normalised as `ToTensor()` + `Normalize(0.1307,
0.3081)` do, shuffled by a permutation drawn from the seed, and pre-batched once into float32
(B, 1, 28, 28) arrays that both libraries share (torch.from_numpy / chainrule.from_numpy), so
neither side pays for data loading in the timed region.

An epoch is too long to repeat for every sample (10–30 s), so an ``epoch`` sample is a fixed
slice of the shuffled epoch (its first ``inner`` batches, about 6,400 images), rewound before
every sample, and the report extrapolates: per-epoch time = median per-step time × steps per
epoch (⌈60,000 / B⌉, the last batch counted as full).
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import math
import os
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.registry import NOTES, ChainruleCase, Model, TorchCase, register

LR, MOMENTUM = 0.05, 0.9
N_TRAIN = 60_000
MEAN, STD = 0.1307, 0.3081
SYNTH_SEED = 20_251_125  # the synthetic stand-in is the same whatever --seed says


# ----------------------------------------------------------------- data
def _read_idx(path: Path) -> np.ndarray:
    """A uint8 IDX file (MNIST's format), gzipped or not."""
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    if raw[:2] != b"\0\0" or raw[2] != 0x08:
        raise ValueError(f"{path}: not a uint8 IDX file")
    ndim = raw[3]
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", ndim, 4))
    return np.frombuffer(raw, np.uint8, math.prod(shape), 4 + 4 * ndim).reshape(shape)


def _find(folder: Path, name: str) -> Path | None:
    for p in (folder / f"{name}.gz", folder / name):
        if p.is_file():
            return p
    return None


@functools.lru_cache(maxsize=1)
def train_set() -> tuple[np.ndarray, np.ndarray, str]:
    """(images (60000, 28, 28) uint8, labels (60000,) int64, a line saying what they are)."""
    root = os.environ.get("CHAINRULE_DATA")
    if root:
        for folder in (Path(root) / "mnist", Path(root) / "MNIST" / "raw", Path(root)):
            img = _find(folder, "train-images-idx3-ubyte")
            lab = _find(folder, "train-labels-idx1-ubyte")
            if img and lab:
                images, labels = _read_idx(img), _read_idx(lab).astype(np.int64)
                if images.shape[0] == labels.shape[0]:
                    return images, labels, (f"data: MNIST train, {len(images):,} images, from "
                                            f"{folder}")
    rng = np.random.default_rng(SYNTH_SEED)
    images = rng.integers(0, 256, (N_TRAIN, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, N_TRAIN).astype(np.int64)
    why = "CHAINRULE_DATA is not set" if not root else f"no MNIST train files under {root}"
    return images, labels, (f"data: SYNTHETIC ({why}): {N_TRAIN:,} uniform-random 28×28 uint8 "
                            "images with random labels stand in for MNIST train; timings are "
                            "those of MNIST-shaped data, but losses are not MNIST's")


@functools.lru_cache(maxsize=16)
def batches(seed: int, batch: int, count: int) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """The first `count` batches of the epoch shuffled by `seed`: normalised float32 images
    (batch, 1, 28, 28) and int64 labels. Cached: both libraries get the very same arrays."""
    images, labels, what = train_set()
    NOTES["data"] = what
    n = len(images)
    if batch * count > n:
        raise ValueError(f"{count} batches of {batch} exceed the {n} training images")
    order = np.random.default_rng(seed).permutation(n)
    out = []
    for i in range(count):
        idx = order[i * batch:(i + 1) * batch]
        x = images[idx].astype(np.float32) / np.float32(255)  # ToTensor
        x = (x - np.float32(MEAN)) / np.float32(STD)  # Normalize(0.1307, 0.3081)
        out.append((np.ascontiguousarray(x.reshape(batch, 1, 28, 28)), labels[idx].copy()))
    return tuple(out)


# ----------------------------------------------------------------- networks
def lenet5_cr() -> Any:
    from chainrule.models import lenet5

    return lenet5()


def lenet5_torch() -> Any:
    from torch import nn

    return nn.Sequential(OrderedDict([
        ("c1", nn.Conv2d(1, 6, 5, padding=2)), ("act1", nn.ReLU()), ("s2", nn.MaxPool2d(2)),
        ("c3", nn.Conv2d(6, 16, 5)), ("act3", nn.ReLU()), ("s4", nn.MaxPool2d(2)),
        ("flatten", nn.Flatten()),
        ("f5", nn.Linear(16 * 5 * 5, 120)), ("act5", nn.ReLU()),
        ("f6", nn.Linear(120, 84)), ("act6", nn.ReLU()),
        ("output", nn.Linear(84, 10)),
    ]))


LENET5_SHAPES = {"c1": (6, 1, 5, 5), "c3": (16, 6, 5, 5), "f5": (120, 400), "f6": (84, 120),
                 "output": (10, 84)}


def mlp_cr(hidden: tuple[int, ...]) -> Callable[[], Any]:
    def build() -> Any:
        from chainrule.models.mlp import mlp

        return mlp(784, hidden, 10)  # Flatten, Linear, ReLU, ..., Linear: keys 1.weight, ...
    return build


def mlp_torch(hidden: tuple[int, ...]) -> Callable[[], Any]:
    def build() -> Any:
        from torch import nn

        layers: list[nn.Module] = [nn.Flatten()]
        width = 784
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        layers.append(nn.Linear(width, 10))
        return nn.Sequential(*layers)
    return build


def mlp_shapes(hidden: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
    sizes = (784, *hidden, 10)
    pairs = zip(sizes[:-1], sizes[1:], strict=True)
    return {str(1 + 2 * i): (o, n) for i, (n, o) in enumerate(pairs)}


def _wide_layers(nn: Any) -> Any:
    return nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(1, 32, 3, padding=1)), ("relu1", nn.ReLU()),
        ("pool1", nn.MaxPool2d(2)),
        ("conv2", nn.Conv2d(32, 64, 3, padding=1)), ("relu2", nn.ReLU()),
        ("pool2", nn.MaxPool2d(2)),
        ("conv3", nn.Conv2d(64, 64, 3, padding=1)), ("relu3", nn.ReLU()),
        ("flatten", nn.Flatten()),
        ("fc", nn.Linear(64 * 7 * 7, 10)),
    ]))


def wide_cr() -> Any:
    from chainrule import nn

    return _wide_layers(nn)


def wide_torch() -> Any:
    from torch import nn

    return _wide_layers(nn)


def _examples_net(nn: Any) -> Any:
    """pytorch/examples' mnist/main.py `Net`, as modules (its forward is these in order)."""
    return nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(1, 32, 3, 1)), ("relu1", nn.ReLU()),
        ("conv2", nn.Conv2d(32, 64, 3, 1)), ("relu2", nn.ReLU()),
        ("pool", nn.MaxPool2d(2)), ("dropout1", nn.Dropout(0.25)),
        ("flatten", nn.Flatten()),
        ("fc1", nn.Linear(9216, 128)), ("relu3", nn.ReLU()), ("dropout2", nn.Dropout(0.5)),
        ("fc2", nn.Linear(128, 10)), ("log_softmax", nn.LogSoftmax(dim=1)),
    ]))


def examples_net_cr() -> Any:
    from chainrule import nn

    return _examples_net(nn)


def examples_net_torch() -> Any:
    from torch import nn

    return _examples_net(nn)


EXAMPLES_NET_SHAPES = {"conv1": (32, 1, 3, 3), "conv2": (64, 32, 3, 3), "fc1": (128, 9216),
                       "fc2": (10, 128)}

WIDE_SHAPES = {"conv1": (32, 1, 3, 3), "conv2": (64, 32, 3, 3), "conv3": (64, 64, 3, 3),
               "fc": (10, 64 * 7 * 7)}


def weights(shapes: dict[str, tuple[int, ...]], seed: int) -> dict[str, np.ndarray]:
    """torch's default init for Linear / Conv2d: weight and bias U(±1/√fan_in), in NumPy."""
    rng = np.random.default_rng(seed)
    out = {}
    for layer, shape in shapes.items():
        bound = 1 / math.sqrt(math.prod(shape[1:]))
        out[f"{layer}.weight"] = rng.uniform(-bound, bound, shape).astype(np.float32)
        out[f"{layer}.bias"] = rng.uniform(-bound, bound, shape[0]).astype(np.float32)
    return out


# ----------------------------------------------------------------- cases
class _Net:
    """Shared by both libraries: cycle through the slice's batches, momentum SGD, inference."""

    module: Any
    opt: Any
    data: list[tuple[Any, Any]]
    i: int

    def _next(self) -> tuple[Any, Any]:
        b = self.data[self.i % len(self.data)]
        self.i += 1
        return b

    def begin_sample(self) -> None:
        self.i = 0  # every timed sample covers the same slice of the epoch

    def sgd(self) -> None:
        self.opt.step()

    @contextlib.contextmanager
    def _no_dropout(self) -> Iterator[None]:
        """Dropout off for the startup check: the two libraries draw different masks."""
        drops = [m for m in self.module.modules()
                 if type(m).__name__.startswith("Dropout") and m.training]
        for m in drops:
            m.eval()
        try:
            yield
        finally:
            for m in drops:
                m.train()

    def first_step(self) -> tuple[float, dict[str, np.ndarray]]:
        with self._no_dropout():
            return super().first_step()  # type: ignore[misc]

    def after_step_loss(self) -> float:
        with self._no_dropout():
            self.sgd()
            return self._loss_no_grad()

    def _loss_no_grad(self) -> float:
        raise NotImplementedError


class ChainruleNet(_Net, ChainruleCase):
    def __init__(self, module: Any, data: tuple, train: bool,
                 criterion: str = "cross_entropy") -> None:
        import chainrule as cr
        from chainrule.nn import functional as F

        self.cr = cr
        self.module = module.train(train)
        self.data = [(cr.from_numpy(x), cr.from_numpy(y)) for x, y in data]
        self.i = 0
        self.opt = cr.optim.SGD(module.parameters(), lr=LR, momentum=MOMENTUM)

        criterion_fn = getattr(F, criterion)

        def loss() -> Any:
            x, y = self._next()
            return criterion_fn(module(x), y)

        super().__init__(dict(module.named_parameters()), loss, LR)

    def infer(self) -> Any:
        with self.cr.no_grad():
            return self.module(self._next()[0])

    def _loss_no_grad(self) -> float:
        with self.cr.no_grad():
            return float(self.loss().item())


class TorchNet(_Net, TorchCase):
    def __init__(self, module: Any, data: tuple, train: bool,
                 criterion: str = "cross_entropy") -> None:
        import torch
        from torch.nn import functional as F

        self.torch = torch
        self.module = module.train(train)
        self.data = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in data]
        self.i = 0
        self.opt = torch.optim.SGD(module.parameters(), lr=LR, momentum=MOMENTUM)

        criterion_fn = getattr(F, criterion)

        def loss() -> Any:
            x, y = self._next()
            return criterion_fn(module(x), y)

        super().__init__(dict(module.named_parameters()), loss, LR)

    def infer(self) -> Any:
        with self.torch.no_grad():
            return self.module(self._next()[0])

    def _loss_no_grad(self) -> float:
        with self.torch.no_grad():
            return float(self.loss().item())


def net_model(name: str, description: str, shapes: dict[str, tuple[int, ...]],
              build_cr: Callable[[], Any], build_torch: Callable[[], Any], batch: int,
              count: int, phases: tuple[str, ...], criterion: str = "cross_entropy",
              **kw: Any) -> Model:
    """A Model whose cases are `build_*()` loaded with `weights(shapes, seed)`, cycling through
    the first `count` batches of size `batch` of the epoch shuffled by the seed, the loss
    `criterion` (a name in both libraries' nn.functional)."""
    train = phases != ("infer",)

    def init(seed: int) -> dict[str, np.ndarray]:
        return {**weights(shapes, seed), "_seed": np.array(seed)}

    def split(s: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], tuple]:
        seed = int(s.pop("_seed"))
        return s, batches(seed, batch, count)

    def chainrule_case(s: dict[str, np.ndarray]) -> ChainruleNet:
        state, data = split(s)
        module = build_cr()
        module.load_state_dict(state)
        return ChainruleNet(module, data, train, criterion)

    def torch_case(s: dict[str, np.ndarray]) -> TorchNet:
        import torch

        state, data = split(s)
        module = build_torch()
        module.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
        return TorchNet(module, data, train, criterion)

    kw.setdefault("inner", count)
    return Model(name=name, description=description, init=init, chainrule=chainrule_case,
                 torch=torch_case, phases=phases, batch=batch, **kw)


def steps_per_epoch(batch: int) -> int:
    return math.ceil(N_TRAIN / batch)


# ----------------------------------------------------------------- registration
# About 6,400 images per epoch sample whatever the batch size: 200 x 32, 50 x 128, 12 x 512.
EPOCH_SLICE = {32: 200, 128: 50, 512: 12}
LENET = "LeNet-5 (chainrule.models.lenet5(), ReLU, max pool)"

register(net_model(
    "lenet5", f"{LENET}, batch 128: epoch slice of 50 steps; fwd / fwdbwd on the same batches",
    LENET5_SHAPES, lenet5_cr, lenet5_torch, 128, EPOCH_SLICE[128], ("epoch", "fwdbwd", "fwd"),
    names=(("epoch", "lenet5-epoch-b128"),), group="lenet5", unit="ms", quick_inner=10,
    rounds=10, warmup=1, steps_per_epoch=steps_per_epoch(128), check_grad="c1.weight"))
for _b in (32, 512):
    register(net_model(
        f"lenet5-b{_b}", f"{LENET}, batch {_b}: epoch slice of {EPOCH_SLICE[_b]} steps",
        LENET5_SHAPES, lenet5_cr, lenet5_torch, _b, EPOCH_SLICE[_b], ("epoch",),
        names=(("epoch", f"lenet5-epoch-b{_b}"),), group="lenet5", unit="ms",
        quick_inner=max(2, EPOCH_SLICE[_b] // 5), rounds=7, warmup=1,
        steps_per_epoch=steps_per_epoch(_b), check_grad="c1.weight"))
register(net_model(
    "lenet5-infer-b1", f"{LENET} inference, one image at a time (200 different images)",
    LENET5_SHAPES, lenet5_cr, lenet5_torch, 1, 200, ("infer",),
    names=(("infer", "lenet5-infer-b1"),), group="lenet5", unit="us", quick_inner=50,
    rounds=20, check_grad="c1.weight"))
register(net_model(
    "lenet5-infer-b1000", f"{LENET} inference, batches of 1,000 (5 different batches)",
    LENET5_SHAPES, lenet5_cr, lenet5_torch, 1000, 5, ("infer",),
    names=(("infer", "lenet5-infer-b1000"),), group="lenet5", unit="ms", quick_inner=2,
    rounds=10, warmup=1, check_grad="c1.weight"))
for _name, _hidden in (("mlp-epoch", (256,)), ("mlp1024-epoch", (1024, 1024))):
    _arch = "-".join(str(v) for v in (784, *_hidden, 10))
    register(net_model(
        _name, f"MLP {_arch} ReLU (chainrule.models.mlp), batch 128: epoch slice of 50 steps",
        mlp_shapes(_hidden), mlp_cr(_hidden), mlp_torch(_hidden), 128, EPOCH_SLICE[128],
        ("epoch",), names=(("epoch", _name),), unit="ms", quick_inner=10, rounds=7, warmup=1,
        steps_per_epoch=steps_per_epoch(128), check_grad="1.weight"))
register(net_model(
    "wide-cnn", "CNN conv3x3 1→32, pool, conv3x3 32→64, pool, conv3x3 64→64, linear "
    "3136→10 (ReLU, max pool 2), batch 128, SGD(momentum), 5 different batches",
    WIDE_SHAPES, wide_cr, wide_torch, 128, 5,
    ("step", "fwdbwd", "fwd"), unit="ms", quick_inner=2, rounds=10, warmup=1,
    check_grad="conv1.weight"))
register(net_model(
    "mnist-net", "pytorch/examples' MNIST Net: conv3x3 1→32, conv3x3 32→64, max pool 2, "
    "dropout 0.25, linear 9216→128, dropout 0.5, linear 128→10, log_softmax + nll_loss "
    "(ReLU), batch 64: epoch slice of 100 steps", EXAMPLES_NET_SHAPES, examples_net_cr,
    examples_net_torch, 64, 100, ("epoch",), criterion="nll_loss",
    names=(("epoch", "mnist-net-epoch-b64"),), unit="ms", quick_inner=10, rounds=7, warmup=1,
    steps_per_epoch=steps_per_epoch(64), check_grad="conv1.weight"))
