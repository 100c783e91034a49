"""The one place where pooling arguments are normalised.

:class:`PoolSpec` is built once from the user's arguments (validated, frozen, shape-free).
:meth:`PoolSpec.resolve` turns it into a :class:`Windows` for a concrete spatial shape: explicit
``(lo, hi)`` pads (``"same"`` resolved), the output shape (``ceil_mode`` applied with the rule that
no window starts in the right padding) and, per spatial dimension, the tables the kernels read:

* ``base[o]``: input coordinate of the first window cell of output ``o`` (may be negative),
* ``klo[o]``, ``khi[o]``: the window taps ``k`` with ``0 <= base[o] + k * dilation < in`` (real cells),
* ``npad[o]``: how many taps fall inside the *padded* input ``[-lo, in + hi)``.

Adaptive pooling produces the same tables from PyTorch's start/end rule, so every reduction runs on
one window engine.
"""
from __future__ import annotations

import functools
import numbers
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

__all__ = ["PoolSpec", "Windows", "dim_geometry", "normalize_data_format", "adaptive_windows",
           "check_array"]

_PAD_MODES = ("valid", "same", "same_lower")


def _fmt(name: str, value: Any) -> str:
    return f"{name}={value!r}"


def _is_int(v: Any) -> bool:
    return isinstance(v, (numbers.Integral, np.integer)) and not isinstance(v, (bool, np.bool_))


def int_tuple(name: str, value: Any, nd: int, *, minimum: int = 1) -> tuple[int, ...]:
    """Normalise an int or a sequence of ``nd`` ints, each ``>= minimum``."""
    what = "positive integers" if minimum == 1 else f"integers >= {minimum}"
    if _is_int(value):
        out = (int(value),) * nd
    elif isinstance(value, (tuple, list, np.ndarray)) and all(_is_int(v) for v in value):
        out = tuple(int(v) for v in value)
        if len(out) != nd:
            raise ValueError(
                f"`{name}` must be an int or a tuple of {nd} ints (one per spatial dimension); "
                f"received {_fmt(name, value)}"
            )
    else:
        raise TypeError(f"`{name}` must be {what}; received {_fmt(name, value)}")
    if any(v < minimum for v in out):
        raise ValueError(f"`{name}` must be {what}; received {_fmt(name, value)}")
    return out


def normalize_data_format(data_format: Any) -> str:
    """Return ``"channels_last"`` or ``"channels_first"`` (``None`` means channels_last)."""
    if data_format is None:
        return "channels_last"
    if isinstance(data_format, str):
        df = data_format.lower()
        aliases = {"channels_last": "channels_last", "channels_first": "channels_first",
                   "nhwc": "channels_last", "nchw": "channels_first", "nwc": "channels_last",
                   "ncw": "channels_first", "ndhwc": "channels_last", "ncdhw": "channels_first"}
        if df in aliases:
            return aliases[df]
    raise ValueError(
        "`data_format` must be 'channels_last' or 'channels_first'; "
        f"received {_fmt('data_format', data_format)}"
    )


_OK_DTYPES = {np.dtype(t) for t in ("float16", "float32", "float64", "int8", "uint8", "int16",
                                     "int32", "int64")}


def check_array(x: Any, *, name: str = "x", min_spatial: int = 1,
                max_spatial: int = 3) -> np.ndarray:
    """Validate the input array (type, dtype, rank) without copying it."""
    if not isinstance(x, np.ndarray):
        if isinstance(x, (list, tuple)) or np.isscalar(x):
            x = np.asarray(x)
        else:
            try:
                x = np.asarray(x)
            except Exception as exc:  # pragma: no cover - exotic objects
                raise TypeError(f"`{name}` must be an array; received {name} of type "
                                f"{type(x).__name__}") from exc
    dt = x.dtype
    if dt not in _OK_DTYPES:
        raise TypeError(
            f"`{name}` must have a float16/32/64 or int8/16/32/64/uint8 dtype; received {name} "
            f"with dtype={dt}"
        )
    nsp = x.ndim - 2
    if nsp < min_spatial or nsp > max_spatial:
        raise ValueError(
            f"`{name}` must have rank {min_spatial + 2} to {max_spatial + 2} "
            f"(batch, {min_spatial} to {max_spatial} spatial dims, channels); "
            f"received {name} with shape={x.shape}"
        )
    return x


