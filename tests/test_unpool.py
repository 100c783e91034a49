"""max_unpool and roi_max_pool: slow loop references written from the definitions, PyTorch and
onnxruntime as optional oracles, exact adjoint and finite-difference checks of the backward."""
from __future__ import annotations

import math
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from poolkit.unpool import (max_unpool, max_unpool_backward, max_unpool_vjp, roi_max_pool,
                            roi_max_pool_backward, roi_max_pool_vjp, unpool_output_size)

DTYPES = ("float16", "float32", "float64", "int8", "uint8", "int16", "int32", "int64")


# --------------------------------------------------------------------------- loop references
def unpool_loop(y, idx, out_sp):
    """channels_first: out[n, c].flat[idx[n, c, ...]] = y[n, c, ...], in row-major order of y."""
    out = np.zeros(y.shape[:2] + tuple(out_sp), dtype=y.dtype)
    for n in range(y.shape[0]):
        for c in range(y.shape[1]):
            plane = out[n, c].reshape(-1)
            for pos in np.ndindex(*y.shape[2:]):
                plane[idx[(n, c) + pos]] = y[(n, c) + pos]
    return out


def _c_round(v):
    """Round half away from zero, as C's round()."""
    return math.floor(v + 0.5) if v >= 0 else -math.floor(-v + 0.5)


def roi_loop(x, rois, ph_, pw_, scale):
    """ROI max pooling written from the Caffe ROIPooling definition, channels_first; the bin
    arithmetic in float32 (float64 for float64 input) like the C++ kernels."""
    ft = np.float64 if x.dtype == np.float64 else np.float32
    n_roi = rois.shape[0]
    c, h, w = x.shape[1:]
    y = np.zeros((n_roi, c, ph_, pw_), dtype=x.dtype)
    arg = np.full((n_roi, c, ph_, pw_), -1, dtype=np.int64)
    for r in range(n_roi):
        b = int(rois[r, 0])
        x1, y1, x2, y2 = (_c_round(float(ft(rois[r, i]) * ft(scale))) for i in range(1, 5))
        rh, rw = max(y2 - y1 + 1, 1), max(x2 - x1 + 1, 1)
        bh, bw = ft(rh) / ft(ph_), ft(rw) / ft(pw_)
        for i in range(ph_):
            hs = min(max(int(math.floor(ft(i) * bh)) + y1, 0), h)
            he = min(max(int(math.ceil(ft(i + 1) * bh)) + y1, 0), h)
            for j in range(pw_):
                ws = min(max(int(math.floor(ft(j) * bw)) + x1, 0), w)
                we = min(max(int(math.ceil(ft(j + 1) * bw)) + x1, 0), w)
                for ch in range(c):
                    cells = [(hh, ww) for hh in range(hs, he) for ww in range(ws, we)]
                    if not cells:
                        continue
                    vals = [x[b, ch, hh, ww] for hh, ww in cells]
                    nan = [k for k, v in enumerate(vals) if v != v]
                    k = nan[0] if nan else int(np.argmax(vals))  # argmax: first maximum
                    y[r, ch, i, j] = vals[k]
                    arg[r, ch, i, j] = cells[k][0] * w + cells[k][1]
    return y, arg


def _cl(a):
    return np.ascontiguousarray(np.moveaxis(a, 1, -1))


# --------------------------------------------------------------------------- max_unpool forward
@st.composite
def unpool_cases(draw):
    nd = draw(st.integers(1, 3))
    out_sp = tuple(draw(st.integers(1, 5)) for _ in range(nd))
    in_sp = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    dtype = draw(st.sampled_from(DTYPES))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    y = rng.integers(1, 100, (n, c) + in_sp).astype(dtype)  # non-zero, so every write shows
    idx = rng.integers(0, math.prod(out_sp), (n, c) + in_sp)  # duplicates allowed
    return y, idx, out_sp


@settings(max_examples=40, deadline=None)
@given(unpool_cases())
def test_max_unpool_matches_loop_reference(case):
    y, idx, out_sp = case
    want = unpool_loop(y, idx, out_sp)
    got = max_unpool(y, idx, out_sp, data_format="channels_first")
    assert got.dtype == y.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    got_cl = max_unpool(_cl(y), _cl(idx), out_sp)  # channels_last is the default
    np.testing.assert_array_equal(got_cl, _cl(want))


