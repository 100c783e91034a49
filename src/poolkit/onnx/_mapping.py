"""ONNX pooling nodes -> poolkit calls.

This module is the whole translation: each supported ONNX operator is one short function that reads
the node's attributes (defaults as in the ONNX operator schemas, all opset versions) and calls the
public poolkit op in ``channels_first`` layout, which is ONNX's ``N x C x D1 x ... x Dn``.
No pooling is computed here.

Attribute summary (ONNX -> poolkit):

==================  ===========================================================================
``kernel_shape``    ``pool_size``
``strides``         ``strides`` (ONNX default: 1 per axis, not the kernel)
``dilations``       ``dilation`` (default 1)
``pads``            ``padding=((lo_1, hi_1), ...)`` from ``[lo_1, .., lo_n, hi_1, .., hi_n]``
``auto_pad``        NOTSET -> ``pads``; VALID -> ``"valid"``; SAME_UPPER -> ``"same"``;
                    SAME_LOWER -> ``"same_lower"``
``ceil_mode``       ``ceil_mode``
``count_include_pad`` ``count_include_pad`` (AveragePool; absent before opset 7 = 0)
``p``               ``p`` (LpPool / GlobalLpPool; a float in opset 1, an int later; default 2)
``storage_order``   MaxPool ``Indices``: 0 row-major, 1 column-major plane offsets
``pooled_shape``,   MaxRoiPool -> :func:`poolkit.unpool.roi_max_pool`
``spatial_scale``
==================  ===========================================================================

ONNX ``Indices`` are flat over the whole ``N x C x spatial`` tensor; poolkit's are flat within each
``(n, c)`` plane, so the two differ by ``(n * C + c) * plane_size``.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np

from .. import ops as _ops
from .. import unpool as _unpool


class UnsupportedOnnxError(NotImplementedError):
    """The model uses an operator, attribute value or dtype that poolkit does not run."""


class OnnxNodeError(ValueError):
    """A node's attributes or inputs are invalid for its operator."""


class NodeContext:
    """What an op function needs to know about its node: name, type, opset, attributes.

    Parameters
    ----------
    name, op_type : str
        The node's name (may be empty) and operator type.
    opset : int
        The model's opset version for the default ONNX domain.
    attrs : dict
        Attribute name -> Python value (as ``onnx.helper.get_attribute_value`` gives it).
    n_outputs : int
        How many outputs the node asks for (empty output names excluded at the end).
    unpool_index_space : str
        See :func:`poolkit.onnx.run`.
    """

    def __init__(self, name: str, op_type: str, opset: int, attrs: dict[str, Any],
                 n_outputs: int, unpool_index_space: str = "inferred") -> None:
        self.name = name
        self.op_type = op_type
        self.opset = opset
        self.attrs = attrs
        self.n_outputs = n_outputs
        self.unpool_index_space = unpool_index_space

    def describe(self) -> str:
        label = f"'{self.name}'" if self.name else "(unnamed)"
        return f"node {label} ({self.op_type}, opset {self.opset})"

    def error(self, msg: str, attribute: str | None = None) -> OnnxNodeError:
        where = f", attribute '{attribute}'" if attribute else ""
        return OnnxNodeError(f"{self.describe()}{where}: {msg}")

    def unsupported(self, msg: str, attribute: str | None = None) -> UnsupportedOnnxError:
        where = f", attribute '{attribute}'" if attribute else ""
        return UnsupportedOnnxError(f"{self.describe()}{where}: {msg}")

    def ints(self, key: str, n: int, default: int | None) -> tuple[int, ...]:
        """An INTS attribute of length ``n`` (or ``(default,) * n`` when absent)."""
        if key not in self.attrs:
            if default is None:
                raise self.error("is required", key)
            return (default,) * n
        v = tuple(int(a) for a in self.attrs[key])
        if len(v) != n:
            raise self.error(f"must have {n} values for a {n // (2 if key == 'pads' else 1)}-D "
                             f"input; received {key}={list(v)}", key)
        return v

    def flag(self, key: str) -> bool:
        v = int(self.attrs.get(key, 0))
        if v not in (0, 1):
            raise self.error(f"must be 0 or 1; received {key}={v}", key)
        return bool(v)


