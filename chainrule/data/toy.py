"""Toy 2-D classification data for the classroom: each returns `(X, y)`, NumPy arrays,
X float32 (n_samples, 2) and y int64 (n_samples,), shuffled.

`seed`: an int or a NumPy Generator; None draws from chainrule's global generator, so
`cr.manual_seed` makes them reproducible. `noise` is the std of Gaussian noise added to X.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from chainrule.tensor import default_generator

Seed = int | np.random.Generator | None


def _rng(seed: Seed) -> np.random.Generator:
    if seed is None:
        return default_generator()
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def _sizes(n: int, k: int) -> list[int]:
    if n < 0 or k < 1:
        raise ValueError(f"need n_samples >= 0 and at least one class, got {n} and {k}")
    return [n // k + (i < n % k) for i in range(k)]


def _finish(parts: list[np.ndarray], noise: float, rng: np.random.Generator
            ) -> tuple[np.ndarray, np.ndarray]:
    X = np.concatenate(parts) if parts else np.zeros((0, 2))
    y = np.concatenate([np.full(len(p), k, np.int64) for k, p in enumerate(parts)])
    if noise:
        X = X + noise * rng.standard_normal(X.shape)
    perm = rng.permutation(len(y))
    return X[perm].astype(np.float32), y[perm]


def make_xor(n_samples: int = 200, noise: float = 0.2, seed: Seed = None
             ) -> tuple[np.ndarray, np.ndarray]:
    """Four Gaussian clusters at (±1, ±1); label 1 where the coordinates' signs differ."""
    rng = _rng(seed)
    corners = np.array([[-1, -1], [1, 1], [-1, 1], [1, -1]], np.float64)
    which = np.concatenate([np.full(s, c) for c, s in enumerate(_sizes(n_samples, 4))])
    same, diff = corners[which[which < 2]], corners[which[which >= 2]]
    return _finish([same, diff], noise, rng)


def make_moons(n_samples: int = 200, noise: float = 0.1, seed: Seed = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (scikit-learn's layout): upper moon 0, lower moon 1."""
    rng = _rng(seed)
    n0, n1 = _sizes(n_samples, 2)
    t0, t1 = np.linspace(0, np.pi, n0), np.linspace(0, np.pi, n1)
    upper = np.stack([np.cos(t0), np.sin(t0)], 1)
    lower = np.stack([1 - np.cos(t1), 0.5 - np.sin(t1)], 1)
    return _finish([upper, lower], noise, rng)


def make_circles(n_samples: int = 200, noise: float = 0.05, seed: Seed = None,
                 factor: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """A unit circle (label 0) around a circle of radius `factor` (label 1)."""
    if not 0 < factor < 1:
        raise ValueError(f"make_circles: factor must be in (0, 1), got {factor}")
    rng = _rng(seed)
    parts = []
    for n, r in zip(_sizes(n_samples, 2), (1.0, factor), strict=True):
        t = np.linspace(0, 2 * np.pi, n, endpoint=False)
        parts.append(r * np.stack([np.cos(t), np.sin(t)], 1))
    return _finish(parts, noise, rng)


def make_spirals(n_samples: int = 300, noise: float = 0.05, seed: Seed = None,
                 n_arms: int = 2, turns: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """`n_arms` interleaved spiral arms from the origin to radius 1, arm k labelled k."""
    rng = _rng(seed)
    parts = []
    for k, n in enumerate(_sizes(n_samples, n_arms)):
        r = np.linspace(0.05, 1, n)
        t = 2 * np.pi * (k / n_arms + turns * r)
        parts.append(r[:, None] * np.stack([np.cos(t), np.sin(t)], 1))
    return _finish(parts, noise, rng)


def make_blobs(n_samples: int = 200, centers: int | Sequence[Sequence[float]] = 3,
               noise: float = 1.0, seed: Seed = None,
               center_box: tuple[float, float] = (-5.0, 5.0)) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian blobs of std `noise` around `centers` (a count, drawn uniformly in
    `center_box`, or a (k, 2) array); blob k labelled k."""
    rng = _rng(seed)
    if isinstance(centers, int | np.integer):
        c = rng.uniform(*center_box, size=(int(centers), 2))
    else:
        c = np.asarray(centers, np.float64)
        if c.ndim != 2 or c.shape[1] != 2:
            raise ValueError(f"make_blobs: centers must have shape (k, 2), got {c.shape}")
    parts = [np.repeat(c[k:k + 1], n, 0) for k, n in enumerate(_sizes(n_samples, len(c)))]
    return _finish(parts, noise, rng)
