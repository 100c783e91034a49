"""Benchmark rows: which op, shape, layout, dtype and pooling geometry is timed.

Every row names its operation by the key it has in the shared op registry
(``tests/registry.py``: ``max_pool``, ``avg_pool``, ``lp_pool``, ``global_avg_pool``,
``adaptive_avg_pool``), so the benchmark and the test-suite cover the same set of ops.

The geometry of a row is resolved here, once, into explicit ``(lo, hi)`` pads per
spatial dimension; every peer is then asked to compute exactly that (peers that
cannot express it report the row as not applicable instead of computing something
else).
"""
from __future__ import annotations

import fnmatch
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Row", "ROWS", "select_rows", "resolve_pads", "output_spatial", "make_inputs"]

#: Full-size shapes: (N, C, *spatial). All three hold the same number of elements
#: (16 * 64 * 112 * 112 = 12.8 M, 51 MB in float32), the issue's reference input.
FULL_SHAPES = {
    1: (16, 64, (12544,)),
    2: (16, 64, (112, 112)),
    3: (4, 32, (32, 56, 56)),
}
#: Toy shapes for ``--quick`` (odd sizes on purpose, to exercise padding).
QUICK_SHAPES = {
    1: (2, 3, (21,)),
    2: (2, 3, (14, 14)),
    3: (1, 3, (4, 6, 6)),
}

_DTYPE_SHORT = {"float32": "f32", "float16": "f16", "float64": "f64", "uint8": "u8", "int8": "i8"}
_LAYOUT_NAMES = {
    ("channels_last", 1): "NWC", ("channels_first", 1): "NCW",
    ("channels_last", 2): "NHWC", ("channels_first", 2): "NCHW",
    ("channels_last", 3): "NDHWC", ("channels_first", 3): "NCDHW",
}
_OP_SHORT = {
    "max_pool": "max", "avg_pool": "avg", "lp_pool": "lp",
    "global_max_pool": "gmax", "global_avg_pool": "gavg", "global_lp_pool": "glp",
    "adaptive_max_pool": "amax", "adaptive_avg_pool": "aavg",
}
_OP_TITLE = {
    "max_pool": "max", "avg_pool": "avg", "lp_pool": "Lp({p:g})",
    "global_max_pool": "global max", "global_avg_pool": "global avg", "global_lp_pool": "global Lp({p:g})",
    "adaptive_max_pool": "adaptive max", "adaptive_avg_pool": "adaptive avg",
}


