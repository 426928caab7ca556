"""chainrule.backend.updates: each compiled update equals its NumPy twin bit for bit.

Each test runs a few steps of an update from the same random weights, gradients and state, once
with the kernels and once with NumPy only, and compares weights and state exactly. The kernels
must also really run on the compiled side (or, for the cases they do not cover, must not), so the
comparison never checks the NumPy twin against itself. That the twins are the optimizers' rules is
tests/optim/test_optim_updates.py's part (against torch).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from chainrule.backend import jit, updates

SHAPES = [(64, 33), (7,), ()]
DTYPES = pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
WEIGHT_DECAY = pytest.mark.parametrize("weight_decay", [0.0, 5e-4, 0.1],
                                       ids=["wd0", "wd5e-4", "wd0.1"])
KERNELS = ("_sgd_momentum_kernel", "_adam_kernel", "_rmsprop_kernel")

# run(dtype, layout) -> the weights and state arrays after a few steps
Run = Callable[[type, Callable[[np.ndarray], np.ndarray]], list[np.ndarray]]


@pytest.fixture
def kernel_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The names of the kernels run, in order."""
    calls: list[str] = []
    for name in KERNELS:
        kernel = getattr(updates, name)
        monkeypatch.setattr(updates, name,
                            lambda *a, k=kernel, n=name: (calls.append(n), k(*a))[1])
    old = jit.enabled()
    yield calls
    jit.set_enabled(old)


def _both_paths(run: Run, dtype: type, calls: list[str], kernel: str | None,
                layout: Callable[[np.ndarray], np.ndarray] = np.ascontiguousarray) -> None:
    """Run with NumPy only and with the kernels; equal bits, and `kernel` ran only on the
    compiled side (no kernel at all when None). Without numba only the NumPy side runs."""
    jit.set_enabled(False)
    numpy = run(dtype, layout)
    assert calls == []
    if not jit.available():
        pytest.skip("numba not installed: pip install chainrule[jit]")
    jit.set_enabled(True)
    compiled = run(dtype, layout)
    if kernel is None:
        assert calls == []
    else:
        assert calls and set(calls) == {kernel}
    assert len(compiled) == len(numpy)
    for a, b in zip(compiled, numpy, strict=True):
        assert a.dtype == b.dtype == dtype
        np.testing.assert_array_equal(a, b, strict=True)


def _problem(dtype: type, layout: Callable[[np.ndarray], np.ndarray],
             shapes: list[tuple[int, ...]]) -> tuple[list[np.ndarray], Callable[[int], np.ndarray]]:
    """Random weights in `layout`, and gradient(i) for weight i: fresh random values each call,
    and (as an optimizer's gradient may be) never to be written."""
    rng = np.random.default_rng(7)
    params = [layout(rng.standard_normal(s).astype(dtype)) for s in shapes]

    def grad(i: int) -> np.ndarray:
        g = layout(rng.standard_normal(params[i].shape).astype(dtype))
        g.flags.writeable = False
        return g

    return params, grad


def _sgd_run(steps: int = 4, shapes: list[tuple[int, ...]] = SHAPES, **kw: Any) -> Run:
    def run(dtype: type, layout: Callable[[np.ndarray], np.ndarray]) -> list[np.ndarray]:
        params, grad = _problem(dtype, layout, shapes)
        bufs: list[np.ndarray | None] = [None] * len(params)
        for _ in range(steps):
            for i, p in enumerate(params):
                bufs[i] = updates.sgd(p, grad(i), bufs[i], **kw)
        return params + [b for b in bufs if b is not None]

    return run


def _adam_run(amsgrad: bool = False, steps: int = 4, shapes: list[tuple[int, ...]] = SHAPES,
              **kw: Any) -> Run:
    def run(dtype: type, layout: Callable[[np.ndarray], np.ndarray]) -> list[np.ndarray]:
        params, grad = _problem(dtype, layout, shapes)
        state = [[layout(np.zeros_like(p)) for _ in range(3 if amsgrad else 2)] for p in params]
        for t in range(1, steps + 1):
            for i, p in enumerate(params):
                m, v, *vmax = state[i]
                updates.adam(p, grad(i), m, v, vmax[0] if amsgrad else None, float(t), **kw)
        return params + [a for s in state for a in s]

    return run


