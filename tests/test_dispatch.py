"""Memoised window tables and the kernels' fast-path selection.

``PoolSpec.resolve`` and ``adaptive_windows`` are memoised, and the kernel arguments built from a
``Windows`` are kept on it; these tests make sure a call never picks up another call's tables,
and that the channels-last interior pass (windows of up to four taps) only takes outputs whose
windows really are full.
"""

from __future__ import annotations

import numpy as np
import pytest

import poolkit as pk
from poolkit._spec import PoolSpec, adaptive_windows

from . import reference as ref
from .registry import OPS, check_op, layout_variants, make_input

# the channels-first cases here are small: each runs through the small-plane kernels and again
# through the row kernels they would otherwise take
pytestmark = pytest.mark.usefixtures("plane_paths")


def test_resolve_is_memoised_per_spec_and_shape() -> None:
    spec = PoolSpec.build(2, 2)
    w = spec.resolve((8, 8))
    assert spec.resolve([8, 8]) is w
    assert PoolSpec.build(2, 2, strides=2).resolve((8, 8)) is w  # an equal spec
    assert spec.resolve((8, 9)) is not w
    assert PoolSpec.build(2, 3, strides=2).resolve((8, 8)) is not w
    assert adaptive_windows((5, 7), (2, 3)) is adaptive_windows([5, 7], [2, 3])


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_specs_with_equal_shapes_keep_their_own_tables(data_format: str) -> None:
    # window 2 and window 3 at stride 2 over 5 cells: same input/output shapes, pads and
    # dilation (so the same Windows hash), different windows; alternate between them
    x = make_input((2, 5, 5, 3) if data_format == "channels_last" else (2, 3, 5, 5), "float64", 1)
    for _ in range(2):
        for k in (2, 3):
            check_op(OPS["max_pool"], x, k, 2, data_format=data_format)
            check_op(OPS["avg_pool"], x, k, 2, data_format=data_format)
            check_op(OPS["lp_pool"], x, 2, k, 2, data_format=data_format)


@pytest.mark.parametrize("dtype", ["float32", "float64", "uint8", "float16"])
@pytest.mark.parametrize("size", [(4, 5, 2, 7), (2, 5, 1, 7), (4, 3, 2, 4), (2, 9, 1, 13)])
def test_adaptive_windows_of_alternating_size(dtype: str, size: tuple) -> None:
    # along W the windows hold 1, 2, 2, 1, 2, 2, 1 cells (5 -> 7): the full ones do not form one
    # run, so no output may be treated as a full 2-tap window
    h, w, oh, ow = size
    x = make_input((2, h, w, 6), dtype, 3)
    check_op(OPS["adaptive_max_pool"], x, (oh, ow))
    check_op(OPS["adaptive_avg_pool"], x, (oh, ow))


@pytest.mark.parametrize("padding", ["valid", "same", 1, ((1, 0), (0, 1))])
@pytest.mark.parametrize("window", [(1, 2), (2, 1), (2, 2), (1, 3), (3, 1), (1, 4)])
def test_small_channels_last_windows(window: tuple, padding) -> None:
    # the interior pass over windows of one to four taps, with clipped windows at the edges
    if not isinstance(padding, str) and min(window) == 1:
        padding = "same"  # a pad of 1 needs a window of 2 or more on that side
    x = make_input((2, 6, 7, 5), "float32", 4, ties=True)
    for strides in (1, 2, 3):
        check_op(OPS["max_pool"], x, window, strides, padding)
        check_op(OPS["avg_pool"], x, window, strides, padding)
        check_op(OPS["avg_pool"], x, window, strides, padding, count_include_pad=True)
    assert pk.max_pool(x, window, 2, padding).dtype == np.float32


@pytest.mark.parametrize("dtype", ["float32", "float16", "uint8", "int16", "float64"])
@pytest.mark.parametrize("shape, window", [((2, 3, 6, 8), 2), ((2, 3, 7, 9), 2),
                                           ((1, 2, 4, 6, 8), 2), ((1, 2, 5, 6, 8), (1, 2, 2)),
                                           ((2, 3, 6, 8), (3, 2)), ((2, 3, 6, 8), (1, 2))])
