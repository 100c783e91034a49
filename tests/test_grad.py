"""Proof of the backward passes ``pk.vjp`` / ``pk.grad``.

The gradients are checked against oracles that do not share code with poolkit's kernels:

* central finite differences in float64 on tie-free inputs (every op, 1-3 D, both layouts,
  every padding form, dilation, ``ceil_mode``, ``count_include_pad``, ``divisor_override``);
* the adjoint identity of the (linear) average ops, both as ``<A x, g> == <x, A^T g>`` on random
  vectors and as the full Jacobian matrix built from basis vectors;
* the slow loop reference gradients of :mod:`tests.reference` (themselves checked against
  PyTorch's autograd in ``test_torch_oracle.py``), over a parametrised grid and random
  geometries drawn by hypothesis;
* hand-derived arrays for the documented rules on ties, NaN, padding and overlapping windows.

PyTorch autograd as an optional oracle lives in ``test_grad_torch.py``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import poolkit as pk

from . import reference as ref
from .registry import OPS, make_input, tolerance
from .strategies import window_geometry

FORMATS = ("channels_last", "channels_first")
SPATIAL = {1: (7,), 2: (5, 4), 3: (3, 4, 3)}
GLOBAL_OPS = ("global_max_pool", "global_avg_pool", "global_lp_pool")


# ------------------------------------------------------------------------------------ helpers
def _shape(rank: int, data_format: str, n: int = 2, c: int = 2, spatial=None) -> tuple:
    sp = tuple(spatial if spatial is not None else SPATIAL[rank])
    return (n, *sp, c) if data_format == "channels_last" else (n, c, *sp)


def _tie_free(shape: tuple, seed: int = 0) -> np.ndarray:
    """Float64 input whose values (and absolute values) are pairwise distinct, spaced at least
    ``1/size`` apart and at least 0.5 away from 0: no argmax can switch under a small
    perturbation and ``|x|**p`` is smooth everywhere."""
    rng = np.random.default_rng(seed)
    size = int(np.prod(shape))
    mags = 0.5 + rng.permutation(size) / max(size, 1)
    signs = rng.choice([-1.0, 1.0], size=size)
    return (signs * mags).reshape(shape)


def _fn(op: str):
    return getattr(pk, op)


def _numeric_grad(op: str, x: np.ndarray, g: np.ndarray, *args: Any, h: float = 1e-5,
                  **kwargs: Any) -> np.ndarray:
    """Central differences of ``sum(op(x) * g)`` with respect to every cell of ``x``.

    Ops act on every batch item independently, so all ``2 * x.size`` perturbed copies of ``x``
    are stacked along the batch axis and pushed through a single forward call."""
    size, nb = x.size, x.shape[0]
    eye = np.eye(size).reshape(size, *x.shape) * h
    stacked = np.concatenate([x[None] + eye, x[None] - eye])          # (2 size, *x.shape)
    y = np.asarray(_fn(op)(stacked.reshape(2 * size * nb, *x.shape[1:]), *args, **kwargs))
    y = y.reshape(2 * size, *g.shape).astype(np.float64)
    f = np.sum(y * g, axis=tuple(range(1, y.ndim)))
    return ((f[:size] - f[size:]) / (2 * h)).reshape(x.shape)


def _pullback(op: str, x: np.ndarray, *args: Any, **kwargs: Any):
    y, back = pk.vjp(op, x, *args, **kwargs)
    return np.asarray(y), back


# ------------------------------------------------------------------------ geometry of the grid
# (pool_size, strides, padding, dilation, ceil_mode) per rank; SPATIAL[rank] inputs.
WINDOWED = {
    1: [
        (3, 2, "same", 1, False),
        (3, 1, "same_lower", 2, False),
        (2, 3, 1, 1, True),
        (3, 2, ((2, 0),), 1, True),
        (4, 3, ((0, 3),), 1, True),
        (2, 1, "valid", 3, False),
    ],
    2: [
        ((3, 2), (2, 1), "same", 1, False),
        (2, (1, 2), "same_lower", (2, 1), False),
        (3, 2, 1, 1, True),
        ((2, 3), 2, ((1, 0), (0, 2)), 1, True),
        (2, 2, (1, 0), (2, 1), False),
    ],
    3: [
        (2, 1, "same", 1, False),
        ((2, 3, 2), (2, 1, 2), ((1, 0), (1, 1), (0, 1)), 1, True),
        (2, 2, 1, (1, 2, 1), True),
    ],
}
WINDOWED_CASES = [(rank, cfg) for rank, cfgs in WINDOWED.items() for cfg in cfgs]
ADAPTIVE = {1: [3, 10], 2: [(3, 2), (7, 3)], 3: [(2, 3, 2), (4, 5, 1)]}
ADAPTIVE_CASES = [(rank, o) for rank, os in ADAPTIVE.items() for o in os]
AVG_DIVISORS = [dict(), dict(count_include_pad=True), dict(divisor_override=3)]
LP_PS = [1, 2, 3, 2.5, math.inf]


def _win_kwargs(cfg: tuple, data_format: str) -> tuple[tuple, dict]:
    k, s, pad, d, ceil = cfg
    return (k, s, pad), dict(dilation=d, ceil_mode=ceil, data_format=data_format)


def _fd_check(op: str, x: np.ndarray, *args: Any, **kwargs: Any) -> None:
    y, back = _pullback(op, x, *args, **kwargs)
    g = np.random.default_rng(1).standard_normal(y.shape)
    got = back(g)
    assert got.shape == x.shape and got.dtype == np.float64
    want = _numeric_grad(op, x, g, *args, **kwargs)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


# -------------------------------------------------------------------- finite differences
@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("rank,cfg", WINDOWED_CASES)
def test_fd_max_pool(rank, cfg, data_format):
    args, kw = _win_kwargs(cfg, data_format)
    _fd_check("max_pool", _tie_free(_shape(rank, data_format), rank), *args, **kw)


@pytest.mark.parametrize("divisor", AVG_DIVISORS, ids=["real", "include_pad", "override"])
@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("rank,cfg", WINDOWED_CASES)
def test_fd_avg_pool(rank, cfg, data_format, divisor):
    args, kw = _win_kwargs(cfg, data_format)
    _fd_check("avg_pool", _tie_free(_shape(rank, data_format), rank), *args, **kw, **divisor)


@pytest.mark.parametrize("p", LP_PS)
@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("rank,cfg", WINDOWED_CASES)
def test_fd_lp_pool(rank, cfg, data_format, p):
    args, kw = _win_kwargs(cfg, data_format)
    _fd_check("lp_pool", _tie_free(_shape(rank, data_format), rank + 10), p, *args, **kw)


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("rank", [1, 2, 3])
@pytest.mark.parametrize("op,p", [("global_max_pool", None), ("global_avg_pool", None)]
                         + [("global_lp_pool", p) for p in LP_PS])
def test_fd_global(op, p, rank, data_format, keepdims):
    x = _tie_free(_shape(rank, data_format), rank + 20)
    args = () if p is None else (p,)
    _fd_check(op, x, *args, data_format=data_format, keepdims=keepdims)


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("rank,out", ADAPTIVE_CASES)
@pytest.mark.parametrize("op", ["adaptive_max_pool", "adaptive_avg_pool"])
def test_fd_adaptive(op, rank, out, data_format):
    x = _tie_free(_shape(rank, data_format), rank + 30)
    _fd_check(op, x, out, data_format=data_format)


def test_fd_integer_spatial_sizes_of_one():
    """Degenerate geometry: a single cell per window (k=1) and a 1-long spatial axis."""
    x = _tie_free((2, 1, 5, 3))
    _fd_check("max_pool", x, 1, (1, 2))
    _fd_check("avg_pool", x, (1, 3), 1, "same", count_include_pad=True)
    _fd_check("lp_pool", x, 2.5, (1, 2), 1, ((0, 0), (1, 1)))


# -------------------------------------------------------------------- adjoint identity (avg)
AVG_LINEAR_CASES = (
    [("avg_pool", rank, _win_kwargs(cfg, df), div)
     for rank, cfg in WINDOWED_CASES for df in FORMATS for div in AVG_DIVISORS]
    + [("adaptive_avg_pool", rank, ((o,), dict(data_format=df)), {})
       for rank, o in ADAPTIVE_CASES for df in FORMATS]
    + [("global_avg_pool", rank, ((), dict(data_format=df, keepdims=kd)), {})
       for rank in (1, 2, 3) for df in FORMATS for kd in (False, True)]
)


def _linear_ids(case):
    op, rank, (args, kw), div = case
    return f"{op}-{rank}d-{args}-{sorted(kw.items())}-{sorted(div.items())}"


@pytest.mark.parametrize("case", AVG_LINEAR_CASES, ids=[_linear_ids(c) for c in AVG_LINEAR_CASES])
def test_avg_adjoint_identity(case):
    """``<avg(x), g> == <x, pullback(g)>`` on random ``x`` and ``g``."""
    op, rank, (args, kw), div = case
    rng = np.random.default_rng(rank)
    x = rng.standard_normal(_shape(rank, kw["data_format"], n=3, c=2))
    y, back = _pullback(op, x, *args, **kw, **div)
    g = rng.standard_normal(y.shape)
    lhs = float(np.sum(y * g))
    rhs = float(np.sum(x * back(g)))
    assert lhs == pytest.approx(rhs, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("case", AVG_LINEAR_CASES[::3], ids=[_linear_ids(c)
                                                               for c in AVG_LINEAR_CASES[::3]])
def test_avg_pullback_is_transpose_of_jacobian(case):
    """Full matrices: column ``i`` of the forward Jacobian is ``avg(e_i)``, row ``j`` of the
    pullback's matrix is ``pullback(e_j)``; the two must be transposes of each other."""
    op, rank, (args, kw), div = case
    one = _shape(rank, kw["data_format"], n=1, c=2)
    size = int(np.prod(one))
    basis_in = np.eye(size).reshape(size, *one[1:])              # a batch of basis inputs
    jac = np.asarray(_fn(op)(basis_in, *args, **kw, **div)).reshape(size, -1).T   # (out, in)
    m = jac.shape[0]
    # The pullback of a linear op does not depend on x: use a batch of m zero inputs and push
    # the m basis vectors of the output back at once.
    y, back = _pullback(op, np.zeros((m, *one[1:])), *args, **kw, **div)
    basis_out = np.eye(m).reshape(y.shape)
    pull = back(basis_out).reshape(m, size)                       # row j = pullback(e_j)
    np.testing.assert_allclose(pull, jac, rtol=1e-13, atol=1e-15)
    assert np.all(jac.sum(axis=0) >= 0) and np.any(jac)          # sanity: a real averaging map


