"""The functional pooling API.

Shapes: ``x`` is ``(N, *spatial, C)`` for ``data_format="channels_last"`` (the default, as
TensorFlow/Keras) or ``(N, C, *spatial)`` for ``"channels_first"`` (PyTorch, ONNX), with 1, 2 or 3
spatial dims.

Output size per spatial dim, with window ``k``, stride ``s``, dilation ``d``, pads ``(lo, hi)``
and ``eff = (k - 1) * d + 1``:

* explicit padding: ``out = floor((in + lo + hi - eff) / s) + 1``; with ``ceil_mode`` the division
  rounds up, and the last window is dropped if it would start at or after ``in + lo`` (inside the
  right padding), the PyTorch/ONNX rule;
* ``"same"`` / ``"same_lower"``: ``out = ceil(in / s)`` and the total pad
  ``max((out - 1) * s + eff - in, 0)`` is split with the odd cell at the end (``"same"``, as
  TensorFlow SAME and ONNX SAME_UPPER) or at the start (``"same_lower"``, ONNX SAME_LOWER).
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Sequence, Union

import numpy as np

from . import _engine as E
from ._spec import (PoolSpec, Windows, adaptive_windows, check_array, check_bool,
                    check_divisor, check_p, int_tuple, normalize_data_format)

__all__ = [
    "max_pool", "avg_pool", "lp_pool", "global_max_pool", "global_avg_pool", "global_lp_pool",
    "adaptive_max_pool", "adaptive_avg_pool", "output_shape",
]

IntOrTuple = Union[int, Sequence[int]]
Padding = Union[str, int, Sequence[int], Sequence[Sequence[int]]]


def _prepare(x: Any, data_format: Any) -> tuple[np.ndarray, bool, tuple[int, ...]]:
    x = check_array(x)
    cl = normalize_data_format(data_format) == "channels_last"
    spatial = tuple(x.shape[1:-1] if cl else x.shape[2:])
    return x, cl, spatial


def _windowed(x, pool_size, strides, padding, dilation, ceil_mode, data_format):
    x, cl, spatial = _prepare(x, data_format)
    spec = PoolSpec.build(len(spatial), pool_size, strides, padding, dilation, ceil_mode)
    return x, cl, spec.resolve(spatial)


def _check_p(p: Any) -> float:
    return float(check_p(p))


def _lp_mode(p: float) -> int:
    if math.isinf(p):
        return E.MODE_LINF
    if p == 1.0:
        return E.MODE_L1
    if p == 2.0:
        return E.MODE_L2
    return E.MODE_LP


def max_pool(x: np.ndarray, pool_size: IntOrTuple, strides: IntOrTuple | None = None,
             padding: Padding = "valid", *, dilation: IntOrTuple = 1, ceil_mode: bool = False,
             data_format: str = "channels_last", return_indices: bool = False):
    """Max pooling over 1-3 spatial dims.

    Parameters
    ----------
    x : ndarray
        ``(N, *spatial, C)`` (channels_last) or ``(N, C, *spatial)`` (channels_first); float16/32/64
        or int8/uint8/int16/int32/int64.
    pool_size, strides, dilation : int or tuple of int
        Window, step (``None`` means ``pool_size``) and dilation per spatial dim.
    padding : str, int, tuple of int, or tuple of (lo, hi)
        ``"valid"``, ``"same"``, ``"same_lower"`` or explicit pads. Padded cells never win.
    ceil_mode : bool
        Round the output size up (no window starts in the right padding).
    data_format : {"channels_last", "channels_first"}
    return_indices : bool
        Also return int64 indices of each maximum: the flat row-major position in its own
        ``(n, c)`` spatial plane of the unpadded input (PyTorch's convention).

    Returns
    -------
    y : ndarray
        Same dtype as ``x``; spatial size as in the module docstring. Ties go to the first
        maximum in row-major window order; a window holding NaN gives NaN and points at the first
        NaN (so the sign of a zero maximum is the first zero's, as in PyTorch).
    indices : ndarray of int64, optional

    Examples
    --------
    >>> import numpy as np, poolkit as pk
    >>> x = np.array([[1, 3, 2, 4], [5, 6, 1, 2], [7, 2, 8, 3], [4, 5, 9, 0]], float)
    >>> pk.max_pool(x[None, :, :, None], 2)[0, :, :, 0]
    array([[6., 4.],
           [7., 9.]])
    >>> y, i = pk.max_pool(x[None, None], 2, data_format="channels_first", return_indices=True)
    >>> i[0, 0]
    array([[ 5,  3],
           [ 8, 14]])
    """
    x, cl, win = _windowed(x, pool_size, strides, padding, dilation, ceil_mode, data_format)
    check_bool("return_indices", return_indices)
    return E.max_reduce(x, win, cl, bool(return_indices))


def _divisor_args(count_include_pad: Any, divisor_override: Any) -> tuple[int, float]:
    cip = check_bool("count_include_pad", count_include_pad)
    div = check_divisor(divisor_override)
    if div is None:
        return (E.DIV_PADDED if cip else E.DIV_REAL), 1.0
    return E.DIV_OVERRIDE, float(div)


def avg_pool(x: np.ndarray, pool_size: IntOrTuple, strides: IntOrTuple | None = None,
             padding: Padding = "valid", *, dilation: IntOrTuple = 1, ceil_mode: bool = False,
             count_include_pad: bool = False, divisor_override: float | None = None,
             data_format: str = "channels_last") -> np.ndarray:
    """Average pooling over 1-3 spatial dims.

    The divisor of each window is the number of real (non-padding) cells it holds
    (``count_include_pad=False``, TensorFlow/Keras and ONNX default), or the number of its cells
    inside the padded input (``count_include_pad=True``, PyTorch's default: ``ceil_mode``
    overhang beyond the padding never counts), or ``divisor_override``.

    Sums are accumulated in float64 and rounded once. Output dtype: float16/32/64 for those
    inputs, float64 for integer inputs. Other parameters and shapes as :func:`max_pool`.

    Examples
    --------
    >>> import numpy as np, poolkit as pk
    >>> x = np.array([[1, 3, 2, 4], [5, 6, 1, 2], [7, 2, 8, 3], [4, 5, 9, 0]], float)
    >>> pk.avg_pool(x[None, :, :, None], 2)[0, :, :, 0]
    array([[3.75, 2.25],
           [4.5 , 5.  ]])
    >>> pk.avg_pool(np.arange(4.0).reshape(1, 4, 1), 3, 1, padding="same")[0, :, 0]
    array([0.5, 1. , 2. , 2.5])
    >>> pk.avg_pool(np.arange(4.0).reshape(1, 4, 1), 3, 1, padding=1,
    ...             count_include_pad=True)[0, :, 0]
    array([0.33333333, 1.        , 2.        , 1.66666667])
    """
    x, cl, win = _windowed(x, pool_size, strides, padding, dilation, ceil_mode, data_format)
    divmode, override = _divisor_args(count_include_pad, divisor_override)
    return E.sum_reduce(x, win, cl, E.MODE_MEAN, 1.0, divmode, override)


def lp_pool(x: np.ndarray, p: float, pool_size: IntOrTuple, strides: IntOrTuple | None = None,
            padding: Padding = "valid", *, dilation: IntOrTuple = 1, ceil_mode: bool = False,
            data_format: str = "channels_last") -> np.ndarray:
    """Lp-norm pooling: ``(sum over the window of |x|**p) ** (1/p)``.

    Padding contributes 0; ``p`` is any positive number, ``p=inf`` gives ``max |x|``. This is
    ONNX LpPool. PyTorch's ``LPPool`` differs in two ways: it raises ``x`` (not ``|x|``) to the
    power ``p`` (the same for even ``p`` or non-negative input) and, with ``ceil_mode``, it
    rescales a clipped window's mean by the full window size (the same unless windows overhang).
    Output dtype as :func:`avg_pool`.

    Examples
    --------
    >>> import numpy as np, poolkit as pk
    >>> pk.lp_pool(np.array([[[3.0], [-4.0]]]), 2, 2)[0, 0, 0]
    np.float64(5.0)
    """
    pf = _check_p(p)
    x, cl, win = _windowed(x, pool_size, strides, padding, dilation, ceil_mode, data_format)
    return E.sum_reduce(x, win, cl, _lp_mode(pf), pf)


def _global_windows(x: Any, data_format: Any, keepdims: Any) -> tuple[np.ndarray, bool, Windows]:
    x, cl, spatial = _prepare(x, data_format)
    check_bool("keepdims", keepdims)
    if any(s == 0 for s in spatial):
        raise ValueError(f"global pooling needs non-empty spatial dims; received x with "
                         f"shape={x.shape}")
    return x, cl, adaptive_windows(spatial, (1,) * len(spatial))


def _global(x: Any, data_format: Any, keepdims: Any, mode: int | None,
            p: float = 1.0) -> np.ndarray:
    """Global max (``mode`` None), mean or Lp norm: the engine's flat whole-input reduction called
    straight away where it has one (the results of the general path, which calls it too, without
    its window tables and shape steps: on a large input those cost some 30 us, 3% of a 51 MB
    global mean, as the previous call's pass over the data has evicted their Python objects),
    else the window engine."""
    x, cl, spatial = _prepare(x, data_format)
    check_bool("keepdims", keepdims)
    y = E.global_reduce(x, cl, mode, p) if all(spatial) else None
    if y is None:
        x, cl, win = _global_windows(x, data_format, keepdims)
        y = E.max_reduce(x, win, cl, False) if mode is None else E.sum_reduce(x, win, cl, mode, p)
        return _squeeze(y, cl, keepdims)
    if keepdims:
        ones = (1,) * len(spatial)
        return y.reshape((y.shape[0], *ones, y.shape[1]) if cl else (*y.shape, *ones))
    return y


def _squeeze(y: np.ndarray, cl: bool, keepdims: bool) -> np.ndarray:
    if keepdims:
        return y
    return y.reshape(y.shape[0], y.shape[-1] if cl else y.shape[1])


def global_max_pool(x: np.ndarray, *, data_format: str = "channels_last",
                    keepdims: bool = False) -> np.ndarray:
    """Maximum over all spatial positions: ``(N, C)``, or ``(N, 1, ..., 1, C)`` with ``keepdims``
    (``(N, C, 1, ..., 1)`` for channels_first). Dtype as the input; NaN propagates.

    >>> import numpy as np, poolkit as pk
    >>> pk.global_max_pool(np.arange(12.0).reshape(1, 2, 3, 2))
    array([[10., 11.]])
    """
    return _global(x, data_format, keepdims, None)


def global_avg_pool(x: np.ndarray, *, data_format: str = "channels_last",
                    keepdims: bool = False) -> np.ndarray:
    """Mean over all spatial positions (float64 accumulation; dtype as :func:`avg_pool`).

    >>> import numpy as np, poolkit as pk
    >>> pk.global_avg_pool(np.arange(12.0).reshape(1, 2, 3, 2), keepdims=True).shape
    (1, 1, 1, 2)
    """
    return _global(x, data_format, keepdims, E.MODE_MEAN)


def global_lp_pool(x: np.ndarray, p: float = 2, *, data_format: str = "channels_last",
                   keepdims: bool = False) -> np.ndarray:
    """Lp norm over all spatial positions (ONNX GlobalLpPool).

    >>> import numpy as np, poolkit as pk
    >>> pk.global_lp_pool(np.array([[[3.0], [4.0]]]))
    array([[5.]])
    """
    pf = _check_p(p)
    return _global(x, data_format, keepdims, _lp_mode(pf), pf)


def _adaptive(x: Any, output_size: Any, data_format: Any) -> tuple[np.ndarray, bool, Windows]:
    x, cl, spatial = _prepare(x, data_format)
    out = int_tuple("output_size", output_size, len(spatial))
    if any(s == 0 for s in spatial):
        raise ValueError(f"adaptive pooling needs non-empty spatial dims; received x with "
                         f"shape={x.shape}")
    return x, cl, adaptive_windows(spatial, out)


def adaptive_max_pool(x: np.ndarray, output_size: IntOrTuple, *,
                      data_format: str = "channels_last", return_indices: bool = False):
    """Adaptive max pooling to a fixed ``output_size`` (PyTorch's windows).

    Output ``i`` of a dim covers ``[floor(i*in/out), ceil((i+1)*in/out))``; ``output_size`` may be
    larger than the input (windows then repeat cells). Indices as :func:`max_pool`.

    >>> import numpy as np, poolkit as pk
    >>> pk.adaptive_max_pool(np.array([[[1.0], [5.0], [2.0], [4.0], [3.0]]]), 3)[0, :, 0]
    array([5., 5., 4.])
    """
    x, cl, win = _adaptive(x, output_size, data_format)
    check_bool("return_indices", return_indices)
    return E.max_reduce(x, win, cl, bool(return_indices))


def adaptive_avg_pool(x: np.ndarray, output_size: IntOrTuple, *,
                      data_format: str = "channels_last") -> np.ndarray:
    """Adaptive average pooling (PyTorch's windows; dtype as :func:`avg_pool`).

    >>> import numpy as np, poolkit as pk
    >>> pk.adaptive_avg_pool(np.array([[[1.0], [5.0], [2.0], [4.0], [3.0]]]), 3)[0, :, 0]
    array([3.        , 3.66666667, 3.5       ])
    """
    x, cl, win = _adaptive(x, output_size, data_format)
    return E.sum_reduce(x, win, cl, E.MODE_MEAN)


def output_shape(input_shape: Sequence[int], pool_size: IntOrTuple,
                 strides: IntOrTuple | None = None, padding: Padding = "valid", *,
                 dilation: IntOrTuple = 1, ceil_mode: bool = False,
                 data_format: str = "channels_last") -> tuple[int, ...]:
    """Shape of a windowed pooling result, computed without data.

    >>> import poolkit as pk
    >>> pk.output_shape((16, 112, 112, 64), 3, 2, padding=1)
    (16, 56, 56, 64)
    >>> pk.output_shape((1, 3, 5, 5), 2, 2, ceil_mode=True, data_format="channels_first")
    (1, 3, 3, 3)
    """
    if not isinstance(input_shape, (tuple, list)) or not all(
            isinstance(v, (numbers.Integral, np.integer)) and not isinstance(v, bool) and v >= 0
            for v in input_shape):
        raise TypeError("`input_shape` must be a tuple of non-negative ints; received "
                        f"input_shape={input_shape!r}")
    if not 3 <= len(input_shape) <= 5:
        raise ValueError("`input_shape` must have 3 to 5 entries (batch, spatial, channels); "
                         f"received input_shape={tuple(input_shape)!r}")
    cl = normalize_data_format(data_format) == "channels_last"
    spatial = tuple(input_shape[1:-1] if cl else input_shape[2:])
    spec = PoolSpec.build(len(spatial), pool_size, strides, padding, dilation, ceil_mode)
    return E.out_shape(tuple(int(v) for v in input_shape), spec.resolve(spatial), cl)