def test_channels_first_max_tiles(dtype: str, shape: tuple, window) -> None:
    # windows two wide at stride 2 over 2-4 rows are reduced straight from the rows; odd sizes
    # (a column left over) and taller windows take it too, with ties and NaN
    x = make_input(shape, dtype, 6, ties=True)
    if x.dtype.kind == "f":
        x.reshape(-1)[::7] = np.nan
    for strides in (2, (2,) * (len(shape) - 2)):
        check_op(OPS["max_pool"], x, window, strides, data_format="channels_first")


@pytest.mark.parametrize("dtype", ["float32", "float16", "uint8", "float64"])
@pytest.mark.parametrize("shape, window", [((2, 3, 6, 8), 2), ((2, 3, 7, 9), 2), ((2, 3, 11), 2),
                                           ((1, 2, 4, 6, 8), 2), ((1, 2, 5, 7, 9), 2),
                                           ((1, 2, 5, 6, 8), (1, 2, 2)), ((2, 3, 6, 8), (3, 2)),
                                           ((2, 3, 6, 8), (1, 2))])
@pytest.mark.parametrize("padding, extra", [
    ("valid", {}), ("same", {}), ("same", {"count_include_pad": True}),
    ("valid", {"ceil_mode": True}), ("valid", {"divisor_override": 3}),
    ("height", {}), ("height", {"count_include_pad": True})])
def test_channels_first_mean_tiles(dtype: str, shape: tuple, window, padding, extra) -> None:
    # means and L2 norms over windows two wide at stride 2 that tile the rows are summed straight
    # from one to three input rows, four rows (3-D) through one folded row; padded rows,
    # clipped windows and other divisors included. float16 and
    # float32 means of normal values are exact in float64 before their one rounding: equal to
    # the reference's
    rank = len(shape) - 2
    if padding == "height":  # padding along the first dim only (W stays tiled)
        k0 = window if isinstance(window, int) else window[0]
        padding = ((min(k0 - 1, 1), 1 if k0 > 1 else 0),) + ((0, 0),) * (rank - 1)
    x = make_input(shape, dtype, 3)
    if x.dtype.kind == "f":
        x.reshape(-1)[::5] = -0.0
    kw = dict(strides=2, padding=padding, data_format="channels_first", **extra)
    got = check_op(OPS["avg_pool"], x, window, **kw)
    if dtype in ("float32", "float16"):
        np.testing.assert_array_equal(got, ref.avg_pool(x, window, **kw))
    if not extra:
        check_op(OPS["lp_pool"], x, 2.0, window, **kw)


@pytest.mark.parametrize("dtype, nan", [
    ("float32", "none"), ("float32", "one"), ("float32", "many"), ("float16", "none"),
    ("float16", "one"), ("float64", "many"), ("uint8", "none"), ("int16", "none")])
@pytest.mark.parametrize("shape, window, strides, padding, dilation", [
    ((1, 2, 4, 140, 70), 2, 2, "valid", 1),  # several blocks of folded rows per plane
    ((1, 2, 5, 141, 71), 2, 2, "same", 1),  # clipped windows: one plane, one row
    ((2, 1, 7, 9, 10), (3, 1, 2), 2, "valid", 1), ((1, 1, 9, 9, 10), (4, 1, 2), 2, "valid", 1),
    ((1, 1, 9, 6, 10), (3, 1, 2), 1, ((1, 1), (0, 0), (0, 0)), 1),
    ((1, 2, 7, 8, 10), 2, 2, "valid", (2, 1, 1)), ((1, 2, 7, 9, 10), 2, 2, "valid", (1, 2, 1))])
