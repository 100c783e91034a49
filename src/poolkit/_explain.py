"""``poolkit explain``: pooling shown window by window, as text (rich) or as a figure (matplotlib).

The pooled values come from the public ops; the window positions come from the same rule the ops
use (the core's :class:`~poolkit._spec.PoolSpec` resolves the paddings and the output shape).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from ._cli_geometry import DimGeometry

SEED_GRID = np.array([[1, 3, 2, 4], [5, 6, 1, 2], [7, 2, 8, 3], [4, 5, 9, 0]], dtype=np.int64)
OP_NAMES = {"max": "max pooling", "avg": "average pooling", "lp": "Lp pooling"}
WINDOW_COLOURS = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2",
    "#7f7f7f", "#bcbd22",
]


def fmt(v: float) -> str:
    """Format a number compactly: integers without a decimal point, others to 4 significant digits."""
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == round(v) and abs(v) < 1e15:
        return str(int(round(v)))
    return f"{v:.4g}"


@dataclass
class Window:
    """One window: its output coordinate, its cells and what it computed."""

    out: tuple[int, int]
    cells: list[tuple[int, int]]          # all cells (2-D coordinates, padding included)
    real: list[tuple[int, int]]           # cells inside the input
    value: float
    winner: tuple[int, int] | None = None  # max: the selected cell
    text: str = ""                          # the computation written out
    grad: dict[tuple[int, int], float] = field(default_factory=dict)  # d y / d x for this window


@dataclass
class OpView:
    """Everything shown for one op."""

    op: str
    title: str
    y: np.ndarray                 # 2-D output grid
    windows: list[Window]
    dx: np.ndarray | None = None  # 2-D gradient of sum(y) w.r.t. x
    p: float = 2.0                # the norm order (lp only)


@dataclass
class Explanation:
    """A full explain view: input, geometry and one :class:`OpView` per op."""

    grid: np.ndarray              # 2-D input (a 1-D signal is one row)
    one_d: bool
    geoms: list[DimGeometry]      # exactly two (rows, cols); rows trivial for 1-D
    ops: list[OpView]
    params: str
    is_global: bool


# --------------------------------------------------------------------------- building


def _global_geom(n: int) -> DimGeometry:
    return DimGeometry(n, n, n, 1, 0, 0, 1, "global", False)


def build(
    grid: np.ndarray,
    ops: Sequence[str],
    pool_size: Any = 2,
    strides: Any = None,
    padding: Any = "valid",
    dilation: Any = 1,
    ceil_mode: bool = False,
    p: float = 2.0,
    count_include_pad: bool = False,
    divisor_override: int | None = None,
    is_global: bool = False,
    grad: bool = False,
) -> Explanation:
    """Compute an explanation of pooling `grid` (1-D or 2-D) with the public ops.

    Raises
    ------
    ValueError, TypeError
        From the public API when it rejects the arguments, or if `grid` is not 1-D or 2-D.
    """
    import poolkit as pk
    from ._spec import PoolSpec

    grid = np.asarray(grid)
    if grid.ndim not in (1, 2):
        raise ValueError(
            f"explain shows 1-D or 2-D grids; received an input of shape {grid.shape}"
        )
    one_d = grid.ndim == 1
    spatial = grid.shape
    x = grid.reshape(1, *spatial, 1)

    if is_global:
        geoms = [_global_geom(n) for n in spatial]
        params = "global pooling (one window over the whole input)"
    else:
        spec = PoolSpec.build(len(spatial), pool_size, strides, padding, dilation, ceil_mode)
        win = spec.resolve(spatial)
        mode = spec.padding if isinstance(spec.padding, str) and spec.padding != "valid" else "explicit"
        geoms = [
            DimGeometry(n, k, s, d, lo, hi, o, mode, spec.ceil_mode)
            for n, k, s, d, (lo, hi), o in zip(
                spatial, spec.window, spec.strides, spec.dilation, win.pads, win.out_shape
            )
        ]
        expected = pk.output_shape(x.shape, pool_size, strides, padding, dilation=dilation,
                                   ceil_mode=ceil_mode)
        if tuple(expected[1:-1]) != tuple(win.out_shape):
            raise RuntimeError(
                f"internal inconsistency: output_shape gives {expected}, windows give {win.out_shape}"
            )
        params = _describe_params(spec, padding)
    geoms2 = ([DimGeometry(1, 1, 1, 1, 0, 0, 1, "explicit", False)] if one_d else []) + geoms
    grid2 = grid.reshape(1, -1) if one_d else grid

    views = []
    for op in ops:
        views.append(_op_view(pk, op, x, grid2, geoms2, one_d, pool_size, strides, padding,
                              dilation, ceil_mode, p, count_include_pad, divisor_override,
                              is_global, grad))
    return Explanation(grid2, one_d, geoms2, views, params, is_global)


def _describe_params(spec: Any, padding: Any) -> str:
    def dims(t: tuple[int, ...]) -> str:
        return "x".join(str(v) for v in t)

    def same(t: tuple[int, ...]) -> str:
        return str(t[0]) if len(set(t)) == 1 else dims(t)

    parts = [f"{dims(spec.window)} window", f"stride {same(spec.strides)}"]
    if any(d != 1 for d in spec.dilation):
        parts.append(f"dilation {same(spec.dilation)}")
    parts.append(f"padding {padding!r}")
    if spec.ceil_mode:
        parts.append("ceil_mode")
    return ", ".join(parts)


def _op_view(pk, op, x, grid2, geoms2, one_d, pool_size, strides, padding, dilation, ceil_mode,
             p, count_include_pad, divisor_override, is_global, grad) -> OpView:
    kw = dict(strides=strides, padding=padding, dilation=dilation, ceil_mode=ceil_mode)
    idx = None
    if op == "max":
        if is_global:
            y = pk.global_max_pool(x, keepdims=True)
            idx = np.full(y.shape, -1, dtype=np.int64)
            flat = grid2.ravel()
            nan = np.flatnonzero(np.isnan(flat)) if flat.dtype.kind == "f" else np.array([])
            idx[...] = nan[0] if nan.size else int(np.argmax(flat))
        else:
            y, idx = pk.max_pool(x, pool_size, return_indices=True, **kw)
        title = "max pooling"
    elif op == "avg":
        if is_global:
            y = pk.global_avg_pool(x, keepdims=True)
        else:
            y = pk.avg_pool(x, pool_size, count_include_pad=count_include_pad,
                            divisor_override=divisor_override, **kw)
        title = "average pooling" + (", padding counted" if count_include_pad else "")
        if divisor_override is not None:
            title += f", divisor {divisor_override}"
    elif op == "lp":
        if is_global:
            y = pk.global_lp_pool(x, p, keepdims=True)
        else:
            y = pk.lp_pool(x, p, pool_size, **kw)
        title = f"L{fmt(p)} pooling"
    else:
        raise ValueError(f"`op` must be max, avg or lp; received op={op!r}")
    y2 = y[0, ..., 0].reshape(geoms2[0].out, geoms2[1].out)
    idx2 = None if idx is None else idx[0, ..., 0].reshape(y2.shape)
    gr, gc = geoms2
    windows = []
    for i, j in itertools.product(range(gr.out), range(gc.out)):
        if is_global:
            rows, cols = list(range(gr.size)), list(range(gc.size))
        else:
            rows, cols = gr.positions(i), gc.positions(j)
        cells = [(r, c) for r in rows for c in cols]
        real = [(r, c) for (r, c) in cells if 0 <= r < gr.size and 0 <= c < gc.size]
        value = float(y2[i, j])
        w = Window((i, j), cells, real, value)
        vals = [float(grid2[r, c]) for r, c in real]
        if op == "max":
            flat = int(idx2[i, j])
            w.winner = divmod(flat, gc.size)
            w.text = f"max({', '.join(fmt(v) for v in vals)}) = {fmt(value)}"
            w.grad = {w.winner: 1.0}
        elif op == "avg":
            if divisor_override is not None:
                div = divisor_override
            elif count_include_pad:
                div = (gr.clipped_count(i) if not is_global else gr.size) * (
                    gc.clipped_count(j) if not is_global else gc.size)
            else:
                div = len(real)
            terms = [fmt(v) for v in vals]
            if count_include_pad:
                terms += ["0"] * (div - len(real)) if divisor_override is None else []
            w.text = f"({' + '.join(terms)}) / {div} = {fmt(value)}"
            w.grad = {c: 1.0 / div for c in real}
        else:
            pp = fmt(p)
            if math.isinf(p):
                w.text = f"max(|{'|, |'.join(fmt(v) for v in vals)}|) = {fmt(value)}"
                if vals:
                    k = int(np.argmax(np.abs(vals)))
                    w.grad = {real[k]: float(np.sign(vals[k]))}
            else:
                w.text = (f"({' + '.join(f'|{fmt(v)}|^{pp}' for v in vals)})^(1/{pp})"
                          f" = {fmt(value)}")
                w.grad = {
                    c: (float(np.sign(v)) * abs(v) ** (p - 1) / value ** (p - 1) if value else 0.0)
                    for c, v in zip(real, vals)
                }
        windows.append(w)
    view = OpView(op, title, y2, windows, p=p)
    if grad:
        view.dx = _gradient(pk, op, x, grid2, windows, pool_size, kw, p, count_include_pad,
                            divisor_override, is_global)
    return view


def _gradient(pk, op, x, grid2, windows, pool_size, kw, p, count_include_pad, divisor_override,
              is_global) -> np.ndarray:
    """d(sum of outputs)/dx: from the public gradient API when present, else from the windows."""
    fn = getattr(pk, "grad", None)
    if fn is not None:
        xf = x.astype(np.float64)
        try:
            if is_global:
                f = {"max": pk.global_max_pool, "avg": pk.global_avg_pool,
                     "lp": pk.global_lp_pool}[op]
                args: tuple = (p,) if op == "lp" else ()
                y = f(xf, *args, keepdims=True)
                dx = fn(f, xf, np.ones_like(y), *args, keepdims=True)
            else:
                f = {"max": pk.max_pool, "avg": pk.avg_pool, "lp": pk.lp_pool}[op]
                args = (p, pool_size) if op == "lp" else (pool_size,)
                extra = dict(kw)
                if op == "avg":
                    extra.update(count_include_pad=count_include_pad,
                                 divisor_override=divisor_override)
                y = f(xf, *args, **extra)
                dx = fn(f, xf, np.ones_like(y), *args, **extra)
            return np.asarray(dx, dtype=np.float64).reshape(grid2.shape)
        except (TypeError, ValueError, NotImplementedError):
            pass
    dx = np.zeros(grid2.shape, dtype=np.float64)
    for w in windows:
        for (r, c), g in w.grad.items():
            dx[r, c] += g
    return dx


# --------------------------------------------------------------------------- text


def _cell_width(values: np.ndarray) -> int:
    return max([len(fmt(v)) for v in np.ravel(values)] + [1])


def grid_text(values: np.ndarray, width: int, geoms: Sequence[DimGeometry] | None = None,
              window: set | None = None, winner: tuple[int, int] | None = None,
              colour: bool = True, style: str = "bold black on yellow"):
    """Render a 2-D grid as rich Text, padding cells as ``·``, window cells in brackets.

    Cells of `window` appear as ``[v]`` (and highlighted), the `winner` as ``*v*``.
    """
    from rich.text import Text

    nr, nc = values.shape
    rlo = geoms[0].pad_lo if geoms else 0
    rhi = geoms[0].pad_hi if geoms else 0
    clo = geoms[1].pad_lo if geoms else 0
    chi = geoms[1].pad_hi if geoms else 0
    window = window or set()
    text = Text()
    for r in range(-rlo, nr + rhi):
        line = Text("  ")
        for c in range(-clo, nc + chi):
            pad = not (0 <= r < nr and 0 <= c < nc)
            s = "·" if pad else fmt(values[r, c])
            if (r, c) == winner:
                line.append(f"*{s}*".rjust(width + 2), style="bold white on red" if colour else "")
            elif (r, c) in window:
                line.append(f"[{s}]".rjust(width + 2), style=style if colour else "")
            else:
                line.append(f"{s} ".rjust(width + 2), style="dim" if pad else "")
            line.append(" ")
        text.append(line)
        text.append("\n")
    text.rstrip()
    return text


def render_text(exp: Explanation, console: Any, max_windows: int = 16) -> None:
    """Print an explanation to a rich console."""
    from rich.columns import Columns
    from rich.panel import Panel
    from rich.rule import Rule
    from rich.table import Table
    from rich.text import Text

    width = _cell_width(exp.grid)
    g = exp.geoms
    shape = f"{exp.grid.shape[1]}" if exp.one_d else f"{exp.grid.shape[0]}x{exp.grid.shape[1]}"
    console.print(Text(f"Pooling a {shape} input: {exp.params}", style="bold"))
    if exp.is_global:
        console.print(Text("One window covers the whole input and gives one output value."))
    else:
        console.print(Text("The window slides over the input a stride at a time; "
                           "each position gives one output cell."))
    console.print()
    console.print(Text("Input:", style="bold"))
    console.print(grid_text(exp.grid, width))
    console.print()

    names = ["length"] if exp.one_d else ["rows", "columns"]
    dims = g[1:] if exp.one_d else g
    console.print(Text("Output size" + ("" if exp.is_global else " and padding")
                       + ", per spatial dimension:", style="bold"))
    for name, geom in zip(names, dims):
        if exp.is_global:
            console.print(f"  {name}: global pooling takes one window over all {geom.size} cells: out = 1")
            continue
        lines = geom.formula()
        console.print(Text(f"  {name} (in={geom.size}, k={geom.kernel}, stride={geom.stride}"
                           + (f", dilation={geom.dilation}" if geom.dilation != 1 else "")
                           + f", pad={geom.pad_lo}+{geom.pad_hi}):"))
        for line in lines:
            console.print(Text("    " + line))
    if any(geom.pad_lo or geom.pad_hi for geom in g):
        console.print(Text("  · is a padding cell: it never wins a max and never counts in a",
                           style="dim"))
        console.print(Text("    mean (unless count_include_pad).", style="dim"))
    console.print()

    for view in exp.ops:
        console.print(Rule(Text(view.title, style="bold cyan")))
        legend = ("window (i, j) gives output cell (i, j); [v] marks its cells"
                  + (", *v* the maximum it selects" if view.op == "max" else ""))
        if exp.one_d:
            legend = legend.replace("(i, j)", "i")
        console.print(Text(legend, style="dim"))
        panels = []
        shown = view.windows[:max_windows]
        for w in shown:
            sel = set(w.cells)
            body = grid_text(exp.grid, width, g, window=sel, winner=w.winner,
                             colour=True)
            body.append("\n")
            body.append(w.text, style="bold")
            label = f"window {w.out[1]}" if exp.one_d else f"window ({w.out[0]}, {w.out[1]})"
            panels.append(Panel(body, title=label, expand=False, title_align="left"))
        per_row = 1 if exp.one_d else exp.geoms[1].out
        panel_w = len(exp.grid[0]) * (width + 3) + 8
        if (len(shown) == len(view.windows) and per_row * panel_w <= console.width
                and not exp.one_d):
            table = Table.grid(padding=(0, 1))
            for _ in range(per_row):
                table.add_column()
            for start in range(0, len(panels), per_row):
                table.add_row(*panels[start:start + per_row])
            console.print(table)
        else:
            console.print(Columns(panels))
        if len(view.windows) > len(shown):
            console.print(Text(f"  ... {len(view.windows) - len(shown)} more windows "
                               f"(raise --max-windows to see them)", style="dim"))
        oshape = f"{view.y.shape[1]}" if exp.one_d else f"{view.y.shape[0]}x{view.y.shape[1]}"
        console.print(Text(f"Output ({oshape}):", style="bold"))
        console.print(grid_text(view.y, _cell_width(view.y)))
        if view.dx is not None:
            console.print()
            console.print(Text("Gradient: each output's dy flows back to the cells it came from.",
                               style="bold"))
            if view.op == "max":
                console.print(Text("  max: only the selected cell gets dy; the others get 0.",
                                   style="dim"))
            elif view.op == "avg":
                console.print(Text("  avg: every real cell of the window gets dy / divisor.",
                                   style="dim"))
            elif math.isinf(view.p):
                console.print(Text("  L-inf: only the cell with the largest |x| gets "
                                   "dy * sign(x).", style="dim"))
            else:
                console.print(Text("  lp: cell x gets dy * sign(x) * |x|^(p-1) / y^(p-1).",
                                   style="dim"))
            for w in shown:
                tgt = ", ".join(
                    (f"x[{c}]" if exp.one_d else f"x[{r},{c}]") + ("" if gv == 1 else f" (x{fmt(gv)})")
                    for (r, c), gv in w.grad.items()
                )
                lab = f"y[{w.out[1]}]" if exp.one_d else f"y[{w.out[0]},{w.out[1]}]"
                console.print(Text(f"  dy at {lab} -> {tgt}"))
            console.print(Text("dx for dy = 1 at every output (sum over windows):", style="bold"))
            nz = {(r, c) for r, c in zip(*np.nonzero(view.dx))}
            console.print(grid_text(view.dx, _cell_width(view.dx), window=nz, style="bold black on green"))
        console.print()


# --------------------------------------------------------------------------- figure

PANEL_PX = 400  # each panel of the figure is PANEL_PX x PANEL_PX pixels


def figure_size(exp: Explanation) -> tuple[int, int]:
    """Pixel size (width, height) of the figure :func:`render_png` writes."""
    cols = 3 if any(v.dx is not None for v in exp.ops) else 2
    return cols * PANEL_PX, len(exp.ops) * PANEL_PX


def render_png(exp: Explanation, path: str, max_windows: int = 64) -> tuple[int, int]:
    """Draw the explanation (one row per op: input with windows, output[, gradient]) to a PNG.

    Returns
    -------
    (int, int)
        The figure's width and height in pixels.
    """
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    width, height = figure_size(exp)
    ncols = width // PANEL_PX
    dpi = 100
    fig, axes = plt.subplots(len(exp.ops), ncols, figsize=(width / dpi, height / dpi), dpi=dpi,
                             squeeze=False)
    g = exp.geoms
    nr, nc = exp.grid.shape
    fs = max(6, min(14, 120 // max(nr + g[0].pad_lo + g[0].pad_hi, nc + g[1].pad_lo + g[1].pad_hi, 1)))

    def draw_grid(ax, values, pads=((0, 0), (0, 0))):
        (rlo, rhi), (clo, chi) = pads
        vr, vc = values.shape
        ax.set_facecolor("white")
        for r in range(-rlo, vr + rhi):
            for c in range(-clo, vc + chi):
                if 0 <= r < vr and 0 <= c < vc:
                    ax.text(c, r, fmt(values[r, c]), ha="center", va="center", fontsize=fs)
                else:
                    ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, facecolor="#eeeeee",
                                           edgecolor="#bbbbbb", hatch="//", lw=0.5))
        ax.set_xlim(-clo - 0.6, vc + chi - 0.4)
        ax.set_ylim(vr + rhi - 0.4, -rlo - 0.6)
        ax.set_xticks(range(vc))
        ax.set_yticks([] if exp.one_d else range(vr))
        ax.tick_params(labelsize=7, length=0)
        for r in range(-rlo, vr + rhi + 1):
            ax.axhline(r - 0.5, color="#999999", lw=0.4)
        for c in range(-clo, vc + chi + 1):
            ax.axvline(c - 0.5, color="#999999", lw=0.4)

    pads = ((g[0].pad_lo, g[0].pad_hi), (g[1].pad_lo, g[1].pad_hi))
    for row, view in enumerate(exp.ops):
        ax_in, ax_out = axes[row, 0], axes[row, 1]
        draw_grid(ax_in, exp.grid, pads)
        ax_in.set_title(f"{view.title}: input and windows"
                        + ("\n(filled: the cell each window selects)" if view.op == "max" else ""),
                        fontsize=10)
        overlap = any(geom.stride < geom.effective_kernel for geom in g) and not exp.is_global
        for n, w in enumerate(view.windows[:max_windows]):
            col = WINDOW_COLOURS[n % len(WINDOW_COLOURS)]
            inset = 0.06 + 0.06 * (n % 4) if overlap else 0.06
            rows = sorted({r for r, _ in w.cells})
            cols = sorted({c for _, c in w.cells})
            contiguous = (rows[-1] - rows[0] + 1 == len(rows)) and (cols[-1] - cols[0] + 1 == len(cols))
            if contiguous:
                ax_in.add_patch(Rectangle((cols[0] - 0.5 + inset, rows[0] - 0.5 + inset),
                                          len(cols) - 2 * inset, len(rows) - 2 * inset,
                                          fill=False, edgecolor=col, lw=2))
            else:
                for r, c in w.cells:
                    ax_in.add_patch(Rectangle((c - 0.5 + inset, r - 0.5 + inset), 1 - 2 * inset,
                                              1 - 2 * inset, fill=False, edgecolor=col, lw=1.5))
            if w.winner is not None:
                r, c = w.winner
                ax_in.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, facecolor=col, alpha=0.3,
                                          edgecolor="none"))
        draw_grid(ax_out, view.y)
        oshape = "x".join(str(s) for s in (view.y.shape[1:] if exp.one_d else view.y.shape))
        ax_out.set_title(f"output ({oshape}), coloured like its window", fontsize=10)
        for n, w in enumerate(view.windows[:max_windows]):
            col = WINDOW_COLOURS[n % len(WINDOW_COLOURS)]
            i, j = w.out
            ax_out.add_patch(Rectangle((j - 0.45, i - 0.45), 0.9, 0.9, facecolor=col, alpha=0.15,
                                       edgecolor="none"))
            ax_out.add_patch(Rectangle((j - 0.45, i - 0.45), 0.9, 0.9, fill=False, edgecolor=col,
                                       lw=2))
        if ncols == 3:
            ax_g = axes[row, 2]
            if view.dx is not None:
                draw_grid(ax_g, view.dx)
                for r, c in zip(*np.nonzero(view.dx)):
                    ax_g.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, facecolor="#2ca02c",
                                             alpha=0.35, edgecolor="none"))
                ax_g.set_title("gradient dx when every output has dy = 1", fontsize=10)
            else:
                ax_g.axis("off")
    fig.suptitle(exp.params, fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return width, height