# -------------------------------------------------------------------- the documented rules
def _cf1(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).reshape(1, 1, -1)


def test_max_tie_goes_to_first_max_and_overlaps_accumulate():
    x = _cf1([1, 3, 3, 2])                 # windows (k=2, s=1): [1,3] [3,3] [3,2]
    dy = _cf1([10, 20, 40])
    # [1,3] -> cell 1; [3,3] tie -> first, cell 1; [3,2] -> cell 2
    want = _cf1([0, 10 + 20, 40, 0])
    got = pk.grad("max_pool", x, dy, 2, 1, data_format="channels_first")
    np.testing.assert_array_equal(got, want)


def test_max_tie_row_major_window_order_2d():
    # One 2x2 window [[1, 5], [5, 2]]: row-major order reaches (0, 1) before (1, 0)
    # (a column-major scan would pick (1, 0)).
    x = np.array([[1.0, 5.0], [5.0, 2.0]]).reshape(1, 1, 2, 2)
    want = np.array([[0.0, 7.0], [0.0, 0.0]]).reshape(1, 1, 2, 2)
    got = pk.grad(pk.max_pool, x, np.full((1, 1, 1, 1), 7.0), 2, data_format="channels_first")
    np.testing.assert_array_equal(got, want)
    # the same in channels_last with two channels that tie differently
    xl = np.stack([x[0, 0], np.array([[5.0, 5.0], [5.0, 5.0]])], axis=-1)[None]
    got = pk.grad(pk.max_pool, xl, np.array([[[[7.0, 3.0]]]]), 2)
    np.testing.assert_array_equal(got[0, ..., 0], want[0, 0])
    np.testing.assert_array_equal(got[0, ..., 1], [[3.0, 0.0], [0.0, 0.0]])


