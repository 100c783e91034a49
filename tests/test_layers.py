"""Tests of ``poolkit.layers``.

Each layer is checked against the functional API (exact equality: the layer must only delegate),
against the slow loop reference in ``tests/reference.py`` (forward and backward), and against an
independent identity: every pooling op here is positively homogeneous of degree one, so by
Euler's theorem ``sum(x * backward(dy)) == sum(layer(x) * dy)`` whatever the gradient code does.
"""
from __future__ import annotations

import json
import math
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import poolkit as pk
import poolkit.layers as L

from . import reference as ref

# family -> (functional op name, 1D/2D/3D classes)
FAMILIES = {
    "max": ("max_pool", (L.MaxPooling1D, L.MaxPooling2D, L.MaxPooling3D)),
    "avg": ("avg_pool", (L.AveragePooling1D, L.AveragePooling2D, L.AveragePooling3D)),
    "lp": ("lp_pool", (L.LpPooling1D, L.LpPooling2D, L.LpPooling3D)),
    "gmax": ("global_max_pool",
             (L.GlobalMaxPooling1D, L.GlobalMaxPooling2D, L.GlobalMaxPooling3D)),
    "gavg": ("global_avg_pool",
             (L.GlobalAveragePooling1D, L.GlobalAveragePooling2D, L.GlobalAveragePooling3D)),
    "glp": ("global_lp_pool", (L.GlobalLpPooling1D, L.GlobalLpPooling2D, L.GlobalLpPooling3D)),
    "amax": ("adaptive_max_pool",
             (L.AdaptiveMaxPooling1D, L.AdaptiveMaxPooling2D, L.AdaptiveMaxPooling3D)),
    "aavg": ("adaptive_avg_pool", (L.AdaptiveAveragePooling1D, L.AdaptiveAveragePooling2D,
                                   L.AdaptiveAveragePooling3D)),
}
ALL_CLASSES = [cls for _, classes in FAMILIES.values() for cls in classes]

# (family, rank, constructor kwargs == functional kwargs, spatial input shape)
CASES = [
    ("max", 1, dict(pool_size=3, strides=2, padding="same"), (7,)),
    ("max", 2, dict(pool_size=(2, 3), strides=(1, 2), padding="valid"), (5, 6)),
    ("max", 2, dict(pool_size=3, strides=2, padding=1, dilation=1, ceil_mode=True), (6, 7)),
    ("max", 2, dict(pool_size=2, strides=1, padding="same_lower", dilation=2), (5, 4)),
    ("max", 3, dict(pool_size=2, strides=1, padding="same"), (3, 4, 3)),
    ("avg", 1, dict(pool_size=2, padding="same"), (5,)),
    ("avg", 2, dict(pool_size=3, strides=2, padding="same"), (5, 6)),
    ("avg", 2, dict(pool_size=3, strides=2, padding=((1, 0), (0, 1)), count_include_pad=True,
                    ceil_mode=True), (6, 5)),
    ("avg", 2, dict(pool_size=2, strides=1, divisor_override=3), (3, 4)),
    ("avg", 3, dict(pool_size=(1, 2, 2), strides=(1, 2, 1), padding="valid"), (2, 4, 3)),
    ("lp", 1, dict(p=2, pool_size=3, strides=1, padding="same"), (5,)),
    ("lp", 2, dict(p=3.0, pool_size=2, strides=1, padding=1), (4, 3)),
    ("lp", 2, dict(p=1, pool_size=(2, 2), dilation=(1, 2)), (4, 5)),
    ("lp", 3, dict(p=2, pool_size=2), (2, 4, 2)),
    ("gmax", 1, dict(), (5,)),
    ("gmax", 2, dict(keepdims=True), (3, 4)),
    ("gmax", 3, dict(), (2, 3, 2)),
    ("gavg", 1, dict(keepdims=True), (4,)),
    ("gavg", 2, dict(), (3, 4)),
    ("gavg", 3, dict(keepdims=True), (2, 2, 3)),
    ("glp", 1, dict(p=3), (5,)),
    ("glp", 2, dict(p=2, keepdims=True), (3, 3)),
    ("glp", 3, dict(), (2, 3, 2)),
    ("amax", 1, dict(output_size=3), (7,)),
    ("amax", 2, dict(output_size=(2, 3)), (5, 4)),
    ("amax", 3, dict(output_size=(1, 2, 2)), (2, 3, 5)),
    ("aavg", 1, dict(output_size=4), (6,)),
    ("aavg", 1, dict(output_size=4), (7,)),  # uneven window starts: 0, 1, 3, 5
    ("amax", 1, dict(output_size=5), (2,)),  # more outputs than inputs
    ("aavg", 2, dict(output_size=(3, 2)), (5, 5)),
    ("aavg", 3, dict(output_size=2), (3, 3, 4)),
]


