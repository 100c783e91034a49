"""Max unpooling and region-of-interest (ROI) max pooling, with their backward passes.

Both operations are exact: they only move values around (unpooling) or pick maxima (ROI pooling),
so results are bit-identical to the definitions below.

* :func:`max_unpool` is the partial inverse of ``max_pool(..., return_indices=True)``: every
  pooled value is written back at the position its index names, everything else is zero
  (PyTorch ``max_unpool{1,2,3}d``, ONNX ``MaxUnpool``).
* :func:`roi_max_pool` is Fast R-CNN's ROI pooling (Caffe ``ROIPooling``, ONNX ``MaxRoiPool``,
  torchvision ``roi_pool``): each region is split into a fixed grid of bins and each bin keeps the
  maximum of the input cells it covers.

The kernels are plain loops compiled by Numba (``@njit(cache=True)``); with ``NUMBA_DISABLE_JIT=1``
they run as ordinary Python.
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Callable, Sequence

import numpy as np
from numba import njit

from ._engine import grad_dtype
from ._spec import (_is_int, _parse_padding, check_dy, int_tuple,
                    normalize_data_format)

__all__ = [
    "max_unpool",
    "max_unpool_backward",
    "roi_max_pool",
    "roi_max_pool_backward",
    "unpool_output_size",
    "max_unpool_vjp",
    "roi_max_pool_vjp",
]

_MAX_DTYPES = tuple(np.dtype(t) for t in ("float16", "float32", "float64", "int8", "uint8",
                                           "int16", "int32", "int64"))


# --------------------------------------------------------------------------- argument checking
def _as_array(name: str, a: Any) -> np.ndarray:
    if isinstance(a, np.ndarray):
        return a
    try:
        return np.asarray(a)
    except Exception as exc:  # pragma: no cover - exotic objects
        raise TypeError(f"`{name}` must be an array; received {name} of type "
                        f"{type(a).__name__}") from exc


def _check_values(name: str, a: np.ndarray) -> None:
    if a.dtype not in _MAX_DTYPES:
        raise TypeError(
            f"`{name}` must have a float16/32/64 or int8/16/32/64/uint8 dtype; received {name} "
            f"with dtype={a.dtype}"
        )


def _pads(padding: Any, nd: int) -> tuple[tuple[int, int], ...]:
    if isinstance(padding, str):
        raise ValueError(
            "`padding` for unpooling must be explicit (an int, ints or (lo, hi) pairs), not a "
            f"mode string; received padding={padding!r}"
        )
    return _parse_padding(padding, nd)


def _to_planes(a: np.ndarray, channels_last: bool) -> np.ndarray:
    """(N, *sp, C) or (N, C, *sp) -> contiguous (N*C, prod(sp))."""
    if channels_last:
        a = np.moveaxis(a, -1, 1)
    return np.ascontiguousarray(a).reshape(a.shape[0] * a.shape[1], -1)


def _from_planes(p: np.ndarray, n: int, c: int, spatial: tuple[int, ...],
                 channels_last: bool) -> np.ndarray:
    a = p.reshape((n, c) + tuple(spatial))
    if channels_last:
        a = np.ascontiguousarray(np.moveaxis(a, 1, -1))
    return a


def _bits(a: np.ndarray) -> np.ndarray:
    """View as the unsigned integer of the same width: copying bits is exact for every dtype."""
    return a.view(np.dtype(f"u{a.dtype.itemsize}"))


# --------------------------------------------------------------------------- max unpooling
@njit(cache=True)
def _unpool_check(idx, size):  # pragma: no cover - compiled
    """Return the position of the first index outside [0, size), or -1."""
    flat = idx.ravel()
    for j in range(flat.size):
        v = flat[j]
        if v < 0 or v >= size:
            return j
    return -1


@njit(cache=True)
def _unpool_fwd(y, idx, out):  # pragma: no cover - compiled
    """out[p, idx[p, j]] = y[p, j]; later j overwrite earlier ones (last write wins)."""
    for p in range(y.shape[0]):
        for j in range(y.shape[1]):
            out[p, idx[p, j]] = y[p, j]


@njit(cache=True)
def _unpool_bwd(dout, idx, winner, dy):  # pragma: no cover - compiled
    """dy[p, j] = dout[p, idx[p, j]] for the writer j that won its cell, 0 for overwritten ones."""
    for p in range(idx.shape[0]):
        for j in range(idx.shape[1]):
            winner[p, idx[p, j]] = j
        for j in range(idx.shape[1]):
            k = idx[p, j]
            if winner[p, k] == j:
                dy[p, j] = dout[p, k]
            else:
                dy[p, j] = 0


def unpool_output_size(input_size: Sequence[int] | int, pool_size: Sequence[int] | int,
                       strides: Sequence[int] | int | None = None, padding: Any = 0,
                       ) -> tuple[int, ...]:
    """Spatial size that :func:`max_unpool` restores when ``output_size`` is not given.

    Per dimension ``(in - 1) * stride - (pad_lo + pad_hi) + pool_size``, the default of PyTorch's
    ``max_unpool`` and of ONNX ``MaxUnpool``.

    Parameters
    ----------
    input_size : int or sequence of int
        Spatial size of the pooled array.
    pool_size, strides, padding
        The arguments of the max pooling that produced the indices (``strides=None`` means
        ``pool_size``; ``padding`` is explicit: int, ints or ``(lo, hi)`` pairs).

    Returns
    -------
    tuple of int

    Examples
    --------
    >>> unpool_output_size((2, 3), 2)
    (4, 6)
    >>> unpool_output_size(3, 3, 2, padding=1)
    (5,)
    """
    if _is_int(input_size):
        input_size = (int(input_size),)
    nd = len(input_size)
    ins = int_tuple("input_size", tuple(input_size), nd)
    k = int_tuple("pool_size", pool_size, nd)
    s = k if strides is None else int_tuple("strides", strides, nd)
    pads = _pads(padding, nd)
    out = tuple((i - 1) * sd - (lo + hi) + kd for i, sd, (lo, hi), kd in zip(ins, s, pads, k))
    if any(o < 1 for o in out):
        raise ValueError(
            "the unpooled size (in - 1) * strides - (pad_lo + pad_hi) + pool_size must be "
            f"positive; received input_size={tuple(ins)}, pool_size={pool_size!r}, "
            f"strides={strides!r}, padding={padding!r}"
        )
    return out


def _unpool_args(y: Any, indices: Any, output_size: Any, pool_size: Any, strides: Any,
                 padding: Any, data_format: Any):
    df = normalize_data_format(data_format)
    y = _as_array("y", y)
    indices = _as_array("indices", indices)
    _check_values("y", y)
    if indices.dtype.kind not in "iu":
        raise TypeError(f"`indices` must be an integer array; received indices with "
                        f"dtype={indices.dtype}")
    nd = y.ndim - 2
    if nd < 1 or nd > 3:
        raise ValueError("`y` must have rank 3 to 5 (batch, 1 to 3 spatial dims, channels); "
                         f"received y with shape={y.shape}")
    if indices.shape != y.shape:
        raise ValueError("`indices` must have the shape of `y`; received "
                         f"indices with shape={indices.shape} and y with shape={y.shape}")
    cl = df == "channels_last"
    in_sp = y.shape[1:-1] if cl else y.shape[2:]
    if output_size is None:
        if pool_size is None:
            raise ValueError("`max_unpool` needs `output_size` or `pool_size`; received "
                             "output_size=None, pool_size=None")
        out_sp = unpool_output_size(in_sp, pool_size, strides, padding)
    else:
        out_sp = int_tuple("output_size", output_size, nd)
    return y, indices, out_sp, cl


def max_unpool(y: np.ndarray, indices: np.ndarray,
               output_size: int | Sequence[int] | None = None, *,
               pool_size: int | Sequence[int] | None = None,
               strides: int | Sequence[int] | None = None,
               padding: int | Sequence[int] | Sequence[tuple[int, int]] = 0,
               data_format: str = "channels_last") -> np.ndarray:
    """Scatter pooled maxima back to where their indices point (partial inverse of max pooling).

    Parameters
    ----------
    y : ndarray
        Pooled values, ``(N, *spatial, C)`` (channels_last) or ``(N, C, *spatial)``
        (channels_first), 1 to 3 spatial dims; any dtype that :func:`poolkit.max_pool` keeps.
    indices : ndarray of int
        Same shape as ``y``: the flat row-major index of each value inside its own ``(n, c)``
        spatial plane of the *output*, as ``max_pool(..., return_indices=True)`` returns them.
    output_size : int or sequence of int, optional
        Spatial size of the result. When omitted it is computed from ``pool_size``, ``strides``
        and ``padding`` as ``(in - 1) * stride - (pad_lo + pad_hi) + pool_size``
        (see :func:`unpool_output_size`), as PyTorch and ONNX do.
    pool_size, strides, padding : optional
        The pooling arguments, used only to infer ``output_size``.
    data_format : {"channels_last", "channels_first"}
        Layout of ``y``, ``indices`` and the result.

    Returns
    -------
    ndarray
        Same dtype as ``y``, shape ``(N, *output_size, C)`` or ``(N, C, *output_size)``: zero
        everywhere except at the indexed cells. When several values name the same cell (overlapping
        windows), the last one in row-major order of ``y`` is kept, as PyTorch (CPU) and ONNX do.

    Raises
    ------
    ValueError
        Shape mismatch, an index outside ``[0, prod(output_size))`` or an invalid size.
    TypeError
        Non-integer ``indices`` or an unsupported dtype.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([[[[1.0, 2.0]]]])          # N=1, C=1, H=1, W=2 (channels_first)
    >>> idx = np.array([[[[1, 6]]]])
    >>> max_unpool(y, idx, (2, 4), data_format="channels_first")[0, 0]
    array([[0., 1., 0., 0.],
           [0., 0., 2., 0.]])
    """
    y, indices, out_sp, cl = _unpool_args(y, indices, output_size, pool_size, strides, padding,
                                          data_format)
    n, c = (y.shape[0], y.shape[-1]) if cl else (y.shape[0], y.shape[1])
    size = math.prod(out_sp)
    yp = _to_planes(y, cl)
    ip = _to_planes(indices, cl).astype(np.int64, copy=False)
    bad = _unpool_check(ip, size)
    if bad >= 0:
        v = int(ip.ravel()[bad])
        raise ValueError(
            f"`indices` must lie in [0, {size}) (the flat size of an output plane "
            f"{tuple(out_sp)}); received an index {v}"
        )
    out = np.zeros((yp.shape[0], size), dtype=y.dtype)
    if yp.size:
        _unpool_fwd(_bits(yp), ip, _bits(out))
    return _from_planes(out, n, c, out_sp, cl)


def max_unpool_backward(dout: np.ndarray, indices: np.ndarray, *,
                        data_format: str = "channels_last") -> np.ndarray:
    """Gradient of :func:`max_unpool` with respect to ``y``.

    Parameters
    ----------
    dout : ndarray
        Cotangent of the unpooled output, ``(N, *output_size, C)`` or ``(N, C, *output_size)``.
    indices : ndarray of int
        The indices given to the forward pass.
    data_format : {"channels_last", "channels_first"}

    Returns
    -------
    ndarray
        ``dy`` with the shape of ``indices`` and the dtype of ``dout``: ``dout`` gathered at each
        index; a value that the forward pass overwrote (duplicate index) gets zero, so this is the
        exact adjoint of the forward map.

    Examples
    --------
    >>> import numpy as np
    >>> dout = np.arange(8.0).reshape(1, 1, 2, 4)
    >>> max_unpool_backward(dout, np.array([[[[1, 6]]]]), data_format="channels_first")
    array([[[[1., 6.]]]])
    """
    df = normalize_data_format(data_format)
    cl = df == "channels_last"
    dout = _as_array("dout", dout)
    indices = _as_array("indices", indices)
    if dout.dtype.kind not in "fiu":
        raise TypeError(f"`dout` must be a numeric array; received dout with dtype={dout.dtype}")
    if indices.dtype.kind not in "iu":
        raise TypeError(f"`indices` must be an integer array; received indices with "
                        f"dtype={indices.dtype}")
    if dout.ndim != indices.ndim or dout.ndim < 3 or dout.ndim > 5:
        raise ValueError("`dout` and `indices` must have the same rank (3 to 5); received "
                         f"dout with shape={dout.shape} and indices with shape={indices.shape}")
    nc_d = (dout.shape[0], dout.shape[-1]) if cl else dout.shape[:2]
    nc_i = (indices.shape[0], indices.shape[-1]) if cl else indices.shape[:2]
    if tuple(nc_d) != tuple(nc_i):
        raise ValueError("`dout` and `indices` must agree in batch and channels; received "
                         f"dout with shape={dout.shape} and indices with shape={indices.shape}")
    n, c = nc_i
    in_sp = indices.shape[1:-1] if cl else indices.shape[2:]
    out_sp = dout.shape[1:-1] if cl else dout.shape[2:]
    size = math.prod(out_sp)
    dp = _to_planes(dout, cl)
    ip = _to_planes(indices, cl).astype(np.int64, copy=False)
    bad = _unpool_check(ip, size)
    if bad >= 0:
        raise ValueError(f"`indices` must lie in [0, {size}); received an index "
                         f"{int(ip.ravel()[bad])}")
    dy = np.zeros(ip.shape, dtype=dout.dtype)
    if ip.size:
        winner = np.full((ip.shape[0], size), -1, dtype=np.int64)
        _unpool_bwd(_bits(dp), ip, winner, _bits(dy))  # a gather: copying bits is exact
    return _from_planes(dy, n, c, tuple(in_sp), cl)


def max_unpool_vjp(y: np.ndarray, indices: np.ndarray, *args: Any, **kwargs: Any
                   ) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """Forward :func:`max_unpool` and a pullback ``dout -> dy`` (gradient with respect to ``y``)."""
    out = max_unpool(y, indices, *args, **kwargs)
    df = kwargs.get("data_format", "channels_last")
    idx = np.array(indices, copy=True)
    gdt = grad_dtype(out.dtype)  # the pooling ops' rule: integer inputs get float64

    def pullback(dout: np.ndarray) -> np.ndarray:
        dout = check_dy(dout, out.shape)
        return max_unpool_backward(dout.astype(gdt, copy=False), idx, data_format=df)

    return out, pullback


# --------------------------------------------------------------------------- ROI max pooling
def _round_half_away(v: np.ndarray) -> np.ndarray:
    """C ``round``: halves go away from zero (NumPy's ``round`` goes to even)."""
    a = np.abs(v)
    r = np.floor(a)
    r = np.where(a - r >= 0.5, r + 1, r)  # a - floor(a) is exact in binary floating point
    return np.copysign(r, v)


def _roi_bins(rois: np.ndarray, scale: float, pooled: tuple[int, int], height: int, width: int,
              wdtype: np.dtype):
    """Per ROI: batch index and clipped [start, end) of every bin along H and W.

    Follows the Caffe / ONNX Runtime / torchvision arithmetic exactly, in the working float type:
    corners ``round(coord * spatial_scale)``, size ``max(end - start + 1, 1)``, bin ``b`` covers
    ``[floor(b * size / pooled), ceil((b + 1) * size / pooled))`` shifted by the start and clipped
    to the image.
    """
    r = rois.astype(wdtype, copy=False)
    sc = wdtype.type(scale)
    batch = r[:, 0].astype(np.int64)  # C cast: truncation toward zero
    x1 = _round_half_away(r[:, 1] * sc).astype(np.int64)
    y1 = _round_half_away(r[:, 2] * sc).astype(np.int64)
    x2 = _round_half_away(r[:, 3] * sc).astype(np.int64)
    y2 = _round_half_away(r[:, 4] * sc).astype(np.int64)
    out = []
    for start, end, npool, extent in ((y1, y2, pooled[0], height), (x1, x2, pooled[1], width)):
        size = np.maximum(end - start + 1, 1)
        bin_size = size.astype(wdtype) / wdtype.type(npool)
        b = np.arange(npool, dtype=wdtype)
        lo = np.floor(b[None, :] * bin_size[:, None]).astype(np.int64)
        hi = np.ceil((b[None, :] + wdtype.type(1)) * bin_size[:, None]).astype(np.int64)
        lo = np.clip(lo + start[:, None], 0, extent)
        hi = np.clip(hi + start[:, None], 0, extent)
        out += [lo, hi]
    return batch, out[0], out[1], out[2], out[3]


@njit(cache=True)
def _roi_fwd(x, batch, hs, he, ws, we, y, arg):  # pragma: no cover - compiled
    """x: (N, C, H, W); y, arg: (R, C, PH, PW). Max over each bin, first max wins, NaN wins."""
    width = x.shape[3]
    for r in range(batch.shape[0]):
        b = batch[r]
        for c in range(x.shape[1]):
            for ph in range(hs.shape[1]):
                for pw in range(ws.shape[1]):
                    best_i = -1
                    best = x[b, c, 0, 0]
                    for h in range(hs[r, ph], he[r, ph]):
                        for w in range(ws[r, pw], we[r, pw]):
                            v = x[b, c, h, w]
                            if best_i < 0 or v > best or (v != v and best == best):
                                best = v
                                best_i = h * width + w
                    if best_i >= 0:
                        y[r, c, ph, pw] = best
                    arg[r, c, ph, pw] = best_i


@njit(cache=True)
def _roi_bwd(dy, batch, arg, dx):  # pragma: no cover - compiled
    """dx[b, c, arg] += dy for every non-empty bin (sequential, deterministic)."""
    width = dx.shape[3]
    for r in range(batch.shape[0]):
        b = batch[r]
        for c in range(dy.shape[1]):
            for ph in range(dy.shape[2]):
                for pw in range(dy.shape[3]):
                    k = arg[r, c, ph, pw]
                    if k >= 0:
                        dx[b, c, k // width, k % width] += dy[r, c, ph, pw]


def _roi_args(x: Any, rois: Any, output_size: Any, spatial_scale: Any, data_format: Any):
    df = normalize_data_format(data_format)
    x = _as_array("x", x)
    rois = _as_array("rois", rois)
    _check_values("x", x)
    if x.ndim != 4:
        raise ValueError("`x` must have rank 4 (batch, 2 spatial dims, channels); received x "
                         f"with shape={x.shape}")
    if rois.dtype.kind not in "fiu":
        raise TypeError(f"`rois` must be a numeric array; received rois with dtype={rois.dtype}")
    if rois.ndim != 2 or rois.shape[1] != 5:
        raise ValueError("`rois` must have shape (num_rois, 5) with rows "
                         f"[batch_index, x1, y1, x2, y2]; received rois with shape={rois.shape}")
    if rois.dtype.kind == "f" and not np.all(np.isfinite(rois)):
        raise ValueError("`rois` must be finite; received rois with non-finite values")
    pooled = int_tuple("output_size", output_size, 2)
    if (not isinstance(spatial_scale, (numbers.Real, np.floating, np.integer))
            or isinstance(spatial_scale, (bool, np.bool_))):
        raise TypeError(f"`spatial_scale` must be a positive float; received "
                        f"spatial_scale={spatial_scale!r}")
    if not (math.isfinite(float(spatial_scale)) and float(spatial_scale) > 0):
        raise ValueError(f"`spatial_scale` must be a positive float; received "
                         f"spatial_scale={spatial_scale!r}")
    cl = df == "channels_last"
    xf = np.ascontiguousarray(np.moveaxis(x, -1, 1)) if cl else np.ascontiguousarray(x)
    wdtype = np.dtype(np.float64) if x.dtype == np.float64 or x.dtype.kind in "iu" \
        else np.dtype(np.float32)
    batch, hs, he, ws, we = _roi_bins(rois, float(spatial_scale), pooled, xf.shape[2],
                                      xf.shape[3], wdtype)
    bad = np.nonzero((batch < 0) | (batch >= xf.shape[0]))[0]
    if bad.size:
        raise ValueError(f"`rois` batch indices must lie in [0, {xf.shape[0]}); received "
                         f"rois[{int(bad[0])}, 0]={rois[bad[0], 0]!r}")
    return xf, batch, hs, he, ws, we, pooled, cl


def roi_max_pool(x: np.ndarray, rois: np.ndarray, output_size: int | Sequence[int],
                 spatial_scale: float = 1.0, *, data_format: str = "channels_last",
                 return_indices: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Region-of-interest max pooling (Fast R-CNN; ONNX ``MaxRoiPool``, torchvision ``roi_pool``).

    Parameters
    ----------
    x : ndarray
        Feature map ``(N, H, W, C)`` (channels_last) or ``(N, C, H, W)`` (channels_first); any
        dtype that :func:`poolkit.max_pool` keeps.
    rois : ndarray
        ``(R, 5)`` rows ``[batch_index, x1, y1, x2, y2]`` in input-image coordinates (corners
        inclusive). ``batch_index`` is truncated to an int and must lie in ``[0, N)``.
    output_size : int or (int, int)
        Bins per ROI, ``(pooled_h, pooled_w)``.
    spatial_scale : float
        Factor from ROI coordinates to feature-map cells (e.g. ``1/16``).
    data_format : {"channels_last", "channels_first"}
    return_indices : bool
        Also return, per output, the flat row-major index of the winning cell in its
        ``(H, W)`` plane of ``x[batch_index]`` (``-1`` for an empty bin).

    Returns
    -------
    y : ndarray
        ``(R, pooled_h, pooled_w, C)`` or ``(R, C, pooled_h, pooled_w)``, dtype of ``x``.
    indices : ndarray of int64, optional
        Same shape as ``y``; only with ``return_indices=True``.

    Notes
    -----
    The arithmetic is that of the Caffe / ONNX Runtime / torchvision kernels, in float32
    (float64 for float64 and integer inputs): each corner is ``round(coord * spatial_scale)``
    (halves away from zero); the ROI spans ``max(end - start + 1, 1)`` cells; bin ``i`` covers
    ``[floor(i * size / pooled), ceil((i + 1) * size / pooled))`` offset by the ROI start and
    clipped to the map. An empty bin gives 0. Ties go to the first maximum in row-major order; a
    NaN in a bin gives NaN (index of the first NaN).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> roi_max_pool(x, np.array([[0, 0, 0, 3, 3]]), 2, data_format="channels_first")[0, 0]
    array([[ 5.,  7.],
           [13., 15.]])
    """
    xf, batch, hs, he, ws, we, pooled, cl = _roi_args(x, rois, output_size, spatial_scale,
                                                      data_format)
    r = batch.shape[0]
    c = xf.shape[1]
    work = xf.astype(np.float32) if xf.dtype == np.float16 else xf
    y = np.zeros((r, c) + pooled, dtype=work.dtype)
    arg = np.full((r, c) + pooled, -1, dtype=np.int64)
    if r and c and xf.shape[2] and xf.shape[3]:
        _roi_fwd(work, batch, hs, he, ws, we, y, arg)
    y = y.astype(xf.dtype, copy=False)
    if cl:
        y = np.ascontiguousarray(np.moveaxis(y, 1, -1))
        arg = np.ascontiguousarray(np.moveaxis(arg, 1, -1))
    return (y, arg) if return_indices else y


def roi_max_pool_backward(dy: np.ndarray, indices: np.ndarray, rois: np.ndarray,
                          input_shape: Sequence[int], *,
                          data_format: str = "channels_last") -> np.ndarray:
    """Gradient of :func:`roi_max_pool` with respect to ``x``.

    Parameters
    ----------
    dy : ndarray
        Cotangent of the pooled output (shape of ``y``).
    indices : ndarray of int
        The indices that ``roi_max_pool(..., return_indices=True)`` returned.
    rois : ndarray
        The ROIs of the forward pass (only their batch indices are used).
    input_shape : sequence of int
        Shape of ``x``.
    data_format : {"channels_last", "channels_first"}

    Returns
    -------
    ndarray
        ``dx`` of shape ``input_shape``: each ``dy`` added to the cell that won its bin (nothing
        for empty bins); dtype of ``dy`` (float64 for integer ``dy``).
    """
    df = normalize_data_format(data_format)
    cl = df == "channels_last"
    dy = _as_array("dy", dy)
    indices = _as_array("indices", indices)
    rois = _as_array("rois", rois)
    if dy.shape != indices.shape or dy.ndim != 4:
        raise ValueError("`dy` and `indices` must have the same rank-4 shape; received "
                         f"dy with shape={dy.shape} and indices with shape={indices.shape}")
    shape = tuple(int(v) for v in input_shape)
    if len(shape) != 4:
        raise ValueError(f"`input_shape` must have 4 entries; received input_shape={input_shape!r}")
    n, c, h, w = (shape[0], shape[3], shape[1], shape[2]) if cl else shape
    if rois.ndim != 2 or rois.shape[1] != 5 or rois.shape[0] != dy.shape[0]:
        raise ValueError("`rois` must have shape (num_rois, 5) matching `dy`; received rois with "
                         f"shape={rois.shape} and dy with shape={dy.shape}")
    batch = rois[:, 0].astype(np.int64)
    if np.any((batch < 0) | (batch >= n)):
        raise ValueError(f"`rois` batch indices must lie in [0, {n}); received "
                         f"{batch.tolist()!r}")
    dyf = np.moveaxis(dy, -1, 1) if cl else dy
    argf = np.moveaxis(indices, -1, 1) if cl else indices
    if dyf.shape[1] != c:
        raise ValueError(f"`dy` has {dyf.shape[1]} channels but input_shape={shape} has {c}")
    if argf.size and (argf.max() >= h * w or argf.min() < -1):
        raise ValueError(f"`indices` must lie in [-1, {h * w}); received values from "
                         f"{int(argf.min())} to {int(argf.max())}")
    odt = dy.dtype if dy.dtype.kind == "f" else np.dtype(np.float64)
    work = np.float32 if odt == np.float16 else odt
    dx = np.zeros((n, c, h, w), dtype=work)
    if dyf.size:
        _roi_bwd(np.ascontiguousarray(dyf, dtype=work), batch,
                 np.ascontiguousarray(argf, dtype=np.int64), dx)
    dx = dx.astype(odt, copy=False)
    if cl:
        dx = np.ascontiguousarray(np.moveaxis(dx, 1, -1))
    return dx


def roi_max_pool_vjp(x: np.ndarray, rois: np.ndarray, *args: Any, **kwargs: Any
                     ) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """Forward :func:`roi_max_pool` and a pullback ``dy -> dx`` (gradient with respect to ``x``)."""
    want_idx = bool(kwargs.pop("return_indices", False))
    y, idx = roi_max_pool(x, rois, *args, return_indices=True, **kwargs)
    df = kwargs.get("data_format", "channels_last")
    shape = np.shape(x)
    rois_c = np.array(rois, copy=True)
    xdt = np.asarray(x).dtype
    gdt = grad_dtype(xdt)  # the pooling ops' rule: integer inputs get float64

    def pullback(dy: np.ndarray) -> np.ndarray:
        dy = check_dy(dy, y.shape)
        return roi_max_pool_backward(dy.astype(gdt, copy=False), idx, rois_c, shape,
                                     data_format=df)

    return ((y, idx) if want_idx else y), pullback