def test_max_tie_3d_first_in_row_major():
    # 2x2x2 window, maxima at (0, 1, 1) and (1, 0, 0): row-major (d, h, w) visits (0, 1, 1) first.
    x = np.zeros((1, 1, 2, 2, 2))
    x[0, 0, 0, 1, 1] = x[0, 0, 1, 0, 0] = 4.0
    want = np.zeros_like(x)
    want[0, 0, 0, 1, 1] = 2.5
    got = pk.grad("max_pool", x, np.full((1, 1, 1, 1, 1), 2.5), 2, data_format="channels_first")
    np.testing.assert_array_equal(got, want)


def test_max_nan_gets_the_gradient_first_nan():
    nan = math.nan
    x = _cf1([1, nan, 5, nan, 2])          # windows k=2 s=1: [1,n] [n,5] [5,n] [n,2]
    dy = _cf1([1, 2, 4, 8])
    y, back = pk.vjp("max_pool", x, 2, 1, data_format="channels_first")
    assert np.isnan(y).all()
    # every window holds a NaN; its gradient goes to that NaN (cells 1 and 3)
    np.testing.assert_array_equal(back(dy), _cf1([0, 1 + 2, 0, 4 + 8, 0]))
    # two NaNs in one window: the first one takes it
    x = _cf1([0, nan, 9, nan])
    got = pk.grad("max_pool", x, _cf1([5]), 4, data_format="channels_first")
    np.testing.assert_array_equal(got, _cf1([0, 5, 0, 0]))


def test_max_nan_in_2d_window_before_the_max():
    x = np.array([[9.0, 1.0], [math.nan, 2.0]]).reshape(1, 2, 2, 1)    # channels_last
    got = pk.grad("max_pool", x, np.full((1, 1, 1, 1), 3.0), 2)
    np.testing.assert_array_equal(got[0, :, :, 0], [[0.0, 0.0], [3.0, 0.0]])


def test_max_padding_never_wins():
    # all values negative: a zero-valued padded cell would win if padding took part
    x = _cf1([-3, -1, -2])
    dy = _cf1([1, 10, 100])                # k=3, s=1, padding=1 -> 3 windows, all won by cell 1
    got = pk.grad("max_pool", x, dy, 3, 1, 1, data_format="channels_first")
    np.testing.assert_array_equal(got, _cf1([0, 111, 0]))
    got = pk.grad("max_pool", x, dy, 3, 1, "same", data_format="channels_first")
    np.testing.assert_array_equal(got, _cf1([0, 111, 0]))


