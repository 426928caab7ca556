"""Batch transforms: callables on a whole batch of images `(N, ...)`, NumPy in, NumPy out.

    t = Compose([ToTensor(), RandomShift(2), Normalize(0.1307, 0.3081)])
    x = t(uint8_images)                # (N, 28, 28) uint8 -> (N, 1, 28, 28) float32

Random transforms take an optional `rng`; the `DataLoader` passes its own generator, so its
`state_dict()` also pins down the augmentation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from chainrule.data.dataset import apply_transform
from chainrule.tensor import Tensor, default_generator


def _np(x: Any) -> np.ndarray:
    return x._data if isinstance(x, Tensor) else np.asarray(x)


class Transform:
    """Base class: `__call__(x, rng=None)` maps a batch array to a batch array."""

    accepts_rng = True

    def __call__(self, x: Any, rng: np.random.Generator | None = None) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if k != "generator")
        return f"{type(self).__name__}({args})"


class Compose(Transform):
    """Apply `transforms` in order."""

    def __init__(self, transforms: Sequence[Callable[..., Any]]) -> None:
        self.transforms = list(transforms)

    def __call__(self, x: Any, rng: np.random.Generator | None = None) -> np.ndarray:
        for t in self.transforms:
            x = apply_transform(t, x, rng)
        return x


class ToTensor(Transform):
    """uint8 images in [0, 255] -> float32 in [0, 1], with a channel axis: (N, H, W) ->
    (N, 1, H, W). Float input is only cast to float32; 4-D input keeps its shape."""

    def __call__(self, x: Any, rng: np.random.Generator | None = None) -> np.ndarray:
        x = _np(x)
        if x.ndim == 3:
            x = x[:, None]
        if x.dtype == np.uint8:
            return x.astype(np.float32) / np.float32(255)
        return x.astype(np.float32, copy=False)


class Normalize(Transform):
    """(x - mean) / std; per-channel sequences broadcast over axis 1 of (N, C, H, W)."""

    def __init__(self, mean: float | Sequence[float], std: float | Sequence[float]) -> None:
        self.mean, self.std = mean, std
        m = np.asarray(mean, np.float32)
        s = np.asarray(std, np.float32)
        if np.any(s == 0):
            raise ValueError(f"Normalize: std must be non-zero, got {std}")
        self._m = m.reshape(-1, 1, 1) if m.ndim else m
        self._s = s.reshape(-1, 1, 1) if s.ndim else s

    def __call__(self, x: Any, rng: np.random.Generator | None = None) -> np.ndarray:
        x = _np(x).astype(np.float32, copy=False)
        return ((x - self._m) / self._s).astype(np.float32, copy=False)


class Pad(Transform):
    """Zero-pad the last two axes by `padding` pixels on every side (28x28 -> 32x32 for 2)."""

    def __init__(self, padding: int, fill: float = 0) -> None:
        if padding < 0:
            raise ValueError(f"Pad: padding must be >= 0, got {padding}")
        self.padding, self.fill = int(padding), fill

    def __call__(self, x: Any, rng: np.random.Generator | None = None) -> np.ndarray:
        x = _np(x)
        p = self.padding
        width = [(0, 0)] * (x.ndim - 2) + [(p, p), (p, p)]
        return np.pad(x, width, constant_values=self.fill)


class RandomShift(Transform):
    """Translate each image by its own random (dy, dx) in [-max_shift, max_shift], zero fill.

    Vectorised: one padded copy of the batch and one fancy-indexing gather. The generator is
    `generator` if given, else the `rng` the DataLoader passes, else chainrule's global one.
    """

    def __init__(self, max_shift: int, generator: np.random.Generator | None = None) -> None:
        if max_shift < 0:
            raise ValueError(f"RandomShift: max_shift must be >= 0, got {max_shift}")
        self.max_shift = int(max_shift)
        self.generator = generator

    def __call__(self, x: Any, rng: np.random.Generator | None = None) -> np.ndarray:
        x = _np(x)
        g = self.generator if self.generator is not None else (
            rng if rng is not None else default_generator())
        n, s = x.shape[0], self.max_shift
        shifts = g.integers(-s, s + 1, size=(n, 2))
        if s == 0 or n == 0:
            return x.copy()
        lead, (h, w) = x.shape[1:-2], x.shape[-2:]
        flat = x.reshape(n, -1, h, w)
        padded = np.pad(flat, [(0, 0), (0, 0), (s, s), (s, s)])
        # out[y, x] = in[y - dy, x - dx] = padded[y - dy + s, x - dx + s]
        rows = (s - shifts[:, 0])[:, None] + np.arange(h)          # (N, H)
        cols = (s - shifts[:, 1])[:, None] + np.arange(w)          # (N, W)
        out = padded[np.arange(n)[:, None, None, None], np.arange(flat.shape[1])[None, :, None,
                     None], rows[:, None, :, None], cols[:, None, None, :]]
        return out.reshape(n, *lead, h, w)


class Flatten(Transform):
    """(N, ...) -> (N, prod(...)), e.g. (N, 1, 28, 28) -> (N, 784) for an MLP."""

    def __call__(self, x: Any, rng: np.random.Generator | None = None) -> np.ndarray:
        x = _np(x)
        return x.reshape(x.shape[0], -1)


class Identity(Transform):
    """Return the batch unchanged (e.g. raw uint8 images from `MNIST(transform=Identity())`)."""

    def __call__(self, x: Any, rng: np.random.Generator | None = None) -> np.ndarray:
        return _np(x)


class Lambda(Transform):
    """Wrap a plain function of the batch array."""

    def __init__(self, fn: Callable[[np.ndarray], np.ndarray]) -> None:
        self.fn = fn

    def __call__(self, x: Any, rng: np.random.Generator | None = None) -> np.ndarray:
        return self.fn(_np(x))
