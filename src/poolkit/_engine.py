"""The window engine: layout at the edge, rank padding to 3-D, dispatch to the kernels."""
from __future__ import annotations

import functools
import math

import numba as nb
import numpy as np

from . import _buffers as B
from . import _kernels as K
from . import _half as H
from ._spec import Windows

MODE_MEAN, MODE_LP, MODE_L2, MODE_L1, MODE_LINF = 0, 1, 2, 3, 4
DIV_REAL, DIV_PADDED, DIV_OVERRIDE = 0, 1, 2


def to5(a: np.ndarray, cl: bool) -> np.ndarray:
    """View ``a`` (rank 3-5) as rank 5 by inserting leading size-1 spatial dims (never copies)."""
    miss = 5 - a.ndim
    if miss == 0:
        return a
    at = 1 if cl else 2
    return a[(slice(None),) * at + (None,) * miss]


def out_shape(x_shape: tuple, win: Windows, cl: bool) -> tuple:
    n = x_shape[0]
    c = x_shape[-1] if cl else x_shape[1]
    return (n, *win.out_shape, c) if cl else (n, c, *win.out_shape)


def kernel_output(y: np.ndarray) -> np.ndarray:
    """float16 goes to the kernels as its uint16 bit patterns (a view, no copy): they compare
    and widen float16 exactly, and round float16 results once from float64."""
    return y.view(np.uint16) if y.dtype == np.float16 else y


def kernel_input(x: np.ndarray, dtype=None) -> np.ndarray:
    """An array the kernels only read, as they all take it: C-contiguous (copied once when the
    caller's array is not, or when ``dtype`` differs), float16 as its bit patterns, and marked
    read-only on a view of its own (the caller's array and flags are untouched).

    Every input of one dtype then reaches a kernel as one Numba type, so read-only, Fortran-order
    and strided arrays run the specialisation already compiled for plain C arrays instead of
    compiling another (each costs seconds on first use)."""
    v = kernel_output(np.ascontiguousarray(x, dtype)).view()
    v.flags.writeable = False
    return v


SMALL_WORK = 1 << 15  # below this many elements one thread beats waking the others


_get_threads = _set_threads = None  # once the pool has started: see threads()


def threads() -> int:
    """``numba.get_num_threads()`` of the calling thread. Numba's Python function checks under
    two locks that its thread pool has started, on every call (3-4 us, a few times per pooling
    call: a third of a small call's time). Once it has, the threading layer's own getter and
    setter are called directly where this Numba has them (``launch`` sets only 1 or the count
    read here, which need no check)."""
    global _get_threads, _set_threads
    if _get_threads is not None:
        return _get_threads()
    n = nb.get_num_threads()  # starts the pool
    par = getattr(getattr(nb, "np", None), "ufunc", None)
    par = getattr(par, "parallel", None)
    get, put = getattr(par, "_get_num_threads", None), getattr(par, "_set_num_threads", None)
    if callable(get) and callable(put) and get() == n:
        _get_threads, _set_threads = get, put
    else:  # pragma: no cover - another Numba
        _get_threads, _set_threads = nb.get_num_threads, nb.set_num_threads
    return n


def launch(kern, work: int, *args) -> None:
    """Run a parallel kernel; small problems run on the calling thread alone."""
    if work >= SMALL_WORK:
        kern(*args)
        return
    old = threads()
    if old == 1:
        kern(*args)
        return
    _set_threads(1)
    try:
        kern(*args)
    finally:
        _set_threads(old)


def _derived(fn):
    """Memoise ``fn(win, *args)`` in ``win.derived``: the kernel arguments built from the window
    tables cost tens of microseconds per call otherwise (callers never modify them)."""
    @functools.wraps(fn)
    def cached(win: Windows, *args):
        key = (fn.__name__, *args)
        try:
            return win.derived[key]
        except KeyError:
            value = win.derived[key] = fn(win, *args)
            return value

    return cached


def _fill(dtype: np.dtype):
    if dtype == np.uint16:  # float16 bits of -inf
        return np.uint16(0xFC00)
    if dtype.kind == "f":
        return dtype.type(-np.inf)
    return np.iinfo(dtype).min


