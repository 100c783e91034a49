"""Window geometry for the command line: parse pooling arguments, list windows, and write out
the output-size and padding formulas with the numbers filled in.

The pads and output sizes themselves come from the core (:func:`poolkit._spec.dim_geometry`); this
module only makes them visible (which cells each window covers, where the padding goes). It never
computes pooled values: those come from the public ops.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from typing import Sequence, Union

from ._spec import dim_geometry

PaddingArg = Union[str, int, tuple]

__all__ = [
    "DimGeometry",
    "parse_int_tuple",
    "parse_padding",
    "expand",
    "resolve_dim",
    "resolve",
]


def parse_int_tuple(text: str | None, name: str) -> int | tuple[int, ...] | None:
    """Parse ``"2"``, ``"2,3"``, ``"2x3"`` or ``"(2, 3)"`` into an int or a tuple of ints.

    Parameters
    ----------
    text : str or None
        The option value as typed on the command line.
    name : str
        The option name, used in the error message.

    Returns
    -------
    int, tuple of int or None
        ``None`` when `text` is ``None``.

    Raises
    ------
    ValueError
        If `text` is not a list of integers.
    """
    if text is None:
        return None
    cleaned = text.strip().strip("()[]").replace("x", ",").replace("X", ",").replace(" ", ",")
    parts = [p for p in cleaned.split(",") if p != ""]
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        raise ValueError(
            f"`{name}` must be an integer or a comma-separated list of integers; "
            f"received {name}={text!r}"
        ) from None
    if not values:
        raise ValueError(f"`{name}` must not be empty; received {name}={text!r}")
    return values[0] if len(values) == 1 else values


def parse_padding(text: str | None) -> PaddingArg:
    """Parse a ``--padding`` value into the form the public API takes.

    Accepted forms: ``valid``, ``same``, ``same_lower`` (also ``same-lower``, ``same_upper``);
    an integer (``1``, symmetric in every dim); integers per dim (``1,2``); explicit ``lo:hi``
    pairs per dim (``0:1,1:0``) or a Python literal (``((0, 1), (1, 0))``).

    Parameters
    ----------
    text : str or None
        The option value; ``None`` means ``"valid"``.

    Returns
    -------
    str, int or tuple
        A value for the ``padding`` argument of the public API.

    Raises
    ------
    ValueError
        If the text is none of the accepted forms.
    """
    if text is None:
        return "valid"
    t = text.strip()
    low = t.lower().replace("-", "_")
    if low in ("valid", "same", "same_lower"):
        return low
    if low == "same_upper":
        return "same"
    bad = ValueError(
        "`padding` must be valid, same, same_lower, an int, ints per dim like 1,2, "
        f"or lo:hi pairs per dim like 0:1,1:0; received padding={text!r}"
    )
    try:
        if "(" in t or "[" in t:
            value = ast.literal_eval(t)
            if isinstance(value, list):
                value = tuple(tuple(v) if isinstance(v, list) else v for v in value)
            if isinstance(value, int):
                return value
            if isinstance(value, tuple) and all(isinstance(v, int) for v in value):
                return value
            if isinstance(value, tuple) and all(
                isinstance(v, tuple) and len(v) == 2 and all(isinstance(w, int) for w in v)
                for v in value
            ):
                return tuple(tuple(v) for v in value)
            raise bad
        parts = [p.strip() for p in t.split(",") if p.strip() != ""]
        if not parts:
            raise bad
        if any(":" in p for p in parts):
            pairs = []
            for p in parts:
                lo, sep, hi = p.partition(":")
                if not sep:
                    raise bad
                pairs.append((int(lo), int(hi)))
            return tuple(pairs)
        ints = tuple(int(p) for p in parts)
        return ints[0] if len(ints) == 1 else ints
    except (ValueError, SyntaxError):
        raise bad from None


def expand(value: int | Sequence[int] | None, ndim: int, name: str, default: int | None = None) -> tuple[int, ...]:
    """Broadcast an int (or one int per dim) to a tuple of `ndim` ints.

    Raises
    ------
    ValueError
        If the number of values does not match `ndim`.
    """
    if value is None:
        if default is None:
            raise ValueError(f"`{name}` is required")
        value = default
    if isinstance(value, int):
        return (value,) * ndim
    value = tuple(int(v) for v in value)
    if len(value) != ndim:
        raise ValueError(
            f"`{name}` must be one int or {ndim} ints (one per spatial dim); "
            f"received {name}={value!r}"
        )
    return value


@dataclass(frozen=True)
class DimGeometry:
    """Concrete pooling geometry along one spatial dimension.

    Attributes
    ----------
    size, kernel, stride, dilation : int
        Input length and the pooling parameters.
    pad_lo, pad_hi : int
        Padding cells before and after the input.
    out : int
        Number of windows (output length).
    mode : str
        ``"explicit"``, ``"same"`` or ``"same_lower"``: how the paddings were obtained.
    ceil_mode : bool
        Whether the output length was rounded up.
    """

    size: int
    kernel: int
    stride: int
    dilation: int
    pad_lo: int
    pad_hi: int
    out: int
    mode: str
    ceil_mode: bool

    @property
    def effective_kernel(self) -> int:
        """Span of one window, ``(k - 1) * d + 1``."""
        return (self.kernel - 1) * self.dilation + 1

    def positions(self, i: int) -> list[int]:
        """Input coordinates of window `i` (negative or ``>= size`` are padding cells)."""
        start = i * self.stride - self.pad_lo
        return [start + j * self.dilation for j in range(self.kernel)]

    def real(self, i: int) -> list[int]:
        """Coordinates of window `i` that are real input cells."""
        return [p for p in self.positions(i) if 0 <= p < self.size]

    def clipped_count(self, i: int) -> int:
        """Cells of window `i` inside the *padded* input (PyTorch's count_include_pad divisor)."""
        return sum(1 for p in self.positions(i) if -self.pad_lo <= p < self.size + self.pad_hi)

    def windows(self) -> list[tuple[tuple[int, ...], int]]:
        """All windows as ``(real cells, clipped count)``."""
        return [(tuple(self.real(i)), self.clipped_count(i)) for i in range(self.out)]

    def formula(self) -> list[str]:
        """The output-size (and padding) formula with the numbers filled in, as text lines."""
        n, k, s, d = self.size, self.kernel, self.stride, self.dilation
        lines: list[str] = []
        if self.mode in ("same", "same_lower"):
            total = self.pad_lo + self.pad_hi
            lines.append(f"out = ceil(in / stride) = ceil({n} / {s}) = {self.out}")
            lines.append("total pad = max((out - 1)*stride + (k - 1)*dilation + 1 - in, 0)")
            lines.append(f"          = max({self.out - 1}*{s} + {k - 1}*{d} + 1 - {n}, 0) = {total}")
            if self.mode == "same":
                lines.append(f"pad before = total // 2 = {self.pad_lo}, "
                             f"pad after = total - before = {self.pad_hi}")
                if total % 2:
                    lines.append("(odd total: the extra padding cell goes at the end)")
            else:
                lines.append(f"pad after = total // 2 = {self.pad_hi}, "
                             f"pad before = total - after = {self.pad_lo}")
                if total % 2:
                    lines.append("(odd total: the extra padding cell goes at the start)")
            return lines
        lo, hi = self.pad_lo, self.pad_hi
        num = n + lo + hi - d * (k - 1) - 1
        rnd = "ceil" if self.ceil_mode else "floor"
        raw = (math.ceil(num / s) if self.ceil_mode else math.floor(num / s)) + 1
        lines.append(f"out = {rnd}((in + pad_before + pad_after - dilation*(k-1) - 1) / stride) + 1")
        lines.append(f"    = {rnd}(({n} + {lo} + {hi} - {d}*{k - 1} - 1) / {s}) + 1")
        lines.append(f"    = {rnd}({num}/{s}) + 1 = {raw}")
        if self.ceil_mode and raw != self.out:
            lines.append(
                f"last window would start at {(raw - 1) * s - lo} >= in = {n} (inside the right "
                f"padding), so it is dropped: out = {self.out}"
            )
        return lines


def resolve_dim(
    n: int, k: int, s: int, d: int, pad: str | tuple[int, int], ceil_mode: bool = False
) -> DimGeometry:
    """Resolve the geometry of one spatial dim (the pads and output size come from the core's
    :func:`poolkit._spec.dim_geometry`, the one place that defines them).

    Parameters
    ----------
    n, k, s, d : int
        Input length, window length, stride and dilation.
    pad : str or (int, int)
        ``"same"``, ``"same_lower"`` or explicit ``(lo, hi)`` padding.
    ceil_mode : bool
        Round the output length up (a window starting in the right padding is dropped).

    Returns
    -------
    DimGeometry
    """
    lo, hi, out = dim_geometry(n, k, s, d, pad, ceil_mode)
    mode = pad if isinstance(pad, str) else "explicit"
    return DimGeometry(n, k, s, d, lo, hi, max(out, 0), mode, ceil_mode)


def per_dim_padding(padding: PaddingArg, ndim: int) -> list[str | tuple[int, int]]:
    """Spell a public-API ``padding`` value out per dim (``"same"``, ``"same_lower"`` or ``(lo, hi)``)."""
    if isinstance(padding, str):
        p = padding.lower()
        if p == "valid":
            return [(0, 0)] * ndim
        if p in ("same", "same_upper"):
            return ["same"] * ndim
        if p == "same_lower":
            return ["same_lower"] * ndim
        raise ValueError(f"`padding` must be valid, same or same_lower; received padding={padding!r}")
    if isinstance(padding, int):
        return [(padding, padding)] * ndim
    padding = tuple(padding)
    if len(padding) != ndim:
        raise ValueError(
            f"`padding` must give one entry per spatial dim ({ndim}); received padding={padding!r}"
        )
    out: list[str | tuple[int, int]] = []
    for p in padding:
        if isinstance(p, int):
            out.append((p, p))
        else:
            lo, hi = p
            out.append((int(lo), int(hi)))
    return out


def resolve(
    spatial: Sequence[int],
    pool_size: int | Sequence[int],
    strides: int | Sequence[int] | None = None,
    padding: PaddingArg = "valid",
    dilation: int | Sequence[int] = 1,
    ceil_mode: bool = False,
) -> list[DimGeometry]:
    """Resolve the geometry of every spatial dim, following the public API's rules."""
    nd = len(spatial)
    k = expand(pool_size, nd, "pool_size")
    s = expand(strides, nd, "strides", default=None) if strides is not None else k
    d = expand(dilation, nd, "dilation")
    pads = per_dim_padding(padding, nd)
    return [resolve_dim(n, *args, ceil_mode=ceil_mode) for n, *args in zip(spatial, k, s, d, pads)]
