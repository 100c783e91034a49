"""Every forward op of poolkit against the slow loop reference in :mod:`tests.reference`.

The grid is deliberately pruned (Numba compiles one specialisation per dtype and layout):
each windowed configuration exercises one padding form / dilation / ceil_mode combination in
ranks 1-3, alternating the data format, and the dtype sweep runs one configuration per op and
dtype.  Hypothesis adds random configurations on top.  Every call also checks that
``pk.output_shape`` predicts the result's shape and that the input is left untouched.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import poolkit as pk
from poolkit import _engine

from . import reference as ref
from .registry import ALL_DTYPES, OPS, assert_matches, layout_variants, make_input

SPATIAL = {1: (9,), 2: (7, 6), 3: (5, 6, 4)}


def _r(rank: int, *values: Any) -> tuple:
    return tuple(values[:rank])


def windowed_configs(rank: int) -> list[dict]:
    """Configurations valid for the spatial shape ``SPATIAL[rank]``, one per feature."""
    r = lambda *v: _r(rank, *v)  # noqa: E731
    return [
        dict(pool_size=2),  # strides=None -> pool_size
        dict(pool_size=3, strides=1, padding="valid"),
        dict(pool_size=r(3, 2, 2), strides=r(2, 1, 2), padding="same"),
        dict(pool_size=r(2, 3, 2), strides=r(2, 2, 1), padding="same_lower"),
        dict(pool_size=3, strides=2, padding=1),
        dict(pool_size=r(3, 2, 3), strides=r(1, 2, 2), padding=r(1, 0, 1)),
        dict(pool_size=r(3, 3, 2), strides=2, padding=r((0, 2), (1, 0), (1, 1))),
        dict(pool_size=2, strides=1, padding="valid", dilation=2),
        dict(pool_size=3, strides=2, padding=1, ceil_mode=True),
        dict(pool_size=r(2, 3, 2), strides=r(3, 2, 2), padding=r(1, 1, 0), dilation=r(2, 1, 2),
             ceil_mode=True),
        dict(pool_size=3, strides=2, padding="same", dilation=2),
        dict(pool_size=r(4, 2, 3), strides=r(3, 3, 2), padding="valid", ceil_mode=True),
    ]


N_CONFIGS = len(windowed_configs(1))


def _layout(x_cf: np.ndarray, data_format: str) -> np.ndarray:
    """Build the input in ``data_format`` from a channels-first array."""
    return x_cf if data_format == "channels_first" else np.moveaxis(x_cf, 1, -1).copy()


def _input(rank: int, dtype: str = "float32", data_format: str = "channels_last",
           seed: int = 0, n: int = 2, c: int = 3, **kw: Any) -> np.ndarray:
    return _layout(make_input((n, c, *SPATIAL[rank]), dtype, seed, **kw), data_format)


def _args(op: str, cfg: dict) -> tuple[tuple, dict]:
    cfg = dict(cfg)
    pool_size = cfg.pop("pool_size")
    args = (2, pool_size) if op == "lp_pool" else (pool_size,)
    return args, cfg


def run_and_compare(op: str, x: np.ndarray, *args: Any, **kwargs: Any) -> Any:
    """poolkit vs reference, plus output_shape and input-immutability checks."""
    entry = OPS[op]
    before = x.copy()
    got = entry.func(x, *args, **kwargs)
    np.testing.assert_array_equal(x, before, err_msg=f"{op} modified its input")
    expected = entry.reference(before, *args, **kwargs)
    assert_matches(entry, got, expected, x.dtype)
    if kwargs.get("data_format") == "channels_first" and op in ("max_pool", "avg_pool",
                                                                "lp_pool"):
        # channels-first planes of short rows take the small-plane kernels: the row kernels,
        # which take every other plane, must give the same bits on these inputs too
        _engine.SMALL_PLANES = False
        try:
            rows = entry.func(x, *args, **kwargs)
        finally:
            _engine.SMALL_PLANES = True
        assert_matches(entry, rows, expected, x.dtype)
        for a, b in zip(rows if isinstance(rows, tuple) else (rows,),
                        got if isinstance(got, tuple) else (got,)):
            np.testing.assert_array_equal(np.ascontiguousarray(a).view(np.uint8),
                                          np.ascontiguousarray(b).view(np.uint8))
    if entry.kind == "windowed":
        shape_kw = {k: v for k, v in kwargs.items()
                    if k in ("strides", "padding", "dilation", "ceil_mode", "data_format")}
        pool_args = args[1:] if op == "lp_pool" else args
        y = got[0] if isinstance(got, tuple) else got
        assert pk.output_shape(x.shape, *pool_args, **shape_kw) == y.shape
        assert ref.output_shape(x.shape, *pool_args, **shape_kw) == y.shape
    return got


# --------------------------------------------------------------------------------------------
# windowed ops: the configuration grid
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cfg_id", range(N_CONFIGS))
@pytest.mark.parametrize("rank", [1, 2, 3])
@pytest.mark.parametrize("op", ["max_pool", "avg_pool", "lp_pool"])
def test_windowed_grid(op: str, rank: int, cfg_id: int) -> None:
    data_format = ("channels_last", "channels_first")[(cfg_id + rank) % 2]
    x = _input(rank, data_format=data_format, seed=cfg_id)
    args, kwargs = _args(op, windowed_configs(rank)[cfg_id])
    run_and_compare(op, x, *args, data_format=data_format, **kwargs)
    if op == "max_pool":
        run_and_compare(op, x, *args, data_format=data_format, return_indices=True, **kwargs)


AVG_EXTRA = [
    dict(count_include_pad=True),
    dict(divisor_override=4),
    dict(count_include_pad=True, divisor_override=3),
]


@pytest.mark.parametrize("extra", AVG_EXTRA, ids=["cip", "div", "cip+div"])
@pytest.mark.parametrize("cfg_id", [2, 3, 4, 6, 9])  # same, same_lower, int, pairs, ceil+dilation
@pytest.mark.parametrize("rank", [1, 2, 3])
def test_avg_divisor_rules(rank: int, cfg_id: int, extra: dict) -> None:
    data_format = ("channels_last", "channels_first")[cfg_id % 2]
    x = _input(rank, data_format=data_format, seed=cfg_id)
    args, kwargs = _args("avg_pool", windowed_configs(rank)[cfg_id])
    run_and_compare("avg_pool", x, *args, data_format=data_format, **kwargs, **extra)


def test_count_include_pad_ceil_overhang_divisor() -> None:
    # n=4, k=3, s=2, pad 1, ceil: windows [-1,1], [1,3], [3,5]; the last one sticks out past the
    # padded input [-1, 4], so its count_include_pad divisor is 2 (cells 3 and 4), not 3.
    x = np.array([1.0, 2.0, 4.0, 8.0]).reshape(1, 1, 4)
    y = pk.avg_pool(x, 3, 2, 1, ceil_mode=True, count_include_pad=True, data_format="channels_first")
    np.testing.assert_allclose(y.ravel(), [(0 + 1 + 2) / 3, (2 + 4 + 8) / 3, (8 + 0) / 2])


@pytest.mark.parametrize("p", [1, 1.5, 3, np.inf])
@pytest.mark.parametrize("cfg_id", [4, 6, 9])
def test_lp_pool_orders(p: float, cfg_id: int) -> None:
    x = _input(2, seed=cfg_id)
    cfg = dict(windowed_configs(2)[cfg_id])
    run_and_compare("lp_pool", x, p, cfg.pop("pool_size"), **cfg)


def test_lp_pool_uses_absolute_value() -> None:
    x = np.array([-3.0, 4.0]).reshape(1, 2, 1)
    np.testing.assert_allclose(pk.lp_pool(x, 2, 2).ravel(), [5.0])
    np.testing.assert_allclose(pk.lp_pool(x, 3, 2).ravel(), [(27.0 + 64.0) ** (1 / 3)])
    np.testing.assert_allclose(pk.lp_pool(x, np.inf, 2).ravel(), [4.0])


# --------------------------------------------------------------------------------------------
# dtypes
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("op", list(OPS))
def test_every_dtype(op: str, dtype: str) -> None:
    entry = OPS[op]
    data_format = ("channels_last", "channels_first")[ALL_DTYPES.index(dtype) % 2]
    x = _input(2, dtype, data_format, seed=ALL_DTYPES.index(dtype))
    if entry.kind == "windowed":
        args, kwargs = _args(op, windowed_configs(2)[4])  # int padding: pads must never win
    else:
        args, kwargs = entry.example_args, {}
    run_and_compare(op, x, *args, data_format=data_format, **kwargs)
    if entry.has_indices:
        run_and_compare(op, x, *args, data_format=data_format, return_indices=True, **kwargs)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_padding_never_wins_at_dtype_minimum(dtype: str) -> None:
    # A plane full of the dtype's lowest value: a sentinel-based padding must not tie-break
    # into the padding, so every index is a real, in-bounds cell (the first of its window).
    low = np.iinfo(dtype).min if np.dtype(dtype).kind in "iu" else -np.inf
    x = np.full((1, 1, 4, 5), low, dtype=dtype)
    for padding in (1, "same", ((2, 0), (0, 2))):
        got = run_and_compare("max_pool", x, 3, 2, padding, data_format="channels_first",
                              return_indices=True)
        assert got[1].min() >= 0 and got[1].max() < 20


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("op", ["avg_pool", "lp_pool", "global_avg_pool", "adaptive_avg_pool"])
def test_float_results_keep_float_dtype(op: str, dtype: str) -> None:
    x = _input(2, dtype)
    entry = OPS[op]
    args = _args(op, windowed_configs(2)[2])[0] if entry.kind == "windowed" else entry.example_args
    assert entry.func(x, *args).dtype == np.dtype(dtype)


# --------------------------------------------------------------------------------------------
# global and adaptive ops
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("rank", [1, 2, 3])
@pytest.mark.parametrize("op", ["global_max_pool", "global_avg_pool", "global_lp_pool"])
def test_global(op: str, rank: int, keepdims: bool) -> None:
    data_format = ("channels_last", "channels_first")[(rank + keepdims) % 2]
    x = _input(rank, data_format=data_format, seed=rank)
    args = (3,) if op == "global_lp_pool" else ()
    run_and_compare(op, x, *args, data_format=data_format, keepdims=keepdims)


@pytest.mark.parametrize("dtype", ["float32", "float16", "float64", "uint8", "int32"])
@pytest.mark.parametrize("rank", [1, 2, 3])
@pytest.mark.parametrize("p", [None, 2.0, 1.0, 3.0])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_global_mean_and_norms(p: Any, rank: int, dtype: str, data_format: str) -> None:
    # the global mean and L2 norm of channels-last input run as flat (positions, C) blocks,
    # channels-first as flat planes; L1 and L3 take the window engine
    x = make_input((2, *((5, 7, 3)[:rank]), 6), dtype, rank)
    if data_format == "channels_first":
        x = np.ascontiguousarray(np.moveaxis(x, -1, 1))
    for keepdims in (False, True):
        if p is None:
            run_and_compare("global_avg_pool", x, data_format=data_format, keepdims=keepdims)
        else:
            run_and_compare("global_lp_pool", x, p, data_format=data_format, keepdims=keepdims)


ADAPTIVE_SIZES = {
    1: [1, 4, 9, 12],
    2: [1, (3, 4), (7, 6), (10, 4)],
    3: [(2, 3, 1), (5, 6, 4), (3, 7, 5)],
}


@pytest.mark.parametrize(
    "rank,size", [(r, s) for r, sizes in ADAPTIVE_SIZES.items() for s in sizes]
)
@pytest.mark.parametrize("op", ["adaptive_max_pool", "adaptive_avg_pool"])
def test_adaptive(op: str, rank: int, size: Any) -> None:
    data_format = ("channels_last", "channels_first")[rank % 2]
    x = _input(rank, data_format=data_format, seed=rank)
    run_and_compare(op, x, size, data_format=data_format)
    if op == "adaptive_max_pool":
        run_and_compare(op, x, size, data_format=data_format, return_indices=True)


# --------------------------------------------------------------------------------------------
# memory layouts, empty batches, NaN and ties
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["fortran", "strided_view", "negative_stride", "read_only",
                                     "transposed_view"])
@pytest.mark.parametrize("op", ["max_pool", "lp_pool", "global_avg_pool", "adaptive_max_pool"])
def test_non_contiguous_and_read_only_inputs(op: str, variant: str) -> None:
    entry = OPS[op]
    x = layout_variants(_input(2))[variant]
    args, kwargs = ((_args(op, windowed_configs(2)[2])) if entry.kind == "windowed"
                    else (entry.example_args, {}))
    run_and_compare(op, x, *args, **kwargs)


@pytest.mark.parametrize("op", list(OPS))
def test_empty_batch(op: str) -> None:
    entry = OPS[op]
    x = np.zeros((0, 5, 6, 3), dtype=np.float32)
    args, kwargs = ((_args(op, windowed_configs(2)[2])) if entry.kind == "windowed"
                    else (entry.example_args, {}))
    run_and_compare(op, x, *args, **kwargs)
    if entry.has_indices:
        run_and_compare(op, x, *args, return_indices=True, **kwargs)


@pytest.mark.parametrize("op", ["max_pool", "adaptive_max_pool", "global_max_pool"])
def test_nan_wins_and_index_is_first_nan(op: str) -> None:
    x = _input(2, "float64", "channels_first", seed=3)
    x[0, 0, 1, 1] = np.nan
    x[0, 0, 1, 2] = np.nan
    x[1, 2, 4, 0] = np.nan
    x[1, 1, 0, 0] = np.inf
    entry = OPS[op]
    if entry.kind == "windowed":
        args, kwargs = (3,), dict(strides=2, padding=1)
    else:
        args, kwargs = entry.example_args, {}
    got = run_and_compare(op, x, *args, data_format="channels_first", **kwargs)
    assert np.isnan(got[0, 0]).any() and np.isnan(got[1, 2]).any()
    if entry.has_indices:
        run_and_compare(op, x, *args, data_format="channels_first", return_indices=True, **kwargs)


def test_nan_index_concrete() -> None:
    x = np.array([[1.0, np.nan, 5.0, np.nan]]).reshape(1, 1, 4)
    y, i = pk.max_pool(x, 4, data_format="channels_first", return_indices=True)
    assert np.isnan(y[0, 0, 0]) and i[0, 0, 0] == 1


@pytest.mark.parametrize("dtype", ["float32", "int8", "uint8"])
@pytest.mark.parametrize("op", ["max_pool", "adaptive_max_pool"])
def test_ties_go_to_first_in_row_major_order(op: str, dtype: str) -> None:
    x = _input(2, dtype, "channels_first", seed=5, ties=True)
    args = (3,) if op == "max_pool" else ((4, 3),)
    kwargs = dict(strides=1, padding=1, dilation=(1, 2)) if op == "max_pool" else {}
    run_and_compare(op, x, *args, data_format="channels_first", return_indices=True, **kwargs)


def test_tie_concrete() -> None:
    # window rows [7 9; 9 7]: the 9 at (0, 1) comes before the 9 at (1, 0) in row-major order.
    x = np.array([[7, 9], [9, 7]], dtype=np.int16).reshape(1, 1, 2, 2)
    y, i = pk.max_pool(x, 2, data_format="channels_first", return_indices=True)
    assert y.item() == 9 and i.item() == 1


# --------------------------------------------------------------------------------------------
# output_shape on its own (no data)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cfg_id", range(N_CONFIGS))
@pytest.mark.parametrize("rank", [1, 2, 3])
def test_output_shape_matches_reference(rank: int, cfg_id: int) -> None:
    cfg = dict(windowed_configs(rank)[cfg_id])
    k = cfg.pop("pool_size")
    for fmt, shape in (("channels_last", (4, *SPATIAL[rank], 7)),
                       ("channels_first", (4, 7, *SPATIAL[rank]))):
        assert pk.output_shape(shape, k, data_format=fmt, **cfg) == ref.output_shape(
            shape, k, data_format=fmt, **cfg)


# --------------------------------------------------------------------------------------------
# hypothesis: random windowed configurations
# --------------------------------------------------------------------------------------------

hypothesis = pytest.importorskip("hypothesis")
st = pytest.importorskip("hypothesis.strategies")
from hypothesis import assume, given  # noqa: E402

from .strategies import window_geometry  # noqa: E402


@st.composite
def windowed_case(draw: Any) -> tuple[str, np.ndarray, tuple, dict]:
    op = draw(st.sampled_from(["max_pool", "avg_pool", "lp_pool"]))
    rank = draw(st.integers(1, 3))
    spatial = tuple(draw(st.lists(st.integers(1, 7), min_size=rank, max_size=rank)))
    k, s, padding, d = draw(window_geometry(rank, max_k=4))
    ceil_mode = draw(st.booleans())
    data_format = draw(st.sampled_from(["channels_last", "channels_first"]))
    kwargs: dict = dict(strides=s, padding=padding, dilation=d, ceil_mode=ceil_mode,
                        data_format=data_format)
    if op == "avg_pool":
        kwargs["count_include_pad"] = draw(st.booleans())
        kwargs["divisor_override"] = draw(st.sampled_from([None, None, 1, 5]))
    if op == "max_pool":
        kwargs["return_indices"] = draw(st.booleans())
    dtype = draw(st.sampled_from(["float32", "float64"] + (["int16"] if op == "max_pool" else [])))
    shape = (draw(st.integers(1, 2)), *spatial, draw(st.integers(1, 2)))
    if data_format == "channels_first":
        shape = (shape[0], shape[-1], *spatial)
    x = make_input(shape, dtype, draw(st.integers(0, 2**16)), ties=draw(st.booleans()))
    args = (draw(st.sampled_from([1, 2, 3, np.inf])), k) if op == "lp_pool" else (k,)
    return op, x, args, kwargs


@given(windowed_case())
def test_hypothesis_windowed(case: tuple) -> None:
    op, x, args, kwargs = case
    try:
        OPS[op].reference(x, *args, **kwargs)
    except ValueError:  # window larger than padded input, or a window of padding only
        assume(False)
    run_and_compare(op, x, *args, **kwargs)


@given(
    rank=st.integers(1, 3),
    data=st.data(),
    op=st.sampled_from(["adaptive_max_pool", "adaptive_avg_pool"]),
)
def test_hypothesis_adaptive(rank: int, data: Any, op: str) -> None:
    spatial = tuple(data.draw(st.lists(st.integers(1, 7), min_size=rank, max_size=rank)))
    out = tuple(data.draw(st.lists(st.integers(1, 8), min_size=rank, max_size=rank)))
    x = make_input((2, *spatial, 2), "float64", data.draw(st.integers(0, 999)),
                   ties=data.draw(st.booleans()))
    run_and_compare(op, x, out)
    if op == "adaptive_max_pool":
        run_and_compare(op, x, out, return_indices=True)


# --------------------------------------------------------------------------------------------
# channels-first rows with a stride above 2: windows are reduced at every position along W
# (stride 1, vectorised), then every stride-th is kept; with ties, NaN and +-0 the argmax must
# still be the first maximum in tap order
# --------------------------------------------------------------------------------------------
def _tricky_row_input(rank: int) -> np.ndarray:
    x = make_input((2, 2, *((5,) * (rank - 1)), 17), "float32", 3)
    x = np.round(x * 2) / 2                     # many ties
    flat = x.reshape(-1)
    flat[::7] = -0.0
    flat[3::11] = 0.0
    flat[5::23] = np.nan
    return x


@pytest.mark.parametrize("rank", [1, 2])
@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("s", [3, 4])
@pytest.mark.parametrize("padding", ["valid", "same", 1])
@pytest.mark.parametrize("op", ["max_pool", "max_pool_idx", "avg_pool", "lp_pool"])
def test_channels_first_wide_strides(op: str, rank: int, k: int, s: int, padding: Any) -> None:
    if padding == 1 and k == 1:
        pytest.skip("padding must be smaller than the window")
    x = _tricky_row_input(rank)
    kw = dict(strides=s, padding=padding, data_format="channels_first")
    if op == "max_pool_idx":
        got = pk.max_pool(x, k, return_indices=True, **kw)
        want = ref.max_pool(x, k, return_indices=True, **kw)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(np.signbit(got[0]), np.signbit(want[0]))
        np.testing.assert_array_equal(got[1], want[1])
        return
    args = (2, k) if op == "lp_pool" else (k,)
    got = run_and_compare(op, x, *args, **kw)
    if op == "max_pool" and rank == 1:  # one row: a zero maximum's sign is the first one's
        # (with several rows, which of several equal +-0 maxima is kept is not specified)
        np.testing.assert_array_equal(np.signbit(got), np.signbit(ref.max_pool(x, k, **kw)))


@pytest.mark.parametrize("fmt", ["channels_first", "channels_last"])
@pytest.mark.parametrize("dtype", ["float32", "float16"])
@pytest.mark.parametrize("padding", [1, "valid", "same"])
def test_three_by_three_max_with_nan_rows(fmt: str, dtype: str, padding: Any) -> None:
    # the ResNet-stem window (3x3, stride 2) takes a NaN-blind pass per output row, redone
    # where a tap is NaN: a few rows hold one, the others must be untouched by the redo (a NaN
    # in the first column of a row's interior is one the channels-last pass carries)
    x = _tricky_row_input(2)[:, :, :, :16].astype(dtype)
    x[...] = np.where(np.isnan(x), 0.5, x)
    x[0, 1, 2, 5] = np.nan
    x[1, 0, 4, 0] = np.nan
    x[1, 1, 3, 15] = np.nan
    x[0, 0, 1, 1] = np.nan
    if fmt == "channels_last":  # (N, H, W, C): the two channels are the lanes of a pass
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    got = run_and_compare("max_pool", x, 3, strides=2, padding=padding, data_format=fmt)
    assert np.isnan(got).any() and not np.isnan(got).all()


@pytest.mark.parametrize("width", [5, 6, 9, 12])
@pytest.mark.parametrize("padding,ceil_mode", [
    (0, False), (1, False), (2, False), ("same", False), (((1, 1), (0, 2)), False),
    (((1, 1), (2, 0)), False), (0, True), (1, True)])
@pytest.mark.parametrize("dtype", ["float32", "float16", "int16"])
def test_three_by_three_stride_two_edges_channels_first(width, padding, ceil_mode, dtype):
    # channels-first windows three wide at stride 2 (3x3/2, 1x3x3/2 and 1-D 3/2) read every
    # window, clipped ones too, from the folded row with two cells of padding on each side:
    # windows clipped on either side, of every parity of start, with real taps equal to the
    # padding's value (-inf, or the integer minimum) at the ends
    rng = np.random.default_rng(width)
    x = rng.standard_normal((2, 3, 7, width)) * 4
    low = -np.inf if dtype != "int16" else np.iinfo(np.int16).min
    x[:, :, :, 0] = low
    x[0, :, :, -1] = low
    x[1, 2] = low
    x = x.astype(dtype)
    if dtype != "int16":
        x[0, 1, 3, width // 2] = np.nan
    got = run_and_compare("max_pool", x, 3, strides=2, padding=padding, ceil_mode=ceil_mode,
                          data_format="channels_first")
    assert (got == low).any() and (got > low).any()
    # the same windows in a 3-D input, one plane deep
    pads3 = padding if isinstance(padding, str) else ((0, 0),) + (
        padding if isinstance(padding, tuple) else ((padding, padding),) * 2)
    run_and_compare("max_pool", x[:, :, None], (1, 3, 3), strides=(1, 2, 2), padding=pads3,
                    ceil_mode=ceil_mode, data_format="channels_first")
    # and one row at a time (1-D pooling)
    run_and_compare("max_pool", x[:, :, 3], 3, strides=2, ceil_mode=ceil_mode,
                    padding=padding[1:] if isinstance(padding, tuple) else padding,
                    data_format="channels_first")


@pytest.mark.parametrize("padding", [1, "valid", "same", "right"])
@pytest.mark.parametrize("rank,row_stride", [(1, 1), (2, 1), (2, 2)])
def test_three_wide_max_at_stride_two_keeps_the_row_major_first_zero(rank: int, row_stride: int,
                                                                     padding: Any) -> None:
    # channels-last windows three wide at stride 2 fold each window row along W and carry the
    # last row's fold to the next window (rows three tall at stride 2): of several +-0 maxima
    # they keep the first in row-major window order, the reference's (and PyTorch's) rule
    x = _tricky_row_input(rank)[..., :16]
    x[...] = np.where(np.isnan(x), -0.0, np.minimum(x, 0.0))  # many windows whose max is +-0
    pads = ((0, 0),) * (rank - 1) + ((0, 1),) if padding == "right" else padding
    kw = dict(strides=(row_stride,) * (rank - 1) + (2,), padding=pads)
    pool = (3,) * rank
    xl = np.ascontiguousarray(np.moveaxis(x, 1, -1))
    cl = run_and_compare("max_pool", xl, pool, data_format="channels_last", **kw)
    want = ref.max_pool(xl, pool, data_format="channels_last", **kw)
    assert (want == 0).mean() > 0.5 and np.signbit(want[want == 0]).any()
    np.testing.assert_array_equal(np.signbit(cl), np.signbit(want))


@pytest.mark.parametrize("rank", [1, 2, 3])
@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("padding,ceil_mode", [("valid", False), ("same", False), (1, False),
                                               ("valid", True)])
@pytest.mark.parametrize("dtype", ["float32", "float16", "uint8"])
def test_two_wide_max_channels_last_rows(rank: int, stride: int, padding: Any, ceil_mode: bool,
                                         dtype: str) -> None:
    # channels-last windows two wide moving a fixed step (2x2/2, 2x2x2/2, 1-D 2/2 and the like)
    # take each output row's interior as flat loops over one to four input rows: NaN in some
    # rows (sent back to the NaN-aware passes) but not others, +-0 maxima (the first in
    # row-major window order wins), clipped windows at either end
    x = _tricky_row_input(rank)
    if dtype == "uint8":
        x = np.nan_to_num(np.abs(x) * 3).astype(dtype)
    else:
        x = x.astype(dtype)
        x.reshape(-1)[1::5] = -0.0
        x[(0, 1) + (2,) * (rank - 1) + (6,)] = np.nan  # in a window at every stride
        x[1] = np.where(np.isnan(x[1]), 0.0, x[1])  # the second image has no NaN
    xl = np.ascontiguousarray(np.moveaxis(x, 1, -1))
    kw = dict(strides=stride, padding=padding, ceil_mode=ceil_mode, data_format="channels_last")
    got = run_and_compare("max_pool", xl, 2, **kw)
    want = ref.max_pool(xl, 2, **kw)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
    if dtype != "uint8":
        assert np.isnan(want[0]).any() and not np.isnan(want[1]).any()
        assert np.signbit(want[want == 0]).any() and not np.signbit(want[want == 0]).all()


@pytest.mark.parametrize("window,stride", [
    ((3, 3, 3), 2), ((3, 2, 2), (1, 2, 2)), ((2, 3, 3), (2, 1, 1)), ((1, 3, 3), 1),
    ((1, 5, 2), (1, 2, 2)), ((2, 2, 4), (1, 1, 4)), ((3, 3, 1), 1), ((1, 2, 3), (1, 1, 2))])
@pytest.mark.parametrize("padding", ["valid", "same", 1])
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "uint8"])
def test_many_row_max_channels_first(window: tuple, stride: Any, padding: Any,
                                     dtype: str) -> None:
    # channels-first windows of two or more rows (3-D windows of more than four rows above
    # all) fold the rows in NaN-blind passes of up to four over flat offsets, then reduce along
    # W NaN-blind too (three wide at stride 2 from the parity-split row, two or three wide at
    # stride 1 or 2 in one pass); a NaN tap sends the output row back to the NaN-aware passes:
    # NaN in some rows only, +-0 maxima (equal: which sign is kept is not specified with
    # several rows, as above), clipped windows at every edge
    if padding == 1 and min(window) == 1:
        pytest.skip("padding must be smaller than the window")
    x = _tricky_row_input(3)
    if dtype == "uint8":
        x = np.nan_to_num(np.abs(x) * 3).astype(dtype)
    else:
        x = np.where(np.isnan(x), 0.25, x).astype(dtype)
        x.reshape(-1)[1::5] = -0.0
        x[0, 1, 2, 2, 6] = np.nan  # one NaN: in a window of most outputs' rows of one plane
        # the second image: no NaN, many +-0 maxima (its non-negative cells become +0 or -0)
        signs = np.random.default_rng(7).random(x[1].shape) < 0.5
        x[1] = np.where(x[1] >= 0, np.where(signs, -0.0, 0.0), x[1])
    kw = dict(strides=stride, padding=padding, data_format="channels_first")
    got = run_and_compare("max_pool", x, window, **kw)
    if dtype != "uint8":
        assert np.isnan(got[0]).any() and not np.isnan(got[0]).all()
        assert not np.isnan(got[1]).any() and (got[1] == 0).mean() > 0.5


@pytest.mark.parametrize("window,stride,dilation", [
    ((3, 3), 2, 1), ((2, 2), 1, 1), ((3, 3), 1, 1), ((2, 3), (1, 2), 1), ((3, 2), (2, 1), 1),
    ((3, 3), (1, 2), (2, 1)), ((2, 3), 2, (2, 1)), ((1, 3, 3), (1, 2, 2), 1)])
@pytest.mark.parametrize("padding,ceil_mode", [
    ("valid", False), ("same", False), (1, False), (((1, 0), (0, 1)), False), ("valid", True)])
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "uint8", "int32"])
def test_folded_rows_max_channels_first(window: tuple, stride: Any, dilation: Any, padding: Any,
                                        ceil_mode: bool, dtype: str, monkeypatch) -> None:
    # channels-first windows two or three wide at stride 1 or 2 over one to three rows of one
    # plane (2-D 3x3/2 and the like) take their own kernel: the rows folded NaN-blind, the
    # interior in one pass, the clipped ends inline; a row with a NaN tap is redone NaN-aware.
    # NaN in interior columns, in the first and last columns only (taps of clipped windows
    # alone), +-inf, ties and +-0; the results must match the reference and be bit for bit
    # those of the general row kernel
    rank = len(window)
    x = _tricky_row_input(rank)
    if rank == 3 and not isinstance(padding, str):  # no padding along the window's one plane
        padding = ((0, 0), *(padding if isinstance(padding, tuple) else [(1, 1)] * 2))
    if dtype in ("uint8", "int32"):
        x = np.nan_to_num(x * 3).clip(0 if dtype == "uint8" else -50).astype(dtype)
    else:
        x = np.where(np.isnan(x), 0.25, x).astype(dtype)
        x[0, 0, ..., 6] = np.nan  # interior taps of one plane's rows
        x[0, 1, ..., 2:4, 0] = np.nan  # first column only, in some rows
        x[1, 0, ..., 1, -1] = np.nan  # last column only, in one row
        x[1, 1, ..., 3, 4:9] = np.inf
        x[1, 1, ..., 0, :] = -np.inf
    kw = dict(strides=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode,
              data_format="channels_first")
    calls = []
    fold = _engine.K.max_cf_fold
    monkeypatch.setattr(_engine.K, "max_cf_fold", lambda *a: calls.append(1) or fold(*a))
    got = run_and_compare("max_pool", x, window, **kw)
    sw = stride if isinstance(stride, int) else stride[-1]
    # (float16 three wide at stride 2 is left to the general kernel, which is faster there)
    assert bool(calls) != (dtype == "float16" and (window[-1], sw) == (3, 2))
    monkeypatch.setattr(_engine, "_folds", lambda win: False)  # the general row kernel
    calls.clear()
    rows = pk.max_pool(x, window, **kw)
    assert not calls
    np.testing.assert_array_equal(got.view(np.uint8), rows.view(np.uint8))
    if dtype not in ("uint8", "int32"):
        assert np.isnan(got[0, 0]).any() and np.isnan(got[0, 1]).any()


@pytest.mark.parametrize("window,stride", [
    ((2,), 1), ((3,), 1), ((2,), 2), ((3,), 2), ((1, 3), (1, 2)), ((1, 2), 1), ((1, 1, 3), 1),
    ((1, 1, 2), (2, 1, 2))])
@pytest.mark.parametrize("padding", ["valid", "same", 1])
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "uint8"])
@pytest.mark.parametrize("layout", ["channels_first", "channels_last"])
def test_one_row_max(window: tuple, stride: Any, padding: Any, dtype: str, layout: str) -> None:
    # windows of one input row, two or three wide at stride 1 or 2 (channels-first), three wide
    # at stride 2 (channels-last), take the interior of each output row in one NaN-blind pass
    # that notes NaN taps; a row with a NaN tap is redone NaN-aware: NaN in some rows only, ties
    # and +-0 maxima (the first of equal taps is kept), clipped windows at both ends
    if padding == 1 and min(window) == 1:
        pytest.skip("padding must be smaller than the window")
    x = _tricky_row_input(len(window))
    if dtype == "uint8":
        x = np.nan_to_num(np.abs(x) * 3).astype(dtype)
    else:
        x = np.where(np.isnan(x), 0.25, x).astype(dtype)
        x[0, 1, ..., 6] = np.nan  # one NaN per input row of one plane, in the interior
        signs = np.random.default_rng(8).random(x[1].shape) < 0.5
        x[1] = np.where(x[1] >= 0, np.where(signs, -0.0, 0.0), x[1])
    if layout == "channels_last":
        x = np.ascontiguousarray(np.moveaxis(x, 1, -1))
    kw = dict(strides=stride, padding=padding, data_format=layout)
    got = run_and_compare("max_pool", x, window, **kw)
    want = ref.max_pool(x, window, **kw)
    np.testing.assert_array_equal(np.ascontiguousarray(got).view(np.uint8),
                                  np.ascontiguousarray(want).view(np.uint8))
    if layout == "channels_last":
        got = np.moveaxis(got, -1, 1)
    if dtype != "uint8":
        assert np.isnan(got[0]).any() and not np.isnan(got[0]).all()
        assert not np.isnan(got[1]).any() and (got[1] == 0).mean() > 0.3


@pytest.mark.parametrize("rank", [1, 2, 3])
@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("padding,extra", [
    ("valid", {}), ("same", {}), (1, {"count_include_pad": True}), (1, {}),
    ("valid", {"ceil_mode": True}), ("valid", {"divisor_override": 3.0}),
    ("same", {"divisor_override": 8})])
@pytest.mark.parametrize("dtype", ["float32", "float16", "uint8"])
def test_two_wide_mean_channels_last_rows(rank: int, stride: int, padding: Any, extra: dict,
                                          dtype: str) -> None:
    # channels-last mean (and L2) windows two wide moving a fixed step take each output row's
    # interior as flat loops over one, two or four input rows; a divisor that is a power of two
    # is a product, any other a quotient; the clipped windows (other divisors) are left to the
    # rest
    x = make_input((2, 3, *((5,) * (rank - 1)), 13), dtype, rank)
    xl = np.ascontiguousarray(np.moveaxis(x, 1, -1))
    kw = dict(strides=stride, padding=padding, data_format="channels_last", **extra)
    got = run_and_compare("avg_pool", xl, 2, **kw)
    if dtype == "float16":  # rounded once from the float64 mean: exactly the reference's
        np.testing.assert_array_equal(got, ref.avg_pool(xl, 2, **kw))
    if set(extra) <= {"ceil_mode"}:  # the L2 norm takes the same loops
        got = run_and_compare("lp_pool", xl, 2.0, 2, **kw)
        if dtype == "float16":
            np.testing.assert_array_equal(got, ref.lp_pool(xl, 2.0, 2, **kw))


@pytest.mark.parametrize("dtype", ["float32", "float16"])
@pytest.mark.parametrize("where", ["first row", "middle row", "shared row", "last row"])
def test_three_by_three_stride_two_channels_last_with_nan(dtype: str, where: str) -> None:
    # a NaN tap sends its output row back to the NaN-aware passes, and the next output row
    # must fold its first row again instead of taking the NaN-blind fold carried over
    x = make_input((2, 13, 11, 5), dtype, 4)
    row = {"first row": 0, "middle row": 6, "shared row": 5, "last row": 12}[where]
    x[1, row, 3, 2] = np.nan
    x[0, row, 10, 4] = np.nan
    for pad in (1, 0, "same"):
        got = run_and_compare("max_pool", x, 3, strides=2, padding=pad,
                              data_format="channels_last")
        assert np.isnan(got).any()


@pytest.mark.parametrize("shape,k,s,pad,fmt", [
    ((1, 1, 6), 2, 2, "valid", "channels_first"),       # one row, read straight from the input
    ((1, 1, 7), 3, 2, 1, "channels_first"),             # ... with clipped edge windows
    ((1, 1, 4, 6), 2, 2, "valid", "channels_first"),    # rows folded first
    ((1, 6, 1), 2, 2, "valid", "channels_last"),
])
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_mean_of_negative_zeros_is_positive_zero(shape, k, s, pad, fmt, dtype):
    # sums start at +0 (as in the frameworks), so a window of -0 averages to +0
    x = np.full(shape, -0.0, dtype)
    y = pk.avg_pool(x, k, s, pad, data_format=fmt)
    assert y.size and not np.signbit(y).any()
    np.testing.assert_array_equal(y, ref.avg_pool(x, k, s, pad, data_format=fmt))


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_global_max_long_planes_with_nan(dtype: str) -> None:
    # channels-first planes of 400 cells take the lanes pass (blocks of 128, NaN-blind, redone
    # with the NaN rule when a tap is NaN) and a tail of 16: NaN in the first block, a later
    # block, the tail, at a plane's first cell, and planes with none (max at either end)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 6, 20, 20)).astype(dtype)
    x[0, 0, 0, 0] = np.nan
    x[0, 1, 10, 3] = np.nan
    x[0, 2, 19, 19] = np.nan
    x[1, 0, 3, 1] = np.nan
    x[1, 0, 17, 2] = np.inf
    x[1, 3, 0, 0] = 50
    x[1, 4, 19, 19] = 50
    x[1, 5] = -np.inf
    got = run_and_compare("global_max_pool", x, data_format="channels_first")
    np.testing.assert_array_equal(np.isnan(got), np.isnan(x).any(axis=(2, 3)))
    ok = ~np.isnan(got)
    np.testing.assert_array_equal(got[ok], x.max(axis=(2, 3))[ok])


@pytest.mark.parametrize("dtype", ["float32", "float16", "uint8"])
@pytest.mark.parametrize("op, args, kw", [
    ("max_pool", (2,), {}), ("max_pool", (3, 2, 1), {}), ("avg_pool", (2,), {}),
    ("avg_pool", (3, 1, "same"), {}), ("avg_pool", (3, 2, 1), dict(count_include_pad=True)),
    ("lp_pool", (2, 2), {}), ("lp_pool", (3.0, 3, 2), {}), ("lp_pool", (np.inf, 2), {})])
def test_many_small_planes(op: str, args: tuple, kw: dict, dtype: str) -> None:
    # channels-first maps of 7x7 with many channels (a network's last stage) go to the
    # small-plane kernels in blocks of planes, several threads, a last block cut short; a few
    # planes hold a NaN (their block is redone tap by tap) and equal maxima of either zero
    x = make_input((3, 229, 7, 7), dtype, 11, ties=True)
    if dtype != "uint8":
        flat = x.reshape(-1)
        flat[::97] = -0.0
        flat[5::4001] = np.nan
    run_and_compare(op, x, *args, data_format="channels_first", **kw)


def _window_sums(x: np.ndarray) -> np.ndarray:
    """The float64 sums of the 3x3 windows inside each channels-first plane of ``x`` (exact
    for the inputs below: nine values within a few binades)."""
    v = np.lib.stride_tricks.sliding_window_view(x.astype(np.float64), (3, 3), axis=(2, 3))
    return v.sum(axis=(-2, -1))


def test_fused_division_matches_ieee_division() -> None:
    # the kernels divide means' float64 sums by an integer divisor 3..2**28 (not a power of two)
    # as fma(v, yh, v * yl), yh + yl a two-part reciprocal: it must be v / div, bit for bit,
    # for float32 and float16 sums (zero or at least 2**-149), +-0, +-inf and NaN included; a
    # plain reciprocal misses the division's last bit for a good share of these values
    numba = pytest.importorskip("numba")
    K = _engine.K

    @numba.njit
    def fused(v, div):
        yh, yl = K._recips(div)
        out = np.empty_like(v)
        for i in range(v.shape[0]):
            out[i] = K._div_by(v[i], div, yh, yl)
        return out

    rng = np.random.default_rng(3)
    n = 200_000
    f32 = rng.standard_normal((9, n)).astype(np.float32).astype(np.float64)
    f16 = rng.standard_normal((9, n)).astype(np.float16).astype(np.float64)
    values = [
        f32.sum(axis=0), f16.sum(axis=0), f32[:4].sum(axis=0) * 2.0 ** -120,
        rng.integers(-2**40, 2**40, n) * 2.0 ** rng.integers(-90, 90, n),
        np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 2.0 ** -149, -(2.0 ** 127) * 9]),
    ]
    recip_misses = 0
    for div in (3.0, 5.0, 6.0, 7.0, 9.0, 12.0, 25.0, 27.0, 49.0, 1023.0, 2.0 ** 28 - 1):
        for v in values:
            want = v / div
            got = fused(v, div)
            np.testing.assert_array_equal(got.view(np.int64), want.view(np.int64),
                                          err_msg=f"div={div}")
            recip_misses += int(np.count_nonzero(v * (1.0 / div) != want))
    assert recip_misses > 100_000  # the data does tell a plain reciprocal from a division
    y32, y64 = np.empty(1, np.float32), np.empty(1, np.float64)
    assert [bool(K._fast_div(y32, d)) for d in (3.0, 9.0, 2.0 ** 28, 2.5, 2.0, 2.0 ** 28 + 1)] \
        == [True, True, True, False, False, False]
    assert not K._fast_div(y64, 9.0)  # float64 results (and integer inputs) divide


@pytest.mark.parametrize("dtype", ["float32", "float16"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_means_by_nine_are_the_division(dtype: str, data_format: str) -> None:
    # average 3x3/1 means reach the fused division in both layouts (the stride-1 row pass, by
    # 9 inside and 6 and 4 at the edges without the padding, by 9 everywhere with it): the
    # results must equal the reference's division of exact sums, value for value, and on
    # normal data about one window in fifty has a sum whose ninth lies exactly on a rounding
    # midpoint of the result's dtype (where the result is the midpoint rounded to even)
    rng = np.random.default_rng(9)
    x = rng.standard_normal((2, 5, 30, 41)).astype(dtype)
    q = _window_sums(x) / 9.0
    want_inner = q.astype(dtype)
    a = want_inner.astype(np.float64)
    up = np.nextafter(want_inner, np.array(np.inf, dtype)).astype(np.float64)
    down = np.nextafter(want_inner, np.array(-np.inf, dtype)).astype(np.float64)
    assert np.count_nonzero((q == (a + up) / 2) | (q == (a + down) / 2)) > 20
    xin = np.ascontiguousarray(x.transpose(0, 2, 3, 1)) if data_format == "channels_last" else x
    for padding, kw in (("same", {}), ("valid", {}), ("same", dict(count_include_pad=True))):
        got = pk.avg_pool(xin, 3, 1, padding, data_format=data_format, **kw)
        want = ref.avg_pool(xin, 3, 1, padding, data_format=data_format, **kw)
        np.testing.assert_array_equal(got, want)
        if data_format == "channels_last":
            got = got.transpose(0, 3, 1, 2)
        inner = got if padding == "valid" else got[:, :, 1:-1, 1:-1]
        np.testing.assert_array_equal(inner, want_inner)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_means_by_nine_near_float32_midpoints(data_format: str) -> None:
    # windows whose sum v (exact in float64: three float32 parts of one 53-bit value, stacked in
    # one column) puts v / 9 a unit or two of float64 away from a float32 rounding midpoint:
    # the float32 result then depends on the quotient's last float64 bit, which a multiplied
    # reciprocal misses for some of them; the results must be the reference's division's
    rng = np.random.default_rng(2)
    g = 20  # placements per side, four cells apart
    a = ((rng.random(g * g) + 1) * 2.0 ** rng.integers(-5, 5, g * g)).astype(np.float32)
    m = (a.astype(np.float64) + np.nextafter(a, np.float32(np.inf))) / 2  # float32 midpoints
    v = 9 * m + rng.choice([-2, -1, 1, 2], g * g) * np.spacing(9 * m)
    hi = v.astype(np.float32)
    mid = (v - hi).astype(np.float32)
    lo = (v - hi - mid).astype(np.float32)
    x = np.zeros((1, 1, 4 * g + 2, 4 * g + 2), np.float32)
    for i, parts in enumerate(zip(hi, mid, lo)):
        r, c = 1 + 4 * (i // g), 1 + 4 * (i % g)
        x[0, 0, r:r + 3, c + 1] = parts
    assert np.count_nonzero((v * (1.0 / 9.0)).astype(np.float32) != (v / 9.0).astype(np.float32))
    xin = np.ascontiguousarray(x.transpose(0, 2, 3, 1)) if data_format == "channels_last" else x
    got = pk.avg_pool(xin, 3, 1, "same", data_format=data_format)
    np.testing.assert_array_equal(got, ref.avg_pool(xin, 3, 1, "same", data_format=data_format))
    got = got.transpose(0, 3, 1, 2) if data_format == "channels_last" else got
    np.testing.assert_array_equal(got[0, 0, 2::4, 2::4].reshape(-1), (v / 9.0).astype(np.float32))


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "int64", "uint8"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_integer_maxima_on_every_kernel_path(dtype: str, data_format: str) -> None:
    # the max kernels are compiled once per dtype: short and long rows, 2-D and 3-D, tiling,
    # folded, overlapping, global and adaptive windows, each against the reference
    for spatial in ((6, 6), (6, 18), (4, 4, 4), (4, 4, 18)):
        shape = (2, *spatial, 3) if data_format == "channels_last" else (2, 3, *spatial)
        x = make_input(shape, dtype, len(spatial))
        for op, args, kw in (("max_pool", (2,), {}), ("max_pool", (3, 2, 1), {}),
                             ("max_pool", (3, 1, "same"), {}), ("global_max_pool", (), {}),
                             ("adaptive_max_pool", (2,), {})):
            run_and_compare(op, x, *args, data_format=data_format, **kw)