@dataclass(frozen=True)
class Row:
    """One benchmark row.

    Parameters
    ----------
    op : str
        Registry key and poolkit function name (``"max_pool"``, ...).
    ndim : int
        Number of spatial dimensions (1-3).
    layout : {"channels_last", "channels_first"}
        poolkit ``data_format`` of the input.
    dtype : str
        NumPy dtype name of the input.
    pool_size, strides : tuple of int or None
        Window geometry (None for global / adaptive ops).
    padding : Any
        The poolkit ``padding`` argument.
    pad_label : str
        Short text used in the row id (``""``, ``"p1"``, ``"same"``).
    p : float or None
        Norm order for ``lp_pool``.
    output_size : tuple of int or None
        For ``adaptive_avg_pool``.
    backward : bool
        Time forward + backward (``pk.vjp``) instead of forward only.
    """

    op: str
    ndim: int
    layout: str
    dtype: str
    pool_size: tuple[int, ...] | None = None
    strides: tuple[int, ...] | None = None
    padding: Any = "valid"
    pad_label: str = ""
    p: float | None = None
    output_size: tuple[int, ...] | None = None
    backward: bool = False
    tags: tuple[str, ...] = field(default=())

    # ---------------------------------------------------------------- kinds
    @property
    def reduction(self) -> str:
        """``"max"``, ``"avg"`` or ``"lp"``."""
        return self.op.split("_")[-2]

    @property
    def kind(self) -> str:
        """``"windowed"``, ``"global"`` or ``"adaptive"``."""
        head = self.op.split("_")[0]
        return head if head in ("global", "adaptive") else "windowed"

    # ---------------------------------------------------------------- naming
    @property
    def layout_name(self) -> str:
        """Layout as letters (``NHWC``, ``NCW``, ...)."""
        return _LAYOUT_NAMES[(self.layout, self.ndim)]

    @property
    def geometry(self) -> str:
        """Human readable window geometry, e.g. ``3x3/2 pad1``."""
        if self.kind == "global":
            return "global"
        if self.kind == "adaptive":
            return "to " + "x".join(map(str, self.output_size))
        k = "x".join(map(str, self.pool_size))
        s = self.strides[0] if len(set(self.strides)) == 1 else "x".join(map(str, self.strides))
        text = f"{k}/{s}"
        if self.pad_label:
            text += " " + ("pad" + self.pad_label[1:] if self.pad_label.startswith("p") else self.pad_label)
        return text

    @property
    def id(self) -> str:
        """Stable, shell-friendly id used by ``--rows``."""
        parts = [f"{_OP_SHORT[self.op]}{self.ndim}d"]
        if self.reduction == "lp":
            parts[0] += f"-p{self.p:g}"
        if self.kind == "windowed":
            parts.append(f"k{self.pool_size[0]}s{self.strides[0]}{self.pad_label}")
        if self.output_size is not None:
            parts.append(f"o{self.output_size[0]}")
        parts += [_DTYPE_SHORT[self.dtype], self.layout_name.lower(), "bwd" if self.backward else "fwd"]
        return "-".join(parts)

    @property
    def title(self) -> str:
        """Row label for tables and charts."""
        op = _OP_TITLE[self.op].format(p=self.p or 0)
        geo = "" if self.kind == "global" else " " + self.geometry
        kind = " fwd+bwd" if self.backward else ""
        return f"{op} {self.ndim}-D{geo} {_DTYPE_SHORT[self.dtype]} {self.layout_name}{kind}"

    # ---------------------------------------------------------------- shapes
    def nc_spatial(self, quick: bool) -> tuple[int, int, tuple[int, ...]]:
        """``(N, C, spatial)`` of the input."""
        return (QUICK_SHAPES if quick else FULL_SHAPES)[self.ndim]

    def input_shape(self, quick: bool) -> tuple[int, ...]:
        """Input shape in the row's layout."""
        n, c, sp = self.nc_spatial(quick)
        return (n, *sp, c) if self.layout == "channels_last" else (n, c, *sp)

    def spatial_axes(self) -> tuple[int, ...]:
        """Axes of the spatial dimensions in the row's layout."""
        first = 1 if self.layout == "channels_last" else 2
        return tuple(range(first, first + self.ndim))

    def pads(self, quick: bool) -> list[tuple[int, int]]:
        """Explicit ``(lo, hi)`` pad per spatial dim (zeros for global/adaptive)."""
        if self.pool_size is None:
            return [(0, 0)] * self.ndim
        return resolve_pads(self.nc_spatial(quick)[2], self.pool_size, self.strides, self.padding)

    def output_shape(self, quick: bool) -> tuple[int, ...]:
        """Expected output shape, from the definitions (independent of poolkit)."""
        n, c, sp = self.nc_spatial(quick)
        if self.kind == "global":
            return (n, c)
        if self.kind == "adaptive":
            out = self.output_size
        else:
            out = output_spatial(sp, self.pool_size, self.strides, self.pads(quick))
        return (n, *out, c) if self.layout == "channels_last" else (n, c, *out)

    def nbytes(self, quick: bool) -> int:
        """Bytes the op must at least move: input read + output written.

        For forward+backward rows: x and dy read, dx written (the forward output
        need not be materialised).
        """
        isz = np.dtype(self.dtype).itemsize
        osz = np.dtype(self.out_dtype).itemsize
        n_in = math.prod(self.input_shape(quick))
        n_out = math.prod(self.output_shape(quick))
        if self.backward:
            return n_in * isz + n_out * osz + n_in * isz
        return n_in * isz + n_out * osz

    @property
    def out_dtype(self) -> str:
        """poolkit's output dtype for this row (contract: avg/lp of ints -> float64)."""
        if self.reduction == "max" or np.dtype(self.dtype).kind == "f":
            return self.dtype
        return "float64"

    # ---------------------------------------------------------------- calling
    def call_args(self) -> tuple[tuple, dict]:
        """Positional and keyword arguments for the poolkit function."""
        kw: dict[str, Any] = {"data_format": self.layout}
        if self.op in ("max_pool", "avg_pool"):
            return (self.pool_size, self.strides, self.padding), kw
        if self.op == "lp_pool":
            return (self.p, self.pool_size, self.strides, self.padding), kw
        if self.kind == "adaptive":
            return (self.output_size,), kw
        if self.op == "global_lp_pool":
            return (self.p,), kw
        if self.kind == "global":
            return (), kw
        raise ValueError(f"`op` is not a benchmarked op; received op={self.op!r}")


