"""Transforms, as torchvision has them: callables on one sample, that also run on whole batches.

    t = Compose([ToTensor(), Normalize((0.1307,), (0.3081,))])
    x = t(image)             # (28, 28) uint8 array -> (1, 28, 28) float32 tensor, as torchvision
    xs = t.batch(images)     # (N, 28, 28) uint8 -> (N, 1, 28, 28) float32 array: the same values

`__call__` maps one sample with torchvision's rules: `ToTensor` takes an image array, H x W or
H x W x C (what `np.asarray` of a PIL image gives; chainrule has no PIL dependency) and gives a
C x H x W tensor, scaled to [0, 1] when it is uint8; `Normalize` takes a C x H x W tensor.
`Pad`, `RandomShift` and `Flatten` act on the last two axes (the image's), for arrays and
tensors alike. chainrule's transforms also have `batch(xs)`, which maps a stack of samples
(N, ...) in one NumPy pass to exactly the stack of what `__call__` gives each sample; the
DataLoader uses it whenever every transform of a pipeline has one (`batchable`). `Lambda` and
plain functions have none: a pipeline holding one runs sample by sample, as in torchvision.

Random transforms take an optional `rng`; the DataLoader passes its own generator, so its
`state_dict()` also pins down the augmentation, and a batch draws exactly the numbers its
samples would draw one after another.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from chainrule.data.dataset import is_batchable, transform_sample
from chainrule.tensor import Tensor, default_generator, from_numpy


def _np(x: Any) -> np.ndarray:
    return x.detach().numpy() if isinstance(x, Tensor) else np.asarray(x)


def _like(x: Any, out: np.ndarray) -> Any:
    """`out` as the same kind of object as the input `x` (tensor in, tensor out)."""
    return from_numpy(out) if isinstance(x, Tensor) else out


class Transform:
    """Base class: `__call__(x, rng=None)` maps one sample; `batch(xs, rng=None)` a stack of
    them (a subclass without a batched form sets `batchable = False`)."""

    accepts_rng = True
    batchable = True

    def __call__(self, x: Any, rng: np.random.Generator | None = None) -> Any:
        raise NotImplementedError

    def batch(self, xs: Any, rng: np.random.Generator | None = None) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} has no batched form")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items()
                         if k != "generator" and not k.startswith("_"))
        return f"{type(self).__name__}({args})"


class Compose(Transform):
    """Apply `transforms` in order; batchable when every one of them is."""

    def __init__(self, transforms: Sequence[Callable[..., Any]]) -> None:
        self.transforms = list(transforms)

    @property
    def batchable(self) -> bool:  # type: ignore[override]
        return all(is_batchable(t) for t in self.transforms)

    def __call__(self, x: Any, rng: np.random.Generator | None = None) -> Any:
        for t in self.transforms:
            x = transform_sample(t, x, rng)
        return x

    def batch(self, xs: Any, rng: np.random.Generator | None = None) -> np.ndarray:
        for t in self.transforms:
            if not is_batchable(t):
                raise TypeError(f"Compose.batch: {t!r} has no batched form; apply the "
                                "pipeline sample by sample")
            xs = t.batch(xs, rng=rng)  # type: ignore[attr-defined]
        return xs

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t!r}" for t in self.transforms)
        return f"Compose({inner}\n)"


class ToTensor(Transform):
    """An image array H x W or H x W x C -> a C x H x W tensor; uint8 becomes float32 in [0, 1]
    (x / 255), other dtypes are kept (torchvision's rule). `batch`: (N, H, W[, C]) ->
    (N, C, H, W)."""

    @staticmethod
    def _scale(a: np.ndarray) -> np.ndarray:
        return a.astype(np.float32) / np.float32(255) if a.dtype == np.uint8 else a

    def __call__(self, pic: Any, rng: np.random.Generator | None = None) -> Tensor:
        a = _np(pic)
        if a.ndim not in (2, 3):
            raise ValueError(f"ToTensor: pic should be 2/3 dimensional (H x W or H x W x C). "
                             f"Got {a.ndim} dimensions (shape {a.shape}).")
        a = a[:, :, None] if a.ndim == 2 else a
        return from_numpy(self._scale(np.ascontiguousarray(a.transpose(2, 0, 1))))

    def batch(self, xs: Any, rng: np.random.Generator | None = None) -> np.ndarray:
        a = _np(xs)
        if a.ndim not in (3, 4):
            raise ValueError(f"ToTensor.batch: expected a stack of images (N, H, W) or "
                             f"(N, H, W, C), got shape {a.shape}")
        a = a[..., None] if a.ndim == 3 else a
        return self._scale(np.ascontiguousarray(a.transpose(0, 3, 1, 2)))

    def __repr__(self) -> str:
        return "ToTensor()"


class Normalize(Transform):
    """(x - mean) / std per channel of a C x H x W float tensor, in its dtype (torchvision's
    `Normalize`); `mean` and `std` are numbers or one value per channel."""

    def __init__(self, mean: float | Sequence[float], std: float | Sequence[float],
                 inplace: bool = False) -> None:
        if np.any(np.asarray(std, np.float64) == 0):
            raise ValueError(f"Normalize: std must be non-zero, got {std}")
        self.mean, self.std, self.inplace = mean, std, inplace

    def _apply(self, a: np.ndarray, sample_ndim: int, what: str) -> np.ndarray:
        if a.dtype.kind not in "fc":
            raise TypeError(f"{what}: Input tensor should be a float tensor. Got {a.dtype}.")
        if sample_ndim < 3:
            raise ValueError(f"{what}: Expected tensor to be a tensor image of size (..., C, H, "
                             f"W). Got tensor.size() = {list(a.shape)}.")
        mean = np.asarray(self.mean, a.dtype)
        std = np.asarray(self.std, a.dtype)
        if np.any(std == 0):
            raise ValueError(f"{what}: std evaluated to zero after conversion to {a.dtype}, "
                             "leading to division by zero.")
        if mean.ndim == 1:
            mean = mean.reshape(-1, 1, 1)
        if std.ndim == 1:
            std = std.reshape(-1, 1, 1)
        try:
            fits = np.broadcast_shapes(a.shape, mean.shape, std.shape) == a.shape
        except ValueError:
            fits = False
        if not fits:
            raise RuntimeError(f"{what}: mean {self.mean} / std {self.std} do not fit an image "
                               f"of shape {list(a.shape)[-3:]} (one value, or one per channel)")
        return (a - mean) / std

    def __call__(self, tensor: Any, rng: np.random.Generator | None = None) -> Tensor:
        a = _np(tensor)
        out = self._apply(a, a.ndim, "Normalize")
        if self.inplace and isinstance(tensor, Tensor) and a.flags.writeable:
            a[...] = out
            return tensor
        return from_numpy(out)

    def batch(self, xs: Any, rng: np.random.Generator | None = None) -> np.ndarray:
        a = _np(xs)
        return self._apply(a, a.ndim - 1, "Normalize.batch")

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean}, std={self.std})"


class Pad(Transform):
    """Pad the last two axes: `padding` an int (every side), (left/right, top/bottom) or
    (left, top, right, bottom); `padding_mode` constant (with `fill`), edge, reflect or
    symmetric, as torchvision's `Pad`. 28x28 -> 32x32 for padding=2."""

    _MODES = {"constant": "constant", "edge": "edge", "reflect": "reflect",
              "symmetric": "symmetric"}

    def __init__(self, padding: int | Sequence[int], fill: float = 0,
                 padding_mode: str = "constant") -> None:
        if isinstance(padding, int | np.integer):
            sides = [int(padding)] * 4
        elif isinstance(padding, list | tuple) and len(padding) in (1, 2, 4):
            p = [int(v) for v in padding]
            sides = p * 4 if len(p) == 1 else [p[0], p[1], p[0], p[1]] if len(p) == 2 else p
        elif isinstance(padding, list | tuple):
            raise ValueError(f"Padding must be an int or a 1, 2, or 4 element tuple, not a "
                             f"{len(padding)} element tuple")
        else:
            raise TypeError(f"Pad: got inappropriate padding arg {padding!r}")
        if min(sides) < 0:
            raise ValueError(f"Pad: padding must be >= 0, got {padding}")
        if padding_mode not in self._MODES:
            raise ValueError("Padding mode should be either constant, edge, reflect or "
                             f"symmetric, got {padding_mode!r}")
        self.padding, self.fill, self.padding_mode = padding, fill, padding_mode
        self._sides = sides   # left, top, right, bottom

    def _pad(self, a: np.ndarray) -> np.ndarray:
        if a.ndim < 2:
            raise ValueError(f"Pad: expected an image (..., H, W), got shape {a.shape}")
        left, top, right, bottom = self._sides
        width = [(0, 0)] * (a.ndim - 2) + [(top, bottom), (left, right)]
        if self.padding_mode == "constant":
            return np.pad(a, width, constant_values=self.fill)
        return np.pad(a, width, mode=self._MODES[self.padding_mode])  # type: ignore[call-overload]

    def __call__(self, x: Any, rng: np.random.Generator | None = None) -> Any:
        return _like(x, self._pad(_np(x)))

    def batch(self, xs: Any, rng: np.random.Generator | None = None) -> np.ndarray:
        return self._pad(_np(xs))


class RandomShift(Transform):
    """Translate the image (the last two axes) by a random (dy, dx) in [-max_shift, max_shift],
    filling with zeros; each sample of a batch gets its own shift.

    The generator is `generator` if given, else the `rng` the DataLoader passes, else
    chainrule's global one. Each image takes two 32-bit draws, whether it comes alone or in a
    batch (one vectorised gather), so both give the same shifts.
    """

    def __init__(self, max_shift: int, generator: np.random.Generator | None = None) -> None:
        if max_shift < 0:
            raise ValueError(f"RandomShift: max_shift must be >= 0, got {max_shift}")
        self.max_shift = int(max_shift)
        self.generator = generator

    def _shifts(self, n: int, rng: np.random.Generator | None) -> np.ndarray:
        g = self.generator if self.generator is not None else (
            rng if rng is not None else default_generator())
        # Lemire's multiply-shift on full-range 32-bit draws: NumPy's own integers(-s, s + 1)
        # values for these draws, but with no rejection step, so no draw depends on n.
        u = g.integers(0, 2**32, size=(n, 2), dtype=np.uint32).astype(np.uint64)
        return (u * np.uint64(2 * self.max_shift + 1) >> np.uint64(32)).astype(
            np.int64) - self.max_shift

    def batch(self, xs: Any, rng: np.random.Generator | None = None) -> np.ndarray:
        x = _np(xs)
        n, s = x.shape[0], self.max_shift
        shifts = self._shifts(n, rng)
        if s == 0 or n == 0:
            return x.copy()
        lead, (h, w) = x.shape[1:-2], x.shape[-2:]
        flat = x.reshape(n, -1, h, w)
        padded = np.pad(flat, [(0, 0), (0, 0), (s, s), (s, s)])
        # out[y, x] = in[y - dy, x - dx] = padded[y - dy + s, x - dx + s]: the (H, W) window
        # of the padded image at (s - dy, s - dx), one whole window per image (0.64 → 0.28 ms
        # for 128 MNIST digits, against an index array per pixel)
        windows = np.lib.stride_tricks.sliding_window_view(padded, (h, w), axis=(2, 3))
        out = windows[np.arange(n), :, s - shifts[:, 0], s - shifts[:, 1]]
        return out.reshape(n, *lead, h, w)

    def __call__(self, x: Any, rng: np.random.Generator | None = None) -> Any:
        a = _np(x)
        if a.ndim < 2:
            raise ValueError(f"RandomShift: expected an image (..., H, W), got shape {a.shape}")
        return _like(x, self.batch(a[None], rng)[0])


class Flatten(Transform):
    """One sample -> a vector, e.g. (1, 28, 28) -> (784,) for an MLP; `batch`: (N, ...) ->
    (N, prod(...))."""

    def __call__(self, x: Any, rng: np.random.Generator | None = None) -> Any:
        return _like(x, _np(x).reshape(-1))

    def batch(self, xs: Any, rng: np.random.Generator | None = None) -> np.ndarray:
        x = _np(xs)
        return x.reshape(x.shape[0], -1)


class Identity(Transform):
    """Return the sample unchanged."""

    def __call__(self, x: Any, rng: np.random.Generator | None = None) -> Any:
        return x

    def batch(self, xs: Any, rng: np.random.Generator | None = None) -> np.ndarray:
        return _np(xs)


class Lambda(Transform):
    """A user function of one sample, as torchvision's `Lambda(lambd)`. It has no batched form:
    a pipeline holding one runs sample by sample."""

    batchable = False

    def __init__(self, lambd: Callable[[Any], Any]) -> None:
        if not callable(lambd):
            raise TypeError(f"Argument lambd should be callable, got "
                            f"{type(lambd).__name__!r}")
        self.lambd = lambd

    def __call__(self, x: Any, rng: np.random.Generator | None = None) -> Any:
        return self.lambd(x)

    def __repr__(self) -> str:
        return "Lambda()"


__all__ = ["Compose", "Flatten", "Identity", "Lambda", "Normalize", "Pad", "RandomShift",
           "ToTensor", "Transform"]