_FLOATS = ("float16", "float32", "float64")


def _check_dtype(ctx: NodeContext, x: np.ndarray, allowed: Sequence[str], what: str = "X") -> None:
    if x.dtype.name not in allowed:
        raise ctx.unsupported(f"input {what} has dtype {x.dtype}; poolkit runs this operator for "
                              f"{', '.join(allowed)}")


def _spatial_rank(ctx: NodeContext, x: np.ndarray) -> int:
    nd = x.ndim - 2
    if nd < 1 or nd > 3:
        raise ctx.unsupported(f"input X has shape {x.shape}; poolkit pools 1 to 3 spatial "
                              "dimensions (rank 3 to 5)")
    return nd


# --------------------------------------------------------------------------- windowed pools
_AUTO_PAD = {"VALID": "valid", "SAME_UPPER": "same", "SAME_LOWER": "same_lower"}


def window_kwargs(ctx: NodeContext, nd: int) -> dict[str, Any]:
    """The poolkit keywords for MaxPool / AveragePool / LpPool attributes."""
    kernel = ctx.ints("kernel_shape", nd, None)
    strides = ctx.ints("strides", nd, 1)
    dilation = ctx.ints("dilations", nd, 1)
    pads = ctx.ints("pads", 2 * nd, 0)
    ceil_mode = ctx.flag("ceil_mode")
    auto_pad = ctx.attrs.get("auto_pad", "NOTSET")
    if isinstance(auto_pad, bytes):
        auto_pad = auto_pad.decode()
    if auto_pad == "NOTSET":
        if any(p < 0 for p in pads):
            raise ctx.error(f"must be non-negative; received pads={list(pads)}", "pads")
        padding: Any = tuple((pads[i], pads[i + nd]) for i in range(nd))
    elif auto_pad in _AUTO_PAD:
        if any(pads):
            raise ctx.error(f"cannot be used together with pads={list(pads)}; received "
                            f"auto_pad={auto_pad!r}", "auto_pad")
        padding = _AUTO_PAD[auto_pad]
        # SAME pads make every window fit exactly, so ceil_mode changes nothing there; with VALID
        # it rounds the output up over an unpadded input (as ONNX Runtime does).
    else:
        raise ctx.unsupported(f"must be NOTSET, VALID, SAME_UPPER or SAME_LOWER; received "
                              f"auto_pad={auto_pad!r}", "auto_pad")
    return dict(pool_size=kernel, strides=strides, padding=padding, dilation=dilation,
                ceil_mode=ceil_mode, data_format="channels_first")


def _onnx_indices(ctx: NodeContext, idx: np.ndarray, spatial: tuple[int, ...]) -> np.ndarray:
    """poolkit per-plane row-major indices -> ONNX flat indices over N x C x spatial."""
    order = int(ctx.attrs.get("storage_order", 0))
    if order not in (0, 1):
        raise ctx.error(f"must be 0 (row major) or 1 (column major); received "
                        f"storage_order={order}", "storage_order")
    plane = math.prod(spatial)
    if order == 1:
        coords = np.unravel_index(idx, spatial)
        idx = np.ravel_multi_index(coords, spatial, order="F")
    n, c = idx.shape[:2]
    offset = (np.arange(n * c, dtype=np.int64) * plane).reshape((n, c) + (1,) * len(spatial))
    return (idx.astype(np.int64) + offset).astype(np.int64)


def max_pool(ctx: NodeContext, x: np.ndarray) -> list[np.ndarray]:
    """MaxPool (opsets 1, 8, 10, 11, 12, 22); ``Indices`` when a second output is asked for."""
    _check_dtype(ctx, x, _FLOATS + ("int8", "uint8"))
    nd = _spatial_rank(ctx, x)
    kw = window_kwargs(ctx, nd)
    if ctx.n_outputs < 2:
        return [_ops.max_pool(x, **kw)]
    y, idx = _ops.max_pool(x, return_indices=True, **kw)
    return [y, _onnx_indices(ctx, idx, tuple(x.shape[2:]))]


