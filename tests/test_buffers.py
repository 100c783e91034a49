"""The reuse of large result buffers (``poolkit.set_buffer_cache``).

A reused block must never be visible through a result the caller still holds (or any view of
it), and every result built in a reused block must be exactly the result of a fresh one: each
backward kernel writes every cell, so garbage left in a block must not leak into a gradient.
The threshold is lowered here so that small test arrays go through the cache.
"""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import poolkit as pk
from poolkit import _buffers as B

from . import reference as ref

pytestmark = pytest.mark.skipif(not B._SUPPORTED, reason="the cache needs CPython refcounts")


@pytest.fixture
def small_cache(monkeypatch):
    monkeypatch.setattr(B, "MIN_BYTES", 1)
    monkeypatch.setattr(B, "_blocks", [])
    old = pk.set_buffer_cache(1 << 30)
    yield
    pk.set_buffer_cache(old)


def _ptr(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


def test_live_results_are_never_reused(small_cache):
    x = np.arange(2 * 8 * 8 * 3, dtype=np.float32).reshape(2, 8, 8, 3)
    y1 = pk.avg_pool(x, 2, 2)
    keep = y1.copy()
    view = y1[:, ::2]
    del y1
    y2 = pk.avg_pool(-x, 2, 2)          # same size: must not land in y1's block (view alive)
    assert not np.shares_memory(view, y2)
    np.testing.assert_array_equal(view, keep[:, ::2])


def test_dropped_results_are_reused(small_cache):
    x = np.ones((2, 8, 8, 3), np.float32)
    y1 = pk.max_pool(x, 2, 2)
    p = _ptr(y1)
    del y1
    y2 = pk.max_pool(2 * x, 2, 2)
    assert _ptr(y2) == p                  # the idle block served the next result
    np.testing.assert_array_equal(y2, 2.0)


def test_limit_zero_turns_the_cache_off(small_cache):
    pk.set_buffer_cache(0)
    assert B._blocks == []
    y = pk.max_pool(np.ones((2, 8, 8, 3), np.float32), 2, 2)
    assert y.base is None                 # a plain NumPy allocation


def test_blocks_beyond_the_limit_are_released(small_cache):
    x = np.ones((1, 64, 64, 4), np.float32)
    one = pk.avg_pool(x, 1, 1).nbytes
    pk.set_buffer_cache(2 * one)
    kept = [pk.avg_pool(x, 1, 1) for _ in range(4)]   # all alive: four blocks needed
    assert sum(b.nbytes for b in B._blocks) <= 2 * one
    assert len({_ptr(k) for k in kept}) == 4


# every backward kernel, with the block it writes into first filled with garbage
BACKWARD = [
    ("max_pool", (2, 2), "channels_last"),              # tiles: windows partition the input
    ("max_pool", (2, 3), "channels_last"),              # tiles: cells outside every window
    ("max_pool", (3, 2, 1), "channels_last"),           # scatter, channels-last
    ("max_pool", (3, 2, 1), "channels_first"),          # scatter, channels-first
    ("avg_pool", (2, 2, "same"), "channels_last"),      # tiles (a clipped last window)
    ("avg_pool", (3, 1, "same"), "channels_last"),      # separable gather
    ("avg_pool", (2, 3), "channels_last"),              # cells outside every window
    ("avg_pool", (3, 2, 1), "channels_first"),          # row kernel
    ("lp_pool", (2, 3, 2), "channels_last"),
    ("lp_pool", (2, 3, 2), "channels_first"),
]


@pytest.mark.parametrize("op,args,fmt", BACKWARD)
def test_gradients_in_dirty_blocks_equal_the_reference(small_cache, op, args, fmt):
    rng = np.random.default_rng(0)
    shape = (2, 9, 10, 5) if fmt == "channels_last" else (2, 5, 9, 10)
    x = rng.permutation(np.arange(np.prod(shape))).reshape(shape).astype(np.float64) - 400
    y, back = pk.vjp(getattr(pk, op), x, *args, data_format=fmt)
    dy = rng.standard_normal(y.shape)
    dirty = B.empty(x.shape, np.float64)   # the block the gradient will be written into
    dirty.fill(np.nan)
    del dirty
    got = back(dy)
    want = getattr(ref, op + "_grad")(x, dy, *args, data_format=fmt)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_set_buffer_cache_rejects_bad_limits():
    with pytest.raises(TypeError, match=r"`max_bytes` must be an integer; received max_bytes=1.5"):
        pk.set_buffer_cache(1.5)
    with pytest.raises(TypeError, match="max_bytes=True"):
        pk.set_buffer_cache(True)
    with pytest.raises(ValueError, match=r"`max_bytes` must be >= 0; received max_bytes=-1"):
        pk.set_buffer_cache(-1)


@pytest.mark.parametrize("raw,ok", [("0", True), ("64", True), ("lots", False), ("-3", False)])
def test_environment_limit(raw, ok):
    code = "import poolkit._buffers as B; print(B._limit)"
    env = dict(os.environ, POOLKIT_BUFFER_CACHE_MB=raw)
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    if ok:
        assert run.returncode == 0, run.stderr
        assert int(run.stdout) == int(float(raw)) << 20
    else:
        assert run.returncode != 0
        assert "POOLKIT_BUFFER_CACHE_MB" in run.stderr and repr(raw) in run.stderr


def test_threads_never_share_a_live_block(small_cache):
    from concurrent.futures import ThreadPoolExecutor

    xs = [np.full((2, 8, 8, 3), float(i), np.float32) for i in range(4)]

    def work(i):
        held = []
        for _ in range(50):
            y = pk.max_pool(xs[i], 2, 2)
            held.append(y)
            if len(held) > 3:
                held.pop(0)             # dropped results go back to the cache meanwhile
            if not all((h == i).all() for h in held):
                return False
        return True

    with ThreadPoolExecutor(4) as ex:
        assert all(ex.map(work, range(4)))
