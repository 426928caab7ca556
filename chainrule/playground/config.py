"""The playground's run settings: defaults, limits, presets, and the strict check every request
passes (a hand-written schema: each key known, each value of its type and in its range; nothing
from a request is ever evaluated)."""

from __future__ import annotations

import math
from typing import Any

DATASETS = {  # name: the problem it poses
    "circle": "classification", "xor": "classification", "gauss": "classification",
    "spiral": "classification", "xor01": "classification",
    "reg-plane": "regression", "reg-gauss": "regression", "bump": "regression",
    "custom": "classification",  # or regression: decided by the uploaded labels
}
FEATURES = ("x1", "x2", "x1^2", "x2^2", "x1x2", "sin(x1)", "sin(x2)")
ACTIVATIONS = ("identity", "relu", "softplus", "threshold", "logistic", "tanh")
OPTIMIZERS = ("sgd", "momentum", "adam")
LOSSES = ("cross-entropy", "squared")
REGULARIZATIONS = ("none", "l1", "l2")

MAX_LAYERS = 6
MAX_UNITS = 8
MAX_POINTS = 2000          # points in a generated or uploaded dataset
MAX_UPLOAD_BYTES = 256 * 1024
MAX_BODY_BYTES = 64 * 1024  # any JSON request
MAX_CLASSES = 5

DEFAULTS: dict[str, Any] = {
    "dataset": "xor", "noise": 0, "ratio": 50, "batch": 10, "seed": 1, "classes": 2,
    "points": 400, "features": ["x1", "x2"], "layers": [4, 2], "activation": "tanh",
    "lr": 0.03, "reg": "none", "regRate": 0.0, "optimizer": "sgd", "loss": "cross-entropy",
    "preset": "none",
}

# Each key's check: (kind, allowed values or (lo, hi)).
_SCHEMA: dict[str, tuple[str, Any]] = {
    "dataset": ("choice", tuple(DATASETS)),
    "noise": ("int", (0, 50)),
    "ratio": ("int", (10, 90)),
    "batch": ("int", (1, 30)),
    "seed": ("int", (0, 2**31 - 1)),
    "classes": ("int", (2, MAX_CLASSES)),
    "points": ("int", (20, MAX_POINTS)),
    "features": ("features", None),
    "layers": ("layers", None),
    "activation": ("choice", ACTIVATIONS),
    "lr": ("float", (1e-5, 10.0)),
    "reg": ("choice", REGULARIZATIONS),
    "regRate": ("float", (0.0, 10.0)),
    "optimizer": ("choice", OPTIMIZERS),
    "loss": ("choice", LOSSES),
    "preset": ("choice", None),  # filled in below, once PRESETS exists
}


class ConfigError(ValueError):
    """A request the playground refuses; the message names the key and what was expected."""


def _check(key: str, value: Any) -> Any:
    kind, allowed = _SCHEMA[key]
    if kind == "choice":
        if not isinstance(value, str) or value not in allowed:
            raise ConfigError(f"{key}: expected one of {', '.join(allowed)}, got {value!r}")
        return value
    if kind == "int":
        lo, hi = allowed
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise ConfigError(f"{key}: expected an integer in [{lo}, {hi}], got {value!r}")
        return value
    if kind == "float":
        lo, hi = allowed
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value) or not lo <= value <= hi:
            raise ConfigError(f"{key}: expected a number in [{lo:g}, {hi:g}], got {value!r}")
        return float(value)
    if kind == "features":
        if not isinstance(value, list) or not value or len(value) > len(FEATURES) \
                or any(f not in FEATURES for f in value) or len(set(value)) != len(value):
            raise ConfigError(f"features: expected a non-empty list of distinct names from "
                              f"{', '.join(FEATURES)}, got {value!r}")
        return [f for f in FEATURES if f in value]  # one canonical order
    if kind == "layers":
        if not isinstance(value, list) or len(value) > MAX_LAYERS or any(
                isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_UNITS
                for n in value):
            raise ConfigError(f"layers: expected a list of at most {MAX_LAYERS} hidden-layer "
                              f"sizes, each an integer in [1, {MAX_UNITS}], got {value!r}")
        return list(value)
    raise AssertionError(kind)