def _case_id(case):
    fam, rank, kw, spatial = case
    return f"{FAMILIES[fam][1][rank - 1].__name__}-{kw}-{spatial}"


def _input_shape(spatial, data_format, n=2, c=3):
    return (n, *spatial, c) if data_format == "channels_last" else (n, c, *spatial)


def _close(a, b, **kw):
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64),
                               rtol=kw.get("rtol", 1e-10), atol=kw.get("atol", 1e-12))


# ----------------------------------------------------------------------------------------------
# forward and backward against the functional API, the reference and Euler's identity
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_layer_matches_functional_and_reference(case, data_format):
    fam, rank, kw, spatial = case
    op_name, classes = FAMILIES[fam]
    cls = classes[rank - 1]
    rng = np.random.default_rng(zlib.crc32(f"{_case_id(case)}{data_format}".encode()))
    x = rng.standard_normal(_input_shape(spatial, data_format))
    kwargs = dict(kw, data_format=data_format)

    layer = cls(**kwargs)
    y = layer(x)

    # delegation: bit-identical to the functional API
    np.testing.assert_array_equal(y, getattr(pk, op_name)(x, **kwargs))
    # independent loop reference
    y_ref = getattr(ref, op_name)(x, **kwargs)
    assert y.shape == y_ref.shape
    assert y.dtype == y_ref.dtype
    _close(y, y_ref)
    # compute_output_shape agrees with the real output
    assert layer.compute_output_shape(x.shape) == y.shape

    dy = rng.standard_normal(y.shape)
    dx = layer.backward(dy)
    assert dx.shape == x.shape
    _close(dx, getattr(ref, op_name + "_grad")(x, dy, **kwargs))
    # Euler: f(t x) = t f(x)  =>  <x, J^T dy> = <f(x), dy>
    assert math.isclose(float(np.sum(x * dx)), float(np.sum(y * dy)), rel_tol=1e-9,
                        abs_tol=1e-9)
    # the functional gradient API gives the same
    _close(dx, pk.grad(getattr(pk, op_name), x, dy, **kwargs), rtol=0, atol=0)


@pytest.mark.parametrize("cls", [L.AveragePooling2D, L.LpPooling1D, L.GlobalAveragePooling3D,
                                 L.AdaptiveAveragePooling2D])
def test_backward_matches_finite_differences(cls):
    """Central differences of a smooth layer's forward, independent of any gradient code."""
    rank = cls.rank
    kw = {} if issubclass(cls, L._GlobalPooling) else (
        dict(output_size=2) if issubclass(cls, L._AdaptivePooling) else
        dict(pool_size=2, strides=1, padding="same"))
    rng = np.random.default_rng(7)
    x = rng.uniform(0.5, 2.0, size=(1, *(3,) * rank, 2))
    layer = cls(**kw)
    y = layer(x)
    dy = rng.standard_normal(y.shape)
    dx = layer.backward(dy)
    eps = 1e-6
    fd = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += eps
        xm[idx] -= eps
        fd[idx] = np.sum((cls(**kw)(xp) - cls(**kw)(xm)) * dy) / (2 * eps)
    _close(dx, fd, rtol=1e-6, atol=1e-8)


def test_backward_uses_the_last_forward():
    layer = L.MaxPooling1D(2)
    x1 = np.array([[[1.0], [2.0], [4.0], [3.0]]])
    x2 = np.array([[[2.0], [1.0], [3.0], [4.0]]])
    layer(x1)
    layer(x2)
    dx = layer.backward(np.array([[[10.0], [20.0]]]))
    np.testing.assert_array_equal(dx[0, :, 0], [10.0, 0.0, 0.0, 20.0])