def average_pool(ctx: NodeContext, x: np.ndarray) -> list[np.ndarray]:
    """AveragePool (opsets 1, 7, 10, 11, 19, 22)."""
    _check_dtype(ctx, x, _FLOATS)
    nd = _spatial_rank(ctx, x)
    return [_ops.avg_pool(x, count_include_pad=ctx.flag("count_include_pad"),
                          **window_kwargs(ctx, nd))]


def _p(ctx: NodeContext) -> float:
    p = ctx.attrs.get("p", 2)
    if not (isinstance(p, (int, float)) and p > 0 and not math.isnan(p)):
        raise ctx.error(f"must be a positive number; received p={p!r}", "p")
    return p


def lp_pool(ctx: NodeContext, x: np.ndarray) -> list[np.ndarray]:
    """LpPool (opsets 1, 2, 11, 18, 22)."""
    _check_dtype(ctx, x, _FLOATS)
    nd = _spatial_rank(ctx, x)
    return [_ops.lp_pool(x, _p(ctx), **window_kwargs(ctx, nd))]


# --------------------------------------------------------------------------- global pools
def global_max_pool(ctx: NodeContext, x: np.ndarray) -> list[np.ndarray]:
    """GlobalMaxPool (opsets 1, 22)."""
    _check_dtype(ctx, x, _FLOATS)
    _spatial_rank(ctx, x)
    return [_ops.global_max_pool(x, data_format="channels_first", keepdims=True)]


def global_average_pool(ctx: NodeContext, x: np.ndarray) -> list[np.ndarray]:
    """GlobalAveragePool (opsets 1, 22)."""
    _check_dtype(ctx, x, _FLOATS)
    _spatial_rank(ctx, x)
    return [_ops.global_avg_pool(x, data_format="channels_first", keepdims=True)]


def global_lp_pool(ctx: NodeContext, x: np.ndarray) -> list[np.ndarray]:
    """GlobalLpPool (opsets 1, 2, 22)."""
    _check_dtype(ctx, x, _FLOATS)
    _spatial_rank(ctx, x)
    return [_ops.global_lp_pool(x, _p(ctx), data_format="channels_first", keepdims=True)]


# --------------------------------------------------------------------------- unpooling, ROI
def max_unpool(ctx: NodeContext, x: np.ndarray, indices: np.ndarray,
               output_shape: np.ndarray | None = None) -> list[np.ndarray]:
    """MaxUnpool (opsets 9, 11, 22).

    The result's spatial size is ``(in - 1) * stride - (lo + hi) + kernel`` unless ``output_shape``
    is given. How indices are read when ``output_shape`` differs from that size follows
    ``ctx.unpool_index_space`` (see :func:`poolkit.onnx.run`).
    """
    _check_dtype(ctx, x, _FLOATS)
    if indices.dtype != np.int64:
        raise ctx.unsupported(f"input I has dtype {indices.dtype}; ONNX requires int64")
    nd = _spatial_rank(ctx, x)
    if indices.shape != x.shape:
        raise ctx.error(f"input I must have the shape of X {x.shape}; received {indices.shape}")
    kernel = ctx.ints("kernel_shape", nd, None)
    strides = ctx.ints("strides", nd, 1)
    pads = ctx.ints("pads", 2 * nd, 0)
    padding = tuple((pads[i], pads[i + nd]) for i in range(nd))
    try:
        inferred = _unpool.unpool_output_size(x.shape[2:], kernel, strides, padding)
    except (TypeError, ValueError) as exc:
        raise ctx.error(str(exc)) from exc
    target = inferred
    if output_shape is not None:
        shp = tuple(int(v) for v in np.asarray(output_shape).ravel())
        if len(shp) != x.ndim or shp[:2] != x.shape[:2] or any(v < 1 for v in shp):
            raise ctx.error(f"input output_shape must be a full shape (N, C, *spatial) with "
                            f"N, C = {x.shape[:2]}; received output_shape={list(shp)}")
        target = shp[2:]
    space = inferred if ctx.unpool_index_space == "inferred" else target
    plane = math.prod(space)
    n, c = x.shape[:2]
    offset = (np.arange(n * c, dtype=np.int64) * plane).reshape((n, c) + (1,) * nd)
    local = indices - offset
    outside = (local < 0) | (local >= plane)
    if outside.any():
        pos = tuple(int(v) for v in np.argwhere(outside)[0])
        raise ctx.error(f"index I{list(pos)}={int(indices[pos])} does not lie in its own (n, c) "
                        f"plane of {tuple(space)} cells; poolkit unpools plane by plane")
    y = _unpool.max_unpool(x, local, space, data_format="channels_first")
    if tuple(space) == tuple(target):
        return [y]
    if any(t < s for t, s in zip(target, space)):
        raise ctx.unsupported(
            f"output_shape {list(target)} is smaller than the unpooled size {list(space)} the "
            "indices address; run with unpool_index_space='output' to read the indices in the "
            "output_shape plane (ONNX Runtime / PyTorch behaviour)")
    out = np.zeros(x.shape[:2] + tuple(target), dtype=y.dtype)  # zero-extend at the end
    out[(slice(None), slice(None)) + tuple(slice(0, s) for s in space)] = y
    return [out]


