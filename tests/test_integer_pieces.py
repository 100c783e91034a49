"""Integer input of the mean and Lp kernels reaches them as float64 in pieces (blocks of whole
images, or of one image's channels), never as a float64 copy of all of it, and float16
gradients (whose kernels write float32) are made a piece at a time: the results are those of
the slow reference, bit for bit those of one whole pass, and the memory a call takes stays
bounded by the piece size."""
from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import poolkit as pk
from poolkit import _engine as E

from . import reference as ref
from .registry import OPS, check_op, make_input


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 4), c=st.integers(1, 6),
       spatial=st.lists(st.integers(1, 5), min_size=1, max_size=3),
       cl=st.booleans(), limit=st.integers(1, 400))
def test_pieces_cover_every_value_once_within_the_limit(n, c, spatial, cl, limit):
    shape = (n, *spatial, c) if cl else (n, c, *spatial)
    seen = np.zeros(shape, np.int64)
    channel = math.prod(spatial)
    for idx in E.pieces(shape, cl, limit):
        piece = seen[idx]
        # whole spatial extent (the windows never cross a piece), batch and channels cut only
        assert (piece.shape[1:-1] if cl else piece.shape[2:]) == tuple(spatial)
        if piece.size > limit:  # only where one channel of one image is already larger
            assert piece.size == channel
        seen[idx] += 1
    assert (seen == 1).all()


SUM_CALLS = {  # name: (op, args, kwargs)
    "avg 3/2 same": ("avg_pool", (3,), dict(strides=2, padding="same")),
    "avg 2x2/2": ("avg_pool", (2,), {}),
    "avg padded count": ("avg_pool", (3,), dict(strides=1, padding=1, count_include_pad=True)),
    "lp2 2/2": ("lp_pool", (2, 2), {}),
    "lp3 3/1 same": ("lp_pool", (3, 3), dict(strides=1, padding="same")),
    "global avg": ("global_avg_pool", (), {}),
    "global lp2": ("global_lp_pool", (2,), {}),
    "global lp3": ("global_lp_pool", (3,), {}),
    "adaptive avg": ("adaptive_avg_pool", ((3, 2),), {}),
}


@pytest.mark.parametrize("limit", [1, 7, 60, 500])
@pytest.mark.parametrize("dtype", ["int8", "uint8", "int32", "int64"])
@pytest.mark.parametrize("fmt", ["channels_last", "channels_first"])
def test_integer_means_and_norms_in_pieces(monkeypatch, limit, dtype, fmt):
    shape = (3, 9, 10, 5) if fmt == "channels_last" else (3, 5, 9, 10)  # 450 values an image
    x = make_input(shape, dtype, limit)
    for name, (op, args, kw) in SUM_CALLS.items():
        monkeypatch.setattr(E, "PIECE", 1 << 40)
        whole = OPS[op].func(x, *args, data_format=fmt, **kw)
        monkeypatch.setattr(E, "PIECE", limit)
        got = check_op(OPS[op], x, *args, data_format=fmt, **kw)
        assert got.dtype == np.float64, name
        np.testing.assert_array_equal(got, whole, err_msg=name)


@pytest.mark.parametrize("limit", [1, 60])
@pytest.mark.parametrize("fmt", ["channels_last", "channels_first"])
@pytest.mark.parametrize("p", [2, 3])
def test_integer_lp_gradients_in_pieces(monkeypatch, limit, fmt, p):
    shape = (2, 7, 6, 4) if fmt == "channels_last" else (2, 4, 7, 6)
    x = make_input(shape, "int16", p)
    monkeypatch.setattr(E, "PIECE", limit)
    y = pk.lp_pool(x, p, 3, strides=2, padding="same", data_format=fmt)
    dy = np.random.default_rng(p).standard_normal(y.shape)
    got = pk.grad(pk.lp_pool, x, dy, p, 3, strides=2, padding="same", data_format=fmt)
    want = ref.lp_pool_grad(x, dy, p, 3, strides=2, padding="same", data_format=fmt)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("limit", [1, 60, 1 << 20])
@pytest.mark.parametrize("fmt", ["channels_last", "channels_first"])
@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "int64", "uint8", "float32",
                                   "float16"])
def test_linf_gradients_in_pieces(monkeypatch, limit, fmt, dtype):
    shape = (2, 7, 6, 4) if fmt == "channels_last" else (2, 4, 7, 6)
    x = make_input(shape, dtype, 11)
    if np.dtype(dtype).kind == "i":  # |min| is above every other |x|, and np.abs wraps it
        x.reshape(-1)[::7] = np.iinfo(dtype).min
    monkeypatch.setattr(E, "PIECE", limit)
    args, kw = (np.inf, 3), dict(strides=2, padding="same", data_format=fmt)
    # (float16 values: the gradient is then exact in every dtype, a signed copy of dy)
    dy = np.random.default_rng(3).standard_normal(pk.lp_pool(x, *args, **kw).shape)
    dy = dy.astype(np.float16).astype(np.float64)
    got = pk.grad(pk.lp_pool, x, dy, *args, **kw)
    want = ref.lp_pool_grad(x, dy, *args, **kw)
    assert got.dtype == (x.dtype if x.dtype.kind == "f" else np.float64)
    np.testing.assert_array_equal(got, want.astype(got.dtype))


