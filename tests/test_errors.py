"""Bad arguments raise ValueError/TypeError naming the argument and echoing the received value.

The contract's message form is "`strides` must be positive integers; received strides=(0, 2)":
every check below asserts the back-quoted argument name and the ``repr`` of the bad value (or,
for arrays, the offending shape or dtype) appear in the message.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import poolkit as pk

X2 = np.zeros((2, 6, 5, 3), dtype=np.float32)  # channels_last, 2 spatial dims

WINDOWED: dict[str, Callable[..., Any]] = {
    "max_pool": lambda x, *a, **k: pk.max_pool(x, *a, **k),
    "avg_pool": lambda x, *a, **k: pk.avg_pool(x, *a, **k),
    "lp_pool": lambda x, *a, **k: pk.lp_pool(x, 2, *a, **k),
    "output_shape": lambda x, *a, **k: pk.output_shape(x.shape, *a, **k),
}


def check_error(call: Callable[[], Any], name: str, *echoes: str) -> None:
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    msg = str(info.value)
    assert f"`{name}`" in msg, f"message does not name `{name}`: {msg!r}"
    for echo in echoes:
        assert echo in msg, f"message does not echo {echo!r}: {msg!r}"


BAD_WINDOW_ARGS = [
    ("pool_size", 0),
    ("pool_size", -2),
    ("pool_size", (2, 0)),
    ("pool_size", (2, 2, 2)),  # wrong length for 2 spatial dims
    ("pool_size", (2,)),
    ("pool_size", 2.5),
    ("pool_size", "2"),
    ("strides", 0),
    ("strides", (0, 2)),
    ("strides", (1, -1)),
    ("strides", (1, 1, 1)),
    ("dilation", 0),
    ("dilation", (1, 0)),
    ("dilation", (1, 2, 3)),
]


@pytest.mark.parametrize("name,value", BAD_WINDOW_ARGS, ids=[f"{n}={v!r}" for n, v in BAD_WINDOW_ARGS])
@pytest.mark.parametrize("op", list(WINDOWED))
def test_bad_window_arguments(op: str, name: str, value: Any) -> None:
    kwargs: dict[str, Any] = {"pool_size": 2}
    kwargs[name] = value
    pool_size = kwargs.pop("pool_size")
    check_error(lambda: WINDOWED[op](X2, pool_size, **kwargs), name, repr(value))


BAD_PADDING = ["full", "", "causal", -1, (1, -1), (1, 2, 3), ((1, 1),), ((1, 1), (1,)),
               ((0, -1), (0, 0)), ((1, 2, 3), (0, 0)), 1.5, None]


@pytest.mark.parametrize("padding", BAD_PADDING, ids=[repr(p) for p in BAD_PADDING])
@pytest.mark.parametrize("op", list(WINDOWED))
def test_bad_padding(op: str, padding: Any) -> None:
    check_error(lambda: WINDOWED[op](X2, 2, 1, padding), "padding", repr(padding))


@pytest.mark.parametrize("op", list(WINDOWED))
def test_padding_wider_than_window(op: str) -> None:
    check_error(lambda: WINDOWED[op](X2, 2, 1, 3), "padding", "3")
    check_error(lambda: WINDOWED[op](X2, (2, 3), 1, ((0, 0), (0, 4))), "padding", "4")


@pytest.mark.parametrize("op", list(WINDOWED))
def test_window_larger_than_padded_input(op: str) -> None:
    # spatial (6, 5): a 7-wide window does not fit, even with one cell of padding per side
    with pytest.raises(ValueError) as info:
        WINDOWED[op](X2, 7, 1, "valid")
    assert "7" in str(info.value)
    with pytest.raises(ValueError):
        WINDOWED[op](X2, (3, 8), 1, 1)
    with pytest.raises(ValueError):  # dilated window: (3 - 1) * 3 + 1 = 7 > 6
        WINDOWED[op](X2, 3, 1, dilation=3)


ALL_OPS: dict[str, Callable[..., Any]] = {
    **{k: v for k, v in WINDOWED.items() if k != "output_shape"},
    "global_max_pool": lambda x, **k: pk.global_max_pool(x, **k),
    "global_avg_pool": lambda x, **k: pk.global_avg_pool(x, **k),
    "global_lp_pool": lambda x, **k: pk.global_lp_pool(x, **k),
    "adaptive_max_pool": lambda x, **k: pk.adaptive_max_pool(x, 2, **k),
    "adaptive_avg_pool": lambda x, **k: pk.adaptive_avg_pool(x, 2, **k),
}


def _call(op: str, x: Any, **kwargs: Any) -> Any:
    if op in WINDOWED:
        return ALL_OPS[op](x, 2, **kwargs)
    return ALL_OPS[op](x, **kwargs)


@pytest.mark.parametrize("shape", [(4,), (2, 3), (1, 2, 2, 2, 2, 2)], ids=str)
@pytest.mark.parametrize("op", list(ALL_OPS))
def test_wrong_rank(op: str, shape: tuple) -> None:
    x = np.zeros(shape, dtype=np.float32)
    check_error(lambda: _call(op, x), "x", repr(shape))


@pytest.mark.parametrize("dtype", ["bool", "complex64", "complex128", "object", "U1", "float128"
                                   if hasattr(np, "float128") else "longdouble"])
@pytest.mark.parametrize("op", list(ALL_OPS))
def test_bad_dtype(op: str, dtype: str) -> None:
    x = np.zeros((1, 4, 4, 1), dtype=dtype)
    check_error(lambda: _call(op, x), "x", str(np.dtype(dtype)))


# (poolkit also accepts None and the layout aliases NHWC/NCHW/... on purpose, so they are not
# used as bad values here)
@pytest.mark.parametrize("data_format", ["channels-last", "channel_first", "", "NXHWC", 1])
@pytest.mark.parametrize("op", list(ALL_OPS))
def test_bad_data_format(op: str, data_format: Any) -> None:
    check_error(lambda: _call(op, X2, data_format=data_format), "data_format", repr(data_format))


def test_bad_data_format_output_shape() -> None:
    check_error(lambda: pk.output_shape((1, 4, 4, 1), 2, data_format="NCWH"), "data_format",
                "'NCWH'")


BAD_P = [0, -1, -0.5, float("nan"), "2", None]


@pytest.mark.parametrize("p", BAD_P, ids=[repr(p) for p in BAD_P])
def test_bad_p(p: Any) -> None:
    check_error(lambda: pk.lp_pool(X2, p, 2), "p", repr(p))
    check_error(lambda: pk.global_lp_pool(X2, p), "p", repr(p))


BAD_OUTPUT_SIZE = [0, -1, (2, 0), (2, 2, 2), (3,), 2.5, "3", None]


@pytest.mark.parametrize("output_size", BAD_OUTPUT_SIZE, ids=[repr(o) for o in BAD_OUTPUT_SIZE])
@pytest.mark.parametrize("op", ["adaptive_max_pool", "adaptive_avg_pool"])
def test_bad_output_size(op: str, output_size: Any) -> None:
    fn = getattr(pk, op)
    check_error(lambda: fn(X2, output_size), "output_size", repr(output_size))


@pytest.mark.parametrize("divisor_override", [0, -3])
def test_bad_divisor_override(divisor_override: int) -> None:
    check_error(lambda: pk.avg_pool(X2, 2, divisor_override=divisor_override),
                "divisor_override", repr(divisor_override))


def test_non_array_input() -> None:
    with pytest.raises((TypeError, ValueError)):
        pk.max_pool("not an array", 2)
    with pytest.raises((TypeError, ValueError)):
        pk.global_avg_pool(None)


def test_errors_are_not_assertions_under_python_O() -> None:
    # the checks must be real exceptions (an ``assert`` would vanish under ``python -O``)
    import subprocess
    import sys

    code = ("import numpy as np, poolkit as pk\n"
            "try:\n    pk.max_pool(np.zeros((1, 4, 4, 1), np.float32), 2, strides=(0, 2))\n"
            "except ValueError as e:\n    print('ok', e)\n")
    out = subprocess.run([sys.executable, "-O", "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.stdout.startswith("ok"), out.stdout + out.stderr


@pytest.mark.parametrize("op", list(WINDOWED))
def test_empty_spatial_dim_or_huge_window_raise_quickly(op: str) -> None:
    x = np.zeros((1, 0, 4, 1), dtype=np.float32)
    with pytest.raises(ValueError):
        WINDOWED[op](x, 1)
    with pytest.raises(ValueError):  # must be rejected before allocating anything
        WINDOWED[op](X2, 10**12)


@pytest.mark.parametrize("op", list(WINDOWED))
def test_dilation_window_holding_only_padding_is_rejected(op: str) -> None:
    # n=2, k=2, d=5, pads (3, 1): the single window's taps are at -3 and 2, both outside [0, 2)
    x = np.array([5.0, 7.0]).reshape(1, 1, 2)
    check_error(lambda: WINDOWED[op](x, 2, 1, ((3, 1),), dilation=5,
                                     data_format="channels_first"), "padding")