def check_bool(name: str, value: Any) -> bool:
    """A real bool (NumPy's included); anything else is a TypeError naming the argument."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"`{name}` must be a bool; received {name}={value!r}")
    return bool(value)


def check_p(p: Any) -> int | float:
    """The Lp exponent: a positive real number or ``inf`` (ints stay ints, for configs)."""
    if isinstance(p, (bool, np.bool_)) or not isinstance(p, numbers.Real):
        raise TypeError(f"`p` must be a positive number or inf; received p={p!r}")
    if p != p or p <= 0:
        raise ValueError(f"`p` must be a positive number or inf; received p={p!r}")
    return int(p) if isinstance(p, numbers.Integral) else float(p)


def check_divisor(divisor_override: Any) -> int | float | None:
    """``None`` or a positive finite number (ints stay ints, for configs)."""
    if divisor_override is None:
        return None
    if isinstance(divisor_override, (bool, np.bool_)) or not isinstance(
            divisor_override, numbers.Real):
        raise TypeError("`divisor_override` must be None or a positive number; received "
                        f"divisor_override={divisor_override!r}")
    if not (divisor_override > 0 and np.isfinite(float(divisor_override))):
        raise ValueError("`divisor_override` must be None or a positive number; received "
                         f"divisor_override={divisor_override!r}")
    if isinstance(divisor_override, numbers.Integral):
        return int(divisor_override)
    return float(divisor_override)


def check_dy(dy: Any, shape: tuple) -> np.ndarray:
    """An output gradient: a real array of exactly the output's ``shape``."""
    dy = np.asarray(dy)
    if dy.dtype.kind not in "fiu":
        raise TypeError(f"`dy` must be a real array; received dy with dtype={dy.dtype}")
    if dy.shape != shape:
        raise ValueError(f"`dy` must have the output's shape {shape}; received dy with "
                         f"shape={dy.shape}")
    return dy


def _parse_padding(padding: Any, nd: int) -> str | tuple[tuple[int, int], ...]:
    if isinstance(padding, str):
        p = padding.lower()
        if p in _PAD_MODES:
            return p
        raise ValueError(
            "`padding` must be 'valid', 'same', 'same_lower', an int, a tuple of ints or a tuple "
            f"of (lo, hi) pairs; received {_fmt('padding', padding)}"
        )
    bad = ValueError(
        "`padding` must be 'valid', 'same', 'same_lower', a non-negative int, a tuple of "
        f"{nd} non-negative ints or a tuple of {nd} (lo, hi) pairs; received {_fmt('padding', padding)}"
    )
    if _is_int(padding):
        if padding < 0:
            raise bad
        return ((int(padding), int(padding)),) * nd
    if isinstance(padding, (tuple, list)):
        if len(padding) != nd:
            raise bad
        out = []
        for p in padding:
            if _is_int(p):
                out.append((int(p), int(p)))
            elif isinstance(p, (tuple, list)) and len(p) == 2 and all(_is_int(v) for v in p):
                out.append((int(p[0]), int(p[1])))
            else:
                raise bad
        if any(lo < 0 or hi < 0 for lo, hi in out):
            raise bad
        return tuple(out)
    raise TypeError(
        "`padding` must be a string, an int or a tuple; received "
        f"{_fmt('padding', padding)}"
    )


@dataclass(frozen=True)
class Windows:
    """A :class:`PoolSpec` resolved for one spatial input shape.

    Attributes
    ----------
    in_shape, out_shape : tuple of int
        Spatial input and output shapes.
    pads : tuple of (int, int)
        The real ``(lo, hi)`` padding per dimension (``same`` resolved); cells here count in a
        mean when ``count_include_pad=True``. ``ceil_mode`` may add overhang beyond ``hi``, which
        never counts.
    dilation : tuple of int
    base, klo, khi, npad : tuple of int64 arrays, one per dimension
        Window tables (see the module docstring).
    """

    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    pads: tuple[tuple[int, int], ...]
    dilation: tuple[int, ...]
    base: tuple[np.ndarray, ...]
    klo: tuple[np.ndarray, ...]
    khi: tuple[np.ndarray, ...]
    npad: tuple[np.ndarray, ...]
    # the engine's kernel arguments derived from the tables, built once per Windows (resolve is
    # memoised, so repeated calls with the same spec and shape reuse them)
    derived: dict = field(default_factory=dict, compare=False, repr=False)

    def __hash__(self) -> int:  # arrays are not hashable; shapes and pads identify the windows
        return hash((self.in_shape, self.out_shape, self.pads, self.dilation))

    @property
    def ndim(self) -> int:
        return len(self.in_shape)

    def tables3(self) -> tuple:
        """The tables padded to three dimensions (leading size-1 dims), for the rank-3 kernels."""
        miss = 3 - self.ndim
        one = np.zeros(1, np.int64)
        base = (one,) * miss + self.base
        klo = (one,) * miss + self.klo
        khi = (one + 1,) * miss + self.khi
        dil = (1,) * miss + self.dilation
        return base, klo, khi, dil

    def window_cells(self, out_index: Sequence[int]) -> list[tuple[int, ...]]:
        """Input coordinates of the real cells of one output's window, in row-major tap order.

        >>> w = PoolSpec.build(2, 2).resolve((4, 4))
        >>> w.window_cells((1, 0))
        [(2, 0), (2, 1), (3, 0), (3, 1)]
        """
        axes = []
        for d, o in enumerate(out_index):
            b, lo, hi = int(self.base[d][o]), int(self.klo[d][o]), int(self.khi[d][o])
            axes.append([b + k * self.dilation[d] for k in range(lo, hi)])
        cells: list[tuple[int, ...]] = [()]
        for ax in axes:
            cells = [c + (i,) for c in cells for i in ax]
        return cells


