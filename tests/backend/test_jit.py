"""chainrule.jit: switching the compiled kernels on and off."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from chainrule.backend import jit


def _prints_ok(code: str, **env: str) -> None:
    """Run `code` in a fresh interpreter (with `env` added to the environment): it prints ok."""
    import os
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, env={**os.environ, **env})
    assert out.stdout.strip() == "ok", out.stderr


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


def test_a_numpy_only_install_trains_lenet5_without_numba():
    """With numba not importable, chainrule imports, reports no kernels and trains a step."""
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent("""
        import sys
        sys.modules["numba"] = None  # as if not installed: find_spec gives None, import fails
        import numpy as np
        import chainrule as cr
        assert not cr.jit.available() and not cr.jit.enabled()
        cr.manual_seed(0)
        from chainrule.models import lenet5
        model = lenet5()
        opt = cr.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        x = cr.randn(8, 1, 28, 28)
        y = cr.tensor(np.arange(8) % 10)
        for _ in range(2):
            opt.zero_grad()
            loss = cr.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
        assert np.isfinite(loss.item())
        assert not any(m.startswith("numba") for m, mod in sys.modules.items() if mod)
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_warm_up_sets_numba_up_once_on_a_background_thread():
    """A fresh process: warm_up returns at once, its thread loads the tiny kernel (so numba is
    imported), and a second call starts nothing; with the kernels off it does nothing."""
    if not jit.available():
        pytest.skip("numba not installed: pip install chainrule[jit]")
    code = (
        "import sys\n"
        "from chainrule.backend import jit\n"
        "assert 'numba' not in sys.modules\n"
        "jit.warm_up(); first = jit._warming\n"
        "jit.warm_up(); assert jit._warming is first\n"
        "first.join()\n"
        "assert 'numba' in sys.modules and jit._touch._compiled is not None\n"
        "print('ok')\n")
    _prints_ok(code)
    off = ("import sys\nfrom chainrule.backend import jit\njit.warm_up()\n"
           "assert jit._warming is None and 'numba' not in sys.modules\nprint('ok')\n")
    _prints_ok(off, CHAINRULE_JIT="0")


def test_a_first_compile_waits_for_a_running_warm_up(monkeypatch):
    """numba's setup must not run on two threads at once: a kernel's first call joins the
    warm-up thread before it compiles."""
    import threading
    import time

    if not jit.available():
        pytest.skip("numba not installed: pip install chainrule[jit]")
    jit._touch(np.zeros(1))  # numba set up: what follows compiles in about 0.1 s
    done = []
    warming = threading.Thread(target=lambda: (time.sleep(1.5), done.append(True)))
    monkeypatch.setattr(jit, "_warming", warming)
    warming.start()

    @jit.kernel
    def fill(x):
        x[0] = 1.0

    x = np.zeros(1)
    fill(x)
    assert done and not warming.is_alive() and x[0] == 1.0


@jit.inline
def _twice(a):
    return a + a


@jit.lane_kernel
def _twice_all(x, out):
    for i in range(x.size):
        out[i] = _twice(x[i])


def test_a_lane_kernel_calls_its_inline_helpers_and_leaves_numbas_setting_as_it_was():
    """A lane kernel compiles with LLVM's SLP vectorizer on (and numba's own setting back after
    the call); the helpers it calls are plain Python until then, and numba functions after."""
    assert _twice(3.0) == 6.0  # plain Python before any kernel of this module compiled
    if not jit.available():
        pytest.skip("numba not installed: pip install chainrule[jit]")
    from numba.core import config

    before = config.SLP_VECTORIZE
    x, out = np.arange(6.0), np.zeros(6)
    _twice_all(x, out)
    np.testing.assert_array_equal(out, 2 * x)
    assert config.SLP_VECTORIZE == before
    assert _twice(3.0) == 6.0  # now compiled, still callable from Python


def test_kernels_leave_scipy_linalg_unimported_and_numba_blas_as_it_was():
    """In a fresh process with scipy installed, running kernels imports no scipy.linalg (13 MiB
    on a LeNet-5 run); numba's own BLAS paths still work and import it when they compile; and a
    process that imported scipy.linalg first keeps numba's flag untouched."""
    if not jit.available():
        pytest.skip("numba not installed: pip install chainrule[jit]")
    if importlib.util.find_spec("scipy") is None:
        pytest.skip("scipy not installed: nothing to hold back")
    code = (
        "import sys\n"
        "import numpy as np\n"
        "from chainrule.backend import jit, elementwise\n"
        "x = np.linspace(-1, 1, 1 << 16, dtype=np.float32)\n"
        "assert jit.enabled()\n"
        "np.testing.assert_array_equal(elementwise.relu(x), np.maximum(x, 0))\n"
        "assert 'numba.np.arraymath' in sys.modules and 'scipy.linalg' not in sys.modules\n"
        "import numba\n"
        "@numba.njit\n"
        "def corr(a, v): return np.correlate(a, v)\n"
        "a, v = np.arange(6.0), np.array([1.0, -2.0])\n"
        "np.testing.assert_allclose(corr(a, v), np.correlate(a, v))\n"
        "assert 'scipy.linalg.cython_blas' in sys.modules\n"  # numba's BLAS path compiled
        "@numba.njit\n"
        "def dot(a, b): return a @ b\n"
        "np.testing.assert_allclose(dot(np.eye(3), a[:3]), a[:3])\n"
        "print('ok')\n")
    _prints_ok(code)
    first = ("import sys, scipy.linalg\nimport numpy as np\nfrom chainrule.backend import jit\n"
             "jit._touch(np.zeros(1))\n"
             "assert sys.modules['numba.np.arraymath']._HAVE_BLAS is True\nprint('ok')\n")
    _prints_ok(first)


def test_scipy_linalg_is_held_back_from_the_setting_up_thread_only():
    import threading

    finder = jit._NoScipyLinalg()
    with pytest.raises(ModuleNotFoundError, match="scipy.linalg.cython_blas"):
        finder.find_spec("scipy.linalg.cython_blas", None)
    assert finder.find_spec("scipy", None) is None
    assert finder.find_spec("scipy.linalgebra", None) is None
    seen = []
    other = threading.Thread(target=lambda: seen.append(finder.find_spec("scipy.linalg", None)))
    other.start()
    other.join()
    assert seen == [None]


def test_numbas_blas_flag_is_asked_once_when_first_read():
    calls = []
    flag = jit._BlasOnDemand(lambda: calls.append(1) or True)
    assert calls == []
    assert flag and flag and calls == [1]