@_derived
def _geom(win: Windows) -> list:
    base, klo, khi, dil = win.tables3()
    args = []
    for b, lo, hi in zip(base, klo, khi):
        args += [b, lo, hi]
    return args + list(dil)


@_derived
def _row(win: Windows) -> tuple[int, int]:
    """(taps, stride) of the last (contiguous) dim, for the channels-first row kernels."""
    base = win.base[-1]
    stride = int(base[1] - base[0]) if base.size > 1 else 1
    if base.size > 1 and (stride <= 0 or np.any(np.diff(base) != stride)):
        return -1, 1  # non-uniform (adaptive) windows: no interior fast path
    return int(win.khi[-1].max(initial=1)), max(stride, 1)


@_derived
def _tiles(win: Windows) -> bool:
    """Whether the windows are two wide at stride 2 (dilation 1), tile the last dim from its
    start and hold at most four real rows each (in one plane or several): the windows of
    ``max_cf_tiles`` and ``sum_cf_tiles`` (see :mod:`poolkit._kernels`)."""
    base, klo, khi, dil = win.tables3()
    bw, lw, hw = base[2], klo[2], khi[2]
    nd, nh = int((khi[0] - klo[0]).max()), int((khi[1] - klo[1]).max())
    return bool(dil[2] == 1 and bw.size > 0 and np.all(lw == 0) and np.all(hw == 2)
                and np.array_equal(bw, 2 * np.arange(bw.size)) and nd * nh <= 4)


@_derived
def _folds(win: Windows) -> bool:
    """Whether the windows are two or three wide at stride 1 or 2 (dilation 1) along the last
    dim and hold one plane and one to three rows of real taps each, two or three in some (2-D
    pooling, not 1-D): the windows of ``max_cf_fold`` (see :mod:`poolkit._kernels`)."""
    kw, sw = _row(win)
    _, klo, khi, dil = win.tables3()
    if not (kw in (2, 3) and sw in (1, 2) and dil[2] == 1):
        return False
    nd, nh, nw = (hi - lo for lo, hi in zip(klo, khi))
    return bool(nd.size and nh.size and nw.size and nd.min() == nd.max() == 1
                and nh.min() >= 1 and nh.max() in (2, 3) and nw.min() >= 1)


@_derived
def local_argmax(win: Windows, cl: bool, dtype: np.dtype) -> bool:
    """Whether a gradient's argmax can be kept as each window's tap number (uint8) instead of
    flat indices (int64): channels-last float input in windows that never overlap (their
    backward, ``bwd_tiles_cl``, walks each window's taps) of at most 255 taps."""
    taps = math.prod(int((hi - lo).max(initial=0)) for lo, hi in zip(win.klo, win.khi))
    return cl and dtype.kind == "f" and taps <= 255 and _tiling(win)[0]


@_derived
def _coverage(win: Windows) -> str:
    """``"global"`` when there is one window and it holds every input cell (no padding),
    ``"cells"`` when every output's window is the one input cell at its own position (window 1,
    stride 1; adaptive pooling to the input's size), else ``""``. (Real taps are distinct input
    cells, so a window of ``n`` taps starting at cell 0 of a dim of ``n`` holds all of it.)"""
    if any(lo or hi for lo, hi in win.pads):
        return ""
    starts = [b + lo * d for b, lo, d in zip(win.base, win.klo, win.dilation)]
    counts = [hi - lo for lo, hi in zip(win.klo, win.khi)]
    if all(o == 1 for o in win.out_shape) and all(
            s[0] == 0 and c[0] == n for s, c, n in zip(starts, counts, win.in_shape)):
        return "global"
    if win.out_shape == win.in_shape and all(
            (c == 1).all() and (s == np.arange(n)).all()
            for s, c, n in zip(starts, counts, win.in_shape)):
        return "cells"
    return ""


def _shortcut(x: np.ndarray, win: Windows, cl: bool, mode: int | None, p: float = 1.0):
    """The result when the windows need no window engine, else None: one window over the whole
    input is the flat global reduction (``mode``: None for the max); windows of one cell each
    are the input itself, copied (the max) or converted exactly to the mean's dtype (a mean of
    one value)."""
    cover = _coverage(win)
    if cover == "global":
        y = global_reduce(x, cl, mode, p)
        return None if y is None else y.reshape(out_shape(x.shape, win, cl))
    if cover == "cells" and mode in (None, MODE_MEAN):
        return np.array(x, x.dtype if mode is None else mean_dtype(x.dtype), order="C")
    return None


