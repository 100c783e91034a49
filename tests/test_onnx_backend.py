"""poolkit.onnx: ONNX conformance cases, the Backend API, random graphs against independent
ONNX implementations (the onnx reference evaluator, onnxruntime) and error reporting."""
from __future__ import annotations

import math
import os
import re
import subprocess
import sys

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from onnx import TensorProto, helper  # noqa: E402

import poolkit.onnx as pko  # noqa: E402
from poolkit.onnx import OnnxNodeError, UnsupportedOnnxError  # noqa: E402

POOL_OPS = ("maxpool", "averagepool", "lppool", "globalmaxpool", "globalaveragepool",
            "globallppool", "maxunpool", "maxroipool")


def _pooling_cases():
    import warnings

    from onnx.backend.test.case.node import collect_testcases

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = collect_testcases(None)
    return [c for c in cases if c.name.startswith(tuple(f"test_{o}" for o in POOL_OPS))]


CASES = _pooling_cases()
# Expected outputs of this case are written with 4 decimals in the onnx sources.
ROUNDED_EXPECTATIONS = {"test_averagepool_2d_ceil_last_window_starts_on_pad": 1e-3}


def test_all_53_pooling_conformance_cases_are_collected():
    assert len(CASES) == 53
    ops = {n.op_type for c in CASES for n in c.model.graph.node}
    assert ops == {"MaxPool", "AveragePool", "LpPool", "GlobalMaxPool", "GlobalAveragePool",
                   "MaxUnpool"}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_onnx_conformance_case(case):
    prog = pko.prepare(case.model)  # each model is checked once, then run on each data set
    op = case.model.graph.node[0].op_type
    for inputs, expected in case.data_sets:
        got = prog(inputs)
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            assert g.dtype == e.dtype and g.shape == e.shape
            if op in ("MaxPool", "GlobalMaxPool", "MaxUnpool") or e.dtype.kind in "iu":
                np.testing.assert_array_equal(g, e)  # max and indices: exact
            else:
                rtol = ROUNDED_EXPECTATIONS.get(case.name, 1e-5)
                np.testing.assert_allclose(g, e, rtol=rtol, atol=1e-6)


def test_rounded_case_is_tight_against_onnxruntime():
    ort = pytest.importorskip("onnxruntime")
    (case,) = [c for c in CASES if c.name in ROUNDED_EXPECTATIONS]
    inputs, _ = case.data_sets[0]
    sess = ort.InferenceSession(case.model.SerializeToString(), providers=["CPUExecutionProvider"])
    ref = sess.run(None, {case.model.graph.input[0].name: inputs[0]})[0]
    np.testing.assert_allclose(pko.run(case.model, inputs)[0], ref, rtol=1e-6)


# --------------------------------------------------------------------------- Backend API
import onnx.backend.test  # noqa: E402

import poolkit.onnx.backend as pk_backend  # noqa: E402

_INCLUDE = (r"^test_(MaxPool|AvgPool)\w*_cpu$",  # pytorch-converted pooling models
            r"^test_(maxpool|averagepool|lppool|globalmaxpool|globalaveragepool|maxunpool)\w*_cpu$")
_backend_test = onnx.backend.test.BackendTest(pk_backend, __name__)
for _pattern in _INCLUDE:
    _backend_test.include(_pattern)
_BACKEND_CASES = _backend_test.test_cases
for _cls in _BACKEND_CASES.values():  # drop the thousands of non-pooling cases instead of skipping
    for _name in [n for n in vars(_cls) if n.startswith("test_")]:
        if not any(re.match(p, _name) for p in _INCLUDE):
            delattr(_cls, _name)
globals().update(_BACKEND_CASES)


def test_backend_test_selects_pytorch_converted_and_node_cases():
    names = [n for n in vars(_BACKEND_CASES["OnnxBackendPyTorchConvertedModelTest"])
             if n.startswith("test_")]
    assert len(names) == 15 and all(n.startswith(("test_MaxPool", "test_AvgPool")) for n in names)
    node = [n for n in vars(_BACKEND_CASES["OnnxBackendNodeModelTest"]) if n.startswith("test_")]
    assert len(node) == 53