def resolve_pads(spatial, pool_size, strides, padding, dilation=None) -> list[tuple[int, int]]:
    """Explicit ``(lo, hi)`` pads per spatial dim, from the contract's definitions.

    Parameters
    ----------
    spatial, pool_size, strides : sequence of int
        Input spatial size, window and stride per dim.
    padding : str, int, tuple
        ``"valid"``, ``"same"``, ``"same_lower"``, an int, a tuple of ints or of pairs.
    dilation : sequence of int, optional
        Window dilation (default 1).

    Returns
    -------
    list of (int, int)
    """
    nd = len(spatial)
    dilation = dilation or (1,) * nd
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return [(0, 0)] * nd
        if mode not in ("same", "same_lower"):
            raise ValueError(f"`padding` must be 'valid', 'same' or 'same_lower'; received padding={padding!r}")
        pads = []
        for n, k, s, d in zip(spatial, pool_size, strides, dilation):
            out = -(-n // s)
            total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
            small = total // 2
            pads.append((small, total - small) if mode == "same" else (total - small, small))
        return pads
    if isinstance(padding, int):
        return [(padding, padding)] * nd
    padding = tuple(padding)
    if all(isinstance(p, int) for p in padding):
        return [(p, p) for p in padding]
    return [tuple(p) for p in padding]


def output_spatial(spatial, pool_size, strides, pads, dilation=None) -> tuple[int, ...]:
    """Output spatial size (floor mode) for explicit pads."""
    dilation = dilation or (1,) * len(spatial)
    return tuple(
        (n + lo + hi - ((k - 1) * d + 1)) // s + 1
        for n, k, s, (lo, hi), d in zip(spatial, pool_size, strides, pads, dilation)
    )


def _both(**kw) -> list[Row]:
    return [Row(layout="channels_last", **kw), Row(layout="channels_first", **kw)]


def _build_rows() -> list[Row]:
    rows: list[Row] = []
    k2 = dict(pool_size=(2, 2), strides=(2, 2))
    stem = dict(pool_size=(3, 3), strides=(2, 2), padding=1, pad_label="p1")
    same3 = dict(pool_size=(3, 3), strides=(1, 1), padding="same", pad_label="same")
    # 2-D float32 forward: the standard rows
    rows += _both(op="max_pool", ndim=2, dtype="float32", **k2)
    rows += _both(op="max_pool", ndim=2, dtype="float32", **stem)
    rows += _both(op="avg_pool", ndim=2, dtype="float32", **k2)
    rows += _both(op="avg_pool", ndim=2, dtype="float32", **same3)
    rows += _both(op="global_avg_pool", ndim=2, dtype="float32")
    rows += _both(op="adaptive_avg_pool", ndim=2, dtype="float32", output_size=(7, 7))
    rows += _both(op="lp_pool", ndim=2, dtype="float32", p=2.0, **k2)
    # the registry's other ops
    rows += _both(op="global_max_pool", ndim=2, dtype="float32")
    rows += _both(op="global_lp_pool", ndim=2, dtype="float32", p=2.0)
    rows += _both(op="adaptive_max_pool", ndim=2, dtype="float32", output_size=(7, 7))
    # other dtypes
    rows += _both(op="max_pool", ndim=2, dtype="float16", **k2)
    rows += _both(op="avg_pool", ndim=2, dtype="float16", **k2)
    rows += _both(op="max_pool", ndim=2, dtype="uint8", **k2)
    # 1-D and 3-D
    rows += _both(op="max_pool", ndim=1, dtype="float32", pool_size=(3,), strides=(2,), padding=1, pad_label="p1")
    rows += _both(op="avg_pool", ndim=1, dtype="float32", pool_size=(2,), strides=(2,))
    rows += _both(op="max_pool", ndim=3, dtype="float32", pool_size=(2, 2, 2), strides=(2, 2, 2))
    rows += _both(op="avg_pool", ndim=3, dtype="float32", pool_size=(2, 2, 2), strides=(2, 2, 2))
    # forward + backward
    rows += _both(op="max_pool", ndim=2, dtype="float32", backward=True, **k2)
    rows += _both(op="max_pool", ndim=2, dtype="float32", backward=True, **stem)
    rows += _both(op="avg_pool", ndim=2, dtype="float32", backward=True, **k2)
    rows += _both(op="avg_pool", ndim=2, dtype="float32", backward=True, **same3)
    return rows


#: All rows, in table order.
ROWS: list[Row] = _build_rows()


def select_rows(pattern: str | None, rows: list[Row] | None = None) -> list[Row]:
    """Rows whose id matches ``pattern``.

    ``pattern`` is a comma-separated list of terms; a term with glob characters
    (``*?[``) is matched with :func:`fnmatch.fnmatch` against the row id, any
    other term is a substring of the id. ``None`` or ``""`` selects every row.
    """
    rows = ROWS if rows is None else rows
    if not pattern:
        return list(rows)
    terms = [t.strip() for t in pattern.split(",") if t.strip()]
    out = []
    for row in rows:
        for t in terms:
            if (any(ch in t for ch in "*?[") and fnmatch.fnmatch(row.id, t)) or (
                not any(ch in t for ch in "*?[") and t in row.id
            ):
                out.append(row)
                break
    return out


def make_inputs(row: Row, quick: bool, seed: int = 0) -> tuple[np.ndarray, np.ndarray | None]:
    """Deterministic input ``x`` (and cotangent ``dy`` for backward rows).

    Floats are standard normal (ties in a max window are then vanishingly rare, so
    every framework routes max gradients to the same cell); uint8 covers 0..255.
    """
    rng = np.random.default_rng(seed)
    shape = row.input_shape(quick)
    dt = np.dtype(row.dtype)
    if dt.kind == "f":
        x = rng.standard_normal(shape, dtype=np.float32).astype(dt, copy=False)
    else:
        info = np.iinfo(dt)
        x = rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dt)
    dy = None
    if row.backward:
        dy = rng.standard_normal(row.output_shape(quick), dtype=np.float32).astype(row.out_dtype, copy=False)
    return x, dy