def test_max_unpool_exact_bits_for_float16_and_nan():
    y = np.array([[[np.nan, -0.0, 65504.0, np.float16(1e-7)]]], dtype=np.float16)
    idx = np.array([[[3, 0, 5, 1]]])
    out = max_unpool(y, idx, 6, data_format="channels_first")
    want = np.zeros((1, 1, 6), np.float16)
    want[0, 0, [3, 0, 5, 1]] = y[0, 0]
    assert out.tobytes() == want.tobytes()  # bit-identical, sign of zero and NaN kept


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_max_unpool_matches_torch(nd):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(nd)
    shape = (2, 3) + (7, 5, 5)[:nd]  # sizes the inferred-size formula restores
    x = rng.permutation(math.prod(shape)).reshape(shape).astype(np.float64)
    pool = getattr(F, f"max_pool{nd}d")
    unpool = getattr(F, f"max_unpool{nd}d")
    ty, ti = pool(torch.from_numpy(x), 3, 2, 1, return_indices=True)
    want = unpool(ty, ti, 3, 2, 1, output_size=shape[2:]).numpy()
    got = max_unpool(ty.numpy(), ti.numpy(), shape[2:], data_format="channels_first")
    np.testing.assert_array_equal(got, want)
    # inferred size, as torch without output_size
    want2 = unpool(ty, ti, 3, 2, 1).numpy()
    got2 = max_unpool(ty.numpy(), ti.numpy(), pool_size=3, strides=2, padding=1,
                      data_format="channels_first")
    np.testing.assert_array_equal(got2, want2)


def test_max_unpool_inverts_poolkit_max_pool():
    pk = pytest.importorskip("poolkit")
    x = np.random.default_rng(0).permutation(2 * 6 * 8 * 3).reshape(2, 6, 8, 3).astype(np.float32)
    y, idx = pk.max_pool(x, 2, return_indices=True)
    u = max_unpool(y, idx, (6, 8))
    np.testing.assert_array_equal(pk.max_pool(u, 2), y)  # pooling the unpooled gives y back
    assert np.count_nonzero(u) == y.size


def test_unpool_output_size_formula():
    assert unpool_output_size((3, 4), 2) == (6, 8)
    assert unpool_output_size((3,), 3, 2, padding=1) == (5,)
    assert unpool_output_size((3, 3), (2, 3), (1, 2), padding=((0, 1), (1, 0))) == (3, 6)
    with pytest.raises(ValueError, match="must be positive"):
        unpool_output_size((1,), 1, 1, padding=1)


@pytest.mark.parametrize("kwargs,err,pattern", [
    (dict(indices=np.array([[[0, 9]]])), ValueError, r"`indices` must lie in \[0, 4\).*9"),
    (dict(indices=np.array([[[0, -1]]])), ValueError, r"received an index -1"),
    (dict(indices=np.array([[[0.0, 1.0]]])), TypeError, r"`indices` must be an integer array"),
    (dict(indices=np.array([[[0, 1, 2]]])), ValueError, r"`indices` must have the shape of `y`"),
    (dict(output_size=0), ValueError, r"`output_size` must be positive integers; received "
                                      r"output_size=0"),
    (dict(output_size=None), ValueError, r"needs `output_size` or `pool_size`"),
    (dict(data_format="nchw_"), ValueError, r"`data_format` must be"),
    (dict(y=np.zeros((1, 1, 2), dtype=bool)), TypeError, r"`y` must have a float16"),
    (dict(y=np.zeros((1, 2))), ValueError, r"`y` must have rank 3 to 5"),
    (dict(output_size=None, pool_size=2, padding="same"), ValueError, r"must be explicit"),
])
def test_max_unpool_validation(kwargs, err, pattern):
    args = dict(y=np.ones((1, 1, 2)), indices=np.array([[[0, 1]]]), output_size=4,
                data_format="channels_first")
    args.update(kwargs)
    y, idx = args.pop("y"), args.pop("indices")
    with pytest.raises(err, match=pattern):
        max_unpool(y, idx, **args)


