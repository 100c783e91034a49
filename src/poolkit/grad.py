"""Backward passes: ``pk.vjp`` (forward + pullback) and ``pk.grad`` (gradient in one call).

Rules (the same as PyTorch's CPU kernels and TensorFlow's pooling gradients):

* max: the whole gradient of an output goes to the one input cell that won its window (the first
  maximum in row-major window order; the first NaN when the window holds NaN); overlapping windows
  accumulate. The forward keeps the argmax indices, the backward reuses them.
* average: ``dy / divisor`` to every cell the divisor counted (real cells, or padded ones with
  ``count_include_pad``; with ``divisor_override`` every real cell gets ``dy / divisor_override``).
* Lp: ``dy * sign(x) * |x|**(p-1) / y**(p-1)``; 0 where ``x == 0`` or ``y == 0`` (the
  sub-gradient 0 at the kink); ``p = inf`` routes ``dy * sign(x)`` to the first ``max |x|`` like max.
* Gradients that would fall on padding are dropped. Integer inputs get float64 gradients;
  floating inputs get gradients of their own dtype (float16 computed in float32).

Backward kernels gather (each input cell sums over the windows that hold it), so the result is
deterministic and the threads never race.
"""
from __future__ import annotations

import inspect
from typing import Any, Callable

import numpy as np

from . import _engine as E
from . import ops as O
from . import unpool as U
from ._spec import check_dy

__all__ = ["vjp", "grad"]

_OPS = {f.__name__: f for f in (O.max_pool, O.avg_pool, O.lp_pool, O.global_max_pool,
                                 O.global_avg_pool, O.global_lp_pool, O.adaptive_max_pool,
                                 O.adaptive_avg_pool)}


# Ops whose backward lives with the op itself: (x, *args, **kwargs) -> (y, pullback).
_OWN_VJP = {"max_unpool": U.max_unpool_vjp, "roi_max_pool": U.roi_max_pool_vjp}
_OWN_FN = {"max_unpool": U.max_unpool, "roi_max_pool": U.roi_max_pool}


def _resolve_op(op: Any) -> Callable:
    name = op if isinstance(op, str) else getattr(op, "__name__", None)
    known = {**_OPS, **_OWN_FN}
    if name in known and (isinstance(op, str) or op is known[name]):
        return known[name]
    raise ValueError(f"`op` must be one of the poolkit pooling functions ({', '.join(known)}); "
                     f"received op={op!r}")


