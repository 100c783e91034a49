"""PyTorch (CPU) as an optional oracle for the torch-style subset of poolkit's API.

Torch-style arguments: symmetric int padding (at most half the kernel), ``ceil_mode``,
``count_include_pad``, ``divisor_override`` (2-D/3-D), dilation (max only) and
``return_indices``; poolkit is called with ``data_format="channels_first"``.

Known, documented differences that are *not* claimed as agreement and so not tested here:

* ``torch.nn.functional.lp_poolNd`` computes ``avg_pool(x**p) * kernel_volume`` then the
  ``1/p`` power: it uses ``x**p`` without ``abs`` (negative inputs with odd ``p`` differ from
  ONNX/poolkit) and, with ``ceil_mode``, multiplies a clipped-window mean by the full kernel
  volume.  Lp agreement is therefore checked on non-negative inputs, unpadded, floor mode.
* torch has no "same" padding for pooling and no asymmetric pads.

The reference backward passes of :mod:`tests.reference` are also checked against torch's
autograd here, so the gradient tests that use them rest on an independent oracle.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

import poolkit as pk  # noqa: E402

from . import reference as ref  # noqa: E402

SPATIAL = {1: (11,), 2: (7, 8), 3: (5, 6, 7)}

# (kernel, stride, padding, dilation, ceil_mode); padding <= kernel // 2 as torch requires
CONFIGS = [
    (2, None, 0, 1, False),
    (3, 1, 1, 1, False),
    (3, 2, 1, 1, True),
    (2, 3, 1, 1, True),
    (3, 2, 0, 2, False),
    (2, 2, 1, 2, True),
    (4, 3, 2, 1, True),
]


def _x(rank: int, dtype: Any = np.float32, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((2, 3, *SPATIAL[rank])).astype(dtype)


def _fn(kind: str, rank: int) -> Any:
    return getattr(F, f"{kind}{rank}d")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cfg", CONFIGS)
@pytest.mark.parametrize("rank", [1, 2, 3])
def test_max_pool_vs_torch(rank: int, cfg: tuple, dtype: Any) -> None:
    k, s, p, d, ceil = cfg
    x = _x(rank, dtype, seed=rank)
    ty, ti = _fn("max_pool", rank)(torch.from_numpy(x), k, s, p, d, ceil_mode=ceil,
                                   return_indices=True)
    y, i = pk.max_pool(x, k, s, p, dilation=d, ceil_mode=ceil, data_format="channels_first",
                       return_indices=True)
    np.testing.assert_array_equal(y, ty.numpy())
    np.testing.assert_array_equal(i, ti.numpy())


@pytest.mark.parametrize("count_include_pad", [False, True])
@pytest.mark.parametrize("cfg", [c for c in CONFIGS if c[3] == 1])
@pytest.mark.parametrize(  # torch's avg_pool1d has no divisor_override
    "rank,divisor_override", [(1, None), (2, None), (2, 5), (3, None), (3, 5)])
def test_avg_pool_vs_torch(rank: int, cfg: tuple, count_include_pad: bool,
                           divisor_override: Any) -> None:
    k, s, p, _, ceil = cfg
    x = _x(rank, np.float64, seed=rank)
    extra = {} if rank == 1 else {"divisor_override": divisor_override}
    ty = _fn("avg_pool", rank)(torch.from_numpy(x), k, s, p, ceil_mode=ceil,
                               count_include_pad=count_include_pad, **extra)
    y = pk.avg_pool(x, k, s, p, ceil_mode=ceil, count_include_pad=count_include_pad,
                    divisor_override=divisor_override, data_format="channels_first")
    assert y.dtype == np.float64
    np.testing.assert_allclose(y, ty.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("p", [1, 2, 3])
@pytest.mark.parametrize("rank", [1, 2, 3])
def test_lp_pool_vs_torch_nonnegative(rank: int, p: int) -> None:
    x = np.abs(_x(rank, np.float64, seed=p))
    k, s = 3, 2
    ty = _fn("lp_pool", rank)(torch.from_numpy(x), float(p), k, s)
    y = pk.lp_pool(x, p, k, s, data_format="channels_first")
    np.testing.assert_allclose(y, ty.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("rank,out", [(1, 4), (1, 15), (2, (3, 5)), (2, (7, 8)), (2, (10, 3)),
                                      (3, (2, 4, 3)), (3, (5, 9, 7))])
def test_adaptive_vs_torch(rank: int, out: Any) -> None:
    x = _x(rank, np.float32, seed=rank)
    ty, ti = _fn("adaptive_max_pool", rank)(torch.from_numpy(x), out, return_indices=True)
    y, i = pk.adaptive_max_pool(x, out, data_format="channels_first", return_indices=True)
    np.testing.assert_array_equal(y, ty.numpy())
    np.testing.assert_array_equal(i, ti.numpy())
    ta = _fn("adaptive_avg_pool", rank)(torch.from_numpy(x.astype(np.float64)), out)
    a = pk.adaptive_avg_pool(x.astype(np.float64), out, data_format="channels_first")
    np.testing.assert_allclose(a, ta.numpy(), rtol=1e-12, atol=1e-12)


def test_global_vs_torch() -> None:
    x = _x(2, np.float64)
    t = torch.from_numpy(x)
    np.testing.assert_array_equal(pk.global_max_pool(x, data_format="channels_first"),
                                  t.amax(dim=(2, 3)).numpy())
    np.testing.assert_allclose(pk.global_avg_pool(x, data_format="channels_first"),
                               t.mean(dim=(2, 3)).numpy(), rtol=1e-12)
    np.testing.assert_allclose(pk.global_lp_pool(x, 3, data_format="channels_first"),
                               t.abs().pow(3).sum(dim=(2, 3)).pow(1 / 3).numpy(), rtol=1e-12)


# --------------------------------------------------------------------------------------------
# the reference backward passes against torch autograd
# --------------------------------------------------------------------------------------------


def _autograd(fn: Any, x: np.ndarray, seed: int = 9) -> tuple[np.ndarray, np.ndarray]:
    xt = torch.tensor(x, requires_grad=True)
    y = fn(xt)
    dy = np.random.default_rng(seed).standard_normal(tuple(y.shape))
    y.backward(torch.from_numpy(dy))
    return dy, xt.grad.numpy()


@pytest.mark.parametrize("cfg", CONFIGS)
@pytest.mark.parametrize("rank", [1, 2, 3])
def test_reference_max_grad_vs_torch(rank: int, cfg: tuple) -> None:
    k, s, p, d, ceil = cfg
    x = _x(rank, np.float64, seed=4)
    dy, dx = _autograd(lambda t: _fn("max_pool", rank)(t, k, s, p, d, ceil_mode=ceil), x)
    got = ref.max_pool_grad(x, dy, k, s, p, dilation=d, ceil_mode=ceil,
                            data_format="channels_first")
    np.testing.assert_allclose(got, dx, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("count_include_pad", [False, True])
@pytest.mark.parametrize("cfg", [c for c in CONFIGS if c[3] == 1])
@pytest.mark.parametrize("rank", [2, 3])
def test_reference_avg_grad_vs_torch(rank: int, cfg: tuple, count_include_pad: bool) -> None:
    k, s, p, _, ceil = cfg
    x = _x(rank, np.float64, seed=5)
    dy, dx = _autograd(lambda t: _fn("avg_pool", rank)(
        t, k, s, p, ceil_mode=ceil, count_include_pad=count_include_pad, divisor_override=None
    ), x)
    got = ref.avg_pool_grad(x, dy, k, s, p, ceil_mode=ceil, count_include_pad=count_include_pad,
                            data_format="channels_first")
    np.testing.assert_allclose(got, dx, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("p", [1.5, 2.0, 3.0])
def test_reference_lp_grad_vs_torch(p: float) -> None:
    x = _x(2, np.float64, seed=6)
    # (sum |x|^p)^(1/p) written with torch primitives: avg over the window times its volume.
    dy, dx = _autograd(lambda t: (F.avg_pool2d(t.abs() ** p, 3, 2) * 9) ** (1 / p), x)
    got = ref.lp_pool_grad(x, dy, p, 3, 2, data_format="channels_first")
    np.testing.assert_allclose(got, dx, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("out", [(3, 5), (7, 8), (10, 3)])
def test_reference_adaptive_grads_vs_torch(out: tuple) -> None:
    x = _x(2, np.float64, seed=7)
    dy, dx = _autograd(lambda t: F.adaptive_max_pool2d(t, out), x)
    np.testing.assert_allclose(ref.adaptive_max_pool_grad(x, dy, out, data_format="channels_first"),
                               dx, rtol=1e-12, atol=1e-12)
    dy, dx = _autograd(lambda t: F.adaptive_avg_pool2d(t, out), x)
    np.testing.assert_allclose(ref.adaptive_avg_pool_grad(x, dy, out, data_format="channels_first"),
                               dx, rtol=1e-12, atol=1e-12)


def test_reference_global_grads_vs_torch() -> None:
    x = _x(3, np.float64, seed=8)
    dims = (2, 3, 4)
    for ref_grad, fn in (
        (ref.global_max_pool_grad, lambda t: t.amax(dim=dims)),
        (ref.global_avg_pool_grad, lambda t: t.mean(dim=dims)),
        (lambda x, dy, **kw: ref.global_lp_pool_grad(x, dy, 2, **kw),
         lambda t: t.abs().pow(2).sum(dim=dims).sqrt()),
    ):
        dy, dx = _autograd(fn, x)
        np.testing.assert_allclose(ref_grad(x, dy, data_format="channels_first"), dx,
                                   rtol=1e-12, atol=1e-12)