# --------------------------------------------------------------------------- max_unpool backward
@settings(max_examples=30, deadline=None)
@given(unpool_cases())
def test_max_unpool_backward_is_the_exact_adjoint(case):
    """<unpool(y), w> == <y, unpool_backward(w)> for every y, w, duplicates included."""
    _, idx, out_sp = case
    rng = np.random.default_rng(1)
    y = rng.integers(-8, 8, idx.shape).astype(np.float64)  # small ints: sums are exact
    w = rng.integers(-8, 8, idx.shape[:2] + tuple(out_sp)).astype(np.float64)
    lhs = np.sum(max_unpool(y, idx, out_sp, data_format="channels_first") * w)
    dy = max_unpool_backward(w, idx, data_format="channels_first")
    assert dy.shape == y.shape
    assert lhs == np.sum(y * dy)
    # and the backward is the derivative: probe every input direction
    for j in range(min(y.size, 6)):
        e = np.zeros_like(y)
        e.flat[j] = 1.0
        jvp = max_unpool(e, idx, out_sp, data_format="channels_first")
        assert np.sum(jvp * w) == dy.flat[j]


def test_max_unpool_backward_matches_torch_autograd():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(3)
    x = torch.from_numpy(rng.standard_normal((2, 3, 6, 7)))
    ty, ti = F.max_pool2d(x, 2, 2, return_indices=True)  # no overlaps: no duplicate indices
    ty = ty.detach().requires_grad_(True)
    out = F.max_unpool2d(ty, ti, 2, 2, output_size=(6, 7))
    w = torch.from_numpy(rng.standard_normal(out.shape))
    (out * w).sum().backward()
    got = max_unpool_backward(w.numpy(), ti.numpy(), data_format="channels_first")
    np.testing.assert_array_equal(got, ty.grad.numpy())


def test_max_unpool_vjp_channels_last():
    rng = np.random.default_rng(4)
    idx = rng.integers(0, 12, (2, 2, 3, 4))
    y = rng.standard_normal(idx.shape)
    out, pullback = max_unpool_vjp(y, idx, (3, 4))
    np.testing.assert_array_equal(out, max_unpool(y, idx, (3, 4)))
    w = rng.standard_normal(out.shape)
    np.testing.assert_allclose(np.sum(out * w), np.sum(y * pullback(w)), rtol=1e-12)
    with pytest.raises(ValueError, match="output's shape"):
        pullback(np.zeros((1, 1)))


# --------------------------------------------------------------------------- roi_max_pool
@st.composite
def roi_cases(draw):
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    dtype = draw(st.sampled_from(("float32", "float64", "float16", "int32", "uint8", "int8",
                                  "int16", "int64")))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    if dtype == "uint8":
        x = rng.integers(0, 5, (n, c, h, w)).astype(dtype)  # many ties
    else:
        x = rng.integers(-6, 6, (n, c, h, w)).astype(dtype)
    if dtype.startswith("float") and draw(st.booleans()):
        x.flat[rng.integers(0, x.size)] = np.nan
    r = draw(st.integers(0, 4))
    coords = np.round(rng.uniform(-3, 2 * max(h, w) + 2, (r, 4)) * 2) / 2  # halves: rounding
    rois = np.concatenate([rng.integers(0, n, (r, 1)), coords], 1)
    ph, pw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    scale = draw(st.sampled_from((1.0, 0.5, 0.25, 1 / 3, 0.7)))
    return x, rois.astype(np.float32 if dtype != "float64" else np.float64), ph, pw, scale


@settings(max_examples=50, deadline=None)
@given(roi_cases())
def test_roi_max_pool_matches_loop_reference(case):
    x, rois, ph, pw, scale = case
    want, want_arg = roi_loop(x, rois, ph, pw, scale)
    got, arg = roi_max_pool(x, rois, (ph, pw), scale, data_format="channels_first",
                            return_indices=True)
    assert got.dtype == x.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(arg, want_arg)
    got_cl = roi_max_pool(_cl(x), rois, (ph, pw), scale)
    np.testing.assert_array_equal(got_cl, _cl(want))