def test_channels_first_max_over_planes(dtype: str, shape: tuple, window, strides, padding,
                                        dilation, nan: str) -> None:
    # 3-D windows two wide at stride 2 fold the rows of each plane first, a block of output rows
    # at a time, NaN-blind; a block with a NaN is redone from the input rows
    x = make_input(shape, dtype, 9, ties=True)
    if nan == "one":
        x[0, -1, shape[2] // 2, shape[3] // 3, 1] = np.nan  # one block of one plane
    elif nan == "many":
        x.reshape(-1)[::97] = np.nan
    check_op(OPS["max_pool"], x, window, strides, padding, dilation=dilation,
             data_format="channels_first")


@pytest.mark.parametrize("dtype", ["float32", "float16", "uint8"])
@pytest.mark.parametrize("window", [(2, 2, 2), (1, 2, 3), (2, 3, 1), (1, 1, 5), (2, 2, 1)])
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_channels_last_max_up_to_eight_taps(dtype: str, window: tuple, padding: str) -> None:
    # windows of five to eight taps inside the input are reduced in one pass over C
    x = make_input((2, 4, 5, 7, 3), dtype, 8, ties=True)
    if x.dtype.kind == "f":
        x.reshape(-1)[::5] = np.nan
    for strides in (1, 2):
        check_op(OPS["max_pool"], x, window, strides, padding)


@pytest.mark.parametrize("dtype", ["float32", "float16", "float64"])
@pytest.mark.parametrize("shape, window, fmt", [
    ((2, 3, 6, 8), 2, "channels_first"), ((1, 2, 4, 6, 8), 2, "channels_first"),
    ((2, 3, 9), 2, "channels_first"), ((2, 3, 7, 8), (3, 2), "channels_first"),
    ((2, 6, 8, 5), 2, "channels_last"), ((1, 4, 6, 8, 3), 2, "channels_last")])
def test_max_with_one_nan(dtype: str, shape: tuple, window, fmt: str) -> None:
    # the small max windows first take a NaN-blind pass and redo a row only when it held a NaN:
    # a lone NaN anywhere (first tap, last tap, between ties) must still make its window NaN,
    # and every other window must keep its exact maximum
    rng = np.random.default_rng(11)
    base = make_input(shape, dtype, 12, ties=True)
    flat_positions = rng.choice(base.size, 12, replace=False)
    for k, pos in enumerate(flat_positions):
        x = base.copy()
        x.reshape(-1)[pos] = np.nan
        x.reshape(-1)[(pos + 5) % x.size] = [np.inf, -np.inf, -0.0][k % 3]
        check_op(OPS["max_pool"], x, window, 2, data_format=fmt)


@pytest.mark.parametrize("dtype", ["float32", "float16", "int16"])
@pytest.mark.parametrize("window, strides, padding, dilation", [
    (8, 8, "valid", 1), (9, 3, 4, 1), ((8, 9), 2, "same", 1), (8, 3, "valid", 2),
    ((3, 10), (2, 3), "same", 1), (5, 5, "valid", 1), (3, 2, 1, 1), (6, 1, "same", 1)])
def test_channels_last_max_many_taps(dtype: str, window, strides, padding, dilation) -> None:
    # windows of more than eight taps, taken in row-major order (windows eight or more wide
    # sweep each input row once for a whole row of outputs), with ties, a lone NaN and padded
    # edges
    x = make_input((2, 20, 21, 5), dtype, 13, ties=True)
    if x.dtype.kind == "f":
        x.reshape(-1)[::97] = np.nan
    check_op(OPS["max_pool"], x, window, strides, padding, dilation=dilation)
    check_op(OPS["adaptive_max_pool"], x, (3, 2))


@pytest.mark.parametrize("dtype", ["float32", "float16", "uint8"])
@pytest.mark.parametrize("window, strides, padding", [
    (8, 8, "valid"), ((8, 9), 2, "same"), (9, 3, 4), ((3, 10), (2, 3), "same")])
def test_channels_last_wide_means_and_norms(dtype: str, window, strides, padding) -> None:
    # windows eight or more wide sum a whole row of outputs per sweep of an input row, four taps
    # per pass for the mean and L2
    x = make_input((2, 20, 21, 5), dtype, 14)
    check_op(OPS["avg_pool"], x, window, strides, padding)
    check_op(OPS["avg_pool"], x, window, strides, padding, count_include_pad=True)
    check_op(OPS["lp_pool"], x, 2, window, strides, padding)
    check_op(OPS["lp_pool"], x, 3, window, strides, padding)
    check_op(OPS["adaptive_avg_pool"], x, (3, 2))


@pytest.mark.parametrize("dtype", ["float32", "float64", "uint8", "float16"])
@pytest.mark.parametrize("shape, window, padding", [
    ((2, 7, 12, 9), (2, 2), "valid"), ((2, 7, 12, 9), (2, 2), "same"),
    ((2, 7, 12, 9), (2, 3), "same"), ((2, 7, 12, 9), (2, 3), ((1, 0), (2, 1))),
    ((2, 7, 12, 9), (3, 3), "same"), ((2, 7, 12, 9), (3, 2), 1),
    ((1, 4, 6, 7, 3), (2, 1, 2), "same"), ((1, 4, 6, 7, 3), (1, 2, 3), "valid")])
def test_channels_last_two_row_means(dtype: str, shape: tuple, window, padding) -> None:
    # stride-1 means over two input rows (3x3 windows at the top and bottom edges too) are
    # taken straight from the two rows, and only the edge outputs' columns are folded
    x = make_input(shape, dtype, 15)
    check_op(OPS["avg_pool"], x, window, 1, padding)
    check_op(OPS["avg_pool"], x, window, 1, padding, count_include_pad=True)
    check_op(OPS["avg_pool"], x, window, 1, padding, divisor_override=3)


@pytest.mark.skipif(pk._kernels._NOJIT, reason="no compiled specialisations without the JIT")
@pytest.mark.parametrize("op,kernel", [("max_pool", "max_cl"), ("avg_pool", "sum_cl_rows"),
                                       ("lp_pool", "sum_cl")])
def test_every_input_layout_runs_one_specialisation(op: str, kernel: str) -> None:
    # read-only, Fortran-order and strided inputs reach the kernel as the C-contiguous
    # read-only view of a plain array does: no compile per layout, and no flag of the
    # caller's array changes
    from poolkit import _kernels

    x = make_input((2, 6, 7, 5), "float32", 5)
    args = (2.0, 2, 2) if op == "lp_pool" else (3, 1)  # lp: no window overlap, sum_cl
    want = getattr(pk, op)(x, *args, padding="same")
    kern = getattr(_kernels, kernel)
    before = set(kern.signatures)
    for v in layout_variants(x).values():
        flags = (v.flags.writeable, v.flags.c_contiguous, v.flags.f_contiguous)
        np.testing.assert_array_equal(getattr(pk, op)(v, *args, padding="same"), want)
        assert (v.flags.writeable, v.flags.c_contiguous, v.flags.f_contiguous) == flags
    assert set(kern.signatures) == before


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "uint8"])
@pytest.mark.parametrize("case", [
    dict(window=(2, 9), strides=(1, 4), padding="valid"),
    dict(window=(1, 10), strides=(2, 3), padding="same"),
    dict(window=(3, 8), strides=(2, 5), padding=((1, 1), (3, 2)), dilation=(1, 2)),
    dict(window=(2, 13), strides=(1, 1), padding="valid"),
])
def test_wide_channels_last_windows(dtype: str, case: dict) -> None:
    # windows eight taps wide or more (adaptive ones among them) take each input row once for
    # all outputs of the row, four taps a pass and then the rest (13 = 4 + 4 + 4 + 1); the mean
    # and the L2 norm in flat loops, other norms per tap
    x = make_input((2, 5, 23, 6), dtype, 7)
    kw = dict(case)
    window = kw.pop("window")
    check_op(OPS["avg_pool"], x, window, **kw)
    if "dilation" not in kw:
        check_op(OPS["avg_pool"], x, window, count_include_pad=True, **kw)
    check_op(OPS["lp_pool"], x, 2.0, window, **kw)
    check_op(OPS["lp_pool"], x, 3.0, window, **kw)
    for size in ((2, 2), (3, 2), (1, 3)):
        check_op(OPS["adaptive_avg_pool"], x, size)