def test_backend_api_entry_points():
    assert pk_backend.supports_device("CPU")
    assert not pk_backend.supports_device("CUDA")
    node = helper.make_node("MaxPool", ["x"], ["y", "i"], kernel_shape=[2])
    x = np.array([[[3.0, 1.0, 4.0, 1.0, 5.0]]], dtype=np.float32)
    y, i = pk_backend.run_node(node, [x])
    np.testing.assert_array_equal(y, [[[3, 4, 4, 5]]])
    np.testing.assert_array_equal(i, [[[0, 2, 2, 4]]])
    model = _model([node], ["x"], ["y", "i"], 12)
    rep = pk_backend.prepare(model, "CPU")
    np.testing.assert_array_equal(rep.run([x])[0], y)
    assert pk_backend.is_compatible(model)
    assert not pk_backend.is_compatible(_model([helper.make_node("Relu", ["x"], ["y"])],
                                               ["x"], ["y"], 13))
    with pytest.raises(ValueError, match="CPU"):
        pk_backend.prepare(model, "CUDA")


# --------------------------------------------------------------------------- helpers
def _model(nodes, inputs, outputs, opset, initializers=()):
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info(n, TensorProto.UNDEFINED, None) for n in inputs],
        [helper.make_tensor_value_info(n, TensorProto.UNDEFINED, None) for n in outputs],
        initializer=list(initializers))
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8  # readable by older runtimes too
    return m


def _typed_model(nodes, inputs, outputs, opset):
    """Same with full types, as onnxruntime wants them: inputs/outputs are (name, dtype)."""
    tt = helper.np_dtype_to_tensor_dtype
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info(n, tt(np.dtype(d)), None) for n, d in inputs],
        [helper.make_tensor_value_info(n, tt(np.dtype(d)), None) for n, d in outputs])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def _ort_run(model, feed):
    ort = pytest.importorskip("onnxruntime")
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feed)


def _ref_run(model, feed):
    from onnx.reference import ReferenceEvaluator

    return ReferenceEvaluator(model).run(None, feed)


# --------------------------------------------------------------------------- random graphs
# Opset versions that introduced each windowed-pool attribute.
_SINCE = {
    "MaxPool": {"storage_order": 8, "ceil_mode": 10, "dilations": 10, "Indices": 8},
    "AveragePool": {"count_include_pad": 7, "ceil_mode": 10, "dilations": 19},
    "LpPool": {"ceil_mode": 18, "dilations": 18},
}
_OPSETS = {"MaxPool": (1, 8, 10, 11, 12, 22), "AveragePool": (1, 7, 10, 11, 19, 22),
           "LpPool": (2, 11, 18, 22)}