def test_adaptive_max_overlapping_windows_accumulate():
    # in=5, out=3: windows [0,2) [1,4) [3,5)
    x = _cf1([0, 9, 1, 2, 3])
    got = pk.grad("adaptive_max_pool", x, _cf1([1, 10, 100]), 3, data_format="channels_first")
    np.testing.assert_array_equal(got, _cf1([0, 11, 0, 0, 100]))


def test_adaptive_avg_overlapping_windows():
    x = _cf1([0, 9, 1, 2, 3])              # windows [0,2) [1,4) [3,5), sizes 2, 3, 2
    a, b, c = 6.0, 9.0, 4.0
    want = _cf1([a / 2, a / 2 + b / 3, b / 3, b / 3 + c / 2, c / 2])
    got = pk.grad("adaptive_avg_pool", x, _cf1([a, b, c]), 3, data_format="channels_first")
    np.testing.assert_allclose(got, want, rtol=1e-15)


@pytest.mark.parametrize("divisor,d0,d1,d2", [
    (dict(), 2, 3, 2),                         # real cells only
    (dict(count_include_pad=True), 3, 3, 3),   # padded cells count
    (dict(divisor_override=5), 5, 5, 5),
])
def test_avg_divisors_by_hand(divisor, d0, d1, d2):
    # n=3, k=3, s=1, padding=1: windows {-1,0,1} {0,1,2} {1,2,3}
    x = _cf1([4, -1, 7])
    a, b, c = 6.0, 12.0, 30.0
    want = _cf1([a / d0 + b / d1, a / d0 + b / d1 + c / d2, b / d1 + c / d2])
    got = pk.grad("avg_pool", x, _cf1([a, b, c]), 3, 1, 1, data_format="channels_first",
                  **divisor)
    np.testing.assert_allclose(got, want, rtol=1e-15)


@pytest.mark.parametrize("cip,divs", [(False, (2, 3, 1)), (True, (3, 3, 2))])
def test_avg_ceil_mode_overhang_by_hand(cip, divs):
    # n=4, k=3, s=2, padding=1, ceil_mode: out = ceil((4+2-3)/2)+1 = 3, windows start at
    # -1, 1, 3: {-1,0,1} {1,2,3} {3,4,5}.  Real cells: 2, 3, 1.  Cells inside the padded
    # input [-1, 5): 3, 3, 2 (position 5 is the ceil overhang, outside the padded input).
    x = _cf1([1, 2, 3, 4])
    a, b, c = 6.0, 12.0, 30.0
    d0, d1, d2 = divs
    want = _cf1([a / d0, a / d0 + b / d1, b / d1, b / d1 + c / d2])
    got = pk.grad("avg_pool", x, _cf1([a, b, c]), 3, 2, 1, ceil_mode=True,
                  count_include_pad=cip, data_format="channels_first")
    np.testing.assert_allclose(got, want, rtol=1e-15)


def test_avg_gradient_on_padding_is_dropped():
    # "same" padding k=2 s=2 on n=3: windows {0,1} {2,3}; the pad cell 3 gets nothing,
    # dx keeps x's shape and with count_include_pad the last window divides by 2.
    x = _cf1([1, 2, 3])
    got = pk.grad("avg_pool", x, _cf1([2.0, 8.0]), 2, 2, "same", count_include_pad=True,
                  data_format="channels_first")
    np.testing.assert_allclose(got, _cf1([1.0, 1.0, 4.0]), rtol=1e-15)
    got = pk.grad("avg_pool", x, _cf1([2.0, 8.0]), 2, 2, "same", data_format="channels_first")
    np.testing.assert_allclose(got, _cf1([1.0, 1.0, 8.0]), rtol=1e-15)


def test_lp_rule_by_hand():
    x = _cf1([3, -4])
    # p=2: y = 5, dx = dy * x / y
    np.testing.assert_allclose(pk.grad("lp_pool", x, _cf1([10.0]), 2, 2,
                                       data_format="channels_first"), _cf1([6.0, -8.0]),
                               rtol=1e-14)
    # p=1: dx = dy * sign(x)
    np.testing.assert_allclose(pk.grad("lp_pool", x, _cf1([10.0]), 1, 2,
                                       data_format="channels_first"), _cf1([10.0, -10.0]),
                               rtol=1e-14)
    # p=3: y = 91**(1/3), dx = dy * sign(x) x**2 / y**2
    y = 91.0 ** (1 / 3)
    np.testing.assert_allclose(pk.grad("lp_pool", x, _cf1([10.0]), 3, 2,
                                       data_format="channels_first"),
                               _cf1([10 * 9 / y**2, -10 * 16 / y**2]), rtol=1e-13)


