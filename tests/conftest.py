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