def _global_max_planes(shape: tuple, dtype: str) -> np.ndarray:
    """Channels-first planes whose maxima are every awkward case of a NaN-propagating,
    first-tap-wins maximum: zeros of both signs in either order, NaNs of both signs with
    different payloads, +-inf, subnormals and ties of ordinary values."""
    x = make_input(shape, dtype, 21, ties=True)
    planes = x.reshape(-1, x.shape[-2] * x.shape[-1])
    size = planes.shape[1]
    bits = np.dtype(f"u{x.itemsize}")
    nan_bits = [np.array(np.nan, dtype).view(bits)[()], ~np.array(0, bits)[()]]
    tiny = np.finfo(dtype).smallest_subnormal
    for p, plane in enumerate(planes):
        at = (5 * p + 3) % size
        case = p % 8
        if case in (0, 1, 2):  # a zero is the maximum: the first zero, whichever its sign
            plane[:] = -np.abs(plane) - 1
            plane[at] = -0.0 if case != 1 else 0.0
            plane[(at + 1 + p) % size] = 0.0 if case != 1 else -0.0
        elif case == 3:  # two NaNs after an inf: the first NaN, payload and sign included
            plane[(at - 1) % size] = np.inf
            v = plane.view(bits)
            v[at] = nan_bits[p % 2]
            v[(at + 7) % size] = nan_bits[1 - p % 2]
        elif case == 4:
            plane[at] = np.inf
        elif case == 5:
            plane[:] = -np.inf
            plane[at] = -tiny
        elif case == 6:
            plane[:] = tiny
    return x


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("shape", [(2, 8, 1, 1), (2, 8, 1, 2), (2, 8, 7, 7), (1, 8, 64, 63),
                                   (1, 8, 64, 64), (3, 8, 14, 14), (1, 8, 130, 131)])