def test_lp_zero_cells_and_zero_windows_get_zero():
    x = _cf1([0, 0, 0, 2])                 # windows k=2 s=2: [0,0] (y=0) and [0,2]
    for p in (1, 2, 2.5, 3):
        got = pk.grad("lp_pool", x, _cf1([7.0, 5.0]), p, 2, data_format="channels_first")
        # y=0 window: sub-gradient 0; the x=0 cell of the other window: 0; the 2: dy * 1
        np.testing.assert_allclose(got, _cf1([0, 0, 0, 5.0]), rtol=1e-14, err_msg=f"p={p}")
        assert np.all(np.isfinite(got))


def test_lp_inf_routes_signed_gradient_to_first_max_abs():
    x = _cf1([3, -4, 4, 1])                # |x| tie between -4 and 4: the first (-4) wins
    got = pk.grad("lp_pool", x, _cf1([5.0]), math.inf, 4, data_format="channels_first")
    np.testing.assert_array_equal(got, _cf1([0, -5.0, 0, 0]))
    got = pk.grad("global_lp_pool", x, np.array([[5.0]]), math.inf,
                  data_format="channels_first")
    np.testing.assert_array_equal(got, _cf1([0, -5.0, 0, 0]))


def test_global_max_tie_and_global_avg_by_hand():
    x = np.array([[2.0, 7.0], [7.0, 1.0], [0.0, 7.0]])[None]       # (1, 3, 2) channels_last
    got = pk.grad("global_max_pool", x, np.array([[4.0, 6.0]]))
    np.testing.assert_array_equal(got, np.array([[[0, 6.0], [4.0, 0], [0, 0]]]))
    got = pk.grad("global_avg_pool", x, np.array([[[3.0, 6.0]]]), keepdims=True)
    np.testing.assert_allclose(got, np.array([[[1.0, 2.0]] * 3]), rtol=1e-15)


# -------------------------------------------------------------------- reference gradients
# (args, kwargs) valid for every rank on SPATIAL inputs; ints so they apply to 1-3 D.
REF_GRID = {
    "max_pool": [((3,), dict(strides=2, padding="same")),
                 ((2,), dict(strides=1, padding=1, dilation=2, ceil_mode=True)),
                 ((3,), dict(strides=2, padding="same_lower", ceil_mode=True))],
    "avg_pool": [((3,), dict(strides=2, padding="same")),
                 ((3,), dict(strides=2, padding=1, ceil_mode=True, count_include_pad=True)),
                 ((2,), dict(strides=1, padding="same_lower", dilation=2, divisor_override=3))],
    "lp_pool": [((2, 3), dict(strides=2, padding="same")),
                ((2.5, 2), dict(strides=1, padding=1, dilation=2, ceil_mode=True)),
                ((1, 3), dict(strides=2, padding="valid")),
                ((math.inf, 2), dict(strides=1, padding="same"))],
    "global_max_pool": [((), dict()), ((), dict(keepdims=True))],
    "global_avg_pool": [((), dict()), ((), dict(keepdims=True))],
    "global_lp_pool": [((), dict()), ((3,), dict(keepdims=True)), ((math.inf,), dict())],
    "adaptive_max_pool": [((3,), dict()), ((6,), dict())],
    "adaptive_avg_pool": [((3,), dict()), ((6,), dict())],
}
REF_CASES = [(name, a, kw) for name, cfgs in REF_GRID.items() for a, kw in cfgs]


def _ref_check(name: str, x: np.ndarray, args: tuple, kwargs: dict, dy_seed: int = 3) -> None:
    y, back = pk.vjp(name, x, *args, **kwargs)
    dy = np.random.default_rng(dy_seed).standard_normal(np.shape(y))
    got = back(dy)
    want = OPS[name].reference_grad(x, dy, *args, **kwargs)
    expected_dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
    assert got.shape == x.shape
    assert got.dtype == expected_dtype
    rtol, atol = tolerance(expected_dtype)
    if x.dtype == np.float16:   # a float16 dy sum rounds once per accumulated window
        rtol, atol = 4e-3, 4e-3
    np.testing.assert_allclose(got.astype(np.float64), want, rtol=max(rtol, 1e-11),
                               atol=max(atol, 1e-12))


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("rank", [1, 2, 3])
@pytest.mark.parametrize("name,args,kwargs", REF_CASES)
def test_pullback_matches_reference(name, args, kwargs, rank, data_format):
    x = make_input(_shape(rank, data_format), "float64", rng=rank)
    _ref_check(name, x, args, {**kwargs, "data_format": data_format})


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "int8", "uint8", "int16",
                                   "int32", "int64"])
@pytest.mark.parametrize("name", list(OPS))
def test_pullback_dtypes_match_reference(name, dtype):
    """Gradient dtype: the input's own float dtype, float64 for integer inputs; values equal
    the float64 reference (loose for float16).  Integer inputs contain ties."""
    entry = OPS[name]
    x = make_input((2, 5, 6, 3), dtype, rng=7)
    _ref_check(name, x, entry.example_args, dict(entry.example_kwargs))


@pytest.mark.parametrize("name", ["max_pool", "adaptive_max_pool", "global_max_pool",
                                  "lp_pool", "global_lp_pool"])
