"""Slow, obviously-correct reference implementation of poolkit's pooling semantics.

Everything here is written directly from the definitions in poolkit's public contract with
plain Python loops over output positions and window cells.  Nothing is vectorised and nothing
from :mod:`poolkit` is imported, so the reference can serve as an independent oracle for the
fast kernels.  Speed is irrelevant: keep the arrays you feed it small.

Conventions (shared with the public API)
----------------------------------------
* ``x`` is ``(N, *spatial, C)`` for ``data_format="channels_last"`` and ``(N, C, *spatial)`` for
  ``"channels_first"``, with 1 to 3 spatial dimensions.  Internally everything is moved to
  channels-first and moved back at the end.
* ``padding`` is ``"valid"``, ``"same"`` (extra odd cell at the end), ``"same_lower"`` (extra odd
  cell at the start), an int (symmetric, all dims), a tuple of ints (symmetric, per dim) or a
  tuple of ``(lo, hi)`` pairs.
* Output length per dim: ``floor((n + lo + hi - ek) / s) + 1`` with ``ek = (k - 1) * d + 1``; with
  ``ceil_mode`` the division rounds up but a last window starting at or beyond ``n + lo`` (i.e. in
  the right padding) is dropped.
* A window's *real* cells are its positions inside ``[0, n)``; padded cells never take part in a
  max or a sum.  ``count_include_pad=True`` divides by the number of window positions inside the
  *padded* range ``[-lo, n + hi)`` instead; ``divisor_override`` replaces the divisor.
* Max ties go to the first maximum in row-major window order; a NaN in the window makes the output
  NaN and its index the index of the first NaN.  Indices are flat row-major positions inside the
  ``(n, c)`` spatial plane of the unpadded input.
* Means and Lp norms are accumulated in float64.  Max keeps the input dtype; avg/lp return the
  input dtype for float16/32/64 and float64 for integer inputs.
* Backward passes return ``dx`` as float64 with the shape and layout of ``x``.

A window that contains no real cell at all (possible only with exotic padding/dilation combos)
raises :class:`EmptyWindowError`; tests use it to discard such configurations.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Callable, Iterator, Sequence

import numpy as np

__all__ = [
    "EmptyWindowError",
    "output_shape",
    "resolve_padding",
    "max_pool",
    "avg_pool",
    "lp_pool",
    "global_max_pool",
    "global_avg_pool",
    "global_lp_pool",
    "adaptive_max_pool",
    "adaptive_avg_pool",
    "max_pool_grad",
    "avg_pool_grad",
    "lp_pool_grad",
    "global_max_pool_grad",
    "global_avg_pool_grad",
    "global_lp_pool_grad",
    "adaptive_max_pool_grad",
    "adaptive_avg_pool_grad",
]


class EmptyWindowError(ValueError):
    """Raised when a pooling window contains no real (unpadded) input cell."""


# --------------------------------------------------------------------------------------------
# argument normalisation
# --------------------------------------------------------------------------------------------


def _per_dim(value: Any, rank: int, name: str) -> tuple[int, ...]:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        out = (int(value),) * rank
    else:
        out = tuple(int(v) for v in value)
    if len(out) != rank:
        raise ValueError(f"`{name}` needs {rank} values; received {name}={value!r}")
    if any(v <= 0 for v in out):
        raise ValueError(f"`{name}` must be positive integers; received {name}={value!r}")
    return out


def _rank_of(ndim: int) -> int:
    rank = ndim - 2
    if not 1 <= rank <= 3:
        raise ValueError(f"expected 3-5 dims (N, C and 1-3 spatial); received ndim={ndim}")
    return rank


def _to_cf(x: np.ndarray, data_format: str) -> np.ndarray:
    if data_format == "channels_first":
        return x
    if data_format == "channels_last":
        return np.moveaxis(x, -1, 1)
    raise ValueError(f"unknown data_format={data_format!r}")


def _from_cf(y: np.ndarray, data_format: str) -> np.ndarray:
    if data_format == "channels_first":
        return y
    return np.moveaxis(y, 1, -1)


def _spatial_of(shape: Sequence[int], data_format: str) -> tuple[int, ...]:
    shape = tuple(int(s) for s in shape)
    if data_format == "channels_first":
        return shape[2:]
    if data_format == "channels_last":
        return shape[1:-1]
    raise ValueError(f"unknown data_format={data_format!r}")


def _assemble(n: int, c: int, spatial: Sequence[int], data_format: str) -> tuple[int, ...]:
    if data_format == "channels_first":
        return (n, c, *spatial)
    return (n, *spatial, c)


def resolve_padding(
    padding: Any,
    spatial: Sequence[int],
    pool_size: Sequence[int],
    strides: Sequence[int],
    dilation: Sequence[int],
) -> tuple[tuple[int, int], ...]:
    """Turn any accepted ``padding`` form into explicit ``((lo, hi), ...)`` per spatial dim.

    Examples
    --------
    >>> resolve_padding("same", (5,), (3,), (2,), (1,))
    ((1, 1),)
    >>> resolve_padding("same", (4,), (2,), (1,), (1,)), resolve_padding("same_lower", (4,), (2,), (1,), (1,))
    (((0, 1),), ((1, 0),))
    >>> resolve_padding(((1, 2),), (4,), (3,), (1,), (1,))
    ((1, 2),)
    """
    rank = len(spatial)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * rank
        if padding in ("same", "same_lower"):
            pads = []
            for n, k, s, d in zip(spatial, pool_size, strides, dilation):
                out = -(-n // s)  # ceil(n / s)
                total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
                small, big = total // 2, total - total // 2
                pads.append((small, big) if padding == "same" else (big, small))
            return tuple(pads)
        raise ValueError(f"unknown padding={padding!r}")
    if isinstance(padding, (int, np.integer)) and not isinstance(padding, bool):
        return ((int(padding), int(padding)),) * rank
    items = tuple(padding)
    if len(items) != rank:
        raise ValueError(f"`padding` needs {rank} entries; received padding={padding!r}")
    if all(isinstance(p, (int, np.integer)) and not isinstance(p, bool) for p in items):
        return tuple((int(p), int(p)) for p in items)
    pairs = tuple((int(lo), int(hi)) for lo, hi in items)
    return pairs


def _out_len(n: int, k: int, s: int, d: int, lo: int, hi: int, ceil_mode: bool) -> int:
    ek = (k - 1) * d + 1
    span = n + lo + hi - ek
    if span < 0:
        raise ValueError(f"window {ek} larger than padded input {n + lo + hi}")
    if not ceil_mode:
        return span // s + 1
    out = -(-span // s) + 1
    if (out - 1) * s >= n + lo:  # last window would start in the right padding: drop it
        out -= 1
    return out


def _windowed_geometry(
    shape: Sequence[int],
    pool_size: Any,
    strides: Any,
    padding: Any,
    dilation: Any,
    ceil_mode: bool,
    data_format: str,
) -> tuple[tuple[int, ...], ...]:
    """Return ``(spatial, k, s, d, pads, out_spatial)`` for a windowed op on ``shape``."""
    rank = _rank_of(len(shape))
    spatial = _spatial_of(shape, data_format)
    k = _per_dim(pool_size, rank, "pool_size")
    s = k if strides is None else _per_dim(strides, rank, "strides")
    d = _per_dim(dilation, rank, "dilation")
    pads = resolve_padding(padding, spatial, k, s, d)
    out = tuple(
        _out_len(n, kk, ss, dd, lo, hi, bool(ceil_mode))
        for n, kk, ss, dd, (lo, hi) in zip(spatial, k, s, d, pads)
    )
    return spatial, k, s, d, pads, out


def output_shape(
    input_shape: Sequence[int],
    pool_size: Any,
    strides: Any = None,
    padding: Any = "valid",
    *,
    dilation: Any = 1,
    ceil_mode: bool = False,
    data_format: str = "channels_last",
) -> tuple[int, ...]:
    """Full output shape of a windowed pool, computed from the definition.

    Examples
    --------
    >>> output_shape((1, 4, 4, 3), 3, 2, ceil_mode=True)
    (1, 2, 2, 3)
    >>> output_shape((1, 3, 5), 2, 2, "same", data_format="channels_first")
    (1, 3, 3)
    """
    shape = tuple(int(v) for v in input_shape)
    _, _, _, _, _, out = _windowed_geometry(
        shape, pool_size, strides, padding, dilation, ceil_mode, data_format
    )
    if data_format == "channels_first":
        return (shape[0], shape[1], *out)
    return (shape[0], *out, shape[-1])


# --------------------------------------------------------------------------------------------
# window enumeration
# --------------------------------------------------------------------------------------------

# A "window" is (out_index, real_positions, padded_count): real_positions are the spatial
# positions of the window's cells that fall inside the unpadded input, in row-major window
# order; padded_count is the number of window positions inside the padded input.


def _sliding_windows(
    spatial: Sequence[int],
    k: Sequence[int],
    s: Sequence[int],
    d: Sequence[int],
    pads: Sequence[tuple[int, int]],
    out: Sequence[int],
) -> Iterator[tuple[tuple[int, ...], list[tuple[int, ...]], int]]:
    for o in itertools.product(*(range(m) for m in out)):
        per_dim_positions = []
        padded = 1
        for i in range(len(spatial)):
            start = o[i] * s[i] - pads[i][0]
            pos = [start + j * d[i] for j in range(k[i])]
            lo_bound, hi_bound = -pads[i][0], spatial[i] + pads[i][1]
            padded *= sum(1 for p in pos if lo_bound <= p < hi_bound)
            per_dim_positions.append(pos)
        real = [
            cell
            for cell in itertools.product(*per_dim_positions)
            if all(0 <= c < n for c, n in zip(cell, spatial))
        ]
        if not real:
            raise EmptyWindowError(f"output position {o} has a window with no input cell")
        yield o, real, padded


def _adaptive_bounds(n: int, m: int, i: int) -> tuple[int, int]:
    start = (i * n) // m
    end = -((-(i + 1) * n) // m)
    return start, end


def _adaptive_windows(
    spatial: Sequence[int], out: Sequence[int]
) -> Iterator[tuple[tuple[int, ...], list[tuple[int, ...]], int]]:
    for o in itertools.product(*(range(m) for m in out)):
        ranges = [range(*_adaptive_bounds(n, m, i)) for n, m, i in zip(spatial, out, o)]
        real = list(itertools.product(*ranges))
        if not real:
            raise EmptyWindowError(f"adaptive output position {o} has an empty window")
        yield o, real, len(real)


def _adaptive_out(output_size: Any, rank: int) -> tuple[int, ...]:
    return _per_dim(output_size, rank, "output_size")


# --------------------------------------------------------------------------------------------
# window reductions (shared by forward and backward)
# --------------------------------------------------------------------------------------------


def _float_out_dtype(dtype: np.dtype) -> np.dtype:
    dtype = np.dtype(dtype)
    if dtype in (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64)):
        return dtype
    return np.dtype(np.float64)


def _argmax_first(values: list[Any]) -> int:
    """Index of the first NaN if any, else of the first maximum (plain Python comparisons)."""
    for i, v in enumerate(values):
        if v != v:  # NaN
            return i
    best = 0
    for i in range(1, len(values)):
        if values[i] > values[best]:
            best = i
    return best


def _check_p(p: Any) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)):
        raise TypeError(f"`p` must be a positive number; received p={p!r}")
    pf = float(p)
    if not pf > 0:
        raise ValueError(f"`p` must be a positive number; received p={p!r}")
    return pf


def _lp_value(vals: list[float], p: float) -> float:
    if math.isinf(p):
        if any(v != v for v in vals):
            return math.nan
        return max(abs(v) for v in vals)
    return float(sum(abs(v) ** p for v in vals) ** (1.0 / p))


def _run(
    x: np.ndarray,
    data_format: str,
    windows_for: Callable[[tuple[int, ...]], tuple[tuple[int, ...], Iterator]],
    reduce: Callable[[np.ndarray, list, int], tuple[Any, int]],
    out_dtype: np.dtype,
    return_indices: bool = False,
) -> Any:
    x = np.asarray(x)
    _rank_of(x.ndim)
    xcf = _to_cf(x, data_format)
    nb, ch, spatial = xcf.shape[0], xcf.shape[1], xcf.shape[2:]
    out_spatial, windows = windows_for(spatial)
    windows = list(windows) if nb * ch else []
    y = np.zeros((nb, ch, *out_spatial), dtype=out_dtype)
    idx = np.zeros((nb, ch, *out_spatial), dtype=np.int64)
    for b in range(nb):
        for c in range(ch):
            plane = xcf[b, c]
            for o, real, padded in windows:
                value, flat = reduce(plane, real, padded)
                y[(b, c, *o)] = value
                idx[(b, c, *o)] = flat
    if return_indices:
        return _from_cf(y, data_format), _from_cf(idx, data_format)
    return _from_cf(y, data_format)


def _max_reduce(plane: np.ndarray, real: list, padded: int) -> tuple[Any, int]:
    values = [plane[cell] for cell in real]
    best = _argmax_first(values)
    return values[best], int(np.ravel_multi_index(real[best], plane.shape))


def _avg_reducer(count_include_pad: bool, divisor_override: Any) -> Callable:
    def reduce(plane: np.ndarray, real: list, padded: int) -> tuple[float, int]:
        total = math.fsum(float(plane[cell]) for cell in real)
        if divisor_override is not None:
            div = int(divisor_override)
        elif count_include_pad:
            div = padded
        else:
            div = len(real)
        return total / div, 0

    return reduce


def _lp_reducer(p: float) -> Callable:
    def reduce(plane: np.ndarray, real: list, padded: int) -> tuple[float, int]:
        return _lp_value([float(plane[cell]) for cell in real], p), 0

    return reduce


def _sliding(pool_size, strides, padding, dilation, ceil_mode, data_format):
    def windows_for(spatial):
        shape = _assemble(1, 1, spatial, "channels_first")
        sp, k, s, d, pads, out = _windowed_geometry(
            shape, pool_size, strides, padding, dilation, ceil_mode, "channels_first"
        )
        return out, _sliding_windows(sp, k, s, d, pads, out)

    return windows_for


def _adaptive(output_size):
    def windows_for(spatial):
        out = _adaptive_out(output_size, len(spatial))
        return out, _adaptive_windows(spatial, out)

    return windows_for


def _global(spatial):
    out = (1,) * len(spatial)
    return out, _adaptive_windows(spatial, out)


def _drop_spatial(y: np.ndarray, data_format: str) -> np.ndarray:
    ycf = _to_cf(y, data_format)
    return ycf.reshape(ycf.shape[0], ycf.shape[1])


# --------------------------------------------------------------------------------------------
# forward passes
# --------------------------------------------------------------------------------------------


def max_pool(
    x: np.ndarray,
    pool_size: Any,
    strides: Any = None,
    padding: Any = "valid",
    *,
    dilation: Any = 1,
    ceil_mode: bool = False,
    data_format: str = "channels_last",
    return_indices: bool = False,
) -> Any:
    """Reference max pooling; returns ``y`` or ``(y, indices)``.

    Examples
    --------
    >>> x = np.array([[[1.0], [3.0], [3.0], [2.0]]])           # (N=1, W=4, C=1)
    >>> y, i = max_pool(x, 2, 1, return_indices=True)
    >>> y[0, :, 0].tolist(), i[0, :, 0].tolist()
    ([3.0, 3.0, 3.0], [1, 1, 2])
    """
    x = np.asarray(x)
    return _run(
        x,
        data_format,
        _sliding(pool_size, strides, padding, dilation, ceil_mode, data_format),
        _max_reduce,
        x.dtype,
        return_indices,
    )


def avg_pool(
    x: np.ndarray,
    pool_size: Any,
    strides: Any = None,
    padding: Any = "valid",
    *,
    dilation: Any = 1,
    ceil_mode: bool = False,
    count_include_pad: bool = False,
    divisor_override: Any = None,
    data_format: str = "channels_last",
) -> np.ndarray:
    """Reference average pooling.

    Examples
    --------
    >>> x = np.arange(1.0, 5.0).reshape(1, 1, 4)
    >>> avg_pool(x, 3, 1, 1, data_format="channels_first").tolist()
    [[[1.5, 2.0, 3.0, 3.5]]]
    >>> avg_pool(x, 3, 1, 1, count_include_pad=True, data_format="channels_first").tolist()
    [[[1.0, 2.0, 3.0, 2.3333333333333335]]]
    """
    x = np.asarray(x)
    return _run(
        x,
        data_format,
        _sliding(pool_size, strides, padding, dilation, ceil_mode, data_format),
        _avg_reducer(count_include_pad, divisor_override),
        _float_out_dtype(x.dtype),
    )


def lp_pool(
    x: np.ndarray,
    p: float,
    pool_size: Any,
    strides: Any = None,
    padding: Any = "valid",
    *,
    dilation: Any = 1,
    ceil_mode: bool = False,
    data_format: str = "channels_last",
) -> np.ndarray:
    """Reference Lp pooling ``(sum |x|**p) ** (1/p)`` over real cells; ``p=inf`` is ``max |x|``.

    Examples
    --------
    >>> x = np.array([3.0, -4.0]).reshape(1, 1, 2)
    >>> lp_pool(x, 2, 2, data_format="channels_first").tolist()
    [[[5.0]]]
    """
    x = np.asarray(x)
    pf = _check_p(p)
    return _run(
        x,
        data_format,
        _sliding(pool_size, strides, padding, dilation, ceil_mode, data_format),
        _lp_reducer(pf),
        _float_out_dtype(x.dtype),
    )


def global_max_pool(
    x: np.ndarray, *, data_format: str = "channels_last", keepdims: bool = False
) -> np.ndarray:
    """Reference global max pooling over all spatial dims (NaN propagates)."""
    x = np.asarray(x)
    y = _run(x, data_format, _global, _max_reduce, x.dtype)
    return y if keepdims else _drop_spatial(y, data_format)


def global_avg_pool(
    x: np.ndarray, *, data_format: str = "channels_last", keepdims: bool = False
) -> np.ndarray:
    """Reference global average pooling over all spatial dims."""
    x = np.asarray(x)
    y = _run(x, data_format, _global, _avg_reducer(False, None), _float_out_dtype(x.dtype))
    return y if keepdims else _drop_spatial(y, data_format)


def global_lp_pool(
    x: np.ndarray, p: float = 2, *, data_format: str = "channels_last", keepdims: bool = False
) -> np.ndarray:
    """Reference global Lp pooling over all spatial dims."""
    x = np.asarray(x)
    pf = _check_p(p)
    y = _run(x, data_format, _global, _lp_reducer(pf), _float_out_dtype(x.dtype))
    return y if keepdims else _drop_spatial(y, data_format)


def adaptive_max_pool(
    x: np.ndarray,
    output_size: Any,
    *,
    data_format: str = "channels_last",
    return_indices: bool = False,
) -> Any:
    """Reference adaptive max pooling (window ``[floor(i*n/m), ceil((i+1)*n/m))``).

    Examples
    --------
    >>> x = np.array([1.0, 5.0, 2.0, 4.0, 3.0]).reshape(1, 1, 5)
    >>> adaptive_max_pool(x, 3, data_format="channels_first").tolist()
    [[[5.0, 5.0, 4.0]]]
    """
    x = np.asarray(x)
    return _run(x, data_format, _adaptive(output_size), _max_reduce, x.dtype, return_indices)


def adaptive_avg_pool(
    x: np.ndarray, output_size: Any, *, data_format: str = "channels_last"
) -> np.ndarray:
    """Reference adaptive average pooling.

    Examples
    --------
    >>> x = np.array([1.0, 5.0, 2.0, 4.0, 3.0]).reshape(1, 1, 5)
    >>> adaptive_avg_pool(x, 3, data_format="channels_first").tolist()
    [[[3.0, 3.6666666666666665, 3.5]]]
    """
    x = np.asarray(x)
    return _run(
        x, data_format, _adaptive(output_size), _avg_reducer(False, None), _float_out_dtype(x.dtype)
    )


# --------------------------------------------------------------------------------------------
# backward passes
# --------------------------------------------------------------------------------------------


def _run_grad(
    x: np.ndarray,
    dy: np.ndarray,
    data_format: str,
    windows_for: Callable,
    scatter: Callable[[np.ndarray, list, int, float, np.ndarray], None],
    dy_is_global_squeezed: bool = False,
) -> np.ndarray:
    x = np.asarray(x)
    _rank_of(x.ndim)
    xcf = _to_cf(x, data_format)
    nb, ch, spatial = xcf.shape[0], xcf.shape[1], xcf.shape[2:]
    out_spatial, windows = windows_for(spatial)
    dy = np.asarray(dy, dtype=np.float64)
    if dy_is_global_squeezed:
        dycf = dy.reshape(nb, ch, *out_spatial)
    else:
        dycf = _to_cf(dy, data_format)
    if dycf.shape != (nb, ch, *out_spatial):
        raise ValueError(f"dy has shape {dy.shape}, expected output shape for {x.shape}")
    windows = list(windows) if nb * ch else []
    dx = np.zeros(xcf.shape, dtype=np.float64)
    for b in range(nb):
        for c in range(ch):
            plane = xcf[b, c]
            gplane = dx[b, c]
            for o, real, padded in windows:
                scatter(plane, real, padded, float(dycf[(b, c, *o)]), gplane)
    return _from_cf(dx, data_format)


def _max_scatter(plane, real, padded, g, gplane):
    best = _argmax_first([plane[cell] for cell in real])
    gplane[real[best]] += g


def _avg_scatter(count_include_pad: bool, divisor_override: Any) -> Callable:
    def scatter(plane, real, padded, g, gplane):
        if divisor_override is not None:
            div = int(divisor_override)
        elif count_include_pad:
            div = padded
        else:
            div = len(real)
        for cell in real:
            gplane[cell] += g / div

    return scatter


def _lp_scatter(p: float) -> Callable:
    def scatter(plane, real, padded, g, gplane):
        vals = [float(plane[cell]) for cell in real]
        if math.isinf(p):
            absvals = [abs(v) for v in vals]
            best = _argmax_first(absvals)
            v = vals[best]
            gplane[real[best]] += g * (1.0 if v > 0 else -1.0 if v < 0 else 0.0)
            return
        y = _lp_value(vals, p)
        if y == 0:
            return
        for cell, v in zip(real, vals):
            sign = 1.0 if v > 0 else -1.0 if v < 0 else 0.0
            gplane[cell] += g * sign * abs(v) ** (p - 1.0) * y ** (1.0 - p)

    return scatter


def max_pool_grad(
    x: np.ndarray,
    dy: np.ndarray,
    pool_size: Any,
    strides: Any = None,
    padding: Any = "valid",
    *,
    dilation: Any = 1,
    ceil_mode: bool = False,
    data_format: str = "channels_last",
    return_indices: bool = False,
) -> np.ndarray:
    """Reference ``dx`` of max pooling: each ``dy`` goes to its window's (first) argmax.

    Examples
    --------
    >>> x = np.array([1.0, 3.0, 2.0]).reshape(1, 1, 3)
    >>> max_pool_grad(x, np.ones((1, 1, 2)), 2, 1, data_format="channels_first").tolist()
    [[[0.0, 2.0, 0.0]]]
    """
    return _run_grad(
        x,
        dy,
        data_format,
        _sliding(pool_size, strides, padding, dilation, ceil_mode, data_format),
        _max_scatter,
    )


def avg_pool_grad(
    x: np.ndarray,
    dy: np.ndarray,
    pool_size: Any,
    strides: Any = None,
    padding: Any = "valid",
    *,
    dilation: Any = 1,
    ceil_mode: bool = False,
    count_include_pad: bool = False,
    divisor_override: Any = None,
    data_format: str = "channels_last",
) -> np.ndarray:
    """Reference ``dx`` of average pooling: ``dy / divisor`` to every real cell of the window."""
    return _run_grad(
        x,
        dy,
        data_format,
        _sliding(pool_size, strides, padding, dilation, ceil_mode, data_format),
        _avg_scatter(count_include_pad, divisor_override),
    )


def lp_pool_grad(
    x: np.ndarray,
    dy: np.ndarray,
    p: float,
    pool_size: Any,
    strides: Any = None,
    padding: Any = "valid",
    *,
    dilation: Any = 1,
    ceil_mode: bool = False,
    data_format: str = "channels_last",
) -> np.ndarray:
    """Reference ``dx`` of Lp pooling: ``dy * sign(x) |x|**(p-1) * y**(1-p)``, 0 where ``y == 0``.

    ``p=inf`` sends ``dy * sign(x)`` to the first cell of maximal ``|x|``.
    """
    pf = _check_p(p)
    return _run_grad(
        x,
        dy,
        data_format,
        _sliding(pool_size, strides, padding, dilation, ceil_mode, data_format),
        _lp_scatter(pf),
    )


def global_max_pool_grad(
    x: np.ndarray, dy: np.ndarray, *, data_format: str = "channels_last", keepdims: bool = False
) -> np.ndarray:
    """Reference ``dx`` of global max pooling."""
    return _run_grad(x, dy, data_format, _global, _max_scatter, not keepdims)


def global_avg_pool_grad(
    x: np.ndarray, dy: np.ndarray, *, data_format: str = "channels_last", keepdims: bool = False
) -> np.ndarray:
    """Reference ``dx`` of global average pooling."""
    return _run_grad(x, dy, data_format, _global, _avg_scatter(False, None), not keepdims)


def global_lp_pool_grad(
    x: np.ndarray,
    dy: np.ndarray,
    p: float = 2,
    *,
    data_format: str = "channels_last",
    keepdims: bool = False,
) -> np.ndarray:
    """Reference ``dx`` of global Lp pooling."""
    pf = _check_p(p)
    return _run_grad(x, dy, data_format, _global, _lp_scatter(pf), not keepdims)


def adaptive_max_pool_grad(
    x: np.ndarray,
    dy: np.ndarray,
    output_size: Any,
    *,
    data_format: str = "channels_last",
    return_indices: bool = False,
) -> np.ndarray:
    """Reference ``dx`` of adaptive max pooling (overlapping windows accumulate)."""
    return _run_grad(x, dy, data_format, _adaptive(output_size), _max_scatter)


def adaptive_avg_pool_grad(
    x: np.ndarray, dy: np.ndarray, output_size: Any, *, data_format: str = "channels_last"
) -> np.ndarray:
    """Reference ``dx`` of adaptive average pooling."""
    return _run_grad(x, dy, data_format, _adaptive(output_size), _avg_scatter(False, None))