def _tables(base: np.ndarray, size: int, in_size: int, dilation: int, lo: int, hi: int):
    """Real-tap range and padded-tap count for windows starting at ``base`` with ``size`` taps."""
    d = dilation
    # smallest k with base + k*d >= 0 ; largest k with base + k*d <= in-1
    klo = np.where(base >= 0, 0, (-base + d - 1) // d)
    khi = np.minimum(size, np.where(in_size - 1 - base >= 0, (in_size - 1 - base) // d + 1, 0))
    khi = np.maximum(khi, klo)
    plo = np.where(base >= -lo, 0, (-lo - base + d - 1) // d)
    last = in_size + hi - 1 - base
    phi = np.minimum(size, np.where(last >= 0, last // d + 1, 0))
    npad = np.maximum(phi - plo, 0)
    return klo.astype(np.int64), khi.astype(np.int64), npad.astype(np.int64)


def dim_geometry(n: int, k: int, s: int, d: int, padding: str | tuple[int, int],
                 ceil_mode: bool = False) -> tuple[int, int, int]:
    """``(lo, hi, out)`` of one spatial dim: the pads and the output size (no validation; ``out``
    is < 1 when the window does not fit).

    ``padding`` is ``"same"`` (TF SAME / ONNX SAME_UPPER: ``out = ceil(n / s)``, the odd padding
    cell at the end), ``"same_lower"`` (odd cell at the start) or explicit ``(lo, hi)``, for which
    ``out = floor((n + lo + hi - eff) / s) + 1`` with ``eff = (k - 1) * d + 1``; ``ceil_mode``
    rounds up but drops a last window that would start in the right padding.

    >>> dim_geometry(5, 2, 2, 1, "same"), dim_geometry(5, 2, 2, 1, (0, 0), ceil_mode=True)
    ((0, 1, 3), (0, 0, 3))
    """
    eff = (k - 1) * d + 1
    if isinstance(padding, str):
        out = -(-n // s)
        total = max((out - 1) * s + eff - n, 0)
        small, big = total // 2, total - total // 2
        return ((small, big) if padding == "same" else (big, small)) + (out,)
    lo, hi = padding
    span = n + lo + hi - eff
    if span < 0:
        return lo, hi, 0
    if ceil_mode:
        out = -(-span // s) + 1
        if (out - 1) * s >= n + lo:  # the last window would start in the right padding
            out -= 1
    else:
        out = span // s + 1
    return lo, hi, out


@dataclass(frozen=True)
class PoolSpec:
    """Validated, frozen pooling arguments for ``nd`` spatial dimensions (no shapes yet).

    Build it with :meth:`build`; ``padding`` is a mode string or explicit ``(lo, hi)`` pairs.

    Examples
    --------
    >>> s = PoolSpec.build(2, 3, strides=2, padding=1)
    >>> s.window, s.strides, s.padding
    ((3, 3), (2, 2), ((1, 1), (1, 1)))
    >>> s.resolve((112, 112)).out_shape
    (56, 56)
    """

    window: tuple[int, ...]
    strides: tuple[int, ...]
    dilation: tuple[int, ...]
    padding: str | tuple[tuple[int, int], ...]
    ceil_mode: bool

    @classmethod
    def build(cls, nd: int, pool_size: Any, strides: Any = None, padding: Any = "valid",
              dilation: Any = 1, ceil_mode: Any = False) -> "PoolSpec":
        window = int_tuple("pool_size", pool_size, nd)
        strides_t = window if strides is None else int_tuple("strides", strides, nd)
        dil = int_tuple("dilation", dilation, nd)
        pad = _parse_padding(padding, nd)
        if not isinstance(ceil_mode, (bool, np.bool_)):
            raise TypeError(f"`ceil_mode` must be a bool; received {_fmt('ceil_mode', ceil_mode)}")
        if not isinstance(pad, str):
            for (lo, hi), k, d in zip(pad, window, dil):
                eff = (k - 1) * d + 1
                if lo >= eff or hi >= eff:
                    raise ValueError(
                        "`padding` must be smaller than the (dilated) window on each side, or some "
                        f"window would hold only padding; received padding={padding!r} with "
                        f"pool_size={window} and dilation={dil}"
                    )
        return cls(window, strides_t, dil, pad, bool(ceil_mode))

    @property
    def ndim(self) -> int:
        return len(self.window)

    def resolve(self, in_shape: Sequence[int]) -> Windows:
        """Concrete pads, output shape and window tables for a spatial input shape (memoised:
        the same spec and shape give the same Windows, whose tables must not be modified)."""
        return _resolve(self, tuple(int(v) for v in in_shape))

    def _resolve(self, in_shape: tuple[int, ...]) -> Windows:
        if len(in_shape) != self.ndim:
            raise ValueError(f"expected {self.ndim} spatial dims; received spatial shape {in_shape}")
        pads, outs = [], []
        for i, (n, k, s, d) in enumerate(zip(in_shape, self.window, self.strides, self.dilation)):
            mode = self.padding if isinstance(self.padding, str) else self.padding[i]
            lo, hi, out = dim_geometry(n, k, s, d, (0, 0) if mode == "valid" else mode,
                                       self.ceil_mode)
            if out < 1:
                eff = (k - 1) * d + 1
                raise ValueError(
                    f"`pool_size` is larger than the padded input: window {eff} (pool_size="
                    f"{self.window}, dilation={self.dilation}) over padded size {n + lo + hi} "
                    f"in spatial dim {i}; received input spatial shape {in_shape}"
                )
            pads.append((lo, hi))
            outs.append(out)
        bases, klos, khis, npads = [], [], [], []
        for n, o, k, s, d, (lo, hi) in zip(in_shape, outs, self.window, self.strides,
                                            self.dilation, pads):
            base = np.arange(o, dtype=np.int64) * s - lo
            klo, khi, npad = _tables(base, k, n, d, lo, hi)
            if o and np.any(khi <= klo):
                raise ValueError(
                    "`padding` and `dilation` leave a window whose taps all fall in the padding; "
                    f"received padding={self.padding!r}, dilation={self.dilation}, pool_size="
                    f"{self.window} for input spatial shape {in_shape}"
                )
            bases.append(base)
            klos.append(klo)
            khis.append(khi)
            npads.append(npad)
        return Windows(in_shape, tuple(outs), tuple(pads), self.dilation, tuple(bases),
                       tuple(klos), tuple(khis), tuple(npads))


@functools.lru_cache(maxsize=256)
def _resolve(spec: PoolSpec, in_shape: tuple[int, ...]) -> Windows:
    return spec._resolve(in_shape)


def adaptive_windows(in_shape: Sequence[int], output_size: Sequence[int]) -> Windows:
    """Window tables of adaptive pooling: ``start = floor(i*in/out)``, ``end = ceil((i+1)*in/out)``
    (memoised, as :meth:`PoolSpec.resolve`).

    >>> w = adaptive_windows((5,), (3,))
    >>> [w.window_cells((i,)) for i in range(3)]
    [[(0,), (1,)], [(1,), (2,), (3,)], [(3,), (4,)]]
    """
    return _adaptive(tuple(int(v) for v in in_shape), tuple(int(v) for v in output_size))


@functools.lru_cache(maxsize=256)
def _adaptive(in_shape: tuple[int, ...], output_size: tuple[int, ...]) -> Windows:
    bases, klos, khis = [], [], []
    for n, o in zip(in_shape, output_size):
        i = np.arange(o, dtype=np.int64)
        start = (i * n) // o
        end = -((-(i + 1) * n) // o)
        bases.append(start)
        klos.append(np.zeros(o, np.int64))
        khis.append((end - start).astype(np.int64))
    nd = len(in_shape)
    return Windows(in_shape, output_size,
                   ((0, 0),) * nd, (1,) * nd, tuple(bases), tuple(klos), tuple(khis), tuple(khis))

