"""Hypothesis identities that must hold whatever the implementation strategy.

These use no reference implementation at all: each property relates two poolkit calls (or a
poolkit call and plain NumPy) through an identity that follows from the definitions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import poolkit as pk

hypothesis = pytest.importorskip("hypothesis")
st = pytest.importorskip("hypothesis.strategies")
from hypothesis import given  # noqa: E402

FORMATS = ["channels_last", "channels_first"]


@st.composite
def arrays(draw: Any, dtypes: tuple[str, ...] = ("float32", "float64"), min_side: int = 1,
           max_side: int = 6) -> tuple[np.ndarray, str]:
    """A small random input and its data format."""
    rank = draw(st.integers(1, 3))
    spatial = draw(st.lists(st.integers(min_side, max_side), min_size=rank, max_size=rank))
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    fmt = draw(st.sampled_from(FORMATS))
    shape = (n, *spatial, c) if fmt == "channels_last" else (n, c, *spatial)
    dtype = np.dtype(draw(st.sampled_from(dtypes)))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    if dtype.kind in "iu":
        lo = 0 if dtype.kind == "u" else -50
        x = rng.integers(lo, 50, size=shape).astype(dtype)
    else:
        x = rng.standard_normal(shape).astype(dtype)
        if draw(st.booleans()):
            x = np.round(x).astype(dtype)  # plenty of ties
    return x, fmt


def _spatial(x: np.ndarray, fmt: str) -> tuple[int, ...]:
    return x.shape[1:-1] if fmt == "channels_last" else x.shape[2:]


def _to_first(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.moveaxis(x, -1, 1))


def _to_last(y: np.ndarray) -> np.ndarray:
    return np.moveaxis(y, 1, -1)


def _tol(dtype: np.dtype) -> dict:
    return {"rtol": 2e-3, "atol": 2e-3} if dtype == np.float16 else (
        {"rtol": 2e-5, "atol": 1e-6} if dtype == np.float32 else {"rtol": 1e-12, "atol": 1e-12})


@given(arrays(("float16", "float32", "float64", "int8", "uint8", "int32")))
def test_unit_window_is_identity(case: tuple) -> None:
    x, fmt = case
    y = pk.max_pool(x, 1, 1, data_format=fmt)
    assert y.dtype == x.dtype
    np.testing.assert_array_equal(y, x)
    a = pk.avg_pool(x, 1, 1, data_format=fmt)
    np.testing.assert_allclose(a, x.astype(a.dtype), rtol=0, atol=0)
    y, idx = pk.max_pool(x, 1, 1, data_format=fmt, return_indices=True)
    sp = _spatial(x, fmt)
    flat = np.arange(int(np.prod(sp))).reshape(sp)
    expected = flat[None, ..., None] if fmt == "channels_last" else flat[None, None]
    expected = np.broadcast_to(expected, idx.shape)
    np.testing.assert_array_equal(idx, expected)


@given(arrays(), st.integers(1, 3), st.integers(1, 3),
       st.sampled_from(["valid", "same", "same_lower"]))
def test_max_geq_avg_geq_min(case: tuple, k: int, s: int, padding: str) -> None:
    x, fmt = case
    if padding == "valid" and min(_spatial(x, fmt)) < k:
        return
    mx = pk.max_pool(x, k, s, padding, data_format=fmt).astype(np.float64)
    avg = pk.avg_pool(x, k, s, padding, data_format=fmt).astype(np.float64)
    mn = -pk.max_pool(-x, k, s, padding, data_format=fmt).astype(np.float64)
    slack = 1e-5 * (1 + np.abs(avg))
    assert np.all(mx >= avg - slack)
    assert np.all(avg >= mn - slack)


@given(arrays(("float16", "float32", "float64", "int16")), st.booleans())
def test_global_equals_full_window(case: tuple, keepdims: bool) -> None:
    x, fmt = case
    sp = _spatial(x, fmt)
    g = pk.global_max_pool(x, data_format=fmt, keepdims=True)
    np.testing.assert_array_equal(g, pk.max_pool(x, sp, data_format=fmt))
    tol = _tol(pk.avg_pool(x, sp, data_format=fmt).dtype)
    np.testing.assert_allclose(pk.global_avg_pool(x, data_format=fmt, keepdims=True),
                               pk.avg_pool(x, sp, data_format=fmt), **tol)
    np.testing.assert_allclose(pk.global_lp_pool(x, 3, data_format=fmt, keepdims=True),
                               pk.lp_pool(x, 3, sp, data_format=fmt), **tol)
    squeezed = pk.global_max_pool(x, data_format=fmt, keepdims=keepdims)
    n, c = x.shape[0], (x.shape[-1] if fmt == "channels_last" else x.shape[1])
    assert squeezed.shape == (g.shape if keepdims else (n, c))
    np.testing.assert_array_equal(squeezed.reshape(g.shape), g)


@given(arrays(("float32", "float64", "uint8")))
def test_adaptive_to_input_size_is_identity(case: tuple) -> None:
    x, fmt = case
    sp = _spatial(x, fmt)
    np.testing.assert_array_equal(pk.adaptive_max_pool(x, sp, data_format=fmt), x)
    a = pk.adaptive_avg_pool(x, sp, data_format=fmt)
    np.testing.assert_array_equal(a, x.astype(a.dtype))


@given(arrays(("float32", "int8")), st.integers(1, 3), st.integers(1, 3), st.integers(0, 1),
       st.booleans())
def test_channels_first_is_transposed_channels_last(case: tuple, k: int, s: int, pad: int,
                                                    ceil_mode: bool) -> None:
    x, fmt = case
    if fmt == "channels_first":
        x = np.moveaxis(x, 1, -1)
    if min(x.shape[1:-1]) + 2 * pad < k or pad >= k:
        return
    xf = _to_first(x)
    kw = dict(strides=s, padding=pad, ceil_mode=ceil_mode)
    y_last, i_last = pk.max_pool(x, k, return_indices=True, **kw)
    y_first, i_first = pk.max_pool(xf, k, data_format="channels_first", return_indices=True, **kw)
    np.testing.assert_array_equal(_to_last(y_first), y_last)
    np.testing.assert_array_equal(_to_last(i_first), i_last)
    a_last = pk.avg_pool(x, k, count_include_pad=True, **kw)
    a_first = pk.avg_pool(xf, k, data_format="channels_first", count_include_pad=True, **kw)
    np.testing.assert_allclose(_to_last(a_first), a_last, **_tol(a_last.dtype))
    out = tuple(max(1, n - 1) for n in x.shape[1:-1])
    np.testing.assert_array_equal(
        _to_last(pk.adaptive_max_pool(xf, out, data_format="channels_first")),
        pk.adaptive_max_pool(x, out))


@given(arrays(("float64", "int32")), st.integers(1, 3), st.integers(1, 2),
       st.sampled_from(["valid", "same", 1]))
def test_lp1_on_nonnegative_is_sum_is_avg_times_count(case: tuple, k: int, s: int,
                                                      padding: Any) -> None:
    x, fmt = case
    x = np.abs(x)
    if (padding == "valid" and min(_spatial(x, fmt)) < k) or (padding == 1 and k < 2):
        return
    kw = dict(strides=s, padding=padding, data_format=fmt)
    lp1 = pk.lp_pool(x, 1, k, **kw)
    total = pk.avg_pool(x, k, divisor_override=1, **kw)
    count = pk.avg_pool(np.ones_like(x, dtype=np.float64), k, divisor_override=1, **kw)
    mean = pk.avg_pool(x, k, **kw)
    np.testing.assert_allclose(lp1, total, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(total, mean * count, rtol=1e-12, atol=1e-12)