def validate(config: Any) -> dict[str, Any]:
    """The full settings: `config`'s keys checked, the missing ones from DEFAULTS."""
    if not isinstance(config, dict):
        raise ConfigError(f"config: expected a JSON object, got {type(config).__name__}")
    unknown = sorted(set(config) - set(_SCHEMA))
    if unknown:
        raise ConfigError(f"config: unknown key(s) {', '.join(map(repr, unknown))}; the keys "
                          f"are {', '.join(_SCHEMA)}")
    out = {k: _check(k, config[k]) if k in config else _copy(v) for k, v in DEFAULTS.items()}
    if out["preset"] != "none":
        _check_preset(out)
    return out


def _copy(v: Any) -> Any:
    return list(v) if isinstance(v, list) else v


# ------------------------------------------------------------------------------ presets
# The lecture's slides. Weights: {layer index (0 = first hidden): (W rows, b)}; layer
# `len(layers)` is the output layer.
PRESETS: dict[str, dict[str, Any]] = {
    "xor-threshold": {
        "title": "XOR with the slide's hand-set threshold units",
        "says": "h₁ = 𝕀[x₁ + x₂ − 0.5 > 0] (OR), h₂ = 𝕀[x₁ + x₂ − 1.5 > 0] (AND), "
                "y = 𝕀[h₁ − h₂ − 0.5 > 0]: XOR. The output here is σ(z), so y > 0.5 exactly "
                "when z > 0.",
        "config": {"dataset": "xor01", "features": ["x1", "x2"], "layers": [2],
                   "activation": "threshold", "loss": "cross-entropy", "noise": 0},
        "weights": {0: ([[1.0, 1.0], [1.0, 1.0]], [-0.5, -1.5]), 1: ([[1.0, -1.0]], [-0.5])},
    },
    "bump": {
        "title": "The bump on [1, 2] from two threshold units",
        "says": "f(x) = w₁φ(x − b₁) + w₂φ(x − b₂) with φ the hard threshold, b₁ = 1, b₂ = 2, "
                "w₁ = 1, w₂ = −1: 1 on [1, 2] and 0 elsewhere (only x₁ is used).",
        "config": {"dataset": "bump", "features": ["x1"], "layers": [2],
                   "activation": "threshold", "loss": "squared", "noise": 0},
        "weights": {0: ([[1.0], [1.0]], [-1.0, -2.0]), 1: ([[1.0, -1.0]], [0.0])},
    },
    "deep-linear": {
        "title": "A deep linear network cannot bend",
        "says": "With the identity activation, y = W⁽⁴⁾W⁽³⁾W⁽²⁾W⁽¹⁾x = W′x: three hidden "
                "layers are no more expressive than one linear layer, so the circle is cut by a "
                "straight line however long it trains.",
        "config": {"dataset": "circle", "features": ["x1", "x2"], "layers": [4, 4, 4],
                   "activation": "identity", "loss": "cross-entropy"},
        "weights": {},
    },
}
_SCHEMA["preset"] = ("choice", ("none", *PRESETS))


def _check_preset(cfg: dict[str, Any]) -> None:
    """A preset fixes the settings its hand-set weights need; others stay free."""
    p = PRESETS[cfg["preset"]]
    for k, v in p["config"].items():
        if k in ("features", "layers", "dataset", "activation") and cfg[k] != v:
            raise ConfigError(f"preset {cfg['preset']}: needs {k}={v!r}, got {cfg[k]!r} "
                              f"(choose preset none to change it)")


def preset_config(name: str) -> dict[str, Any]:
    """The settings that load preset `name`."""
    if name not in PRESETS:
        raise ConfigError(f"preset: expected one of {', '.join(PRESETS)}, got {name!r}")
    return validate({**PRESETS[name]["config"], "preset": name})


def problem_of(cfg: dict[str, Any], custom_problem: str | None = None) -> str:
    """'binary', 'multiclass' or 'regression'."""
    kind = DATASETS[cfg["dataset"]]
    if cfg["dataset"] == "custom" and custom_problem is not None:
        return custom_problem
    if kind == "regression":
        return "regression"
    if cfg["dataset"] in ("gauss", "spiral") and cfg["classes"] > 2:
        return "multiclass"
    return "binary"