def vjp(op: Callable | str, x: np.ndarray, *args: Any, **kwargs: Any):
    """Run a pooling op and return its output with a function that pulls gradients back.

    Parameters
    ----------
    op : callable or str
        One of ``max_pool, avg_pool, lp_pool, global_max_pool, global_avg_pool, global_lp_pool,
        adaptive_max_pool, adaptive_avg_pool, max_unpool, roi_max_pool`` (the function or its
        name). For ``max_unpool`` the gradient is taken with respect to the pooled values.
    x : ndarray
        The input, as for ``op``.
    *args, **kwargs
        The rest of ``op``'s arguments, exactly as for a forward call.

    Returns
    -------
    y : ndarray or tuple
        What ``op(x, *args, **kwargs)`` returns (with ``return_indices=True``, ``(y, indices)``).
    pullback : callable
        ``pullback(dy) -> dx``: ``dy`` has the shape of ``y``, ``dx`` the shape and layout of
        ``x``. It may be called any number of times.

    Examples
    --------
    >>> import numpy as np, poolkit as pk
    >>> x = np.array([[1, 3, 2, 4], [5, 6, 1, 2], [7, 2, 8, 3], [4, 5, 9, 0]], float)[None, None]
    >>> y, back = pk.vjp(pk.max_pool, x, 2, data_format="channels_first")
    >>> back(np.ones_like(y))[0, 0]
    array([[0., 0., 0., 1.],
           [0., 1., 0., 0.],
           [1., 0., 0., 0.],
           [0., 0., 1., 0.]])
    >>> y, back = pk.vjp(pk.avg_pool, x, 2, data_format="channels_first")
    >>> back(np.ones_like(y))[0, 0, 0]
    array([0.25, 0.25, 0.25, 0.25])
    """
    fn = _resolve_op(op)
    if fn.__name__ in _OWN_VJP:  # max_unpool: gradient w.r.t. its values; roi_max_pool: w.r.t. x
        return _OWN_VJP[fn.__name__](x, *args, **kwargs)
    bound = inspect.signature(fn).bind(x, *args, **kwargs)
    bound.apply_defaults()
    a = dict(bound.arguments)
    name = fn.__name__
    df = a["data_format"]
    # Windows come from the same spec helpers the forward uses.
    if name in ("global_max_pool", "global_avg_pool", "global_lp_pool"):
        xa, cl, win = O._global_windows(a["x"], df, a["keepdims"])
    elif name.startswith("adaptive"):
        xa, cl, win = O._adaptive(a["x"], a["output_size"], df)
    else:
        xa, cl, win = O._windowed(a["x"], a["pool_size"], a["strides"], a["padding"],
                                  a["dilation"], a["ceil_mode"], df)
    full_shape = E.out_shape(xa.shape, win, cl)

    def squeeze(y):
        if name.startswith("global") and not a["keepdims"]:
            return O._squeeze(y, cl, False)
        return y

    if name.endswith("max_pool"):
        if "return_indices" in a:
            O.check_bool("return_indices", a["return_indices"])
        # the caller gets flat indices; inside, tap numbers where the backward can use them
        local = not a.get("return_indices") and E.local_argmax(win, cl, xa.dtype)
        y, idx = E.max_reduce(xa, win, cl, True, local)
        out = (y, idx) if a.get("return_indices") else squeeze(y)

        def pullback(dy):
            dy = check_dy(dy, squeeze(y).shape).reshape(full_shape)
            return E.max_backward(xa.shape, xa.dtype, win, cl, idx, dy)
        return out, pullback

    if name.endswith("avg_pool"):
        if name == "avg_pool":
            divmode, override = O._divisor_args(a["count_include_pad"], a["divisor_override"])
        else:
            divmode, override = E.DIV_REAL, 1.0
        y = E.sum_reduce(xa, win, cl, E.MODE_MEAN, 1.0, divmode, override)

        def pullback(dy):
            dy = check_dy(dy, squeeze(y).shape).reshape(full_shape)
            return E.sum_backward(xa, y, win, cl, E.MODE_MEAN, 1.0, divmode, override, dy)
        return squeeze(y), pullback

    # Lp: the pullback needs x, so it keeps its own copy (the caller may change x afterwards),
    # in C order: the forward and every pullback then read it as it is (see E.kernel_input)
    p = O._check_p(a["p"])
    mode = O._lp_mode(p)
    xa = np.array(xa, order="C")
    y = E.sum_reduce(xa, win, cl, mode, p)
    if mode == E.MODE_LINF:  # (|x| and sign(x) a piece at a time: no copy of all of x)
        idx = E.abs_argmax(xa, win, cl)

        def pullback(dy):
            dy = check_dy(dy, squeeze(y).shape).reshape(full_shape)
            return E.times_sign(E.max_backward(xa.shape, xa.dtype, win, cl, idx, dy), xa, cl)
        return squeeze(y), pullback

    def pullback(dy):
        dy = check_dy(dy, squeeze(y).shape).reshape(full_shape)
        return E.sum_backward(xa, y, win, cl, mode, p, E.DIV_REAL, 1.0, dy)
    return squeeze(y), pullback


def grad(op: Callable | str, x: np.ndarray, dy: np.ndarray, *args: Any, **kwargs: Any):
    """Gradient of ``op`` with respect to ``x`` for the output gradient ``dy``.

    ``grad(op, x, dy, *args, **kwargs)`` equals ``vjp(op, x, *args, **kwargs)[1](dy)``; use
    :func:`vjp` when you also need the forward result.

    Examples
    --------
    >>> import numpy as np, poolkit as pk
    >>> x = np.array([[[1.0], [3.0], [2.0], [2.0]]])
    >>> pk.grad(pk.max_pool, x, np.array([[[10.0], [20.0]]]), 2)[:, :, 0]
    array([[ 0., 10., 20.,  0.]])
    """
    return vjp(op, x, *args, **kwargs)[1](dy)