def test_roi_max_pool_worked_example():
    """Hand-checked: 4x4 map, ROI (x1, y1, x2, y2) = (1, 0, 3, 2) -> 3x3 cells, 2x2 bins of
    [floor(i*1.5), ceil((i+1)*1.5)) = [0, 2) and [1, 3)."""
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    y, arg = roi_max_pool(x, np.array([[0, 1, 0, 3, 2]]), 2, data_format="channels_first",
                          return_indices=True)
    # rows 0-1 / 1-2 and columns 1-2 / 2-3 of x
    np.testing.assert_array_equal(y[0, 0], [[6.0, 7.0], [10.0, 11.0]])
    np.testing.assert_array_equal(arg[0, 0], [[6, 7], [10, 11]])
    # a ROI outside the map gives empty bins: 0 and index -1
    y2, a2 = roi_max_pool(x, np.array([[0, 9, 9, 12, 12]]), 2, data_format="channels_first",
                          return_indices=True)
    assert not y2.any() and (a2 == -1).all()
    # halves round away from zero (NumPy would round 0.5 * 5 = 2.5 to 2)
    y3 = roi_max_pool(x, np.array([[0, 5, 5, 5, 5]]), 1, 0.5, data_format="channels_first")
    assert y3[0, 0, 0, 0] == x[0, 0, 3, 3]


def test_roi_max_pool_matches_onnxruntime():
    ort = pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper

    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 9, 11)).astype(np.float32)
    rois = np.concatenate([rng.integers(0, 2, (20, 1)),
                           np.round(rng.uniform(-4, 14, (20, 4)), 1)], 1).astype(np.float32)
    for scale in (1.0, 0.5, 1 / 3):
        node = helper.make_node("MaxRoiPool", ["x", "r"], ["y"], pooled_shape=[3, 2],
                                spatial_scale=scale)
        graph = helper.make_graph(
            [node], "g", [helper.make_tensor_value_info(n, TensorProto.FLOAT, None)
                          for n in "xr"],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
        model.ir_version = 8
        sess = ort.InferenceSession(model.SerializeToString(),
                                    providers=["CPUExecutionProvider"])
        want = sess.run(None, {"x": x, "r": rois})[0]
        scale32 = float(np.float32(scale))  # ONNX stores the attribute as float32
        got = roi_max_pool(x, rois, (3, 2), scale32, data_format="channels_first")
        np.testing.assert_array_equal(got, want)


# --------------------------------------------------------------------------- roi backward
@settings(max_examples=30, deadline=None)
@given(roi_cases())
def test_roi_max_pool_backward_adjoint_and_finite_differences(case):
    x, rois, ph, pw, scale = case
    x = np.random.default_rng(x.size).permutation(x.size).reshape(x.shape).astype(np.float64)
    y, arg = roi_max_pool(x, rois, (ph, pw), scale, data_format="channels_first",
                          return_indices=True)
    rng = np.random.default_rng(2)
    w = rng.integers(-5, 5, y.shape).astype(np.float64)
    dx = roi_max_pool_backward(w, arg, rois, x.shape, data_format="channels_first")
    assert dx.shape == x.shape
    # y is linear in x around a tie-free x: y = J x, so <y, w> = <x, J^T w>
    assert np.sum(y * w) == pytest.approx(np.sum(x * dx), rel=1e-12, abs=1e-12)
    # central differences with steps far below the gap between distinct values (1)
    eps = 1e-3
    for j in rng.choice(x.size, size=min(x.size, 5), replace=False):
        e = np.zeros_like(x)
        e.flat[j] = eps
        f = lambda z: np.sum(roi_max_pool(z, rois, (ph, pw), scale,  # noqa: E731
                                          data_format="channels_first") * w)
        assert (f(x + e) - f(x - e)) / (2 * eps) == pytest.approx(dx.flat[j], abs=1e-9)


def test_roi_max_pool_vjp_channels_last_and_dtypes():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 5, 6, 3)).astype(np.float32)
    rois = np.array([[0, 0, 0, 5, 4], [1, 1, 1, 3, 3], [1, 0, 0, 5, 4]], np.float32)
    y, pullback = roi_max_pool_vjp(x, rois, 2)
    np.testing.assert_array_equal(y, roi_max_pool(x, rois, 2))
    dx = pullback(np.ones_like(y))
    assert dx.dtype == np.float32 and dx.shape == x.shape
    # each output adds 1 to exactly one cell of its own batch item
    assert dx.sum() == y.size
    assert dx[0].sum() == y[0].size


