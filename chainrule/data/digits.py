"""Offline fallback: scikit-learn's bundled 8x8 digits as a small MNIST look-alike, and
`load_dataset`, which prefers the real MNIST / Fashion-MNIST and falls back to it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule.data._errors import DataError, DataNotFoundError
from chainrule.data.idx import PathLike
from chainrule.data.mnist import MNIST, FashionMNIST, ImageDataset


def _bilinear_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) weights of bilinear resampling with half-pixel centres (as PIL/OpenCV)."""
    src = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
    lo = np.floor(src).astype(np.int64)
    hi = np.minimum(lo + 1, n_in - 1)
    w = src - lo
    m = np.zeros((n_out, n_in))
    np.add.at(m, (np.arange(n_out), lo), 1 - w)
    np.add.at(m, (np.arange(n_out), hi), w)
    return m


def resize_images(images: np.ndarray, size: int, box: int | None = None) -> np.ndarray:
    """Bilinearly resize square images (N, h, h) to (box, box) and centre them on a
    (size, size) zero canvas, like MNIST's 20x20 digit box in 28x28; returns float64."""
    box = size if box is None else box
    m = _bilinear_matrix(images.shape[-1], box)
    small = np.einsum("ij,njk,lk->nil", m, images.astype(np.float64), m)
    out = np.zeros((images.shape[0], size, size))
    a = (size - box) // 2
    out[:, a:a + box, a:a + box] = small
    return out


class Digits(ImageDataset):
    """scikit-learn's 1,797 8x8 digits (0-16) upscaled to uint8 (N, size, size), MNIST-style:
    the digit fills a box of 20/28 of the image, centred. A fixed 80/20 train/test split."""

    name = "sklearn-digits"
    source = "sklearn"

    def __init__(self, size: int = 28, train: bool = True,
                 transform: Callable[..., Any] | None = None, test_fraction: float = 0.2
                 ) -> None:
        try:
            from sklearn.datasets import load_digits
        except ImportError as e:
            raise DataNotFoundError("load_digits_fallback needs scikit-learn: pip install "
                                    "scikit-learn (or pip install 'chainrule[sklearn]')") from e
        bunch = load_digits()
        images = np.asarray(bunch.images, np.float64) * (255.0 / 16.0)
        labels = np.asarray(bunch.target, np.int64)
        big = resize_images(images, size, max(1, round(size * 20 / 28)))
        data = np.clip(np.rint(big), 0, 255).astype(np.uint8)
        order = np.random.default_rng(0).permutation(len(labels))   # fixed, not the global RNG
        n_test = int(round(len(labels) * test_fraction))
        keep = order[n_test:] if train else order[:n_test]
        self.train = bool(train)
        super().__init__(data[keep], labels[keep], [str(d) for d in range(10)], transform)


def load_digits_fallback(size: int = 28, train: bool = True,
                         transform: Callable[..., Any] | None = None) -> Digits:
    """scikit-learn's bundled 8x8 digits resized to `size`x`size` uint8 (no network needed)."""
    return Digits(size=size, train=train, transform=transform)


_DATASETS: dict[str, type[MNIST]] = {"mnist": MNIST, "fashion-mnist": FashionMNIST}


def load_dataset(name: str, train: bool = True, root: PathLike | None = None,
                 download: bool = True, fallback: bool = False,
                 log: Callable[[str], Any] | None = print,
                 transform: Callable[..., Any] | None = None, **kwargs: Any) -> ImageDataset:
    """`MNIST` or `FashionMNIST` (`name`: "mnist" / "fashion-mnist"). When the files can be
    neither found nor downloaded this raises `DataNotFoundError` naming where it looked, unless
    `fallback=True`: then it logs one line saying so and how to point chainrule at the data, and
    returns `load_digits_fallback(28, train)` instead (what `chainrule train` does when run
    without naming any dataset, folder or download rule)."""
    key = name.lower().replace("_", "-")
    key = {"fashionmnist": "fashion-mnist", "fmnist": "fashion-mnist"}.get(key, key)
    if key not in _DATASETS:
        raise ValueError(f"load_dataset: unknown dataset {name!r}; expected one of "
                         f"{sorted(_DATASETS)}")
    cls = _DATASETS[key]
    try:
        return cls(root=root, train=train, download=download, transform=transform, **kwargs)
    except DataError as e:
        if not fallback:
            raise
        if isinstance(e, DataNotFoundError):
            why = f"not found locally and {getattr(e, 'reason', 'could not be downloaded')}"
            why = why.replace("download=False, so nothing was downloaded", "download=False")
        else:
            why = " ".join(str(e).split())
        try:
            ds = load_digits_fallback(28, train, transform)
        except DataError as missing:
            raise DataNotFoundError(f"{e} The offline fallback is unavailable too: "
                                    f"{missing}") from e
        if log is not None:
            split = "train" if train else "test"
            log(f"chainrule.data: {cls.name} {why}; using scikit-learn's 8x8 digits upscaled "
                f"to 28x28 instead ({len(ds)} {split} images). To use {cls.name}, set "
                f"CHAINRULE_DATA to a folder containing {cls.subdir}/ or pass root=.")
        return ds
