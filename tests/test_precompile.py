"""poolkit.precompile: the plan of (kernel, argument types) pairs it compiles, and its split
among worker processes. (Compiling itself is exercised by every whole-suite run, which calls
it first: see conftest.py.)"""

from __future__ import annotations

from collections import Counter

import numba
import numpy as np
import pytest

import poolkit as pk
from poolkit import _precompile as P

JIT = not numba.config.DISABLE_JIT


def _cached_kernels() -> set[str]:
    """The compiled functions that keep their code in Numba's on-disk cache: the kernels."""
    return {f"{mod.__name__}.{name}" for mod, name in P._kernels()
            if type(getattr(mod, name)._cache).__name__ != "NullCache"}


def test_the_plan_reaches_every_kernel_for_every_dtype() -> None:
    pairs = P.plan()
    assert len(set(pairs)) == len(pairs)
    assert {k for k, _ in pairs} == _cached_kernels()
    first_arg = {}
    for key, sig in pairs:
        first_arg.setdefault(key, set()).add(str(sig[0].dtype) if hasattr(sig[0], "dtype")
                                             else str(sig[0]))
    # float16 reaches the kernels as its bits (uint16): eight dtypes, eight specialisations
    assert first_arg["poolkit._kernels.max_cl"] == {"float32", "float64", "int8", "uint8",
                                                    "int16", "int32", "int64", "uint16"}
    assert pairs == P.plan()  # the same plan every time: the workers rebuild it


def test_the_plan_runs_no_kernel_and_restores_them() -> None:
    before = {(m, n): getattr(m, n) for m, n in P._kernels()}
    P.plan(["int16"])
    for (m, n) in P._kernels():
        assert getattr(m, n) is before[m, n]


@pytest.mark.skipif(not JIT, reason="needs the JIT")
def test_planned_signatures_are_the_ones_the_calls_compile() -> None:
    # run the plan's calls for real: each kernel then holds exactly the argument types the plan
    # recorded for it (Numba's own typing of the arguments), so a precompiled kernel is found
    pairs = P.plan(["float64"])
    for call in P._calls("float64"):
        call()
    for key, sig in pairs:
        assert sig in P._kernel(key).signatures, (key, sig)


@pytest.mark.parametrize("workers", [1, 2, 3, 8])
def test_each_kernel_goes_to_one_worker(workers: int) -> None:
    pairs = P.plan()
    shares = P.assign(pairs, workers)
    assert len(shares) == workers
    assert Counter(p for s in shares for p in s) == Counter(pairs)
    owner = {}
    for i, share in enumerate(shares):
        for key, _ in share:
            assert owner.setdefault(key, i) == i, key
    # greedy to the least loaded: the loads differ by at most the costliest kernel
    loads = sorted(sum(P.cost(k) for k, _ in s) for s in shares)
    largest = max(P.cost(key) * sum(1 for k, _ in pairs if k == key) for key in owner)
    assert loads[-1] - loads[0] <= largest


@pytest.mark.parametrize("kwargs, message", [
    (dict(processes=0), "`processes` must be a positive integer; received processes=0"),
    (dict(processes=1.5), "received processes=1.5"),
    (dict(dtypes="float32"), "`dtypes` must be a sequence of"),
    (dict(dtypes=["float128"]), "received dtypes=['float128']"),
])
def test_bad_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError) as info:
        pk.precompile(**kwargs)
    assert message in str(info.value)
