"""Which tap a maximum keeps: the first maximal tap in row-major window order.

Equal values with different bits (-0 and +0, NaNs with different payloads) show which tap a
kernel kept. The slow reference scans each window in row-major order and keeps the first
maximal tap (the first NaN, if any), as PyTorch does for zeros; its argmax indices pick the
expected bits out of the input, so that the comparison is bit for bit. Kernels that fold a
window's rows column by column (channels-first) must redo the rows where this shows.
"""

from __future__ import annotations

import numpy as np
import pytest

import poolkit as pk

from . import reference as ref

_UINT = {"float16": np.uint16, "float32": np.uint32, "float64": np.uint64}

def _tied_input(shape: tuple, dtype: str, seed: int) -> np.ndarray:
    """Values where many windows hold ties of different bits: +-0, +-inf, +-1 and NaNs of
    random payloads and signs among normal draws."""
    rng = np.random.default_rng(seed)
    u = _UINT[dtype]
    x = rng.standard_normal(shape).astype(dtype)
    special = np.array([0.0, -0.0, np.inf, -np.inf, 1.0, -1.0], dtype)
    pick = rng.random(shape) < 0.6
    x[pick] = rng.choice(special, shape)[pick]
    bits = x.view(u)
    nan = np.array(np.nan, dtype).view(u) | rng.integers(1, 100, shape).astype(u)
    nan = np.where(rng.random(shape) < 0.5, nan | np.array(-0.0, dtype).view(u), nan)
    put = rng.random(shape) < 0.1
    bits[put] = nan[put]
    return x


def _zeros_input(shape: tuple, dtype: str, seed: int) -> np.ndarray:
    """Non-positive values, 40% of them +0 or -0: most maxima are zeros of either sign."""
    rng = np.random.default_rng(seed)
    x = -np.abs(rng.standard_normal(shape)).astype(dtype)
    pick = rng.random(shape) < 0.4
    x[pick] = rng.choice(np.array([0.0, -0.0], dtype), shape)[pick]
    return x


def _expected_bits(x: np.ndarray, kw: dict) -> np.ndarray:
    y, idx = ref.max_pool(x, return_indices=True, **kw)
    u = _UINT[str(x.dtype)]
    if kw["data_format"] == "channels_first":
        n, c = x.shape[:2]
        want = np.take_along_axis(x.view(u).reshape(n, c, -1), idx.reshape(n, c, -1), axis=2)
    else:
        n, c = x.shape[0], x.shape[-1]
        want = np.take_along_axis(x.view(u).reshape(n, -1, c), idx.reshape(n, -1, c), axis=1)
    return want.reshape(y.shape)


CASES = [  # the channels-first kernel each takes
    ((2, 2), 2, 0),  # tiles: each row's pair, then the rows in order
    ((3, 2), 2, 0),
    ((2, 2, 2), 2, 0),
    ((2,), 2, 0),  # one row: a single pass along it
    ((3,), 2, 1),
    ((3, 3), 2, 1),  # the ResNet stem: rows folded column by column, redone where a tap is odd
    ((3, 3), 1, 1),
    ((2, 2), 1, 0),
    ((3, 3), 3, 0),  # the general row kernel
    ((4, 4), 4, 0),
    ((2, 2, 2), 1, 0),
]


def _params():
    for window, strides, padding in CASES:
        for layout in ("channels_last", "channels_first"):
            yield pytest.param(window, strides, padding, layout,
                               id=f"{'x'.join(map(str, window))}s{strides}p{padding}-{layout}")


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("window, strides, padding, layout", list(_params()))
def test_max_keeps_the_first_maximal_tap(window, strides, padding, layout, dtype) -> None:
    spatial = {1: (70,), 2: (12, 70), 3: (6, 8, 70)}[len(window)]
    shape = (2, 3, *spatial) if layout == "channels_first" else (2, *spatial, 3)
    kw = dict(pool_size=window, strides=strides, padding=padding, data_format=layout)
    for x in (_tied_input(shape, dtype, 8), _zeros_input(shape, dtype, 9)):
        got = pk.max_pool(x, **kw).view(_UINT[dtype])
        np.testing.assert_array_equal(got, _expected_bits(x, kw))


def _small_params():
    for window, strides, padding in [((2, 2), 2, 0), ((3, 2), 2, 0), ((3, 3), 2, 1),
                                     ((2, 2), 1, 0), ((3, 3), 1, 1)]:
        name = f"{'x'.join(map(str, window))}s{strides}p{padding}"
        yield pytest.param(window, strides, padding, True, id=f"{name}-indices")
        yield pytest.param(window, strides, padding, False, id=name)


@pytest.mark.parametrize("dtype", ["float32", "float16", "float64"])
@pytest.mark.parametrize("window, strides, padding, return_indices", list(_small_params()))
def test_small_planes_keep_the_first_maximal_tap(window, strides, padding, return_indices,
                                                 dtype) -> None:
    # many planes of 7x7: the small-plane kernels (the argmax kernel scans in row-major order)
    x = _zeros_input((2, 64, 7, 7), dtype, 10)
    kw = dict(pool_size=window, strides=strides, padding=padding, data_format="channels_first")
    got = pk.max_pool(x, return_indices=return_indices, **kw)
    got = got[0] if return_indices else got
    np.testing.assert_array_equal(got.view(_UINT[dtype]), _expected_bits(x, kw))
