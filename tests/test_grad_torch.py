"""PyTorch autograd (CPU) as an optional oracle for ``pk.vjp`` / ``pk.grad``.

Torch-style cases only: symmetric int padding (at most half the kernel), ``ceil_mode``,
dilation (max), ``count_include_pad`` / ``divisor_override`` (avg, ``divisor_override`` 2-D/3-D
only), adaptive max/avg, and Lp on non-negative unpadded input in floor mode (torch's
``lp_poolNd`` uses ``x**p`` without ``abs`` and scales clipped ceil windows by the full kernel
volume, so only that subset is claimed).  Inputs are tie-free so torch's and poolkit's
choice of argmax cannot legitimately differ; ties get their own test on the cases where
torch's CPU kernel documents the same first-maximum scan.

poolkit runs channels_first and channels_last (the latter by moving the channel axis).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

import poolkit as pk  # noqa: E402

SPATIAL = {1: (9,), 2: (6, 7), 3: (5, 6, 5)}
FORMATS = ("channels_first", "channels_last")

# (kernel, stride, padding, dilation, ceil_mode); padding <= kernel // 2 as torch requires
MAX_CONFIGS = [
    (2, None, 0, 1, False),
    (3, 1, 1, 1, False),
    (3, 2, 1, 1, True),
    (2, 3, 1, 1, True),
    (3, 2, 0, 2, False),
    (2, 2, 1, 2, True),
    (3, 1, 1, 2, True),
]
AVG_CONFIGS = [
    (2, None, 0, False),
    (3, 1, 1, False),
    (3, 2, 1, True),
    (2, 3, 1, True),
    (4, 3, 2, True),
]


def _tie_free(shape: tuple, seed: int, positive: bool = False) -> np.ndarray:
    rng = np.random.default_rng(seed)
    size = int(np.prod(shape))
    vals = 0.5 + rng.permutation(size) / size
    if not positive:
        vals *= rng.choice([-1.0, 1.0], size=size)
    return vals.reshape(shape)


def _to_layout(a: np.ndarray, data_format: str) -> np.ndarray:
    """channels_first array -> the given layout."""
    return a if data_format == "channels_first" else np.moveaxis(a, 1, -1)


def _from_layout(a: np.ndarray, data_format: str) -> np.ndarray:
    return a if data_format == "channels_first" else np.moveaxis(a, -1, 1)


def _torch_vjp(fn: Callable, x: np.ndarray, dtype: Any = torch.float64):
    """Forward and ``dx`` of ``fn`` by torch autograd for a seeded random ``dy``."""
    tx = torch.tensor(x, dtype=dtype, requires_grad=True)
    ty = fn(tx)
    dy = np.random.default_rng(99).standard_normal(tuple(ty.shape))
    ty.backward(torch.tensor(dy, dtype=dtype))
    return ty.detach().numpy(), dy, tx.grad.numpy()


def _check(fn_torch: Callable, op: str, x_cf: np.ndarray, args: tuple, kwargs: dict,
           data_format: str, rtol: float = 1e-12, atol: float = 1e-13,
           dtype: Any = np.float64) -> None:
    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    ty, dy, tdx = _torch_vjp(fn_torch, x_cf.astype(dtype), tdtype)
    x = _to_layout(x_cf.astype(dtype), data_format)
    y, back = pk.vjp(op, x, *args, data_format=data_format, **kwargs)
    np.testing.assert_allclose(_from_layout(np.asarray(y), data_format), ty, rtol=rtol,
                               atol=atol)
    dx = back(_to_layout(dy, data_format))
    assert dx.dtype == dtype and dx.shape == x.shape
    np.testing.assert_allclose(_from_layout(dx, data_format), tdx, rtol=rtol, atol=atol)


def _f(kind: str, rank: int) -> Callable:
    return getattr(F, f"{kind}{rank}d")


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("cfg", MAX_CONFIGS)
@pytest.mark.parametrize("rank", [1, 2, 3])
def test_max_pool_grad_vs_torch(rank, cfg, data_format):
    k, s, p, d, ceil = cfg
    x = _tie_free((2, 3, *SPATIAL[rank]), seed=rank)
    fn = lambda t: _f("max_pool", rank)(t, k, s, p, dilation=d, ceil_mode=ceil)  # noqa: E731
    _check(fn, "max_pool", x, (k, s, p), dict(dilation=d, ceil_mode=ceil), data_format)


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("count_include_pad", [False, True])
@pytest.mark.parametrize("cfg", AVG_CONFIGS)
@pytest.mark.parametrize("rank,divisor_override", [(1, None), (2, None), (3, None), (2, 5),
                                                   (3, 7)])   # avg_pool1d has no override
def test_avg_pool_grad_vs_torch(rank, divisor_override, cfg, count_include_pad, data_format):
    k, s, p, ceil = cfg
    kw = dict(ceil_mode=ceil, count_include_pad=count_include_pad)
    tkw = dict(kw, divisor_override=divisor_override) if divisor_override else kw
    x = np.random.default_rng(rank).standard_normal((2, 3, *SPATIAL[rank]))
    fn = lambda t: _f("avg_pool", rank)(t, k, s, p, **tkw)  # noqa: E731
    _check(fn, "avg_pool", x, (k, s, p), dict(kw, divisor_override=divisor_override),
           data_format)


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("p", [1, 2, 3, 2.5])
@pytest.mark.parametrize("rank,k,s", [(1, 3, 2), (2, (2, 3), (2, 1)), (3, 2, (1, 2, 1))])
def test_lp_pool_grad_vs_torch_nonnegative(rank, k, s, p, data_format):
    x = _tie_free((2, 3, *SPATIAL[rank]), seed=rank + 5, positive=True)
    fn = lambda t: _f("lp_pool", rank)(t, float(p), k, s)  # noqa: E731
    _check(fn, "lp_pool", x, (p, k, s), {}, data_format, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("op", ["adaptive_max_pool", "adaptive_avg_pool"])
@pytest.mark.parametrize("rank,out", [(1, 4), (1, 13), (2, (4, 3)), (2, (1, 9)),
                                      (3, (3, 2, 5)), (3, 1)])
def test_adaptive_grad_vs_torch(rank, out, op, data_format):
    x = _tie_free((2, 3, *SPATIAL[rank]), seed=rank + 7)
    fn = lambda t: _f(op, rank)(t, out)  # noqa: E731
    _check(fn, op, x, (out,), {}, data_format)


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("rank", [1, 2, 3])
def test_global_grads_vs_torch(rank, data_format):
    x = _tie_free((2, 3, *SPATIAL[rank]), seed=rank + 9)
    dims = tuple(range(2, 2 + rank))
    _check(lambda t: t.amax(dim=dims), "global_max_pool", x, (), {}, data_format)
    _check(lambda t: t.mean(dim=dims, keepdim=True), "global_avg_pool", x, (),
           dict(keepdims=True), data_format)
    for p in (1, 2, 3, 2.5, float("inf")):
        fn = lambda t: torch.linalg.vector_norm(t, ord=p, dim=dims)  # noqa: E731
        _check(fn, "global_lp_pool", x, (p,), {}, data_format, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("rank", [1, 2, 3])
def test_float32_grads_vs_torch(rank):
    x = np.random.default_rng(rank).standard_normal((2, 3, *SPATIAL[rank]))
    _check(lambda t: _f("max_pool", rank)(t, 3, 2, 1, ceil_mode=True), "max_pool", x,
           (3, 2, 1), dict(ceil_mode=True), "channels_last", rtol=1e-6, atol=1e-6,
           dtype=np.float32)
    _check(lambda t: _f("avg_pool", rank)(t, 3, 2, 1, ceil_mode=True, count_include_pad=True),
           "avg_pool", x, (3, 2, 1), dict(ceil_mode=True, count_include_pad=True),
           "channels_first", rtol=1e-5, atol=1e-6, dtype=np.float32)


@pytest.mark.parametrize("rank", [2, 3])
def test_max_ties_vs_torch(rank):
    """Many ties (values from {-1, 0, 1}), overlapping windows: poolkit's first-maximum rule
    agrees with torch's CPU kernel, which scans the window in row-major order with ``>``."""
    x = np.random.default_rng(rank).integers(-1, 2, size=(2, 3, *SPATIAL[rank])).astype(float)
    fn = lambda t: _f("max_pool", rank)(t.contiguous(), 3, 1, 1)  # noqa: E731
    _check(fn, "max_pool", x, (3, 1, 1), {}, "channels_first")
    fn = lambda t: _f("adaptive_max_pool", rank)(t.contiguous(), 3)  # noqa: E731
    _check(fn, "adaptive_max_pool", x, (3,), {}, "channels_first")