def test_pullback_matches_reference_with_ties(name):
    """Small-integer inputs full of ties (and zeros for Lp): the reference applies the
    documented first-max rule cell by cell."""
    entry = OPS[name]
    for df in FORMATS:
        x = make_input(_shape(2, df, n=2, c=3, spatial=(6, 5)), "float64", rng=11, ties=True)
        _ref_check(name, x, entry.example_args, {**entry.example_kwargs, "data_format": df})
    if name.endswith("lp_pool"):
        args = (math.inf,) + tuple(entry.example_args[1:])
        x = make_input((2, 6, 5, 3), "float64", rng=12, ties=True)
        _ref_check(name, x, args, dict(entry.example_kwargs))


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("spatial,args,kwargs", [
    ((6, 8), (2,), {}),                                  # 2x2/2: the one-pass interior
    ((7, 9), (2,), dict(padding="same")),                # clipped windows at the high edge
    ((7, 9), (2,), dict(ceil_mode=True)),
    ((7, 8), ((2, 3), (2, 3)), dict(padding=1)),         # padded on both sides
    ((6, 9), (3,), {}),                                  # nine taps: the tap-by-tap loop
    ((5, 6), ((1, 2),), dict(strides=(2, 3))),           # strides past the window
    ((9,), (2,), dict(ceil_mode=True)),                  # 1-D
    ((4, 4, 6), (2,), dict(padding="same")),             # 3-D
])
def test_max_channels_last_tap_numbers(dtype, spatial, args, kwargs):
    """Channels-last max over windows that never overlap keeps each window's winning tap
    number (uint8) between forward and backward instead of flat indices: the gradient still
    goes to the first maximum (ties, the first NaN, -0 before +0) as the reference gives it,
    and ``return_indices`` still returns flat int64 indices in the plane."""
    rng = np.random.default_rng(5)
    x = rng.integers(-2, 3, size=(2, *spatial, 17)).astype(dtype)   # ties everywhere
    flat = x.reshape(-1)
    flat[rng.random(flat.size) < 0.05] = np.nan                     # NaN in some windows
    flat[rng.random(flat.size) < 0.1] = -0.0
    _ref_check("max_pool", x, args, kwargs)
    (y, idx), back = pk.vjp(pk.max_pool, x, *args, return_indices=True, **kwargs)
    assert idx.dtype == np.int64
    want_y, want_idx = ref.max_pool(x, *args, return_indices=True, **kwargs)
    np.testing.assert_array_equal(idx, want_idx)
    y2, back2 = pk.vjp(pk.max_pool, x, *args, **kwargs)
    np.testing.assert_array_equal(y2, y)
    dy = rng.standard_normal(y.shape).astype(dtype)
    np.testing.assert_array_equal(back2(dy), back(dy))


# -------------------------------------------------------------------- API contract
def test_grad_equals_vjp_pullback_and_forward_equals_op():
    x = make_input((2, 6, 5, 3), "float32", rng=1)
    dy_shape = pk.output_shape(x.shape, 3, 2, "same")
    dy = np.random.default_rng(2).standard_normal(dy_shape).astype(np.float32)
    for name in ("max_pool", "avg_pool"):
        y, back = pk.vjp(name, x, 3, 2, "same")
        np.testing.assert_array_equal(y, _fn(name)(x, 3, 2, "same"))
        np.testing.assert_array_equal(pk.grad(name, x, dy, 3, 2, "same"), back(dy))
    y, back = pk.vjp(pk.lp_pool, x, 3, 3, 2, padding="same")
    np.testing.assert_array_equal(y, pk.lp_pool(x, 3, 3, 2, padding="same"))
    np.testing.assert_array_equal(pk.grad(pk.lp_pool, x, dy, 3, 3, 2, padding="same"), back(dy))


@pytest.mark.parametrize("name", list(OPS))
def test_pullback_twice_same_and_inputs_untouched(name):
    entry = OPS[name]
    x = make_input((2, 5, 6, 3), "float64", rng=5)
    x0 = x.copy()
    y, back = pk.vjp(name, x, *entry.example_args, **entry.example_kwargs)
    y0 = np.array(y, copy=True)
    dy = np.random.default_rng(6).standard_normal(np.shape(y))
    dy0 = dy.copy()
    first = back(dy)
    second = back(dy)
    np.testing.assert_array_equal(first, second)
    assert first is not second and not np.shares_memory(first, second)
    first[...] = 123.0                           # mutating a result must not leak into the next
    np.testing.assert_array_equal(back(dy), second)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(dy, dy0)
    np.testing.assert_array_equal(y, y0)
    assert not np.shares_memory(second, x) and not np.shares_memory(second, dy)


def test_x_mutated_after_vjp_does_not_change_the_pullback():
    """The pullback belongs to the forward it came from (max keeps its argmax)."""
    x = _tie_free((1, 6, 2))
    y, back = pk.vjp("max_pool", x, 2)
    dy = np.ones_like(y)
    before = back(dy)
    x_saved = x.copy()
    x[...] = -x                                  # every argmax moves
    np.testing.assert_array_equal(back(dy), before)
    np.testing.assert_array_equal(before, ref.max_pool_grad(x_saved, dy, 2))


