"""File and text input/output for the command line (grids, arrays, images)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp"}
ARRAY_SUFFIXES = {".npy"}


class CLIError(Exception):
    """An error reported to the user as one line, without a traceback."""


def parse_grid(text: str) -> np.ndarray:
    """Parse an inline grid such as ``"1 3 2 4; 5 6 1 2"`` (rows split by ``;`` or newlines).

    A single row without ``;`` is a 1-D signal.  Integers give an int64 array, anything else
    float64.

    Raises
    ------
    CLIError
        If the rows are ragged or a cell is not a number.
    """
    rows_text = [r for r in text.replace("\n", ";").split(";") if r.strip()]
    if not rows_text:
        raise CLIError(f"--input grid is empty: {text!r}")
    rows = [[c for c in r.replace(",", " ").split() if c] for r in rows_text]
    widths = {len(r) for r in rows}
    if len(widths) != 1:
        raise CLIError(
            f"--input rows must all have the same number of cells; got row lengths "
            f"{[len(r) for r in rows]} in {text!r}"
        )
    try:
        if all(_is_int(c) for r in rows for c in r):
            arr = np.array([[int(c) for c in r] for r in rows], dtype=np.int64)
        else:
            arr = np.array([[float(c) for c in r] for r in rows], dtype=np.float64)
    except ValueError:
        raise CLIError(f"--input cells must be numbers; received {text!r}") from None
    if ";" not in text and "\n" not in text.strip():
        arr = arr[0]
    return arr


def _is_int(c: str) -> bool:
    try:
        int(c)
        return True
    except ValueError:
        return False


def load_grid(spec: str) -> np.ndarray:
    """Load an explain grid: inline text, or a ``.npy`` / ``.csv`` file."""
    low = spec.lower()
    if low.endswith((".npy", ".csv", ".txt")) or os.path.isfile(spec):
        path = Path(spec)
        if not path.is_file():
            raise CLIError(f"input file not found: {spec}")
        try:
            if low.endswith(".npy"):
                arr = np.load(path, allow_pickle=False)
            else:
                arr = np.loadtxt(path, delimiter="," if low.endswith(".csv") else None, ndmin=2)
                if np.all(arr == np.round(arr)) and np.all(np.abs(arr) < 2**53):
                    arr = arr.astype(np.int64)
        except (OSError, ValueError) as exc:
            raise CLIError(f"cannot read {spec}: {exc}") from None
        return np.asarray(arr)
    return parse_grid(spec)


# --------------------------------------------------------------------------- arrays & layouts


def parse_layout(layout: str, ndim: int) -> str:
    """Check a layout string such as ``NHWC``, ``CHW``, ``HW`` or ``NCDHW`` against an array rank.

    Letters ``N`` (batch) and ``C`` (channels) are optional; every other letter is a spatial dim.
    """
    lay = layout.strip().upper()
    if len(set(lay)) != len(lay) or not lay.isalpha():
        raise CLIError(f"--layout must be distinct letters such as NHWC or CHW; received {layout!r}")
    if len(lay) != ndim:
        raise CLIError(f"--layout {layout!r} has {len(lay)} letters but the array has {ndim} dims")
    nsp = len(lay) - ("N" in lay) - ("C" in lay)
    if not 1 <= nsp <= 3:
        raise CLIError(f"--layout {layout!r} must have 1 to 3 spatial dims; it has {nsp}")
    return lay


def default_layout(ndim: int) -> str:
    """The API's channels_last convention ``(N, *spatial, C)`` for an array of rank `ndim`."""
    return {3: "NWC", 4: "NHWC", 5: "NDHWC"}.get(ndim, "")


def to_channels_last(arr: np.ndarray, layout: str) -> np.ndarray:
    """Transpose/expand an array in `layout` to ``(N, *spatial, C)``."""
    lay = layout
    if "N" not in lay:
        arr = arr[np.newaxis]
        lay = "N" + lay
    if "C" not in lay:
        arr = arr[..., np.newaxis]
        lay = lay + "C"
    spatial = [i for i, ch in enumerate(lay) if ch not in "NC"]
    order = [lay.index("N"), *spatial, lay.index("C")]
    return np.transpose(arr, order)


def from_channels_last(arr: np.ndarray, layout: str) -> np.ndarray:
    """Inverse of :func:`to_channels_last` for the pooled array."""
    full = layout
    if "N" not in full:
        full = "N" + full
    if "C" not in full:
        full = full + "C"
    spatial = [ch for ch in full if ch not in "NC"]
    current = ["N", *spatial, "C"]
    arr = np.transpose(arr, [current.index(ch) for ch in full])
    if "C" not in layout:
        arr = arr[..., 0] if full.endswith("C") else np.take(arr, 0, axis=full.index("C"))
    if "N" not in layout:
        arr = arr[0]
    return arr


# --------------------------------------------------------------------------- images


def kind_of(path: str | os.PathLike) -> str:
    """``"image"`` or ``"array"`` from the file name suffix."""
    suffix = Path(path).suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return "image"
    if suffix in ARRAY_SUFFIXES:
        return "array"
    raise CLIError(
        f"unsupported file type {suffix or '(none)'!r} for {path}; use .npy or an image "
        f"({', '.join(sorted(IMAGE_SUFFIXES))})"
    )


def read_image(path: Path) -> tuple[np.ndarray, str]:
    """Read an image as an ``(H, W, C)`` array; returns the array and the Pillow mode it came in."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img.load()
            mode = img.mode
            if mode in ("P", "PA", "CMYK", "YCbCr", "LAB", "HSV"):
                img = img.convert("RGBA" if "transparency" in img.info or mode == "PA" else "RGB")
            elif mode == "1":
                img = img.convert("L")
            elif mode == "LA":
                pass
            arr = np.asarray(img)
            mode = img.mode
    except UnidentifiedImageError:
        raise CLIError(f"cannot read {path}: not an image Pillow understands") from None
    except OSError as exc:
        raise CLIError(f"cannot read {path}: {exc}") from None
    if arr.dtype == np.uint16:
        arr = arr.astype(np.int32)
    if arr.ndim == 2:
        arr = arr[:, :, np.newaxis]
    return arr, mode


def write_image(path: Path, arr: np.ndarray, mode: str) -> None:
    """Write an ``(H, W, C)`` array as an image, rounding/clipping back to the source's range."""
    from PIL import Image

    c = arr.shape[-1]
    if mode in ("I", "I;16", "I;16B", "I;16L") and c == 1:
        hi = 65535 if mode.startswith("I;16") else 2**31 - 1
        lo = 0 if mode.startswith("I;16") else -(2**31)
        data = np.clip(np.rint(arr[..., 0]), lo, hi)
        img = Image.fromarray(data.astype(np.uint16 if mode.startswith("I;16") else np.int32))
    elif mode == "F" and c == 1:
        img = Image.fromarray(arr[..., 0].astype(np.float32))
    else:
        data = arr
        if data.dtype != np.uint8:
            data = np.clip(np.rint(data), 0, 255).astype(np.uint8)
        target = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}.get(c)
        if target is None:
            raise CLIError(f"cannot write {c} channels as an image; use a .npy output")
        img = Image.fromarray(data[..., 0] if c == 1 else data)
        if img.mode != target:
            img = img.convert(target)
    try:
        img.save(path)
    except (OSError, ValueError, KeyError) as exc:
        raise CLIError(f"cannot write {path}: {exc}") from None
