"""The playground's 2-D data: TensorFlow Playground's six datasets (with 3+ classes for the
Gaussian clusters and the spiral), the slides' XOR on {0, 1}² and bump on [1, 2], the user's CSV
files, and the input features computed from (x₁, x₂).

Everything is drawn from `numpy.random.default_rng(seed)`, so a seed names one dataset exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chainrule.playground.config import FEATURES, MAX_CLASSES, MAX_POINTS, ConfigError

#: the plotted square for each dataset: (lo, hi) on both axes
DOMAINS = {"xor01": (-0.5, 1.5), "bump": (-1.0, 4.0)}
DEFAULT_DOMAIN = (-6.0, 6.0)


@dataclass
class Data:
    """Points X (n, 2), targets y (class indices, or floats for regression), the train/test split
    and the square [lo, hi]² the page draws."""

    X: np.ndarray
    y: np.ndarray
    problem: str            # binary, multiclass, regression
    classes: int            # 1 for regression
    n_train: int
    domain: tuple[float, float]

    @property
    def X_train(self) -> np.ndarray:
        return self.X[:self.n_train]

    @property
    def y_train(self) -> np.ndarray:
        return self.y[:self.n_train]

    @property
    def X_test(self) -> np.ndarray:
        return self.X[self.n_train:]

    @property
    def y_test(self) -> np.ndarray:
        return self.y[self.n_train:]


def features(X: np.ndarray, names: list[str]) -> np.ndarray:
    """The input features `names` (from FEATURES) of points X (n, 2), as float32 columns."""
    x1, x2 = X[:, 0], X[:, 1]
    table = {"x1": x1, "x2": x2, "x1^2": x1 * x1, "x2^2": x2 * x2, "x1x2": x1 * x2,
             "sin(x1)": np.sin(x1), "sin(x2)": np.sin(x2)}
    return np.stack([table[n] for n in names], axis=1).astype(np.float32)


def _circle(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    radius = 5.0
    half = n // 2
    r = np.concatenate([rng.uniform(0, 0.5 * radius, half), rng.uniform(0.7 * radius, radius,
                                                                        n - half)])
    angle = rng.uniform(0, 2 * np.pi, n)
    X = np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1)
    X += rng.uniform(-radius, radius, X.shape) * noise
    y = np.zeros(n, dtype=np.int64)
    y[:half] = 1  # the label is where the point was drawn; noise blurs the border
    return X, y


def _xor(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    X = rng.uniform(-5, 5, (n, 2))
    X += np.where(X > 0, 0.3, -0.3)  # keep a margin around the axes, as TensorFlow Playground
    y = (X[:, 0] * X[:, 1] >= 0).astype(np.int64)
    X += rng.uniform(-5, 5, X.shape) * noise
    return X, y


def _gauss(rng: np.random.Generator, n: int, noise: float, k: int
           ) -> tuple[np.ndarray, np.ndarray]:
    if k == 2:
        centers = np.array([[2.0, 2.0], [-2.0, -2.0]])
    else:
        a = 2 * np.pi * np.arange(k) / k
        centers = 3.5 * np.stack([np.cos(a), np.sin(a)], axis=1)
    y = np.arange(n) % k
    spread = 0.5 + 3.5 * noise * 2  # variance 0.5 .. 4 as noise goes 0 .. 0.5
    X = centers[y] + rng.normal(0, np.sqrt(spread), (n, 2))
    return X, y.astype(np.int64)


def _spiral(rng: np.random.Generator, n: int, noise: float, k: int
            ) -> tuple[np.ndarray, np.ndarray]:
    y = np.arange(n) % k
    i = np.arange(n) // k
    m = (n + k - 1) // k
    r = i / m * 5
    t = 1.75 * i / m * 2 * np.pi + 2 * np.pi * y / k
    X = np.stack([r * np.sin(t), r * np.cos(t)], axis=1)
    X += rng.uniform(-1, 1, X.shape) * noise * 2
    return X, y.astype(np.int64)


def _xor01(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    corners = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    c = np.arange(n) % 4
    X = corners[c] + rng.normal(0, 0.06 + noise * 0.5, (n, 2))
    y = np.array([0, 1, 1, 0])[c]
    return X, y.astype(np.int64)


def _reg_plane(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    X = rng.uniform(-6, 6, (n, 2))
    y = (X[:, 0] + X[:, 1]) / 12 + rng.uniform(-1, 1, n) * noise
    return X, y


def _reg_gauss(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    X = rng.uniform(-6, 6, (n, 2))
    bumps = [(-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1)]
    y = np.zeros(n)
    for cx, cy, sign in bumps:
        y += sign * np.exp(-((X[:, 0] - cx) ** 2 + (X[:, 1] - cy) ** 2) / 2)
    return X, y + rng.uniform(-1, 1, n) * noise


def _bump(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    X = rng.uniform(-1, 4, (n, 2))
    y = ((X[:, 0] > 1) & (X[:, 0] <= 2)).astype(np.float64)
    return X, y + rng.normal(0, 1, n) * noise * 0.5


def generate(name: str, *, seed: int, points: int, noise: int, ratio: int, classes: int
             ) -> Data:
    """Dataset `name` with `points` points, noise in percent (0–50), `ratio` percent for
    training; `classes` for gauss and spiral."""
    rng = np.random.default_rng(seed)
    nz = noise / 100
    if name in ("gauss", "spiral"):
        X, y = (_gauss if name == "gauss" else _spiral)(rng, points, nz, classes)
        k = classes
    else:
        gen = {"circle": _circle, "xor": _xor, "xor01": _xor01, "reg-plane": _reg_plane,
               "reg-gauss": _reg_gauss, "bump": _bump}[name]
        X, y = gen(rng, points, nz)
        k = 1 if name.startswith("reg") or name == "bump" else 2
    order = rng.permutation(points)
    problem = "regression" if k == 1 else ("binary" if k == 2 else "multiclass")
    return Data(X[order], y[order], problem, k, max(1, points * ratio // 100),
                DOMAINS.get(name, DEFAULT_DOMAIN))


# ------------------------------------------------------------------------------ CSV upload
class CSVError(ConfigError):
    """A bad upload; the message starts with the line it found wrong."""


def parse_csv(text: str) -> tuple[np.ndarray, np.ndarray, str, int]:
    """Rows `x1,x2,label` (an optional header line first; blank lines and lines starting with #
    skipped) → (X, y, problem, classes). Labels that are all integers in 0..4 (or all −1 / 1, as
    TensorFlow Playground writes them) make a classification problem; anything else, regression.
    """
    xs: list[tuple[float, float]] = []
    labels: list[float] = []
    seen_row = False
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = [f.strip() for f in line.split(",")]
        try:
            vals = [float(f) for f in fields]
        except ValueError:
            if not seen_row and not xs:
                seen_row = True  # the header
                continue
            raise CSVError(f"line {lineno}: expected three numbers x1,x2,label, got "
                           f"{_clip(line)!r}") from None
        seen_row = True
        if len(vals) != 3:
            raise CSVError(f"line {lineno}: expected 3 comma-separated values (x1,x2,label), "
                           f"got {len(vals)}: {_clip(line)!r}")
        if not all(np.isfinite(vals)) or max(abs(v) for v in vals) > 1e6:
            raise CSVError(f"line {lineno}: values must be finite numbers of magnitude at most "
                           f"1e6, got {_clip(line)!r}")
        if len(xs) == MAX_POINTS:
            raise CSVError(f"line {lineno}: too many points (the limit is {MAX_POINTS})")
        xs.append((vals[0], vals[1]))
        labels.append(vals[2])
    if len(xs) < 4:
        raise CSVError(f"the file has {len(xs)} data rows; at least 4 are needed (x1,x2,label "
                       "per line)")
    X = np.array(xs, dtype=np.float64)
    t = np.array(labels, dtype=np.float64)
    ints = bool(np.all(t == np.round(t)))
    values = set(t.tolist())
    if ints and values == {-1.0, 1.0}:
        return X, (t > 0).astype(np.int64), "binary", 2
    if ints and values <= set(map(float, range(MAX_CLASSES))) and len(values) >= 2:
        k = int(t.max()) + 1
        return X, t.astype(np.int64), "binary" if k == 2 else "multiclass", k
    return X, t, "regression", 1


def _clip(s: str) -> str:
    return s if len(s) <= 60 else s[:57] + "..."


def from_upload(X: np.ndarray, y: np.ndarray, problem: str, classes: int, *, seed: int,
                ratio: int) -> Data:
    """The uploaded points, shuffled with `seed` and split at `ratio` percent."""
    order = np.random.default_rng(seed).permutation(len(X))
    lo = float(X.min())
    hi = float(X.max())
    pad = 0.1 * (hi - lo) if hi > lo else 1.0
    return Data(X[order], y[order], problem, classes, max(1, len(X) * ratio // 100),
                (lo - pad, hi + pad))


__all__ = ["CSVError", "Data", "FEATURES", "features", "from_upload", "generate", "parse_csv"]