@pytest.mark.parametrize("fmt", ["channels_first", "channels_last"])
def test_global_max_over_keys_bitwise(dtype: str, shape: tuple, fmt: str) -> None:
    # channels-first planes under 4096 values, and channels-last floats, take a maximum over
    # integer keys of the bits, which cannot tell -0 from +0 or one NaN from another: those
    # maxima must still be the first such tap of the plane, bit for bit (64 x 64 planes take the
    # per-lane path instead; one channels-last image of 130 x 131 is split among the threads)
    x = _global_max_planes(shape, dtype)
    if fmt == "channels_last":
        x = np.ascontiguousarray(np.moveaxis(x, 1, -1))
    got = pk.global_max_pool(x, data_format=fmt)
    want = ref.global_max_pool(x, data_format=fmt)
    bits = f"u{x.itemsize}"
    np.testing.assert_array_equal(got.view(bits), want.view(bits))
    assert not np.shares_memory(got, x)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "uint8"])
@pytest.mark.parametrize("shape", [(2, 8, 1, 1), (2, 8, 7, 7), (1, 4, 64, 63), (1, 4, 64, 64),
                                   (1, 5, 3, 5, 7), (1, 8, 130, 131)])
@pytest.mark.parametrize("fmt", ["channels_first", "channels_last"])
def test_global_means_and_norms(dtype: str, shape: tuple, fmt: str) -> None:
    # channels-first planes under 4096 values are summed in one reassociated run each; one
    # channels-last image of 130 x 131 is summed in runs of positions, one per thread
    x = make_input(shape, dtype, 22)
    if fmt == "channels_last":
        x = np.ascontiguousarray(np.moveaxis(x, 1, -1))
    check_op(OPS["global_avg_pool"], x, data_format=fmt)
    check_op(OPS["global_lp_pool"], x, 2, data_format=fmt)
    check_op(OPS["global_lp_pool"], x, 3, data_format=fmt)
    check_op(OPS["global_max_pool"], x, data_format=fmt)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "uint8", "int16"])
@pytest.mark.parametrize("fmt", ["channels_first", "channels_last"])
@pytest.mark.parametrize("spatial", [(7, 7), (5,), (3, 4, 5), (64, 65)])
def test_adaptive_to_one_and_to_input_size(dtype: str, fmt: str, spatial: tuple) -> None:
    # adaptive pooling to a single window takes the global path, and to the input's own size
    # (one cell per window) returns a converted copy: both as the windowed reference
    shape = (2, *spatial, 3) if fmt == "channels_last" else (2, 3, *spatial)
    x = make_input(shape, dtype, 23, ties=True)
    for out in ((1,) * len(spatial), spatial):
        check_op(OPS["adaptive_avg_pool"], x, out, data_format=fmt)
        got = check_op(OPS["adaptive_max_pool"], x, out, data_format=fmt)
        assert not np.shares_memory(got, x)