def max_roi_pool(ctx: NodeContext, x: np.ndarray, rois: np.ndarray) -> list[np.ndarray]:
    """MaxRoiPool (opsets 1, 22)."""
    _check_dtype(ctx, x, _FLOATS)
    _check_dtype(ctx, rois, _FLOATS, "rois")
    if x.ndim != 4:
        raise ctx.unsupported(f"input X has shape {x.shape}; MaxRoiPool needs N x C x H x W")
    pooled = ctx.ints("pooled_shape", 2, None)
    scale = float(ctx.attrs.get("spatial_scale", 1.0))
    return [_unpool.roi_max_pool(x, rois, pooled, scale, data_format="channels_first")]


# --------------------------------------------------------------------------- shape glue
def _axes(ctx: NodeContext, axes_input: np.ndarray | None) -> list[int] | None:
    if "axes" in ctx.attrs:
        return [int(a) for a in ctx.attrs["axes"]]
    if axes_input is not None:
        return [int(a) for a in np.asarray(axes_input).ravel()]
    return None


def unsqueeze(ctx: NodeContext, x: np.ndarray, axes: np.ndarray | None = None
              ) -> list[np.ndarray]:
    """Unsqueeze (glue that converters put around 1-D pooling)."""
    ax = _axes(ctx, axes)
    if ax is None:
        raise ctx.error("needs axes")
    r = x.ndim + len(ax)
    return [np.expand_dims(x, tuple(sorted(a % r for a in ax)))]


def squeeze(ctx: NodeContext, x: np.ndarray, axes: np.ndarray | None = None) -> list[np.ndarray]:
    """Squeeze (glue that converters put around 1-D pooling)."""
    ax = _axes(ctx, axes)
    if ax is None:
        return [np.squeeze(x)]
    ax_t = tuple(a % x.ndim for a in ax)
    if any(x.shape[a] != 1 for a in ax_t):
        raise ctx.error(f"cannot squeeze axes {ax} of a tensor of shape {x.shape}")
    return [np.squeeze(x, ax_t)]


def identity(ctx: NodeContext, x: np.ndarray) -> list[np.ndarray]:
    """Identity."""
    return [x]


#: operator type -> (function, number of required inputs, number of optional inputs)
OPS: dict[str, tuple[Callable[..., list[np.ndarray]], int, int]] = {
    "MaxPool": (max_pool, 1, 0),
    "AveragePool": (average_pool, 1, 0),
    "LpPool": (lp_pool, 1, 0),
    "GlobalMaxPool": (global_max_pool, 1, 0),
    "GlobalAveragePool": (global_average_pool, 1, 0),
    "GlobalLpPool": (global_lp_pool, 1, 0),
    "MaxUnpool": (max_unpool, 2, 1),
    "MaxRoiPool": (max_roi_pool, 2, 0),
    "Unsqueeze": (unsqueeze, 1, 1),
    "Squeeze": (squeeze, 1, 1),
    "Identity": (identity, 1, 0),
}
