"""Optional compiled kernels: numba, when it is installed, behind every NumPy path.

A few steps of a training loop are limited by memory traffic, not arithmetic: an optimizer
update reads and writes every parameter several times as separate NumPy passes, max pooling
compares its window taps in one pass each. A compiled loop does the same work in one pass. Each
backend function that has such a kernel keeps its NumPy twin beside it and picks one at run time:

    if jit.enabled():
        _kernel(...)          # a function decorated with @jit.kernel
    else:
        ...                   # the NumPy twin: same arithmetic, same results

so a NumPy-only install still works and every kernel is tested against its twin. Only modules of
`chainrule.backend` use this; ops, optimizers and layers call the backend's named functions.
numba is imported (and each kernel compiled, with an on-disk cache) only the first time a kernel
runs. Set the environment variable ``CHAINRULE_JIT=0``, or call
``chainrule.jit.set_enabled(False)``, to use NumPy only. Install the kernels with
``pip install chainrule[jit]``.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import os
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

__all__ = ["available", "disabled", "enabled", "enabled_for", "inline", "kernel", "lane_kernel",
           "set_enabled", "warm_up"]

_AVAILABLE = importlib.util.find_spec("numba") is not None
_enabled = _AVAILABLE and os.environ.get("CHAINRULE_JIT", "1") not in ("0", "", "false", "off")


def available() -> bool:
    """Whether numba is installed."""
    return _AVAILABLE


def enabled() -> bool:
    """Whether ops use their compiled kernels now."""
    return _enabled


def set_enabled(flag: bool) -> bool:
    """Use the compiled kernels (True, needs numba) or NumPy only (False); returns the old value.
    """
    global _enabled
    if flag and not _AVAILABLE:
        raise RuntimeError("chainrule.jit: numba is not installed (pip install chainrule[jit])")
    old, _enabled = _enabled, bool(flag)
    return old


def enabled_for(*arrays: Any) -> bool:
    """Whether ops use their compiled kernels now for these arrays: numba compiles no float16,
    so an array of that dtype takes the NumPy twin."""
    if not _enabled:
        return False
    for a in arrays:  # a loop, not all(genexpr): this runs for every pooled or gated array
        if a.dtype == np.float16:
            return False
    return True


@contextlib.contextmanager
def disabled() -> Iterator[None]:
    """Run the block with NumPy only."""
    old = set_enabled(False)
    try:
        yield
    finally:
        set_enabled(old)


class _Kernel:
    """A Python function compiled with numba.njit on its first call (with LLVM's SLP vectorizer on
    where `slp`: see `lane_kernel`)."""

    def __init__(self, fn: Callable[..., Any], slp: bool = False) -> None:
        self.py_func = fn
        self._compiled: Callable[..., Any] | None = None
        self._slp = slp
        self.__name__ = fn.__name__
        self.__doc__ = fn.__doc__

    def __call__(self, *args: Any) -> Any:
        if self._compiled is None:
            _wait_for_warm_up()
            _set_up_numba()
            import numba

            # No fastmath: results must equal the NumPy path's (no reassociation, no FMA).
            # error_model="numpy": x / 0 gives inf or nan as in NumPy instead of raising
            # ZeroDivisionError, and the check no longer stops loops from vectorizing.
            _compile_helpers(self.py_func.__globals__)
            self._compiled = numba.njit(self.py_func, cache=True, nogil=True,
                                        error_model="numpy")
        if self._slp:
            with _slp_vectorizer():  # a call may compile a new signature
                return self._compiled(*args)
        return self._compiled(*args)


_set_up = False
_set_up_lock = threading.Lock()


class _NoScipyLinalg(importlib.abc.MetaPathFinder):
    """Refuses `scipy.linalg` (and its submodules) to one thread, for the length of one import."""

    def __init__(self) -> None:
        self.thread = threading.get_ident()

    def find_spec(self, name: str, path: Any, target: Any = None) -> None:
        if threading.get_ident() == self.thread and (
                name == "scipy.linalg" or name.startswith("scipy.linalg.")):
            raise ModuleNotFoundError(f"{name} (held back by chainrule.jit while numba loads)",
                                      name=name)
        return None


class _BlasOnDemand:
    """numba's `_HAVE_BLAS` flag, answered when it is first read: by then scipy is imported for
    a kernel that calls BLAS, not for every kernel."""

    def __init__(self, check: Callable[[], bool]) -> None:
        self._check = check
        self._answer: bool | None = None

    def __bool__(self) -> bool:
        if self._answer is None:
            self._answer = bool(self._check())
        return self._answer


def _set_up_numba() -> None:
    """Import numba's NumPy support without importing scipy.linalg.

    Setting numba's compiler up imports `numba.np.arraymath`, which tries `import
    scipy.linalg.cython_blas` only to learn whether `np.correlate` may call BLAS
    (`arraymath._HAVE_BLAS`). Where scipy is installed (scikit-learn brings it), that import
    maps 13 MiB that no chainrule kernel uses: none calls BLAS. So the import is held back,
    on this thread only, while arraymath loads, and the flag it set is replaced by one that
    runs numba's own check when a kernel first reads it. What numba compiles is unchanged
    (np.dot and friends import scipy when they compile, as they always did). If
    scipy.linalg is already imported, or numba's module layout is not the one expected,
    nothing is held back.
    """
    global _set_up
    if _set_up:
        return
    with _set_up_lock:
        if _set_up:
            return
        if "numba.np.arraymath" not in sys.modules and "scipy.linalg" not in sys.modules:
            finder = _NoScipyLinalg()
            sys.meta_path.insert(0, finder)
            try:
                arraymath: Any = importlib.import_module("numba.np.arraymath")
            except ImportError:
                arraymath = None  # another numba: let its own setup run as it wants
            finally:
                sys.meta_path.remove(finder)
            if (arraymath is not None and getattr(arraymath, "_HAVE_BLAS", None) is False
                    and callable(getattr(arraymath, "_check_blas", None))):
                arraymath._HAVE_BLAS = _BlasOnDemand(arraymath._check_blas)
        _set_up = True


class _Inline:
    """A small function that kernels call (`inline`): plain Python until a kernel of its module
    compiles, then numba.njit(inline="always") in that module's namespace."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.py_func = fn
        self.__name__ = fn.__name__
        self.__doc__ = fn.__doc__

    def __call__(self, *args: Any) -> Any:
        return self.py_func(*args)


def inline(fn: Callable[..., Any]) -> Any:
    """Decorator: a helper that kernels of the same module call, inlined into each of them."""
    return _Inline(fn)


def _compile_helpers(namespace: dict[str, Any]) -> None:
    """Replace the `inline` helpers in a kernel's module namespace (defined there or imported by
    name, as from `chainrule.backend.lanes`) by their numba versions: numba resolves a kernel's
    globals when it compiles it, and can call only compiled functions."""
    import numba

    for name, value in list(namespace.items()):
        if isinstance(value, _Inline):
            namespace[name] = numba.njit(value.py_func, inline="always", cache=True,
                                         nogil=True, error_model="numpy")


_slp_lock = threading.Lock()
_slp_depth = 0
_slp_default = 0


@contextlib.contextmanager
def _slp_vectorizer() -> Iterator[None]:
    """Compile with LLVM's SLP vectorizer on (numba's NUMBA_SLP_VECTORIZE, read when a function
    is compiled), back to numba's setting when the last caller leaves."""
    global _slp_depth, _slp_default
    config: Any = importlib.import_module("numba.core.config")  # its settings are set at import

    with _slp_lock:
        if _slp_depth == 0:
            _slp_default = config.SLP_VECTORIZE
        _slp_depth += 1
        config.SLP_VECTORIZE = 1
    try:
        yield
    finally:
        with _slp_lock:
            _slp_depth -= 1
            if _slp_depth == 0:
                config.SLP_VECTORIZE = _slp_default


def kernel(fn: Callable[..., Any]) -> Any:
    """Decorator: compile `fn` with numba on first use. Only call a kernel when `enabled()`.

    Kernels run on the calling thread. numba's parallel loops were tried and measured slower:
    right after a matrix product OpenBLAS's worker threads still spin on the other cores, and a
    second thread pool fighting them turned a 65 µs parallel update into 3.5–6.5 ms (threading
    layer omp; 270 µs with workqueue, against 125 µs on one thread).
    """
    return _Kernel(fn)


def lane_kernel(fn: Callable[..., Any]) -> Any:
    """Decorator: a `kernel` whose loops work on lanes of eight values, written out as tuples
    (`chainrule.backend.lanes`), compiled with LLVM's SLP vectorizer on.

    numba runs only LLVM's loop vectorizer by default, which vectorizes a long contiguous loop.
    A loop whose contiguous runs are short (the 8 batch lanes of a Winograd tile at batch 8)
    stays scalar: its 8 iterations are unrolled first, and only the SLP vectorizer, which numba
    leaves off (numba#8852, 2023, after miscompilations were reported), turns eight scalar ops on
    neighbouring addresses into one vector operation. It does so only where all eight loads of
    a lane come before the stores (numba cannot tell LLVM that two arrays do not overlap) and
    the addresses are provably neighbours (the lane is a constant last index), which is how the
    tuples in `chainrule.backend.lanes` are written. Each lane kernel is tested bit for bit
    against its NumPy twin.
    """
    return _Kernel(fn, slp=True)


_warming: threading.Thread | None = None


def warm_up() -> None:
    """Set numba up on a background thread, once: import it and load (or compile) one tiny
    kernel, which fills numba's type and code registries. That takes about half a second (0.18 s
    import, 0.28 s for the first kernel, 4 ms for each later one), mostly holding the GIL; the
    data loading that `chainrule train` starts right after spends most of its time in calls
    that release it (zlib's inflate, md5, NumPy's copies), so the two overlap. Nothing happens
    when the kernels are off. A failure here is ignored: the first kernel a caller runs then
    compiles again and raises it."""
    global _warming
    if _warming is not None or not _enabled:
        return
    _warming = threading.Thread(target=_warm, name="chainrule-jit-warm-up")
    _warming.start()


def _wait_for_warm_up() -> None:
    """Let a running warm-up finish before another thread compiles, so that numba's setup (its
    imports and first registries) never runs on two threads at once. A training run under
    mpiexec in CI, with a cold numba cache, failed once with "dictionary changed size during
    iteration" (no traceback; four reruns passed): that overlap was the one thing running on
    two threads there."""
    warming = _warming
    if warming is not None and warming is not threading.current_thread():
        warming.join()


def _warm() -> None:
    with contextlib.suppress(Exception):
        _touch(np.zeros(1))


@kernel
def _touch(a):
    """The smallest kernel: loading it sets numba's registries up for every other."""
    a[0] += 1.0
