"""The number of threads NumPy's BLAS runs on: torch.set_num_threads / get_num_threads.

chainrule's heavy arithmetic is NumPy's matrix products, so its thread count is OpenBLAS's (or
whichever BLAS NumPy was built with): what OMP_NUM_THREADS / OPENBLAS_NUM_THREADS said at start,
or what `set_num_threads` sets. The BLAS's count is read and set through threadpoolctl, a small
library made for exactly that (the `jit` extra installs it); without it `get_num_threads`
reports 1 and `set_num_threads` raises, naming the extra.
"""

from __future__ import annotations

from typing import Any

_blas: Any = None  # threadpoolctl's controller of NumPy's BLAS, False when there is none


def _blas_controller() -> Any:
    global _blas
    if _blas is None:
        try:
            from threadpoolctl import ThreadpoolController

            libs = ThreadpoolController().select(user_api="blas").lib_controllers
            _blas = libs[0] if libs else False
        except Exception:  # threadpoolctl missing, or unable to read this BLAS
            _blas = False
    return _blas


def num_threads() -> int:
    """The threads NumPy's BLAS uses now (torch.get_num_threads)."""
    blas = _blas_controller()
    return int(blas.num_threads) if blas else 1


def set_num_threads(n: int) -> None:
    """Run NumPy's BLAS on n threads (torch.set_num_threads)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads: expected a positive integer, got {n!r}")
    blas = _blas_controller()
    if not blas:
        raise RuntimeError("set_num_threads: cannot reach NumPy's BLAS without threadpoolctl "
                           "(pip install chainrule[jit])")
    blas.set_num_threads(n)