@pytest.mark.parametrize("kwargs,err,pattern", [
    (dict(rois=np.zeros((2, 4))), ValueError, r"`rois` must have shape \(num_rois, 5\)"),
    (dict(rois=np.array([[2, 0, 0, 1, 1]])), ValueError, r"batch indices must lie in \[0, 1\)"),
    (dict(rois=np.array([[0, 0, np.nan, 1, 1]])), ValueError, r"`rois` must be finite"),
    (dict(output_size=(2, 0)), ValueError, r"`output_size` must be positive integers; "
                                           r"received output_size=\(2, 0\)"),
    (dict(spatial_scale=0.0), ValueError, r"`spatial_scale` must be a positive float; "
                                          r"received spatial_scale=0.0"),
    (dict(spatial_scale="1"), TypeError, r"`spatial_scale` must be a positive float"),
    (dict(x=np.zeros((1, 4, 4))), ValueError, r"`x` must have rank 4"),
    (dict(x=np.zeros((1, 4, 4, 1), dtype=np.complex64)), TypeError, r"`x` must have a float16"),
])
def test_roi_max_pool_validation(kwargs, err, pattern):
    args = dict(x=np.zeros((1, 4, 4, 1)), rois=np.array([[0, 0, 0, 1, 1]]), output_size=2)
    args.update(kwargs)
    with pytest.raises(err, match=pattern):
        roi_max_pool(args.pop("x"), args.pop("rois"), args.pop("output_size"), **args)


def test_kernels_run_without_jit():
    """The Numba kernels are plain Python under NUMBA_DISABLE_JIT=1 and give the same results."""
    code = r"""
import numpy as np
from poolkit.unpool import max_unpool, max_unpool_backward, roi_max_pool, roi_max_pool_backward
rng = np.random.default_rng(0)
y = rng.standard_normal((1, 2, 3)); i = rng.integers(0, 5, (1, 2, 3))
u = max_unpool(y, i, 5, data_format="channels_first")
g = max_unpool_backward(u, i, data_format="channels_first")
x = rng.standard_normal((1, 1, 4, 5)); r = np.array([[0, 0, 0, 4, 3], [0, 1, 1, 2, 2]], float)
p, a = roi_max_pool(x, r, 2, data_format="channels_first", return_indices=True)
d = roi_max_pool_backward(p, a, r, x.shape, data_format="channels_first")
np.save(__import__("sys").argv[1], np.concatenate([u.ravel(), g.ravel(), p.ravel(), d.ravel()]))
"""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        outs = []
        for flag in ("1", "0"):
            path = os.path.join(tmp, f"r{flag}.npy")
            env = {**os.environ, "NUMBA_DISABLE_JIT": flag}
            subprocess.run([sys.executable, "-c", code, path], check=True, env=env)
            outs.append(np.load(path))
    np.testing.assert_array_equal(outs[0], outs[1])


def test_vjp_gradient_dtypes_follow_the_pooling_rule():
    """Floating inputs keep their dtype; integer inputs get float64 gradients."""
    idx = np.array([[[0, 3]]])
    for dt, want in (("float16", "float16"), ("float32", "float32"), ("int32", "float64"),
                     ("uint8", "float64")):
        out, back = max_unpool_vjp(np.array([[[1, 2]]], dtype=dt), idx, 4,
                                   data_format="channels_first")
        g = back(np.arange(4, dtype=np.float32).reshape(1, 1, 4))
        assert g.dtype == np.dtype(want)
        np.testing.assert_array_equal(g, [[[0, 3]]])
        x = np.arange(16, dtype=dt).reshape(1, 1, 4, 4)
        y, back = roi_max_pool_vjp(x, np.array([[0, 0, 0, 3, 3]]), 2,
                                   data_format="channels_first")
        dx = back(np.ones(y.shape, np.float32))
        assert dx.dtype == np.dtype(want) and dx.sum() == 4