def test_failed_call_forgets_the_previous_forward():
    layer = L.MaxPooling2D(3)
    layer(np.ones((1, 3, 3, 1)))
    with pytest.raises(ValueError):
        layer(np.ones((1, 2, 2, 1)))  # window larger than the input
    with pytest.raises(RuntimeError, match="before any forward"):
        layer.backward(np.ones((1, 1, 1, 1)))


@pytest.mark.parametrize("dtype", ["float16", "float32", "int32", "uint8"])
def test_dtypes_follow_the_functional_api(dtype):
    x = (np.arange(2 * 4 * 4 * 2) % 7).reshape(2, 4, 4, 2).astype(dtype)
    for layer, expected in [(L.MaxPooling2D(), pk.max_pool(x, 2)),
                            (L.AveragePooling2D(2), pk.avg_pool(x, 2)),
                            (L.GlobalMaxPooling2D(), pk.global_max_pool(x))]:
        y = layer(x)
        assert y.dtype == expected.dtype
        np.testing.assert_array_equal(y, expected)


# ----------------------------------------------------------------------------------------------
# compute_output_shape
# ----------------------------------------------------------------------------------------------


def test_compute_output_shape_accepts_unknown_dims():
    assert L.MaxPooling2D().compute_output_shape((None, 8, 9, 3)) == (None, 4, 4, 3)
    assert L.MaxPooling2D(3, 2, "same").compute_output_shape((None, 8, None, None)) == \
        (None, 4, None, None)
    assert L.AveragePooling1D(2, data_format="channels_first").compute_output_shape(
        (None, 5, 9)) == (None, 5, 4)
    assert L.GlobalMaxPooling3D().compute_output_shape((None, 2, 3, 4, 5)) == (None, 5)
    assert L.GlobalAveragePooling2D(data_format="channels_first", keepdims=True) \
        .compute_output_shape((None, 7, 4, 4)) == (None, 7, 1, 1)
    assert L.AdaptiveMaxPooling2D((3, 2)).compute_output_shape((None, 10, 10, 3)) == \
        (None, 3, 2, 3)
    assert L.AdaptiveAveragePooling1D(4, "channels_first").compute_output_shape(
        (2, 3, None)) == (2, 3, 4)


@pytest.mark.parametrize("bad", [(None, 8, 3), (1, 2, 3, 4, 5), "abc", (1, -1, 4, 2),
                                 (1, 2.5, 4, 2)])
def test_compute_output_shape_rejects_bad_shapes(bad):
    with pytest.raises((ValueError, TypeError), match="input_shape"):
        L.MaxPooling2D().compute_output_shape(bad)


def test_compute_output_shape_rejects_too_small_input():
    with pytest.raises(ValueError, match="pool_size"):
        L.MaxPooling2D(3).compute_output_shape((None, 2, 8, 1))


_window = st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 2))