SMALL_PLANES = True  # the small-plane kernels on; off, the row kernels take every plane (tests)


def _small(win: Windows, itemsize: int, is_max: bool, direct: bool = False) -> tuple | None:
    return _small_tables(win, itemsize, is_max, direct) if SMALL_PLANES else None


@_derived
def _small_tables(win: Windows, itemsize: int, is_max: bool,
                  direct: bool = False) -> tuple | None:
    """The arguments of the small-plane kernels (``max_cf_small``, ``sum_cf_small``) after the
    input and output, for channels-first planes of short rows: at most 16 cells for the max,
    8 for the sums (longer rows vectorise in the row kernels, which then lead), 4096 cells a
    plane, and for the max at most 65536 taps in all of a plane's windows; None otherwise.
    Tables: each (d, h) row group's rows as offsets in the plane (``rows``, ``nr`` of them),
    each output's columns (``cols``, ``nc``), and for the max each output's taps in row-major
    order (``taps``, ``nt``: the redo of a block with a NaN or -0 tap, and with ``direct`` the
    only pass)."""
    base, klo, khi, dil = win.tables3()
    ins = (1,) * (3 - win.ndim) + tuple(win.in_shape)
    outs = (1,) * (3 - win.ndim) + tuple(win.out_shape)
    S, P = math.prod(ins), math.prod(outs)
    if ins[2] > (16 if is_max else 8) or S > 4096 or P == 0:
        return None
    taps_max = math.prod(int((hi - lo).max(initial=0)) for lo, hi in zip(klo, khi))
    if is_max and P * taps_max > 1 << 16:  # large overlapping windows: the row kernels
        return None  # (the max's table of every tap would be megabytes, built in Python)
    groups = []
    for od in range(outs[0]):
        ds = [base[0][od] + k * dil[0] for k in range(klo[0][od], khi[0][od])]
        for oh in range(outs[1]):
            hs = [base[1][oh] + k * dil[1] for k in range(klo[1][oh], khi[1][oh])]
            groups.append([(d * ins[1] + h) * ins[2] for d in ds for h in hs])
    wcols = [[base[2][ow] + k * dil[2] for k in range(klo[2][ow], khi[2][ow])]
             for ow in range(outs[2])]
    rows, nr = _ragged(groups)
    cols, nc = _ragged([wcols[o % outs[2]] for o in range(P)])
    block = max(1, min(64, K._SMALL_BLOCK_BYTES // (S * itemsize)))
    if not is_max:
        return rows, nr, cols, nc, S, ins[2], P, outs[2], block
    taps, nt = _ragged([[r + w for r in groups[o // outs[2]] for w in wcols[o % outs[2]]]
                        for o in range(P)])
    return rows, nr, cols, nc, taps, nt, S, ins[2], P, outs[2], block, int(direct)


def _ragged(lists: list) -> tuple[np.ndarray, np.ndarray]:
    """Lists of ints as one flat table of rows as long as the longest (zero-filled) and the
    lengths."""
    n = np.array([len(v) for v in lists], np.int64)
    table = np.zeros((len(lists), max(1, int(n.max(initial=0)))), np.int64)
    for i, v in enumerate(lists):
        table[i, :len(v)] = v
    return table.reshape(-1), n


@_derived
def _small_divisors(win: Windows, divmode: int, override: float) -> np.ndarray:
    """Each output's divisor for ``sum_cf_small``, the product of _counts's factors (d, h, w
    in that order, as the row kernels multiply them)."""
    cd, ch, cw = _counts(win, divmode, override)
    return np.multiply.outer(np.multiply.outer(cd, ch), cw).reshape(-1)


def max_reduce(x: np.ndarray, win: Windows, cl: bool, want_idx: bool, local: bool = False):
    """Windowed maximum (and the argmax when ``want_idx``: per-plane flat indices, or with
    ``local`` each window's winning tap number as uint8, see :func:`local_argmax`)."""
    if not want_idx:
        y = _shortcut(x, win, cl, None)
        if y is not None:
            return y
    shape = out_shape(x.shape, win, cl)
    y = B.empty(shape, x.dtype)
    local = bool(local and want_idx and cl)
    idx = B.empty(shape if want_idx else (0,) * len(shape), np.uint8 if local else np.int64)
    xk = kernel_input(x)
    yk = kernel_output(y)
    if y.size:
        if cl and want_idx:
            launch(K.argmax_cl, x.size, to5(xk, cl), to5(yk, cl), to5(idx, cl),
                   _fill(xk.dtype), *_geom(win), local)
        elif cl:
            launch(K.max_cl, x.size, to5(xk, cl), to5(yk, cl), _fill(xk.dtype), *_geom(win))
        elif not want_idx and (small := _small(win, xk.itemsize, True, _tiles(win) and (
                x.dtype.kind == "f"))) is not None:
            # (windows two wide at stride 2: straight over the taps, faster than the fold)
            launch(K.max_cf_small, x.size, xk.reshape(-1), yk.reshape(-1), _fill(xk.dtype),
                   *small, threads())
        elif want_idx:
            launch(K.argmax_cf_rows, x.size, to5(xk, cl), to5(yk, cl), to5(idx, cl),
                   *_geom(win), *_row(win))
        elif _tiles(win):
            launch(K.max_cf_tiles, x.size, to5(xk, cl), to5(yk, cl), _fill(xk.dtype),
                   *_geom(win))
        elif _folds(win) and (xk.dtype != np.uint16 or _row(win) != (3, 2)):
            # (float16 three wide at stride 2 stays with max_cf_rows's row split by column
            # parity: (16, 64, 112, 112) 3x3/2 pad 1 1.75 ms there, 2.0 here)
            launch(K.max_cf_fold, x.size, to5(xk, cl), to5(yk, cl), _fill(xk.dtype),
                   *_geom(win), *_row(win))
        else:
            launch(K.max_cf_rows, x.size, to5(xk, cl), to5(yk, cl), _fill(xk.dtype),
                   *_geom(win), *_row(win))
    return (y, idx) if want_idx else y


def mean_dtype(dtype: np.dtype) -> np.dtype:
    return dtype if dtype.kind == "f" else np.dtype(np.float64)


def sum_input(x: np.ndarray) -> np.ndarray:
    """``kernel_input`` for the mean and Lp kernels: integers go as float64 (the kernels widen
    every value to float64 anyway, so the results are the same bits). A float64 copy costs less
    than a specialisation of each sum kernel per integer dtype, which is ~90 s of compiling per
    dtype on a cold cache; :func:`_split` keeps that copy small."""
    return kernel_input(x, None if x.dtype.kind == "f" else np.float64)


# values a piece holds: integer input goes to the sum kernels as float64, and float16
# gradients are made in float32, this many values at a time
PIECE = 1 << 20


def pieces(shape: tuple, cl: bool, limit: int) -> list[tuple]:
    """Index tuples that split an input of ``shape`` (and its pooled output alike: the windows
    never cross them) into pieces of at most ``limit`` values: blocks of whole images, or,
    where one image is larger, blocks of its channels (one channel's values at the least)."""
    n, c = shape[0], shape[-1] if cl else shape[1]
    per_channel = math.prod(shape[1:-1] if cl else shape[2:])
    if c * per_channel <= limit:
        k = max(1, limit // max(1, c * per_channel))
        return [(slice(i, min(n, i + k)),) for i in range(0, n, k)]
    k = max(1, limit // max(1, per_channel))
    return [(slice(i, i + 1), Ellipsis, slice(j, min(c, j + k))) if cl
            else (slice(i, i + 1), slice(j, min(c, j + k)))
            for i in range(n) for j in range(0, c, k)]


def _split(shape: tuple, cl: bool) -> list[tuple] | None:
    """The :func:`pieces` of at most ``PIECE`` values of an input of ``shape``, or None where one
    piece would be all of it."""
    if math.prod(shape) <= PIECE:
        return None
    ps = pieces(shape, cl, PIECE)
    return ps if len(ps) > 1 else None


def _by_pieces(out: np.ndarray, ps: list[tuple], fn) -> np.ndarray:
    """out[idx] = fn(idx) for each piece: integer input for the sum kernels without a float64
    copy of all of it (8 bytes per input value: 400 MB for a 50 MB uint8 image batch), float16
    gradients without a float32 one (twice the input), the p = inf Lp gradient's argmax without
    |x| of all of it. Each window's sum or maximum is the same as from a whole copy."""
    for idx in ps:
        out[idx] = fn(idx)
    return out


def _f64(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, np.float64)


def sum_reduce(x: np.ndarray, win: Windows, cl: bool, mode: int, p: float = 1.0,
               divmode: int = DIV_REAL, override: float = 1.0) -> np.ndarray:
    """Mean or Lp norm over each window, accumulated in float64."""
    if x.dtype.kind != "f" and (ps := _split(x.shape, cl)) is not None:
        return _by_pieces(B.empty(out_shape(x.shape, win, cl), np.float64), ps,
                          lambda s: sum_reduce(_f64(x[s]), win, cl, mode, p, divmode, override))
    if divmode != DIV_OVERRIDE:  # (no padding there, so a padded count is the real one)
        y = _shortcut(x, win, cl, mode, p)
        if y is not None:
            return y
    shape = out_shape(x.shape, win, cl)
    y = B.empty(shape, mean_dtype(x.dtype))
    xk = sum_input(x)
    yk = kernel_output(y)  # float16 results are rounded once, from float64, in the kernel
    if y.size:
        geom, counts = _geom(win), _counts(win, divmode, override)
        args = (to5(xk, cl), to5(yk, cl), mode, float(p), *geom, *counts)
        if cl:
            taps, stride = _row(win)
            # fold rows once when windows overlap along W (short windows only: a tall, wide
            # window such as a global one is cheaper straight from the input)
            if stride < taps <= 8:
                launch(K.sum_cl_rows, x.size, *args, taps, stride)
            else:
                launch(K.sum_cl, x.size, *args)
        elif (small := _small(win, xk.itemsize, False)) is not None:
            rows, nr, cols, nc, *sizes = small
            launch(K.sum_cf_small, x.size, xk.reshape(-1), yk.reshape(-1), mode, float(p), rows,
                   nr, cols, nc, _small_divisors(win, divmode, override), *sizes, threads())
        elif mode in (MODE_MEAN, MODE_L2) and _tiles(win) and _one_divisor_w(win, divmode,
                                                                             override):
            # windows two wide at stride 2 that tile the rows, one divisor along W: the (d, h)
            # tables and dilations (the W ones are implied)
            launch(K.sum_cf_tiles, x.size, *args[:3], *geom[:6], *geom[9:11], *counts)
        else:
            launch(K.sum_cf_rows, x.size, *args, *_row(win))
    return y


def _float_bits(x: np.ndarray) -> tuple[np.dtype, object]:
    """The signed integer dtype of the bits of float array ``x``, and the bits of +inf."""
    bits = np.dtype(f"i{x.dtype.itemsize}")
    return bits, np.array(np.inf, x.dtype).view(bits)[()]


def global_reduce(x: np.ndarray, cl: bool, mode: int | None, p: float = 1.0):
    """Global max (``mode=None``) or mean/Lp of a channels-first input, one flat plane per
    (n, c); channels-last, the mean and L2 norm, and the max of floats, one flat
    (positions, C) block per image; returns ``(N, C)``, or None when the input does not
    qualify."""
    if x.size == 0 or (cl and mode not in (MODE_MEAN, MODE_L2, None)):
        return None
    if cl and mode is None and x.dtype.kind != "f":
        return None
    if mode is not None and x.dtype.kind != "f" and (ps := _split(x.shape, cl)) is not None:
        return _by_pieces(np.empty((x.shape[0], x.shape[-1] if cl else x.shape[1])), ps,
                          lambda s: global_reduce(_f64(x[s]), cl, mode, p))
    xk = kernel_input(x) if mode is None else sum_input(x)
    if cl:
        n, c = x.shape[0], x.shape[-1]
        blocks = xk.reshape(n, -1, c)
        s = blocks.shape[1]
        # too few images for the threads: split each image's positions into runs (of 64
        # positions or more)
        t = threads()
        parts = 1 if n >= t or x.size < SMALL_WORK else max(1, min(-(-t // n), s // 64))
        if mode is None:
            y = np.empty((n, c), x.dtype)
            bits, inf = _float_bits(x)
            launch(K.global_max_cl, x.size, blocks.view(bits), kernel_output(y).view(bits), inf,
                   parts)
            return y
        y = np.empty((n, c), mean_dtype(x.dtype))
        launch(K.global_sum_cl, x.size, blocks, kernel_output(y), mode, float(s), parts)
        return y
    n, c = x.shape[:2]
    planes = xk.reshape(n * c, -1)
    chunks = min(n * c, threads())  # one run of planes per thread
    if mode is None:
        y = np.empty((n, c), x.dtype)
        yk = kernel_output(y).reshape(-1)
        if planes.shape[1] < K._SHORT_PLANE and x.dtype.kind == "f":
            # short planes of floats: a maximum over integer keys of their bits, which
            # vectorises (global max of (32, 2048, 7, 7) float32: 3.2 ms -> 0.6 ms)
            bits, inf = _float_bits(x)
            launch(K.global_max_short, x.size, planes.view(bits), yk.view(bits), inf, chunks)
        else:
            launch(K.global_max_planes, x.size, planes, yk, chunks)
        return y
    y = np.empty((n, c), mean_dtype(x.dtype))
    launch(K.global_sum_planes, x.size, planes, kernel_output(y).reshape(-1), mode, float(p),
           float(planes.shape[1]), chunks)
    return y


# ---------------------------------------------------------------------------------------------
# backward


def _taps(win: Windows, d: int) -> tuple[np.ndarray, np.ndarray]:
    """(cells, outs): every real tap of dim ``d`` as its input cell and its output, in output
    order (and tap order within an output)."""
    lo, hi = win.klo[d].astype(np.int64), win.khi[d].astype(np.int64)
    taps = hi - lo
    outs = np.repeat(np.arange(win.out_shape[d], dtype=np.int64), taps)
    first = np.repeat(np.cumsum(taps) - taps, taps)  # where each output's taps begin
    k = np.arange(outs.size, dtype=np.int64) - first + np.repeat(lo, taps)
    return np.asarray(win.base[d], np.int64)[outs] + k * win.dilation[d], outs


@_derived
def _inverse(win: Windows) -> list:
    """Per dimension (padded to 3): CSR lists of the outputs whose window holds each input cell
    (ascending)."""
    out = []
    for _ in range(3 - win.ndim):
        out += [np.array([0, 1], np.int64), np.zeros(1, np.int64)]
    for d in range(win.ndim):
        cells, outs = _taps(win, d)
        ptr = np.zeros(win.in_shape[d] + 1, np.int64)
        ptr[1:] = np.cumsum(np.bincount(cells, minlength=win.in_shape[d]))
        lst = outs[np.lexsort((outs, cells))]  # by input cell, then ascending output
        out += [ptr, lst if lst.size else np.zeros(1, np.int64)]
    return out


def grad_dtype(dtype: np.dtype) -> np.dtype:
    return dtype if dtype.kind == "f" else np.dtype(np.float64)


@_derived
def _tiling(win: Windows) -> tuple[bool, bool]:
    """(disjoint, covering): no input cell lies in two windows (e.g. stride >= window, no
    dilation), and every input cell lies in some window."""
    disjoint = covering = True
    for d in range(win.ndim):
        covered = np.bincount(_taps(win, d)[0], minlength=win.in_shape[d])
        disjoint &= bool(covered.max(initial=0) <= 1)
        covering &= bool(covered.min(initial=1) >= 1)
    return disjoint, covering


def max_backward(x_shape: tuple, x_dtype: np.dtype, win: Windows, cl: bool, idx: np.ndarray,
                 dy: np.ndarray) -> np.ndarray:
    """Scatter each output's gradient to its argmax, one thread per plane (or channel block)."""
    dt = grad_dtype(x_dtype)
    if dt == np.float16 and (ps := _split(x_shape, cl)) is not None:
        dx = B.empty(x_shape, dt)
        return _by_pieces(dx, ps, lambda s: max_backward(dx[s].shape, x_dtype, win, cl, idx[s],
                                                         dy[s]))
    kdt = np.float32 if dt == np.float16 else dt
    disjoint, covering = _tiling(win) if cl else (False, False)
    local = idx.dtype == np.uint8  # tap numbers (see local_argmax), else flat indices
    if local and not (cl and disjoint):
        raise RuntimeError("tap-number indices need non-overlapping channels-last windows")
    # the scatters clear their part first; the tile kernel writes every cell of every window
    dxk = (B.zeros if disjoint and not covering else B.empty)(x_shape, kdt)
    dyk = _grad_input(dy, dxk.dtype)
    idx = kernel_input(idx)
    if dxk.size and dyk.size:
        n = x_shape[0]
        if cl and disjoint:  # (the divisor factors are unused by the max)
            launch(K.bwd_tiles_cl, dxk.size, to5(dyk, cl), to5(idx, cl), to5(dxk, cl),
                   *_factors(win, DIV_OVERRIDE, 1.0), *_geom(win), True, local)
        elif cl:
            c = x_shape[-1]
            # whole channel rows per job keep the scatter cache-friendly; split the channels
            # only when the batch alone cannot feed the threads
            split = -(-2 * threads() // n)
            block = max(8, -(-c // split)) if split > 1 else c
            launch(K.max_bwd_scatter_cl, dxk.size, dyk.reshape(n, -1, c), idx.reshape(n, -1, c),
                   dxk.reshape(n, -1, c), block)
        else:
            planes = n * x_shape[1]
            launch(K.max_bwd_scatter_cf, dxk.size, dyk.reshape(planes, -1),
                   idx.reshape(planes, -1), dxk.reshape(planes, -1))
    return _rounded(dxk, dt)


_WIDER = {np.dtype(np.int8): np.int16, np.dtype(np.int16): np.int32,
          np.dtype(np.int32): np.int64}


def _magnitude(x: np.ndarray) -> np.ndarray:
    """|x|, exact: signed integers up to 32 bits widened first (np.abs(int8(-128)) is -128);
    int64's -2**63 is taken as 2**63 - 1 (a tie with +-(2**63 - 1) goes to the first)."""
    if x.dtype in _WIDER:
        return np.abs(x.astype(_WIDER[x.dtype]))
    a = np.abs(x)
    if a.dtype == np.int64:
        np.putmask(a, a < 0, np.iinfo(np.int64).max)
    return a


def abs_argmax(x: np.ndarray, win: Windows, cl: bool) -> np.ndarray:
    """The argmax of |x| over each window (the Lp gradient for p = inf), as :func:`max_reduce`
    gives it for x's dtype, from |x| a piece of at most PIECE values at a time."""
    local = local_argmax(win, cl, x.dtype)
    if (ps := _split(x.shape, cl)) is None:
        return max_reduce(_magnitude(x), win, cl, True, local)[1]
    return _by_pieces(np.empty(out_shape(x.shape, win, cl), np.uint8 if local else np.int64), ps,
                      lambda s: max_reduce(_magnitude(x[s]), win, cl, True, local)[1])


def times_sign(dx: np.ndarray, x: np.ndarray, cl: bool) -> np.ndarray:
    """dx *= sign(x) in place (sign(NaN) counting as 0), a piece of x at a time."""
    for s in _split(x.shape, cl) or [(Ellipsis,)]:
        sign = np.sign(x[s])
        if sign.dtype.kind == "f":
            np.putmask(sign, np.isnan(sign), 0)
        dx[s] *= sign
    return dx


def _grad_input(dy: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``kernel_input(dy, dtype)``, with float16 widened to float32 by a compiled pass (NumPy's
    astype is many times slower)."""
    if dy.dtype != np.float16 or dtype != np.float32 or H.single_bits is None or dy.size == 0:
        return kernel_input(dy, dtype)
    out = B.empty(dy.shape, np.float32)
    launch(H.single_bits, dy.size, kernel_input(dy).reshape(-1), out.reshape(-1),
           min(threads(), dy.size))
    return kernel_input(out)  # (a read-only view, no copy)


def _rounded(dxk: np.ndarray, dt: np.dtype) -> np.ndarray:
    """The gradient ``dxk`` in ``dt``: float16 gradients, written in float32 by the kernels,
    rounded by a compiled kernel (NumPy's astype is many times slower)."""
    if dt != np.float16:
        return dxk.astype(dt, copy=False)
    dx = B.empty(dxk.shape, dt)
    if H.half_bits is None or dxk.size == 0:
        dx[...] = dxk
    else:
        launch(H.half_bits, dxk.size, dxk.reshape(-1), dx.reshape(-1).view(np.uint16),
               min(threads(), dxk.size))
    return dx


def _rows_per_job(outer: int, h: int) -> int:
    """Rows per parallel job: at most 16, and enough jobs to keep every thread busy."""
    want = 8 * threads()
    return max(1, min(16, outer * h // want))


@_derived
def _counts(win: Windows, divmode: int, override: float) -> list:
    """Per-dim float64 factors whose product is each output's divisor (padded to 3 dims)."""
    cs = []
    for d in range(win.ndim):
        if divmode == DIV_OVERRIDE:
            c = np.full(win.out_shape[d], override if d == 0 else 1.0)
        else:
            c = ((win.khi[d] - win.klo[d]) if divmode == DIV_REAL else win.npad[d]).astype(float)
        cs.append(c)
    return [np.ones(1)] * (3 - win.ndim) + cs


@_derived
def _one_divisor_w(win: Windows, divmode: int, override: float) -> bool:
    """Whether every output along the last dim has the same divisor factor."""
    cw = _counts(win, divmode, override)[2]
    return bool(np.all(cw == cw[0]))


@_derived
def _factors(win: Windows, divmode: int, override: float) -> list:
    """Per-dim factors whose product is 1/divisor of each output (mean backward)."""
    with np.errstate(divide="ignore"):
        return [1.0 / c for c in _counts(win, divmode, override)]


_NO_INDICES = np.zeros((1,) * 5, np.int64)  # the mean's stand-in for the max's indices


def sum_backward(x: np.ndarray, y: np.ndarray, win: Windows, cl: bool, mode: int, p: float,
                 divmode: int, override: float, dy: np.ndarray) -> np.ndarray:
    dt = grad_dtype(x.dtype)
    # a piece at a time: integer input for the Lp norms, which read it as float64 (the mean
    # reads no x), and float16, whose gradient is made in float32
    ints = x.dtype.kind != "f"
    if ((ints and mode != MODE_MEAN) or dt == np.float16) and (ps := _split(x.shape, cl)):
        return _by_pieces(B.empty(x.shape, dt), ps, lambda s: sum_backward(
            _f64(x[s]) if ints else x[s], y[s], win, cl, mode, p, divmode, override, dy[s]))
    dxk = B.empty(x.shape, np.float32 if dt == np.float16 else dt)  # every kernel writes all
    dyk = _grad_input(dy, dxk.dtype)
    if dxk.size and mode == MODE_MEAN:
        fd, fh, fw = _factors(win, divmode, override)
        if cl and _tiling(win) == (True, True):
            launch(K.bwd_tiles_cl, dxk.size, to5(dyk, cl), _NO_INDICES, to5(dxk, cl), fd, fh,
                   fw, *_geom(win), False, False)
        elif cl:
            n, d, h = to5(dxk, cl).shape[:3]
            launch(K.mean_bwd_cl, dxk.size, to5(dyk, cl), to5(dxk, cl), fd, fh, fw,
                   *_inverse(win), _rows_per_job(n * d, h))
        else:
            launch(K.mean_bwd_rows_cf, dxk.size, to5(dyk, cl), to5(dxk, cl), fd, fh, fw,
                   *_geom(win))
    elif dxk.size:
        kern = K.norm_bwd_cl if cl else K.norm_bwd_cf
        launch(kern, dxk.size, to5(dyk, cl), to5(dxk, cl), to5(sum_input(x), cl),
               to5(kernel_input(y), cl), mode, float(p), *_inverse(win))
    return _rounded(dxk, dt)
