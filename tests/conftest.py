"""Shared pytest configuration: a modest hypothesis profile and a seeded RNG fixture."""

from __future__ import annotations

import numpy as np
import pytest

try:
    from hypothesis import HealthCheck, settings
except ImportError:  # hypothesis is a test extra; property tests importorskip it themselves
    pass
else:
    settings.register_profile(
        "poolkit",
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    settings.load_profile("poolkit")


@pytest.fixture
def rng() -> np.random.Generator:
    """A freshly seeded generator, so every test draws the same data on every run."""
    return np.random.default_rng(20240601)