def test_lp_pullback_independent_of_later_changes_to_x():
    x = _cf1([3, -4])
    y, back = pk.vjp("lp_pool", x, 2, 2, data_format="channels_first")      # y = 5
    x *= 2                                       # the caller reuses its buffer
    # d/dx ||x|| at the forward's x = (3, -4): x / 5
    np.testing.assert_allclose(back(_cf1([1.0])), _cf1([0.6, -0.8]), rtol=1e-14)


def test_lp_inf_nan_window_gradient_is_finite():
    x = _cf1([math.nan, 1, 2, 3])
    got = pk.grad("lp_pool", x, _cf1([1.0, 1.0]), math.inf, 2, data_format="channels_first")
    # window [NaN, 1]: y = NaN, the first "max |x|" is the NaN, dy * sign(NaN) with sign(NaN)
    # = 0 as the p=1 kernel uses; window [2, 3]: dy * sign(3) to cell 3
    np.testing.assert_array_equal(got, _cf1([0, 0, 0, 1]))


def test_non_contiguous_inputs():
    base = make_input((2, 3, 7, 6), "float64", rng=9)
    x = np.transpose(base, (0, 2, 3, 1))[:, ::-1, 1:, :]         # strided, channels_last view
    assert not x.flags.c_contiguous
    xc = np.ascontiguousarray(x)
    for name in ("max_pool", "avg_pool"):
        y, back = pk.vjp(name, x, 2, 1, "same")
        dy = np.random.default_rng(0).standard_normal(y.shape)
        dyv = np.asfortranarray(dy)
        np.testing.assert_array_equal(back(dyv), pk.grad(name, xc, dy, 2, 1, "same"))


def test_integer_dy_and_integer_x():
    x = make_input((1, 6, 2), "int16", rng=4)
    y, back = pk.vjp("avg_pool", x, 2)
    dy_int = np.arange(y.size, dtype=np.int32).reshape(y.shape)
    got = back(dy_int)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, back(dy_int.astype(np.float64)))


def test_empty_batch():
    x = np.zeros((0, 5, 4, 2), np.float32)
    for name in ("max_pool", "avg_pool"):
        y, back = pk.vjp(name, x, 2)
        dx = back(np.zeros(y.shape, np.float32))
        assert dx.shape == x.shape and dx.dtype == np.float32


@pytest.mark.parametrize("bad_shape", [(1, 4, 2), (1, 3, 1), (1, 3, 2, 1), (3, 2)])
def test_wrong_dy_shape_raises(bad_shape):
    x = np.ones((1, 6, 2))
    y, back = pk.vjp("max_pool", x, 2)
    assert y.shape == (1, 3, 2)
    with pytest.raises(ValueError, match="`dy`") as info:
        back(np.ones(bad_shape))
    assert str(bad_shape) in str(info.value)
    with pytest.raises(ValueError, match="`dy`"):
        pk.grad("avg_pool", x, np.ones(bad_shape), 2)


def test_wrong_dy_shape_global_keepdims():
    x = np.ones((2, 4, 3))
    with pytest.raises(ValueError, match="`dy`"):
        pk.grad("global_avg_pool", x, np.ones((2, 1, 3)))            # keepdims=False wants (2, 3)
    with pytest.raises(ValueError, match="`dy`"):
        pk.grad("global_avg_pool", x, np.ones((2, 3)), keepdims=True)
    assert pk.grad("global_avg_pool", x, np.ones((2, 1, 3)), keepdims=True).shape == x.shape


@pytest.mark.parametrize("bad", [np.ones((1, 3, 2), complex), np.full((1, 3, 2), "a"),
                                 np.ones((1, 3, 2), object), np.ones((1, 3, 2), bool)])
def test_wrong_dy_dtype_raises(bad):
    x = np.ones((1, 6, 2))
    _, back = pk.vjp("avg_pool", x, 2)
    with pytest.raises(TypeError, match="`dy`"):
        back(bad)


def test_op_by_name_and_unknown_op():
    x = _tie_free((2, 6, 5, 3))
    dy = np.ones(pk.output_shape(x.shape, 2))
    for name in ("max_pool", "avg_pool"):
        np.testing.assert_array_equal(pk.grad(name, x, dy, 2), pk.grad(_fn(name), x, dy, 2))
    for bad in ("maxpool", "output_shape", "vjp", np.max, lambda x, k: x, None, 3):
        with pytest.raises(ValueError, match="`op`") as info:
            pk.vjp(bad, x, 2)
        assert repr(bad) in str(info.value)
        with pytest.raises(ValueError, match="`op`"):
            pk.grad(bad, x, dy, 2)


def test_bad_forward_arguments_raise_like_the_forward():
    x = np.ones((1, 6, 2))
    with pytest.raises(ValueError, match="`strides`"):
        pk.vjp("max_pool", x, 2, 0)
    with pytest.raises(TypeError):
        pk.vjp("avg_pool", x, 2, bogus=1)
    with pytest.raises(TypeError, match="`return_indices`"):
        pk.vjp("max_pool", x, 2, return_indices="yes")


