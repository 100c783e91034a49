"""The one registry of poolkit's pooling ops, shared by the test-suite and the benchmarks.

Each :class:`OpEntry` ties a public poolkit function (looked up lazily by name, so importing
this module never imports poolkit's kernels) to its slow loop reference from
:mod:`tests.reference`, the reference backward pass, the dtypes it accepts and a canonical
example call.  Benchmarks use it to pick ops and to check a result before timing it::

    from tests.registry import OPS, make_input, check_op

    entry = OPS["max_pool"]
    x = make_input((2, 8, 8, 3), "float32")
    check_op(entry, x, *entry.example_args, **entry.example_kwargs)   # raises on mismatch
    y = entry.func(x, *entry.example_args, **entry.example_kwargs)

Tolerances: max-type results (values and indices) must match exactly; means and norms use
:func:`tolerance` of the *result* dtype.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from . import reference

__all__ = [
    "OpEntry",
    "OPS",
    "FLOAT_DTYPES",
    "INT_DTYPES",
    "ALL_DTYPES",
    "tolerance",
    "result_dtype",
    "make_input",
    "layout_variants",
    "assert_matches",
    "check_op",
]

FLOAT_DTYPES: tuple[str, ...] = ("float16", "float32", "float64")
INT_DTYPES: tuple[str, ...] = ("int8", "uint8", "int16", "int32", "int64")
ALL_DTYPES: tuple[str, ...] = FLOAT_DTYPES + INT_DTYPES


@dataclass(frozen=True)
class OpEntry:
    """One pooling op.

    Attributes
    ----------
    name : str
        Name of the public function in :mod:`poolkit` (``"max_pool"``).
    reference : callable
        Loop reference from :mod:`tests.reference` with the same signature.
    reference_grad : callable or None
        Reference backward pass ``(x, dy, *args, **kwargs) -> dx`` (float64).
    dtypes : tuple of str
        Input dtypes the op accepts.
    kind : str
        ``"windowed"``, ``"global"`` or ``"adaptive"``.
    exact : bool
        True for max-type ops whose values must match bit for bit.
    has_indices : bool
        True when the op accepts ``return_indices``.
    example_args, example_kwargs
        A canonical call ``func(x, *example_args, **example_kwargs)`` valid for a
        channels-last 2-D input of spatial size at least 4x4.
    """

    name: str
    reference: Callable[..., Any]
    reference_grad: Callable[..., Any] | None
    dtypes: tuple[str, ...]
    kind: str
    exact: bool
    has_indices: bool = False
    example_args: tuple = ()
    example_kwargs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def func(self) -> Callable[..., Any]:
        """The poolkit public function, imported on first use."""
        return getattr(importlib.import_module("poolkit"), self.name)


def _entry(name, kind, exact, has_indices=False, args=(), kwargs=None) -> OpEntry:
    return OpEntry(
        name=name,
        reference=getattr(reference, name),
        reference_grad=getattr(reference, name + "_grad", None),
        dtypes=ALL_DTYPES,
        kind=kind,
        exact=exact,
        has_indices=has_indices,
        example_args=args,
        example_kwargs=dict(kwargs or {}),
    )


OPS: dict[str, OpEntry] = {
    e.name: e
    for e in (
        _entry("max_pool", "windowed", True, True, (3,), {"strides": 2, "padding": "same"}),
        _entry("avg_pool", "windowed", False, False, (3,), {"strides": 2, "padding": "same"}),
        _entry("lp_pool", "windowed", False, False, (2, 3), {"strides": 2, "padding": "same"}),
        _entry("global_max_pool", "global", True),
        _entry("global_avg_pool", "global", False),
        _entry("global_lp_pool", "global", False, False, (2,)),
        _entry("adaptive_max_pool", "adaptive", True, True, ((3, 2),)),
        _entry("adaptive_avg_pool", "adaptive", False, False, ((3, 2),)),
    )
}


def result_dtype(op_name: str, in_dtype: Any) -> np.dtype:
    """Dtype the contract promises for ``op_name`` applied to an ``in_dtype`` input."""
    in_dtype = np.dtype(in_dtype)
    if OPS[op_name].exact:
        return in_dtype
    if in_dtype.kind == "f":
        return in_dtype
    return np.dtype(np.float64)


def tolerance(dtype: Any) -> tuple[float, float]:
    """``(rtol, atol)`` for comparing a non-exact result of the given dtype to the reference."""
    dtype = np.dtype(dtype)
    if dtype == np.float16:
        return 2e-3, 2e-3
    if dtype == np.float32:
        return 2e-5, 1e-6
    return 1e-12, 1e-12


def make_input(shape: tuple[int, ...], dtype: Any, rng: np.random.Generator | int | None = 0,
               *, ties: bool = False) -> np.ndarray:
    """Random test input: small integers for int dtypes (full signed/unsigned spread), normals
    for floats.  ``ties=True`` draws from a handful of values so windows contain ties."""
    rng = np.random.default_rng(rng)
    dtype = np.dtype(dtype)
    if ties:
        return rng.integers(-2, 3, size=shape).astype(dtype) if dtype.kind != "u" else \
            rng.integers(0, 3, size=shape).astype(dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        lo, hi = max(int(info.min), -100), min(int(info.max), 100)
        return rng.integers(lo, hi + 1, size=shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def layout_variants(x: np.ndarray) -> dict[str, np.ndarray]:
    """``x``'s values in arrays laid out otherwise: Fortran order, a strided view, a negative
    stride, read-only, and a channels-last view of channels-first memory."""
    big = np.zeros((x.shape[0] * 2, *[s * 2 for s in x.shape[1:]]), dtype=x.dtype)
    strided = big[(slice(None, None, 2),) * x.ndim]
    strided[...] = x
    ro = x.copy()
    ro.setflags(write=False)
    neg = np.zeros_like(x)
    flipped = neg[..., ::-1]
    flipped[...] = x
    return {
        "fortran": np.asfortranarray(x),
        "strided_view": strided,
        "negative_stride": flipped,
        "read_only": ro,
        "transposed_view": np.moveaxis(np.ascontiguousarray(np.moveaxis(x, -1, 1)), 1, -1),
    }


def assert_matches(entry: OpEntry, got: Any, expected: Any, in_dtype: Any) -> None:
    """Assert that poolkit's result ``got`` equals the reference result ``expected``.

    Checks shape and the contract dtype; exact equality (NaN == NaN) for max-type values and for
    indices, :func:`tolerance` of the result dtype otherwise.
    """
    if isinstance(expected, tuple):
        if not isinstance(got, tuple) or len(got) != len(expected):
            raise AssertionError(f"{entry.name}: expected a {len(expected)}-tuple, got {type(got)}")
        y, idx = got
        ey, eidx = expected
        assert_matches(entry, y, ey, in_dtype)
        idx = np.asarray(idx)
        if idx.dtype != np.int64:
            raise AssertionError(f"{entry.name}: indices dtype {idx.dtype}, expected int64")
        np.testing.assert_array_equal(idx, eidx, err_msg=f"{entry.name}: indices differ")
        return
    got = np.asarray(got)
    want_dtype = result_dtype(entry.name, in_dtype)
    if got.shape != expected.shape:
        raise AssertionError(f"{entry.name}: shape {got.shape}, expected {expected.shape}")
    if got.dtype != want_dtype:
        raise AssertionError(f"{entry.name}: dtype {got.dtype}, expected {want_dtype}")
    if entry.exact:
        np.testing.assert_array_equal(got, expected, err_msg=f"{entry.name}: values differ")
    else:
        rtol, atol = tolerance(want_dtype)
        np.testing.assert_allclose(
            got.astype(np.float64), np.asarray(expected, dtype=np.float64), rtol=rtol, atol=atol,
            err_msg=f"{entry.name}: values differ",
        )


def check_op(entry: OpEntry, x: np.ndarray, *args: Any, **kwargs: Any) -> Any:
    """Run poolkit and the reference on ``x`` and assert they agree; return poolkit's result."""
    got = entry.func(x, *args, **kwargs)
    expected = entry.reference(x, *args, **kwargs)
    assert_matches(entry, got, expected, np.asarray(x).dtype)
    return got