@st.composite
def window_nodes(draw):
    """A random MaxPool / AveragePool / LpPool node, the oldest-to-newest opset it is valid in,
    and an input of matching rank. Windows always keep at least one real cell."""
    op = draw(st.sampled_from(("MaxPool", "AveragePool", "LpPool")))
    nd = draw(st.integers(1, 3))
    max_side = {1: 9, 2: 6, 3: 4}[nd]
    k = [draw(st.integers(1, 3)) for _ in range(nd)]
    attrs: dict = {"kernel_shape": k}
    if draw(st.booleans()):
        attrs["strides"] = [draw(st.integers(1, 3)) for _ in range(nd)]
    used = set()
    if draw(st.booleans()):
        attrs["dilations"] = [draw(st.integers(1, 2)) for _ in range(nd)]
        used.add("dilations")
    mode = draw(st.sampled_from(("NOTSET", "NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER")))
    if mode == "NOTSET":
        if draw(st.booleans()):  # PyTorch-style bound keeps windows off pure padding
            attrs["pads"] = [draw(st.integers(0, (kk - 1) // 2)) for kk in k + k]
        if draw(st.booleans()) and op in ("MaxPool", "AveragePool", "LpPool"):
            attrs["ceil_mode"] = 1
            used.add("ceil_mode")
    else:
        attrs["auto_pad"] = mode
    if op == "AveragePool" and draw(st.booleans()):
        attrs["count_include_pad"] = 1
        used.add("count_include_pad")
    if op == "LpPool":
        attrs["p"] = draw(st.sampled_from((1, 2, 3)))
    n_out = 1
    if op == "MaxPool" and draw(st.booleans()):
        n_out = 2
        used.add("Indices")
        if draw(st.booleans()):
            attrs["storage_order"] = 1
            used.add("storage_order")
    need = max([_SINCE[op].get(u, 1) for u in used], default=1)
    opset = draw(st.sampled_from([v for v in _OPSETS[op] if v >= need]))
    eff = [(kk - 1) * d + 1 for kk, d in zip(k, attrs.get("dilations", [1] * nd))]
    shape = [draw(st.integers(1, 2)), draw(st.integers(1, 2))]
    shape += [draw(st.integers(max(e - sum(attrs.get("pads", [0] * 2 * nd)[i::nd]), 1),
                               max(max_side, e))) for i, e in enumerate(eff)]
    # onnxruntime has float64 kernels for MaxPool only
    dtype = draw(st.sampled_from(("float32", "float64") if op == "MaxPool" else ("float32",)))
    seed = draw(st.integers(0, 2**16))
    return op, attrs, opset, n_out, tuple(shape), dtype, seed


def _distinct(shape, dtype, seed):
    """Values without ties (a permutation), so argmax positions are unambiguous in every oracle."""
    rng = np.random.default_rng(seed)
    return (rng.permutation(math.prod(shape)).reshape(shape) / 7.0 - 3.0).astype(dtype)


def _compare(op, got, want, exact):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape, (g.shape, w.shape)
        if exact:
            np.testing.assert_array_equal(g, w)
        else:
            np.testing.assert_allclose(g, w, rtol=2e-5 if g.dtype == np.float32 else 1e-12,
                                       atol=1e-6)


def _explicit_pads(attrs, spatial):
    """The node's auto_pad turned into explicit pads with the spec's formulas (written here from
    the ONNX operator docs, independently of poolkit):
    SAME: out = ceil(in / s), total = (out - 1) * s + (k - 1) * d + 1 - in (clamped at 0), the odd
    cell at the end (SAME_UPPER) or the start (SAME_LOWER); VALID: no padding."""
    mode = attrs.get("auto_pad", "NOTSET")
    if mode == "NOTSET":
        return attrs
    nd = len(spatial)
    k = attrs["kernel_shape"]
    s = attrs.get("strides", [1] * nd)
    d = attrs.get("dilations", [1] * nd)
    lo, hi = [0] * nd, [0] * nd
    if mode.startswith("SAME"):
        for i in range(nd):
            out = -(-spatial[i] // s[i])
            total = max((out - 1) * s[i] + (k[i] - 1) * d[i] + 1 - spatial[i], 0)
            small, big = total // 2, total - total // 2
            lo[i], hi[i] = (small, big) if mode == "SAME_UPPER" else (big, small)
    out = {a: v for a, v in attrs.items() if a != "auto_pad"}
    out["pads"] = lo + hi
    return out


def _reference_ok(op, attrs, n_out, opset):
    """Cases where the onnx reference evaluator itself follows the spec (given explicit pads)."""
    nd = len(attrs["kernel_shape"])
    dil = attrs.get("dilations", [1] * nd)
    if attrs.get("ceil_mode") and op == "LpPool":
        return False  # it rescales a clipped mean by the full kernel size
    unit = not (any(d > 1 for d in dil) or any(s > 1 for s in attrs.get("strides", [1])))
    if op == "MaxPool" and unit and (n_out == 2 or any(attrs.get("pads", [0]))
                                     or attrs.get("ceil_mode")):
        return False  # its unit-stride MaxPool path gives no Indices and mishandles pads
    if op == "AveragePool" and opset < 7 and any(attrs.get("pads", [0])):
        return False  # at opset 1 it counts padded cells (the spec excludes them)
    if op == "AveragePool" and attrs.get("ceil_mode"):
        return False  # its ceil_mode windows are wrong for some geometries: for 4 cells
        # [1, 2, 4, 8], kernel 3, stride 3 it gives [1.5, 4] instead of [7/3, 8] (onnxruntime
        # and PyTorch give [7/3, 8]; onnxruntime still checks these nodes below)
    return True


def _ort_needs_explicit(attrs, spatial):
    """SAME cases onnxruntime does not follow: dilations (not implemented) and a window smaller
    than the stride, where the spec's total pad is negative (poolkit clamps it at 0 as TensorFlow
    does; onnxruntime shifts the windows)."""
    if not attrs.get("auto_pad", "NOTSET").startswith("SAME"):
        return False
    nd = len(spatial)
    k, d = attrs["kernel_shape"], attrs.get("dilations", [1] * nd)
    s = attrs.get("strides", [1] * nd)
    raw = [(-(-spatial[i] // s[i]) - 1) * s[i] + (k[i] - 1) * d[i] + 1 - spatial[i]
           for i in range(nd)]
    return any(d[i] > 1 and k[i] > 1 for i in range(nd)) or min(raw) < 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(window_nodes())
def test_random_window_node_matches_reference_and_onnxruntime(params):
    """poolkit runs the node as given. The reference evaluator mishandles auto_pad (it ignores
    dilations, crashes on 1-D/3-D SAME MaxPool, gets SAME MaxPool shapes wrong), so it is given
    the equivalent explicit pads; onnxruntime gets the node as given, except the SAME cases of
    :func:`_ort_needs_explicit`."""
    op, attrs, opset, n_out, shape, dtype, seed = params
    outs = ["y", "i"][:n_out]
    x = _distinct(shape, dtype, seed)
    got = pko.run(_model([helper.make_node(op, ["x"], outs, **attrs)], ["x"], outs, opset), [x])
    exact = op == "MaxPool"
    explicit = helper.make_node(op, ["x"], outs, **_explicit_pads(attrs, shape[2:]))
    if _reference_ok(op, _explicit_pads(attrs, shape[2:]), n_out, opset):
        _compare(op, got, _ref_run(_model([explicit], ["x"], outs, opset), {"x": x}), exact)
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return
    node = (explicit if _ort_needs_explicit(attrs, shape[2:])
            else helper.make_node(op, ["x"], outs, **attrs))
    types = [("y", dtype), ("i", "int64")][:n_out]
    # onnxruntime starts at MaxPool-8 / AveragePool-7, identical to opset 1 for these nodes
    ort_opset = max(opset, {"MaxPool": 8, "AveragePool": 7}.get(op, 1))
    _compare(op, got, _ort_run(_typed_model([node], [("x", dtype)], types, ort_opset), {"x": x}),
             exact)


# --------------------------------------------------------------------------- chained graphs
@st.composite
def chains(draw):
    """MaxPool (optionally with Indices) -> AveragePool or LpPool -> a global pool, 2-D."""
    h, w = draw(st.integers(4, 8)), draw(st.integers(4, 8))
    k1 = [draw(st.integers(1, 3)), draw(st.integers(1, 3))]
    first = helper.make_node("MaxPool", ["x"], ["a", "ia"], kernel_shape=k1,
                             # a stride of 2 keeps the reference evaluator off its unit-stride
                             # MaxPool path, which mishandles pads
                             strides=[2, draw(st.integers(1, 2))],
                             pads=[draw(st.integers(0, (k - 1) // 2)) for k in k1 + k1])
    second_op = draw(st.sampled_from(("AveragePool", "LpPool")))
    extra = {"p": draw(st.integers(1, 3))} if second_op == "LpPool" else {
        "count_include_pad": draw(st.integers(0, 1))}
    second = helper.make_node(second_op, ["a"], ["b"], kernel_shape=[2, 2],
                              auto_pad=draw(st.sampled_from(("SAME_UPPER", "SAME_LOWER"))),
                              **extra)
    third = helper.make_node(draw(st.sampled_from(("GlobalMaxPool", "GlobalAveragePool"))),
                             ["b"], ["c"])
    return [first, second, third], (draw(st.integers(1, 2)), 2, h, w), draw(st.integers(0, 999))


@settings(max_examples=15, deadline=None)
@given(chains())
def test_random_chained_graph_matches_onnxruntime_and_reference(params):
    nodes, shape, seed = params
    x = _distinct(shape, "float32", seed)
    got = pko.run(_model(nodes, ["x"], ["c", "ia"], 18), {"x": x})
    explicit = [nodes[0], helper.make_node(nodes[1].op_type, ["a"], ["b"], **_explicit_pads(
        {a.name: (v.decode() if isinstance(v := helper.get_attribute_value(a), bytes) else v)
         for a in nodes[1].attribute},
        pko.run(_model(nodes[:1], ["x"], ["a"], 18), [x])[0].shape[2:])), nodes[2]]
    ref = _ref_run(_model(explicit, ["x"], ["c"], 18), {"x": x})
    np.testing.assert_allclose(got[0], ref[0], rtol=2e-5, atol=1e-6)
    want = _ort_run(_typed_model(nodes, [("x", "float32")], [("c", "float32"), ("ia", "int64")],
                                 18), {"x": x})
    np.testing.assert_allclose(got[0], want[0], rtol=2e-5, atol=1e-6)
    np.testing.assert_array_equal(got[1], want[1])


def test_maxpool_unpool_round_trip_graph_matches_onnxruntime():
    nodes = [helper.make_node("MaxPool", ["x"], ["y", "i"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("MaxUnpool", ["y", "i"], ["u"], kernel_shape=[2, 2], strides=[2, 2])]
    x = _distinct((2, 3, 4, 6), "float32", 1)
    (u,) = pko.run(_model(nodes, ["x"], ["u"], 11), [x])
    (want,) = _ort_run(_typed_model(nodes, [("x", "float32")], [("u", "float32")], 11), {"x": x})
    np.testing.assert_array_equal(u, want)
    # the kept cells are exactly the window maxima of x
    blocks = x.reshape(2, 3, 2, 2, 3, 2)
    is_max = blocks == blocks.max(axis=(3, 5), keepdims=True)
    np.testing.assert_array_equal(u, np.where(is_max, blocks, 0).reshape(x.shape))


@pytest.mark.parametrize("storage_order", [0, 1])
@pytest.mark.parametrize("shape,k", [((2, 3, 7), [3]), ((2, 2, 5, 4), [2, 3]),
                                     ((1, 2, 4, 3, 5), [2, 2, 3])])
def test_maxpool_indices_storage_order_against_loop(storage_order, shape, k):
    """ONNX Indices written from the spec: flat over N x C x spatial, the spatial part row major
    (storage_order=0) or column major (1)."""
    x = _distinct(shape, "float64", sum(shape))
    node = helper.make_node("MaxPool", ["x"], ["y", "i"], kernel_shape=k, strides=[1] * len(k),
                            storage_order=storage_order)
    y, idx = pko.run(_model([node], ["x"], ["y", "i"], 12), [x])
    sp = shape[2:]
    for pos in np.ndindex(*y.shape):
        n, c, o = pos[0], pos[1], pos[2:]
        cells = [tuple(oo + kk for oo, kk in zip(o, t)) for t in np.ndindex(*k)]
        best = max(cells, key=lambda cell: x[(n, c) + cell])
        assert y[pos] == x[(n, c) + best]
        local = (np.ravel_multi_index(best, sp) if storage_order == 0
                 else np.ravel_multi_index(best, sp, order="F"))
        assert idx[pos] == (n * shape[1] + c) * math.prod(sp) + local


# --------------------------------------------------------------------------- opset defaults
def test_averagepool_opset1_excludes_padding():
    """AveragePool-1 has no count_include_pad: padded cells are never counted."""
    x = np.array([[[1.0, 2.0, 4.0]]], dtype=np.float32)
    node = helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[2], pads=[1, 1])
    (y,) = pko.run(_model([node], ["x"], ["y"], 1), [x])
    np.testing.assert_allclose(y, [[[1.0, 1.5, 3.0, 4.0]]])
    node7 = helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[2], pads=[1, 1],
                             count_include_pad=1)
    (y7,) = pko.run(_model([node7], ["x"], ["y"], 7), [x])
    np.testing.assert_allclose(y7, [[[0.5, 1.5, 3.0, 2.0]]])


@pytest.mark.parametrize("opset,p", [(1, 3.0), (1, None), (2, 3), (2, None), (22, 1)])
def test_global_lp_pool_p_attribute_across_opsets(opset, p):
    x = _distinct((2, 3, 4, 5), "float64", 3)
    kw = {} if p is None else {"p": p}
    node = helper.make_node("GlobalLpPool", ["x"], ["y"], **kw)
    (y,) = pko.run(_model([node], ["x"], ["y"], opset), [x])
    pp = 2.0 if p is None else float(p)
    want = (np.abs(x) ** pp).sum(axis=(2, 3), keepdims=True) ** (1 / pp)
    np.testing.assert_allclose(y, want, rtol=1e-12)
    if opset >= 2:
        ort_y = _ort_run(_typed_model([node], [("x", "float32")], [("y", "float32")], 13),
                         {"x": x.astype(np.float32)})[0]
        np.testing.assert_allclose(y.astype(np.float32), ort_y, rtol=1e-5)


def test_lppool_opset1_float_p():
    x = _distinct((1, 2, 6), "float64", 5)
    node = helper.make_node("LpPool", ["x"], ["y"], kernel_shape=[3], strides=[3], p=3.0)
    (y,) = pko.run(_model([node], ["x"], ["y"], 1), [x])
    want = (np.abs(x.reshape(1, 2, 2, 3)) ** 3).sum(-1) ** (1 / 3)
    np.testing.assert_allclose(y, want, rtol=1e-12)


@pytest.mark.parametrize("op", ["GlobalMaxPool", "GlobalAveragePool"])
@pytest.mark.parametrize("shape", [(2, 3, 5), (1, 2, 3, 4), (1, 2, 2, 3, 2)])
def test_global_pools_against_onnxruntime(op, shape):
    x = _distinct(shape, "float32", 7)
    node = helper.make_node(op, ["x"], ["y"])
    (y,) = pko.run(_model([node], ["x"], ["y"], 1), [x])
    (want,) = _ort_run(_typed_model([node], [("x", "float32")], [("y", "float32")], 22), {"x": x})
    assert y.shape == want.shape == shape[:2] + (1,) * (len(shape) - 2)
    np.testing.assert_allclose(y, want, rtol=1e-6)


def test_maxpool_int8_uint8_exact():
    for dt in ("int8", "uint8"):
        x = np.random.default_rng(0).integers(0, 100, (1, 2, 5, 5)).astype(dt)
        node = helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                                strides=[2, 2])
        (y,) = pko.run(_model([node], ["x"], ["y"], 12), [x])
        (want,) = _ort_run(_typed_model([node], [("x", dt)], [("y", dt)], 12), {"x": x})
        assert y.dtype == np.dtype(dt)
        np.testing.assert_array_equal(y, want)


# --------------------------------------------------------------------------- MaxUnpool, MaxRoiPool
def test_maxunpool_output_shape_index_spaces():
    """With output_shape bigger than the unpooled size, 'inferred' (ONNX reference and
    conformance) zero-extends; 'output' reads the indices in the output plane (onnxruntime)."""
    node = helper.make_node("MaxUnpool", ["x", "i", "s"], ["y"], kernel_shape=[2, 2],
                            strides=[2, 2])
    x = np.array([[[[5, 6], [7, 8]]]], dtype=np.float32)
    i = np.array([[[[6, 8], [16, 18]]]], dtype=np.int64)  # a 2x2/2 MaxPool of a 5x5 plane
    s = np.array([1, 1, 5, 5], dtype=np.int64)
    model = _model([node], ["x", "i", "s"], ["y"], 11)
    with pytest.raises(OnnxNodeError, match="does not lie in its own"):
        pko.run(model, [x, i, s])  # 16 and 18 are outside the inferred 4x4 plane
    (y,) = pko.run(model, [x, i, s], unpool_index_space="output")
    (want,) = _ort_run(_typed_model([node], [("x", "float32"), ("i", "int64"), ("s", "int64")],
                                    [("y", "float32")], 11), {"x": x, "i": i, "s": s})
    np.testing.assert_array_equal(y, want)
    (ref,) = _ref_run(model, {"x": x, "i": np.array([[[[5, 7], [13, 15]]]]), "s": s})
    np.testing.assert_array_equal(pko.run(model, [x, np.array([[[[5, 7], [13, 15]]]]), s])[0], ref)
    with pytest.raises(UnsupportedOnnxError, match="smaller"):
        pko.run(model, [x, np.array([[[[5, 7], [13, 15]]]]), np.array([1, 1, 3, 3])])


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 2), st.integers(1, 3), st.integers(2, 8), st.integers(2, 8),
       st.integers(1, 3), st.integers(1, 3), st.sampled_from([1.0, 0.5, 0.25, 0.625]),
       st.integers(0, 999))
def test_maxroipool_matches_onnxruntime(n, c, h, w, ph, pw, scale, seed):
    rng = np.random.default_rng(seed)
    x = _distinct((n, c, h, w), "float32", seed)
    rois = np.concatenate([rng.integers(0, n, (5, 1)),
                           np.round(rng.uniform(-2, 2 * max(h, w), (5, 4)), 1)], 1)
    rois = rois.astype(np.float32)
    node = helper.make_node("MaxRoiPool", ["x", "r"], ["y"], pooled_shape=[ph, pw],
                            spatial_scale=scale)
    (y,) = pko.run(_model([node], ["x", "r"], ["y"], 1), [x, rois])
    (want,) = _ort_run(_typed_model([node], [("x", "float32"), ("r", "float32")],
                                    [("y", "float32")], 13), {"x": x, "r": rois})
    np.testing.assert_array_equal(y, want)


# --------------------------------------------------------------------------- run() API
def test_run_accepts_model_path_bytes_dict_and_initializers(tmp_path):
    node = helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[2], strides=[2])
    model = _model([node], ["x"], ["y"], 22)
    x = np.array([[[1.0, 3.0, 5.0, 9.0]]], dtype=np.float32)
    want = np.array([[[2.0, 7.0]]], dtype=np.float32)
    path = tmp_path / "m.onnx"
    onnx.save(model, str(path))
    for m in (model, str(path), path, model.SerializeToString()):
        np.testing.assert_array_equal(pko.run(m, [x])[0], want)
    np.testing.assert_array_equal(pko.run(model, {"x": x})[0], want)
    init = onnx.numpy_helper.from_array(x, "x")
    with_init = _model([node], [], ["y"], 22, initializers=[init])
    np.testing.assert_array_equal(pko.run(with_init, [])[0], want)
    with pytest.raises(ValueError, match="lacks the graph inputs"):
        pko.run(model, [])
    with pytest.raises(ValueError, match="not graph inputs"):
        pko.run(model, {"z": x})
    with pytest.raises(TypeError, match="`model`"):
        pko.run(3, [x])


# --------------------------------------------------------------------------- errors
def _one(op, opset=22, inputs=("x",), outputs=("y",), **attrs):
    return _model([helper.make_node(op, list(inputs), list(outputs), name="n1", **attrs)],
                  list(inputs), list(outputs), opset)


X4 = np.zeros((1, 1, 4, 4), dtype=np.float32)


@pytest.mark.parametrize("model,err,pattern", [
    (_one("Relu"), UnsupportedOnnxError, r"node 'n1' \(Relu, opset 22\).*'Relu' is not supported"),
    (_one("MaxPool", kernel_shape=[2, 2], foo=1), UnsupportedOnnxError,
     r"node 'n1' \(MaxPool, opset 22\), attribute 'foo': is not an attribute"),
    (_one("AveragePool", opset=11, kernel_shape=[2, 2], dilations=[2, 2]), UnsupportedOnnxError,
     r"AveragePool, opset 11\), attribute 'dilations'"),
    (_one("MaxPool", opset=8, kernel_shape=[2, 2], ceil_mode=1), UnsupportedOnnxError,
     r"attribute 'ceil_mode'"),
    (_one("MaxPool", kernel_shape=[2, 2], storage_order=2, outputs=("y", "i")), OnnxNodeError,
     r"attribute 'storage_order': must be 0 \(row major\) or 1"),
    (_one("MaxPool", kernel_shape=[2, 2], auto_pad="FOO"), UnsupportedOnnxError,
     r"attribute 'auto_pad': must be NOTSET, VALID"),
    (_one("MaxPool", kernel_shape=[2, 2], auto_pad="SAME_UPPER", pads=[1, 1, 1, 1]),
     OnnxNodeError, r"attribute 'auto_pad': cannot be used together with pads"),
    (_one("MaxPool", kernel_shape=[2]), OnnxNodeError, r"attribute 'kernel_shape': must have 2"),
    (_one("MaxPool"), OnnxNodeError, r"attribute 'kernel_shape': is required"),
    (_one("MaxPool", kernel_shape=[2, 2], pads=[1, 1, -1, 1]), OnnxNodeError,
     r"attribute 'pads': must be non-negative"),
    (_one("AveragePool", kernel_shape=[2, 2], count_include_pad=3), OnnxNodeError,
     r"attribute 'count_include_pad': must be 0 or 1"),
    (_one("LpPool", kernel_shape=[2, 2], p=2.0), OnnxNodeError,
     r"attribute 'p': must be of type INT"),
    (_one("MaxPool", opset=1, kernel_shape=[2, 2], outputs=("y", "i")), OnnxNodeError,
     r"at most 1 output"),
    (_one("MaxUnpool", opset=8, kernel_shape=[2, 2], inputs=("x", "i")), OnnxNodeError,
     r"MaxUnpool does not exist at opset 8"),
    (_one("MaxPool", kernel_shape=[2, 2], strides=[0, 1]), OnnxNodeError,
     r"node 'n1' \(MaxPool, opset 22\): `strides` must be positive integers"),
])
def test_clear_errors(model, err, pattern):
    with pytest.raises(err, match=pattern):
        inputs = [X4, np.zeros((1, 1, 4, 4), np.int64)][:len(model.graph.input)]
        pko.run(model, inputs)


def test_custom_domain_and_dtype_errors():
    m = _one("MaxPool", kernel_shape=[2, 2])
    m.graph.node[0].domain = "com.example"
    with pytest.raises(UnsupportedOnnxError, match="domain 'com.example'"):
        pko.run(m, [X4])
    with pytest.raises(UnsupportedOnnxError, match="dtype int32"):
        pko.run(_one("MaxPool", kernel_shape=[2, 2]), [X4.astype(np.int32)])
    with pytest.raises(UnsupportedOnnxError, match="1 to 3 spatial"):
        pko.run(_one("GlobalMaxPool"), [np.zeros((2, 3), np.float32)])


def test_importing_poolkit_does_not_import_onnx():
    code = ("import sys, poolkit, poolkit.onnx, poolkit.unpool; "
            "bad = [m for m in ('onnx', 'onnxruntime', 'torch', 'tensorflow', 'jax') "
            "if m in sys.modules]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ})
