"""Shared pytest configuration: a modest hypothesis profile, a seeded RNG fixture, and the
kernels compiled in parallel before a whole-suite run."""

from __future__ import annotations

import os

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


@pytest.fixture(params=[True, False], ids=["small-planes", "row-kernels"])
def plane_paths(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Run a test with the small-plane kernels on (channels-first planes of short rows go to
    them) and off (the row kernels, which take every other plane, then take those too)."""
    from poolkit import _engine

    monkeypatch.setattr(_engine, "SMALL_PLANES", request.param)
    return request.param


@pytest.fixture
def rng() -> np.random.Generator:
    """A freshly seeded generator, so every test draws the same data on every run."""
    return np.random.default_rng(20240601)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Before a run of the whole suite (no paths given), compile every kernel into Numba's cache
    on all CPUs at once (``poolkit.precompile``): on a fresh machine the tests would otherwise
    compile them one after the other as they first reach each kernel and dtype. A run of chosen
    tests compiles only what it needs, as before; ``POOLKIT_PRECOMPILE=0`` turns this off."""
    config = session.config
    whole = getattr(config, "args_source", None) == pytest.Config.ArgsSource.TESTPATHS
    if not whole or os.environ.get("POOLKIT_PRECOMPILE", "1") == "0" \
            or os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0") \
            or hasattr(config, "workerinput"):  # a pytest-xdist worker: the controller did it
        return
    import poolkit

    try:
        info = poolkit.precompile()
        line = (f"poolkit.precompile: {info['signatures']} kernel signatures compiled or loaded "
                f"in {info['seconds']} s on {info['processes']} processes")
    except Exception as exc:  # the tests still compile what they need, one kernel at a time
        line = f"poolkit.precompile failed, going on without it: {exc!r}"
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(line)