@settings(max_examples=40, deadline=None)
@given(
    rank=st.integers(1, 3),
    family=st.sampled_from(["max", "avg", "lp"]),
    data=st.data(),
)
def test_compute_output_shape_matches_output_hypothesis(rank, family, data):
    cls = FAMILIES[family][1][rank - 1]
    dims = data.draw(st.lists(_window, min_size=rank, max_size=rank))
    pool_size = tuple(k for k, _, _ in dims)
    strides = tuple(s for _, s, _ in dims)
    dilation = tuple(d for _, _, d in dims)
    padding = data.draw(st.sampled_from(["valid", "same", "same_lower", "explicit"]))
    if padding == "explicit":
        padding = tuple(data.draw(st.integers(0, ((k - 1) * d) // 2)) for k, _, d in dims)
    ceil_mode = data.draw(st.booleans()) if not isinstance(padding, str) else False
    data_format = data.draw(st.sampled_from(["channels_last", "channels_first"]))
    spatial = tuple(data.draw(st.integers((k - 1) * d + 1, (k - 1) * d + 4)) for k, _, d in dims)
    kw = dict(pool_size=pool_size, strides=strides, padding=padding, dilation=dilation,
              ceil_mode=ceil_mode, data_format=data_format)
    layer = cls(**kw)
    x = np.random.default_rng(0).standard_normal(_input_shape(spatial, data_format, 1, 2))
    y = layer(x)
    shape = layer.compute_output_shape(x.shape)
    assert shape == y.shape
    assert shape == ref.output_shape(x.shape, pool_size, strides, padding, dilation=dilation,
                                     ceil_mode=ceil_mode, data_format=data_format)
    # configs survive a JSON round trip
    cfg = json.loads(json.dumps(layer.get_config()))
    assert cls.from_config(cfg) == layer


# ----------------------------------------------------------------------------------------------
# config, equality, repr, names
# ----------------------------------------------------------------------------------------------


def _example_kwargs(cls):
    if issubclass(cls, L._AdaptivePooling):
        return dict(output_size=2, data_format="channels_first")
    if issubclass(cls, L._GlobalLpPooling):
        return dict(p=3, keepdims=True)
    if issubclass(cls, L._GlobalPooling):
        return dict(data_format="channels_first", keepdims=True)
    kw = dict(pool_size=3, strides=2, padding="same", dilation=1)
    if issubclass(cls, L._AveragePooling):
        kw.update(count_include_pad=True, divisor_override=4)
    if issubclass(cls, L._LpPooling):
        kw.update(p=float("inf"))
    return kw


@pytest.mark.parametrize("cls", ALL_CLASSES, ids=lambda c: c.__name__)
def test_get_config_round_trip(cls):
    layer = cls(**_example_kwargs(cls))
    cfg = layer.get_config()
    assert type(cfg) is dict
    assert cfg["name"] == layer.name
    rebuilt = cls.from_config(cfg)
    assert rebuilt == layer and hash(rebuilt) == hash(layer)
    assert rebuilt.get_config() == cfg
    # JSON-able (lists come back instead of tuples) and still equal
    assert cls.from_config(json.loads(json.dumps(cfg))) == layer
    # a readable repr that rebuilds the layer
    text = repr(layer)
    assert text.startswith(cls.__name__ + "(") and f"name={layer.name!r}" in text
    assert eval(text, {"inf": math.inf, **vars(L)}) == layer
    # a different config is a different layer
    other = dict(cfg, name=cfg["name"] + "_other")
    assert cls.from_config(other) != layer
    assert layer != object()


@pytest.mark.parametrize("a, b", [
    (L.MaxPooling2D(2, name="p"), L.AveragePooling2D(2, name="p")),
    (L.MaxPooling2D(2, name="p"), L.MaxPooling2D(2, 1, name="p")),
    (L.GlobalMaxPooling1D(name="p"), L.GlobalAveragePooling1D(name="p")),
    (L.GlobalMaxPooling1D(name="p"), L.GlobalMaxPooling1D(keepdims=True, name="p")),
    (L.AdaptiveMaxPooling3D(2, name="p"), L.AdaptiveAveragePooling3D(2, name="p")),
    (L.LpPooling1D(2, name="p"), L.LpPooling1D(3, name="p")),
])
def test_different_layers_are_not_equal(a, b):
    assert a != b and b != a


def test_config_normalises_arguments():
    cfg = L.MaxPooling2D(3, padding="SAME", data_format="Channels_First", name="pool").get_config()
    assert cfg == {"name": "pool", "pool_size": (3, 3), "strides": (3, 3), "padding": "same",
                   "data_format": "channels_first", "dilation": (1, 1), "ceil_mode": False}
    cfg = L.AveragePooling1D([2], 1, padding=1).get_config()
    assert cfg["pool_size"] == (2,) and cfg["strides"] == (1,) and cfg["padding"] == ((1, 1),)
    assert cfg["count_include_pad"] is False and cfg["divisor_override"] is None
    assert L.AdaptiveMaxPooling3D(4).get_config()["output_size"] == (4, 4, 4)


def test_default_names_are_unique_snake_case():
    a, b = L.GlobalAveragePooling2D(), L.GlobalAveragePooling2D()
    assert a.name.startswith("global_average_pooling2d") and b.name != a.name
    assert L.MaxPooling3D().name.startswith("max_pooling3d")
    assert L.AveragePooling1D(2, name="mine").name == "mine"


def test_keras_aliases():
    assert L.MaxPool2D is L.MaxPooling2D and L.AvgPool3D is L.AveragePooling3D
    assert L.GlobalMaxPool1D is L.GlobalMaxPooling1D
    assert L.GlobalAvgPool2D is L.GlobalAveragePooling2D
    for n in ("1D", "2D", "3D"):
        for alias, full in (("MaxPool", "MaxPooling"), ("AvgPool", "AveragePooling"),
                            ("GlobalMaxPool", "GlobalMaxPooling"),
                            ("GlobalAvgPool", "GlobalAveragePooling")):
            assert getattr(L, alias + n) is getattr(L, full + n)
            assert alias + n in L.__all__


def test_keras_defaults():
    assert L.MaxPooling1D().pool_size == (2,)
    m = L.MaxPooling2D()
    assert (m.pool_size, m.strides, m.padding, m.data_format) == \
        ((2, 2), (2, 2), "valid", "channels_last")
    assert L.MaxPooling3D().pool_size == (2, 2, 2)
    with pytest.raises(TypeError):
        L.AveragePooling2D()  # pool_size is required, as in Keras 3
    g = L.GlobalMaxPooling2D()
    assert (g.data_format, g.keepdims) == ("channels_last", False)
    assert L.AveragePooling2D(3, None).strides == (3, 3)


# ----------------------------------------------------------------------------------------------
# errors
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("make, arg", [
    (lambda: L.MaxPooling2D(0), "pool_size"),
    (lambda: L.MaxPooling2D((2, 2, 2)), "pool_size"),
    (lambda: L.MaxPooling2D("2"), "pool_size"),
    (lambda: L.MaxPooling2D(2, strides=(0, 2)), "strides"),
    (lambda: L.MaxPooling1D(2, padding="full"), "padding"),
    (lambda: L.MaxPooling1D(2, padding=-1), "padding"),
    (lambda: L.MaxPooling1D(2, padding=2), "padding"),
    (lambda: L.MaxPooling1D(2, data_format="channels_middle"), "data_format"),
    (lambda: L.MaxPooling1D(2, dilation=0), "dilation"),
    (lambda: L.MaxPooling1D(2, ceil_mode=1), "ceil_mode"),
    (lambda: L.MaxPooling1D(2, name=3), "name"),
    (lambda: L.AveragePooling2D(2, count_include_pad="yes"), "count_include_pad"),
    (lambda: L.AveragePooling2D(2, divisor_override=0), "divisor_override"),
    (lambda: L.AveragePooling2D(2, divisor_override="4"), "divisor_override"),
    (lambda: L.LpPooling2D(0), "p"),
    (lambda: L.LpPooling2D(float("nan")), "p"),
    (lambda: L.LpPooling2D(True), "p"),
    (lambda: L.GlobalLpPooling2D(-1.0), "p"),
    (lambda: L.GlobalMaxPooling2D(keepdims=None), "keepdims"),
    (lambda: L.GlobalAveragePooling1D("nwc?"), "data_format"),
    (lambda: L.AdaptiveMaxPooling2D(0), "output_size"),
    (lambda: L.AdaptiveAveragePooling2D((2, 2, 2)), "output_size"),
    (lambda: L.AdaptiveAveragePooling3D(2.5), "output_size"),
])
def test_bad_configuration_raises_at_construction(make, arg):
    with pytest.raises((ValueError, TypeError), match=f"`{arg}`") as info:
        make()
    assert "received" in str(info.value)


def test_base_classes_are_abstract():
    with pytest.raises(TypeError, match="abstract"):
        L._MaxPooling(2)


def test_backward_before_forward_raises():
    layer = L.AveragePooling2D(2)
    with pytest.raises(RuntimeError, match="before any forward"):
        layer.backward(np.ones((1, 1, 1, 1)))


def test_backward_rejects_wrong_dy_shape():
    layer = L.GlobalMaxPooling1D()
    layer(np.ones((2, 5, 3)))
    with pytest.raises(ValueError, match=r"`dy`.*\(2, 3\)"):
        layer.backward(np.ones((2, 1, 3)))


def test_call_rejects_wrong_rank():
    with pytest.raises(ValueError, match="expected ndim=4, found ndim=3"):
        L.MaxPooling2D()(np.ones((1, 4, 4)))


def test_from_config_rejects_non_mapping():
    with pytest.raises(TypeError, match="config"):
        L.MaxPooling1D.from_config([("pool_size", 2)])
