"""chainrule.jit: switching the compiled kernels on and off."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import jit


def test_disabled_restores_the_previous_setting():
    before = jit.enabled()
    with jit.disabled():
        assert not jit.enabled()
    assert jit.enabled() == before


def test_enabling_without_numba_says_how_to_install(monkeypatch):
    monkeypatch.setattr(jit, "_AVAILABLE", False)
    with pytest.raises(RuntimeError, match=r"pip install chainrule\[jit\]"):
        jit.set_enabled(True)


def test_kernel_compiles_on_first_call_and_matches_python():
    if not jit.available():
        pytest.skip("numba not installed: pip install chainrule[jit]")

    @jit.kernel
    def axpy(a, x, y):
        for i in range(x.size):
            y[i] = y[i] + a * x[i]

    x, y = np.arange(5.0), np.ones(5)
    assert axpy._compiled is None
    axpy(2.0, x, y)
    assert axpy._compiled is not None
    np.testing.assert_array_equal(y, 1 + 2 * np.arange(5.0))
    axpy.py_func(2.0, x, y)  # the plain Python function is kept
    np.testing.assert_array_equal(y, 1 + 4 * np.arange(5.0))