def _peak(call) -> tuple[int, np.ndarray]:
    call()  # compiled or loaded, tables built
    tracemalloc.start()
    try:
        out = call()
        return tracemalloc.get_traced_memory()[1], out
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("fmt", ["channels_last", "channels_first"])
def test_integer_input_takes_no_float64_copy_of_itself(monkeypatch, fmt):
    # a float64 copy of this uint8 input is 4 MiB; pieces of 2**14 values take 128 KiB each
    monkeypatch.setattr(E, "PIECE", 1 << 14)
    shape = (8, 32, 32, 64) if fmt == "channels_last" else (8, 64, 32, 32)
    x = make_input(shape, "uint8")
    slack = 1 << 20
    for call in (lambda: pk.avg_pool(x, 2, data_format=fmt),
                 lambda: pk.avg_pool(x, 3, strides=1, padding="same", data_format=fmt),
                 lambda: pk.lp_pool(x, 2, 2, data_format=fmt),
                 lambda: pk.global_avg_pool(x, data_format=fmt)):
        peak, y = _peak(call)
        assert peak <= y.nbytes + slack, (peak, y.nbytes)
    y = pk.lp_pool(x, 3, 2, data_format=fmt)
    dy = np.ones(y.shape)
    # the pullback's dx (4 MiB), the forward result and the vjp's own uint8 copy of x
    peak, dx = _peak(lambda: pk.grad(pk.lp_pool, x, dy, 3, 2, data_format=fmt))
    assert peak <= dx.nbytes + y.nbytes + x.nbytes + slack, (peak, dx.nbytes)


@pytest.mark.parametrize("fmt", ["channels_last", "channels_first"])
def test_linf_gradients_take_no_copy_of_the_input(monkeypatch, fmt):
    # |x| and sign(x) of this float32 input are 2 MiB each; a piece of 2**14 values, 64 KiB
    monkeypatch.setattr(E, "PIECE", 1 << 14)
    shape = (8, 32, 32, 64) if fmt == "channels_last" else (8, 64, 32, 32)
    x = make_input(shape, "float32")
    args, kw = (np.inf, 2), dict(data_format=fmt)
    y = pk.lp_pool(x, *args, **kw)
    dy = np.ones(y.shape, np.float32)
    # the pullback's dx, the forward result, its argmax and the vjp's own copy of x
    peak, dx = _peak(lambda: pk.grad(pk.lp_pool, x, dy, *args, **kw))
    assert peak <= dx.nbytes + 2 * y.nbytes + x.nbytes + (1 << 20), (peak, dx.nbytes)


HALF_GRADS = {  # name: (op, args, kwargs)
    "max 2x2/2": (pk.max_pool, (2,), {}),
    "max 3/2 same": (pk.max_pool, (3,), dict(strides=2, padding="same")),
    "avg 3/1 same": (pk.avg_pool, (3,), dict(strides=1, padding="same")),
    "lp2 2/2": (pk.lp_pool, (2, 2), {}),
    "global avg": (pk.global_avg_pool, (), {}),
    "global max": (pk.global_max_pool, (), {}),
}


@pytest.mark.parametrize("limit", [1, 50, 450])
@pytest.mark.parametrize("fmt", ["channels_last", "channels_first"])
def test_float16_gradients_in_pieces(monkeypatch, limit, fmt):
    shape = (3, 9, 10, 5) if fmt == "channels_last" else (3, 5, 9, 10)  # 450 values an image
    x = make_input(shape, "float16", limit)
    for name, (op, args, kw) in HALF_GRADS.items():
        dy = np.random.default_rng(1).standard_normal(op(x, *args, data_format=fmt, **kw).shape)
        monkeypatch.setattr(E, "PIECE", 1 << 40)
        whole = pk.grad(op, x, dy, *args, data_format=fmt, **kw)
        monkeypatch.setattr(E, "PIECE", limit)
        got = pk.grad(op, x, dy, *args, data_format=fmt, **kw)
        assert got.dtype == np.float16, name
        np.testing.assert_array_equal(got.view(np.uint16), whole.view(np.uint16), err_msg=name)
        want = getattr(ref, op.__name__ + "_grad")(x, dy, *args, data_format=fmt, **kw)
        np.testing.assert_allclose(got.astype(np.float64), want, rtol=2e-3, atol=2e-3,
                                   err_msg=name)


@pytest.mark.parametrize("fmt", ["channels_last", "channels_first"])
def test_float16_gradients_take_no_float32_copy_of_the_input(monkeypatch, fmt):
    # the float32 gradient of this float16 input is 2 MiB; pieces of 2**14 values take 64 KiB
    monkeypatch.setattr(E, "PIECE", 1 << 14)
    shape = (8, 32, 32, 64) if fmt == "channels_last" else (8, 64, 32, 32)
    x = make_input(shape, "float16")
    for op, args in ((pk.max_pool, (2,)), (pk.avg_pool, (3, 1, "same"))):
        y = op(x, *args, data_format=fmt)
        dy = np.ones(y.shape, np.float16)
        # dx (1 MiB), and the forward pass that the gradient runs again: its result, and for
        # the max its indices (at most 8 bytes an output)
        indices = 8 * y.size if op is pk.max_pool else 0
        peak, dx = _peak(lambda: pk.grad(op, x, dy, *args, data_format=fmt))
        assert peak <= dx.nbytes + y.nbytes + indices + (1 << 19), (op.__name__, peak)