@pytest.mark.parametrize("name,args", [("max_pool", (3, 2, "same")),
                                       ("adaptive_max_pool", ((3, 4),))])
@pytest.mark.parametrize("data_format", FORMATS)
def test_return_indices(name, args, data_format):
    x = make_input(_shape(2, data_format, spatial=(6, 7)), "float32", rng=8, ties=True)
    (y, idx), back = pk.vjp(name, x, *args, return_indices=True, data_format=data_format)
    y2, idx2 = _fn(name)(x, *args, return_indices=True, data_format=data_format)
    np.testing.assert_array_equal(y, y2)
    np.testing.assert_array_equal(idx, idx2)
    assert idx.dtype == np.int64 and idx.shape == y.shape
    dy = np.random.default_rng(1).standard_normal(y.shape)
    got = back(dy)
    np.testing.assert_array_equal(got, pk.grad(name, x, dy, *args, data_format=data_format))
    # the gradient is the scatter-add of dy at the returned indices, plane by plane
    cf = (lambda a: a) if data_format == "channels_first" else (lambda a: np.moveaxis(a, -1, 1))
    want = np.zeros(cf(x).shape, np.float64)
    for n in range(want.shape[0]):
        for c in range(want.shape[1]):
            np.add.at(want[n, c].reshape(-1), cf(idx)[n, c].reshape(-1),
                      cf(dy)[n, c].reshape(-1))
    want = want.astype(np.float32)
    np.testing.assert_allclose(cf(got), want, rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="`dy`"):
        back(np.ones(y.shape[:-1]))


# -------------------------------------------------------------------- hypothesis geometry
@st.composite
def _geometry(draw):
    op = draw(st.sampled_from(["max_pool", "avg_pool", "lp_pool", "adaptive_max_pool",
                               "adaptive_avg_pool"]))
    rank = draw(st.integers(1, 3))
    spatial = tuple(draw(st.lists(st.integers(1, 6), min_size=rank, max_size=rank)))
    data_format = draw(st.sampled_from(FORMATS))
    kwargs: dict = {"data_format": data_format}
    args: tuple
    if op.startswith("adaptive"):
        args = (tuple(draw(st.lists(st.integers(1, 7), min_size=rank, max_size=rank))),)
    else:
        k, s, pad, d = draw(window_geometry(rank))
        args = (k, s, pad)
        kwargs.update(dilation=d, ceil_mode=draw(st.booleans()))
        if op == "avg_pool":
            kwargs["count_include_pad"] = draw(st.booleans())
            kwargs["divisor_override"] = draw(st.sampled_from([None, None, 1, 4]))
        if op == "lp_pool":
            args = (draw(st.sampled_from(LP_PS)),) + args
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    shape = (n, *spatial, c) if data_format == "channels_last" else (n, c, *spatial)
    ties = draw(st.booleans())
    seed = draw(st.integers(0, 2**16))
    return op, shape, args, kwargs, ties, seed


@settings(max_examples=60, deadline=None)
@given(_geometry())
def test_hypothesis_random_geometry_vs_reference(case):
    op, shape, args, kwargs, ties, seed = case
    x = make_input(shape, "float64", rng=seed, ties=ties)
    try:
        want_y = OPS[op].reference(x, *args, **kwargs)
    except ValueError:          # a window with no real cell / a window over the padded input
        assume(False)
    y, back = pk.vjp(op, x, *args, **kwargs)
    np.testing.assert_allclose(y, want_y, rtol=1e-12, atol=1e-12)
    dy = np.random.default_rng(seed + 1).standard_normal(np.shape(y))
    want = OPS[op].reference_grad(x, dy, *args, **kwargs)
    np.testing.assert_allclose(back(dy), want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float16"])
@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("op,args,kw", [
    ("lp_pool", (2, 3), dict(strides=2, padding="same")),
    ("lp_pool", (3, 2), {}),
    ("global_lp_pool", (2,), {}),
    ("max_pool", (2,), {}),
    ("avg_pool", (3,), dict(strides=1, padding="same")),
])
def test_gradients_of_float32_and_float16_input(op, args, kw, data_format, dtype):
    # the finite-difference checks above run in float64; these reach the float32 kernels (and
    # float16's widening and rounding) of every backward pass, against the reference gradient
    shape = (2, 7, 8, 3) if data_format == "channels_last" else (2, 3, 7, 8)
    x = make_input(shape, dtype, 5)
    y = OPS[op].func(x, *args, data_format=data_format, **kw)
    dy = make_input(y.shape, dtype, 6)
    got = pk.grad(op, x, dy, *args, data_format=data_format, **kw)
    want = OPS[op].reference_grad(x, dy, *args, data_format=data_format, **kw)
    assert got.dtype == np.dtype(dtype)
    rtol, atol = tolerance(dtype)
    np.testing.assert_allclose(got.astype(np.float64), want, rtol=rtol, atol=atol)
