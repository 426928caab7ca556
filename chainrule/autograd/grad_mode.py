"""Whether ops record the computation graph: `no_grad`, `enable_grad`, `set_grad_enabled`."""

from __future__ import annotations

import contextlib


class _State:
    enabled = True


_state = _State()


def is_grad_enabled() -> bool:
    """True when new ops record their inputs so that backward can reach them."""
    return _state.enabled


class set_grad_enabled(contextlib.ContextDecorator):
    """Turn graph recording on or off; usable as a call, a context manager or a decorator."""

    def __init__(self, mode: bool) -> None:
        self.prev = _state.enabled
        self.mode = bool(mode)
        _state.enabled = self.mode

    def __call__(self, func):
        # Used as a decorator: the mode applies inside calls only, not from decoration on.
        _state.enabled = self.prev
        return super().__call__(func)

    def _recreate_cm(self) -> set_grad_enabled:
        # A fresh instance per decorated call, so nested/recursive calls restore correctly.
        return type(self)(self.mode)

    def __enter__(self) -> None:
        _state.enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        _state.enabled = self.prev


class no_grad(contextlib.ContextDecorator):
    """Context manager and decorator: ops inside build no graph (inference, optimizer steps)."""

    def _recreate_cm(self) -> no_grad:
        # A fresh instance per decorated call: a shared one would let a recursive call overwrite
        # `prev` and leave grad mode off after the outermost call returns.
        return type(self)()

    def __enter__(self) -> None:
        self.prev = _state.enabled
        _state.enabled = False

    def __exit__(self, *exc: object) -> None:
        _state.enabled = self.prev


class enable_grad(contextlib.ContextDecorator):
    """Context manager and decorator: record the graph again inside a `no_grad` block."""

    def _recreate_cm(self) -> enable_grad:
        return type(self)()

    def __enter__(self) -> None:
        self.prev = _state.enabled
        _state.enabled = True

    def __exit__(self, *exc: object) -> None:
        _state.enabled = self.prev
