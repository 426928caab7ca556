"""Shared test fixtures: the torch oracle (skipped with a reason when absent) and Hypothesis."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("default", deadline=None, max_examples=25,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", deadline=None, max_examples=40,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else "default")


@pytest.fixture
def torch():
    """PyTorch as the test oracle; the test is skipped when torch is not installed."""
    return pytest.importorskip("torch", reason="torch not installed: pip install torch==2.13.0")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """The oracle runs small float64 kernels: on this shared 2-core machine they are ~10x faster
    on one thread than on an oversubscribed pool. The previous setting is restored afterwards."""
    try:
        import torch
    except ImportError:
        yield
        return
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(params=["numpy", "numba"])
def jit_mode(request):
    """Run the test twice: NumPy only, and with chainrule.jit's compiled kernels (skipped with
    the reason when numba is not installed). Yields the mode's name."""
    from chainrule import jit

    if request.param == "numba" and not jit.available():
        pytest.skip("numba not installed: pip install chainrule[jit]")
    old = jit.set_enabled(request.param == "numba")
    yield request.param
    jit.set_enabled(old)
