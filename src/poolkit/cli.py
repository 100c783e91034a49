"""The ``poolkit`` command line: ``explain``, ``pool`` and ``compare``.

Needs the ``cli`` extra (typer, rich, matplotlib, pillow); importing :mod:`poolkit` itself never
imports them.  Run ``poolkit --help`` or ``python -m poolkit.cli --help``.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
import typer
from rich.console import Console

from . import __version__
from ._cli_geometry import parse_int_tuple, parse_padding
from ._cli_io import CLIError

app = typer.Typer(
    name="poolkit",
    help="Pooling (max, average, Lp, global, adaptive) explained, applied to images and arrays, "
    "and translated between PyTorch, TensorFlow/Keras and ONNX.",
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)

_OPS = ("max", "avg", "lp")


def _stdout() -> Console:
    return Console(highlight=False, soft_wrap=False)


def _fail(message: str, code: int = 1) -> None:
    """Print a one-line error on stderr and exit with a non-zero status."""
    Console(stderr=True, highlight=False, soft_wrap=True).print(
        f"[bold red]poolkit: error:[/bold red] {message}", markup=True
    )
    raise typer.Exit(code)


def _guard(fn: Callable[[], Any]) -> Any:
    """Run `fn`, turning expected failures into a one-line error and exit status 1."""
    try:
        return fn()
    except CLIError as exc:
        _fail(str(exc))
    except (ValueError, TypeError) as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc))
    except MemoryError:
        _fail("out of memory")
    except KeyboardInterrupt:
        _fail("interrupted", 130)


def _parse_p(text: str) -> float:
    t = text.strip().lower()
    if t in ("inf", "infinity", "+inf"):
        return math.inf
    try:
        return float(t)
    except ValueError:
        raise CLIError(f"`p` must be a positive number or inf; received p={text!r}") from None


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"poolkit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", "-V", callback=_version_callback, is_eager=True,
        help="Print the version and exit.",
    ),
) -> None:
    """Pooling explained, applied and translated between frameworks."""


# --------------------------------------------------------------------------- explain


@app.command(epilog="Examples: poolkit explain | poolkit explain --op all --grad | "
             "poolkit explain --pool 3 --stride 2 --padding same --input \"1 3 2 4 1; 5 6 1 2 0\" | "
             "poolkit explain --png pooling.png")
def explain(
    op: str = typer.Option("max,avg", "--op", help="max, avg, lp, a comma list (max,lp) or all."),
    pool: str = typer.Option("2", "--pool", help="Window size: 2, or one per dim: 2,3."),
    stride: Optional[str] = typer.Option(None, "--stride", help="Step: 2 or 2,1 (default: the window size)."),
    padding: str = typer.Option(
        "valid", "--padding",
        help="valid, same, same_lower, an int (1), ints per dim (1,0) or lo:hi pairs per dim (0:1,1:0).",
    ),
    dilation: str = typer.Option("1", "--dilation", help="Gap between window cells: 1 or 2,1."),
    ceil_mode: bool = typer.Option(False, "--ceil-mode", help="Round the output size up."),
    count_include_pad: bool = typer.Option(False, "--count-include-pad", help="avg: padding cells count in the divisor."),
    divisor_override: Optional[int] = typer.Option(None, "--divisor-override", help="avg: divide by this instead."),
    p: str = typer.Option("2", "--p", "-p", help="lp: the norm order (a number or inf)."),
    input: Optional[str] = typer.Option(
        None, "--input", "-i",
        help='The grid: inline "1 3 2 4; 5 6 1 2; ..." (rows split by ;, one row = 1-D) or a .npy/.csv file. '
        "Default: the 4x4 teaching example.",
    ),
    global_: bool = typer.Option(False, "--global", help="Global pooling: one window over everything."),
    grad: bool = typer.Option(False, "--grad", help="Show where the gradient of each output flows back to."),
    png: Optional[Path] = typer.Option(None, "--png", help="Also draw the explanation to this PNG file."),
    max_windows: int = typer.Option(16, "--max-windows", help="Show at most this many windows per op."),
) -> None:
    """Show pooling step by step: every window, its cells, its result, and the output size formula.

    With no options: the 4x4 example [[1,3,2,4],[5,6,1,2],[7,2,8,3],[4,5,9,0]] pooled with a 2x2
    window and stride 2, by max and by average.
    """
    from . import _explain

    def run() -> None:
        from ._cli_io import load_grid

        ops = _parse_ops(op)
        grid = _explain.SEED_GRID if input is None else load_grid(input)
        exp = _explain.build(
            grid, ops,
            pool_size=parse_int_tuple(pool, "pool_size"),
            strides=parse_int_tuple(stride, "strides"),
            padding=parse_padding(padding),
            dilation=parse_int_tuple(dilation, "dilation"),
            ceil_mode=ceil_mode,
            p=_parse_p(p),
            count_include_pad=count_include_pad,
            divisor_override=divisor_override,
            is_global=global_,
            grad=grad,
        )
        _explain.render_text(exp, _stdout(), max_windows=max(1, max_windows))
        if png is not None:
            if png.suffix.lower() != ".png":
                raise CLIError(f"--png needs a .png file name; received {str(png)!r}")
            w, h = _explain.render_png(exp, str(png))
            _stdout().print(f"wrote {png} ({w}x{h} pixels)")

    _guard(run)


def _parse_ops(text: str) -> list[str]:
    names = [t.strip().lower() for t in text.replace("+", ",").split(",") if t.strip()]
    if names == ["all"]:
        return list(_OPS)
    aliases = {"average": "avg", "mean": "avg", "maximum": "max"}
    out = []
    for n in names:
        n = aliases.get(n, n)
        if n not in _OPS:
            raise CLIError(f"`op` must be max, avg, lp, a comma list of them, or all; received op={text!r}")
        if n not in out:
            out.append(n)
    if not out:
        raise CLIError(f"`op` must not be empty; received op={text!r}")
    return out


# --------------------------------------------------------------------------- pool


@app.command(epilog="Examples: poolkit pool photo.jpg small.png --op avg | "
             "poolkit pool photo.png top.png --repeat 4 --pyramid levels/ | "
             "poolkit pool x.npy y.npy --layout NCHW --pool 3 --stride 2 --padding 1")
def pool(
    src: Path = typer.Argument(..., metavar="IN", help="Input image (PNG, JPEG, TIFF, ...) or .npy array."),
    dst: Path = typer.Argument(..., metavar="OUT", help="Output image or .npy file."),
    op: str = typer.Option("max", "--op", help="max, avg or lp."),
    pool_size: str = typer.Option("2", "--pool", help="Window size: 2, or one per spatial dim: 2,3."),
    stride: Optional[str] = typer.Option(None, "--stride", help="Step (default: the window size)."),
    padding: str = typer.Option("valid", "--padding", help="valid, same, same_lower, 1, 1,0 or 0:1,1:0."),
    dilation: str = typer.Option("1", "--dilation", help="Gap between window cells."),
    ceil_mode: bool = typer.Option(False, "--ceil-mode", help="Round the output size up."),
    count_include_pad: bool = typer.Option(False, "--count-include-pad", help="avg: padding counts in the divisor."),
    divisor_override: Optional[int] = typer.Option(None, "--divisor-override", help="avg: divide by this."),
    p: str = typer.Option("2", "--p", "-p", help="lp: the norm order (a number or inf)."),
    global_: bool = typer.Option(False, "--global", help="Global pooling (one value per channel)."),
    output_size: Optional[str] = typer.Option(
        None, "--output-size", help="Adaptive pooling to this output size (max or avg), e.g. 7 or 7,5."
    ),
    layout: Optional[str] = typer.Option(
        None, "--layout",
        help="Axis letters of a .npy input: N batch, C channels, others spatial (HW, HWC, CHW, NHWC, "
        "NCHW, NCDHW, W, ...). Default: N, spatial..., C.",
    ),
    repeat: int = typer.Option(1, "--repeat", "-r", min=1, help="Apply the pooling this many times."),
    pyramid: Optional[Path] = typer.Option(None, "--pyramid", help="Write every level into this directory."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Allow OUT to replace the input file."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar and no summary line."),
) -> None:
    """Pool an image (every colour channel separately) or a .npy array, once or as a pyramid."""

    def run() -> None:
        from . import _cli_pool

        _cli_pool.run_pool(
            src, dst, op=op, pool_size=parse_int_tuple(pool_size, "pool_size"),
            strides=parse_int_tuple(stride, "strides"), padding=parse_padding(padding),
            dilation=parse_int_tuple(dilation, "dilation"), ceil_mode=ceil_mode,
            count_include_pad=count_include_pad, divisor_override=divisor_override,
            p=_parse_p(p), is_global=global_, output_size=parse_int_tuple(output_size, "output_size"),
            layout=layout, repeat=repeat, pyramid=pyramid, overwrite=overwrite, quiet=quiet,
            console=_stdout(),
        )

    _guard(run)


# --------------------------------------------------------------------------- compare


@app.command(epilog="Examples: poolkit compare --from torch --op avg --pool 3 --stride 2 --padding 1 | "
             "poolkit compare --from tf --pool 3 --stride 2 --padding same --input-size 224,224")
def compare(
    from_: str = typer.Option(..., "--from", help="The framework your arguments are written for: torch, tf, keras or onnx."),
    op: str = typer.Option("max", "--op", help="max, avg or lp."),
    pool_size: str = typer.Option(..., "--pool", help="kernel_size / pool_size / ksize / kernel_shape: 3 or 3,3."),
    stride: Optional[str] = typer.Option(None, "--stride", help="stride(s); default: the window size."),
    padding: Optional[str] = typer.Option(
        None, "--padding",
        help="torch: an int or ints per dim (symmetric); tf/keras: valid or same; "
        "onnx: VALID, SAME_UPPER, SAME_LOWER or NOTSET (then give --pads).",
    ),
    pads: Optional[str] = typer.Option(None, "--pads", help="onnx: pads as begins then ends, e.g. 0,0,1,1."),
    dilation: Optional[str] = typer.Option(None, "--dilation", help="dilation(s) (torch max, onnx, tf.nn.pool)."),
    ceil_mode: bool = typer.Option(False, "--ceil-mode", help="torch/onnx ceil_mode."),
    count_include_pad: Optional[bool] = typer.Option(
        None, "--count-include-pad/--no-count-include-pad",
        help="avg: count padding in the divisor (framework default when omitted: torch True, onnx False).",
    ),
    divisor_override: Optional[int] = typer.Option(None, "--divisor-override", help="torch avg divisor_override."),
    p: str = typer.Option("2", "--p", "-p", help="lp: the norm order."),
    input_size: Optional[str] = typer.Option(
        None, "--input-size", help="Spatial input size, e.g. 224,224: needed to answer SAME-padding questions exactly.",
    ),
    dims: Optional[int] = typer.Option(None, "--dims", min=1, max=3, help="Number of spatial dims (default: from the other options, else 2)."),
    as_json: bool = typer.Option(False, "--json", help="Print the answer as JSON."),
) -> None:
    """Translate pooling arguments from one framework to the others, or say why it cannot be done."""

    def run() -> None:
        from . import _cli_compare

        _cli_compare.run_compare(
            framework=from_, op=op, pool_size=pool_size, stride=stride, padding=padding, pads=pads,
            dilation=dilation, ceil_mode=ceil_mode, count_include_pad=count_include_pad,
            divisor_override=divisor_override, p=_parse_p(p), input_size=input_size, dims=dims,
            as_json=as_json, console=_stdout(),
        )

    _guard(run)


# --------------------------------------------------------------------------- precompile


@app.command(epilog="Examples: poolkit precompile | poolkit precompile --processes 4 --dtypes float32,uint8")
def precompile(
    processes: Optional[int] = typer.Option(
        None, "--processes", "-j", min=1, help="Worker processes (default: the CPUs available)."),
    dtypes: Optional[str] = typer.Option(
        None, "--dtypes", help="Input dtypes to compile for, e.g. float32,float16 (default: all)."),
) -> None:
    """Compile every kernel into Numba's on-disk cache now, in parallel, so that no first call
    pays for it later (minutes on a fresh machine, done once)."""

    def run() -> None:
        from ._precompile import DTYPES, precompile as compile_all

        names = DTYPES if dtypes is None else tuple(d.strip() for d in dtypes.split(",") if d.strip())
        info = compile_all(processes, names)
        typer.echo(f"{info['signatures']} kernel signatures ({info['kernels']} kernels) compiled or "
                   f"loaded in {info['seconds']} s on {info['processes']} processes")

    _guard(run)


def main(argv: Optional[list[str]] = None) -> None:
    """Console-script entry point."""
    if argv is not None:
        sys.argv = [sys.argv[0], *argv]
    os.environ.setdefault("MPLBACKEND", "Agg")
    app(prog_name="poolkit")


if __name__ == "__main__":
    main()
