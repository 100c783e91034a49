"""``poolkit pool IN OUT``: pool an image or a ``.npy`` array, once or level by level."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ._cli_io import (
    CLIError,
    default_layout,
    from_channels_last,
    kind_of,
    parse_layout,
    read_image,
    to_channels_last,
    write_image,
)

# Pool in pieces of about this many input elements so the progress bar can move.
_CHUNK_ELEMENTS = 1 << 22
# Show a progress bar only when the whole job touches more elements than this.
_PROGRESS_ELEMENTS = 1 << 24


def make_pool_fn(op: str, pool_size: Any, strides: Any, padding: Any, dilation: Any,
                 ceil_mode: bool, count_include_pad: bool, divisor_override: int | None,
                 p: float, is_global: bool, output_size: Any) -> tuple[Callable, str]:
    """Return a function pooling a channels_last array with the chosen op, and a description."""
    import poolkit as pk

    op = {"average": "avg", "mean": "avg", "maximum": "max"}.get(op.lower(), op.lower())
    if op not in ("max", "avg", "lp"):
        raise CLIError(f"`op` must be max, avg or lp; received op={op!r}")
    if is_global and output_size is not None:
        raise CLIError("--global and --output-size exclude each other")
    if is_global:
        f = {"max": pk.global_max_pool, "avg": pk.global_avg_pool}.get(op)
        if op == "lp":
            return (lambda x: pk.global_lp_pool(x, p, keepdims=True)), f"global L{p:g} pooling"
        return (lambda x: f(x, keepdims=True)), f"global {op} pooling"
    if output_size is not None:
        if op == "lp":
            raise CLIError("adaptive pooling (--output-size) is available for max and avg only")
        f = pk.adaptive_max_pool if op == "max" else pk.adaptive_avg_pool
        return (lambda x: f(x, output_size)), f"adaptive {op} pooling to {output_size}"
    kw = dict(strides=strides, padding=padding, dilation=dilation, ceil_mode=ceil_mode)
    if op == "max":
        fn = lambda x: pk.max_pool(x, pool_size, **kw)  # noqa: E731
    elif op == "avg":
        fn = lambda x: pk.avg_pool(x, pool_size, count_include_pad=count_include_pad,  # noqa: E731
                                   divisor_override=divisor_override, **kw)
    else:
        fn = lambda x: pk.lp_pool(x, p, pool_size, **kw)  # noqa: E731
    desc = f"{op} pooling {pool_size}" + (f" stride {strides}" if strides is not None else "")
    if padding != "valid":
        desc += f" padding {padding}"
    return fn, desc


def _pool_chunked(fn: Callable, x: np.ndarray, advance: Callable[[int], None]) -> np.ndarray:
    """Pool a channels_last array piece by piece along batch and channels (they are independent)."""
    n, c = x.shape[0], x.shape[-1]
    plane = int(np.prod(x.shape[1:-1]))
    per_piece = max(1, _CHUNK_ELEMENTS // max(plane, 1))
    if plane * n * c <= _CHUNK_ELEMENTS:
        y = fn(x)
        advance(x.size)
        return y
    outs = []
    for b in range(n):
        parts = []
        for c0 in range(0, c, per_piece):
            piece = np.ascontiguousarray(x[b:b + 1, ..., c0:c0 + per_piece])
            parts.append(fn(piece))
            advance(piece.size)
        outs.append(np.concatenate(parts, axis=-1))
    return np.concatenate(outs, axis=0)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def run_pool(src: Path, dst: Path, *, op: str, pool_size: Any, strides: Any, padding: Any,
             dilation: Any, ceil_mode: bool, count_include_pad: bool,
             divisor_override: int | None, p: float, is_global: bool, output_size: Any,
             layout: str | None, repeat: int, pyramid: Path | None, overwrite: bool, quiet: bool,
             console: Any) -> None:
    """Read `src`, pool it `repeat` times, write `dst` (and every level under `pyramid`)."""
    if not src.exists():
        raise CLIError(f"input file not found: {src}")
    if src.is_dir():
        raise CLIError(f"input is a directory, not a file: {src}")
    in_kind = kind_of(src)
    kind_of(dst)
    if not dst.parent.exists():
        raise CLIError(f"output directory does not exist: {dst.parent}")
    if _same_file(src, dst) and not overwrite:
        raise CLIError(f"refusing to overwrite the input file {src}; pass --overwrite to allow it")

    mode = ""
    if in_kind == "image":
        if layout is not None:
            raise CLIError("--layout applies to .npy inputs only (images are height x width x channels)")
        data, mode = read_image(src)
        lay = "HWC"
    else:
        try:
            data = np.load(src, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise CLIError(f"cannot read {src}: {exc}") from None
        lay = parse_layout(layout, data.ndim) if layout else default_layout(data.ndim)
        if not lay:
            raise CLIError(
                f"{src} has {data.ndim} dims; pass --layout (e.g. HW, HWC, NCHW) to say which are spatial"
            )
    x = to_channels_last(np.asarray(data), lay)
    fn, desc = make_pool_fn(op, pool_size, strides, padding, dilation, ceil_mode,
                            count_include_pad, divisor_override, p, is_global, output_size)

    # Estimate the work (input elements over all levels) for the progress bar.
    import poolkit as pk

    sizes = []
    shape = x.shape
    for _ in range(repeat):
        sizes.append(int(np.prod(shape)))
        if is_global:
            shape = (shape[0],) + (1,) * (len(shape) - 2) + (shape[-1],)
        elif output_size is not None:
            nd = len(shape) - 2
            osz = (output_size,) * nd if isinstance(output_size, int) else tuple(output_size)
            shape = (shape[0], *osz, shape[-1])
        else:
            shape = tuple(pk.output_shape(shape, pool_size, strides, padding, dilation=dilation,
                                          ceil_mode=ceil_mode))
    total = sum(sizes)

    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    err_console = Console(stderr=True)
    show = (not quiet) and err_console.is_terminal and total > _PROGRESS_ELEMENTS
    levels = []
    with Progress(TextColumn("[progress.description]{task.description}"), BarColumn(),
                  TextColumn("{task.percentage:>3.0f}%"), TimeRemainingColumn(),
                  console=err_console, transient=True, disable=not show) as progress:
        task = progress.add_task(f"pooling {src.name}", total=total)
        cur = x
        for level in range(1, repeat + 1):
            progress.update(task, description=f"pooling {src.name}: level {level}/{repeat}")
            cur = _pool_chunked(fn, cur, lambda k: progress.advance(task, k))
            levels.append(cur)

    def save(path: Path, arr_cl: np.ndarray) -> None:
        if _same_file(src, path) and not overwrite:
            raise CLIError(f"refusing to overwrite the input file {src}; pass --overwrite to allow it")
        if kind_of(path) == "array":
            np.save(path, from_channels_last(arr_cl, lay))
            return
        if arr_cl.shape[0] != 1 or arr_cl.ndim != 4:
            raise CLIError(
                f"cannot write an array of shape {arr_cl.shape} (batch, spatial..., channels) as an "
                f"image; use a .npy output"
            )
        write_image(path, arr_cl[0], mode)

    if pyramid is not None:
        if pyramid.exists() and not pyramid.is_dir():
            raise CLIError(f"--pyramid must be a directory; {pyramid} is a file")
        pyramid.mkdir(parents=True, exist_ok=True)
        for level, arr in enumerate(levels, start=1):
            save(pyramid / f"{dst.stem}_level{level}{dst.suffix}", arr)
    save(dst, levels[-1])
    if not quiet:
        def shp(a: np.ndarray) -> str:
            return "x".join(str(v) for v in from_channels_last(a, lay).shape)

        console.print(
            f"wrote {dst}: {shp(levels[-1])} {levels[-1].dtype} from {shp(x)} {x.dtype} "
            f"({desc}{f', {repeat} levels' if repeat > 1 else ''})"
            + (f"; levels in {pyramid}" if pyramid is not None else ""),
            soft_wrap=True,
        )