def _rmsprop_run(momentum: float = 0.0, centered: bool = False, steps: int = 4,
                 shapes: list[tuple[int, ...]] = SHAPES, **kw: Any) -> Run:
    def run(dtype: type, layout: Callable[[np.ndarray], np.ndarray]) -> list[np.ndarray]:
        params, grad = _problem(dtype, layout, shapes)
        state = [[layout(np.zeros_like(p)) for _ in range(3)] for p in params]
        for _ in range(steps):
            for i, p in enumerate(params):
                v, b, g_avg = state[i]
                updates.rmsprop(p, grad(i), v, b if momentum > 0 else None,
                                g_avg if centered else None, momentum=momentum, **kw)
        return params + [a for s in state for a in s]

    return run


# ----------------------------------------------------------------- the kernels equal their twins
@DTYPES
@WEIGHT_DECAY
@pytest.mark.parametrize(("lr", "momentum"), [(0.05, 0.9), (0.3, 0.5)])
def test_sgd_momentum_kernel_equals_numpy(kernel_calls, dtype, weight_decay, lr, momentum):
    # The first step starts the buffer (b_1 = g_1) on the NumPy path; the kernel takes the rest.
    run = _sgd_run(lr=lr, momentum=momentum, weight_decay=weight_decay)
    _both_paths(run, dtype, kernel_calls, "_sgd_momentum_kernel")


@DTYPES
@WEIGHT_DECAY
@pytest.mark.parametrize("decoupled", [False, True], ids=["adam", "adamw"])
@pytest.mark.parametrize(("lr", "beta1", "beta2", "eps"), [
    (1e-3, 0.9, 0.999, 1e-8),
    (0.02, 0.3, 0.9, 1e-3),  # 1 − β₁ ≥ 0.5: the other form of lerp
    (0.05, 0.0, 0.99, 1e-6),
])
def test_adam_kernel_equals_numpy(kernel_calls, dtype, weight_decay, decoupled, lr, beta1, beta2,
                                  eps):
    run = _adam_run(lr=lr, beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay,
                    decoupled=decoupled)
    _both_paths(run, dtype, kernel_calls, "_adam_kernel")


@DTYPES
@WEIGHT_DECAY
@pytest.mark.parametrize("momentum", [0.0, 0.9], ids=["plain", "momentum"])
@pytest.mark.parametrize(("lr", "alpha", "eps"), [(0.01, 0.99, 1e-8), (0.002, 0.5, 1e-3)])
def test_rmsprop_kernel_equals_numpy(kernel_calls, dtype, weight_decay, momentum, lr, alpha, eps):
    run = _rmsprop_run(momentum=momentum, lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay)
    _both_paths(run, dtype, kernel_calls, "_rmsprop_kernel")


# ----------------------------------------------------------------- what the kernels leave to NumPy
NUMPY_ONLY = {
    "sgd-no-momentum": _sgd_run(lr=0.1, weight_decay=0.1),
    "sgd-nesterov": _sgd_run(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1),
    "sgd-dampening": _sgd_run(lr=0.05, momentum=0.8, dampening=0.3),
    "adam-amsgrad": _adam_run(amsgrad=True, lr=0.02, beta1=0.9, beta2=0.99, eps=1e-8,
                              weight_decay=0.1),
    "rmsprop-centered": _rmsprop_run(momentum=0.5, centered=True, lr=0.01, alpha=0.9, eps=1e-6,
                                     weight_decay=0.1),
}


@DTYPES
@pytest.mark.parametrize("case", list(NUMPY_ONLY))
def test_cases_without_a_kernel_take_the_numpy_path(kernel_calls, dtype, case):
    _both_paths(NUMPY_ONLY[case], dtype, kernel_calls, None)


MATRICES = [(64, 33), (5, 3, 2)]  # (a vector is C- and Fortran-ordered at once)
LAID_OUT = {
    "sgd": _sgd_run(shapes=MATRICES, lr=0.05, momentum=0.9, weight_decay=0.1),
    "adam": _adam_run(shapes=MATRICES, lr=0.02, beta1=0.9, beta2=0.99, eps=1e-8,
                      weight_decay=0.1),
    "rmsprop": _rmsprop_run(shapes=MATRICES, momentum=0.9, lr=0.01, alpha=0.9, eps=1e-6,
                            weight_decay=0.1),
}


@pytest.mark.parametrize("case", list(LAID_OUT))
def test_arrays_that_are_not_c_contiguous_take_the_numpy_path(kernel_calls, case):
    """A kernel walks flat C-ordered arrays; Fortran-ordered ones (as transposed weights are)
    take the NumPy twin on both paths, with the same results."""
    _both_paths(LAID_OUT[case], np.float32, kernel_calls, None, layout=np.asfortranarray)

