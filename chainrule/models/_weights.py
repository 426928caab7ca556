"""The `weights=` argument of the torchvision-style builders."""

from __future__ import annotations

from typing import Any


def no_pretrained(builder: str, weights: Any) -> None:
    """chainrule ships no pretrained weights: `weights` must be None. The error says how to take
    torchvision's instead (the state_dict keys and shapes are the same)."""
    if weights is not None:
        raise ValueError(
            f"{builder}: chainrule has no pretrained weights (got weights={weights!r}); build "
            f"with weights=None and load torchvision's: model.load_state_dict("
            f"torchvision.models.{builder}(weights=...).state_dict())")
