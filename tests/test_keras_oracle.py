"""Optional oracle: poolkit's Keras-named layers against ``keras.layers`` on TensorFlow.

Skipped cleanly when TensorFlow/Keras is absent. Forward outputs, gradients (GradientTape with
random output gradients), ``compute_output_shape``, the shared ``get_config`` entries and the
constructor signatures (names, order, defaults) must agree with Keras for every Keras class.
"""
from __future__ import annotations

import inspect
import os

import numpy as np
import pytest

import poolkit.layers as L

# (class name, constructor kwargs, input shape); every Keras class appears at least once
CASES = [
    ("MaxPooling1D", dict(), (2, 7, 3)),
    ("MaxPooling1D", dict(pool_size=3, strides=2, padding="same"), (2, 8, 3)),
    ("MaxPooling2D", dict(), (2, 5, 6, 3)),
    ("MaxPooling2D", dict(pool_size=(3, 2), strides=(2, 1), padding="same"), (2, 7, 5, 2)),
    ("MaxPooling2D", dict(pool_size=3, strides=2, padding="same", data_format="channels_first"),
     (2, 3, 7, 6)),
    ("MaxPooling3D", dict(), (1, 4, 5, 4, 2)),
    ("MaxPooling3D", dict(pool_size=(2, 3, 2), strides=1, padding="same"), (1, 3, 4, 3, 2)),
    ("AveragePooling1D", dict(pool_size=3, strides=2, padding="same"), (2, 7, 3)),
    ("AveragePooling1D", dict(pool_size=2, data_format="channels_first"), (2, 3, 7)),
    ("AveragePooling2D", dict(pool_size=2), (2, 5, 6, 3)),
    ("AveragePooling2D", dict(pool_size=(3, 3), strides=(2, 1), padding="same"), (2, 6, 5, 2)),
    ("AveragePooling3D", dict(pool_size=2, strides=1, padding="same"), (1, 3, 4, 3, 2)),
    ("AveragePooling3D", dict(pool_size=(1, 2, 3), padding="valid",
                              data_format="channels_first"), (1, 2, 3, 4, 6)),
    ("GlobalMaxPooling1D", dict(), (2, 7, 3)),
    ("GlobalMaxPooling2D", dict(keepdims=True), (2, 4, 5, 3)),
    ("GlobalMaxPooling3D", dict(data_format="channels_first"), (2, 3, 3, 4, 2)),
    ("GlobalAveragePooling1D", dict(data_format="channels_first", keepdims=True), (2, 3, 7)),
    ("GlobalAveragePooling2D", dict(), (2, 4, 5, 3)),
    ("GlobalAveragePooling3D", dict(keepdims=True), (2, 3, 4, 2, 3)),
    ("AdaptiveMaxPooling1D", dict(output_size=3), (2, 7, 3)),
    ("AdaptiveMaxPooling2D", dict(output_size=(3, 4)), (2, 7, 6, 3)),
    ("AdaptiveMaxPooling3D", dict(output_size=2, data_format="channels_first"), (1, 2, 5, 4, 3)),
    ("AdaptiveAveragePooling1D", dict(output_size=4, data_format="channels_first"), (2, 3, 7)),
    ("AdaptiveAveragePooling2D", dict(output_size=(2, 3)), (2, 5, 7, 2)),
    ("AdaptiveAveragePooling3D", dict(output_size=(2, 3, 2)), (1, 5, 7, 3, 2)),
]

KERAS_ALIASES = {
    f"{alias}{n}D": f"{full}{n}D" for n in (1, 2, 3) for alias, full in (
        ("MaxPool", "MaxPooling"), ("AvgPool", "AveragePooling"),
        ("GlobalMaxPool", "GlobalMaxPooling"), ("GlobalAvgPool", "GlobalAveragePooling"))
}


@pytest.fixture(scope="module")
def keras_tf():
    """Keras on the TensorFlow backend, imported once for the module."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    tf = pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "tensorflow":
        pytest.skip("keras was already imported with another backend")
    return keras, tf


@pytest.mark.parametrize("name, kwargs, shape", CASES,
                         ids=[f"{n}-{kw}-{s}" for n, kw, s in CASES])
def test_matches_keras_forward_and_backward(keras_tf, name, kwargs, shape):
    keras, tf = keras_tf
    rng = np.random.default_rng(len(CASES) * sum(shape) + len(kwargs))
    # float64 on both sides: tight tolerances, and the kernels the other tests compiled. TF has
    # no float64 3D pooling, so there Keras runs float32 on float32-representable data.
    kdtype = "float32" if len(shape) == 5 else "float64"
    tol = dict(rtol=1e-5, atol=1e-6) if kdtype == "float32" else dict(rtol=1e-12, atol=1e-12)
    x = rng.standard_normal(shape).astype(kdtype).astype(np.float64)

    theirs = getattr(keras.layers, name)(**kwargs, dtype=kdtype)
    ours = getattr(L, name)(**kwargs)

    xt = tf.constant(x, dtype=kdtype)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y_k = theirs(xt)
    assert y_k.dtype == kdtype
    dy = rng.standard_normal(tuple(y_k.shape)).astype(kdtype).astype(np.float64)
    dx_k = tape.gradient(y_k, xt, output_gradients=tf.constant(dy, dtype=kdtype)).numpy()

    y = ours(x)
    assert y.dtype == np.float64
    assert y.shape == tuple(y_k.shape)
    np.testing.assert_allclose(y, y_k.numpy(), **tol)
    dx = ours.backward(dy)
    assert dx.shape == x.shape
    np.testing.assert_allclose(dx, dx_k, **tol)

    for batch in (None, shape[0]):
        in_shape = (batch, *shape[1:])
        assert ours.compute_output_shape(in_shape) == tuple(theirs.compute_output_shape(in_shape))

    ours_cfg, theirs_cfg = ours.get_config(), theirs.get_config()
    for key in ("pool_size", "strides", "padding", "data_format", "keepdims", "output_size"):
        if key in theirs_cfg:
            expected = theirs_cfg[key]
            if isinstance(expected, list):
                expected = tuple(expected)
            assert ours_cfg[key] == expected, key


_KERAS_CLASSES = sorted({name for name, _, _ in CASES})


@pytest.mark.parametrize("name", _KERAS_CLASSES + sorted(KERAS_ALIASES))
def test_constructor_signature_matches_keras(keras_tf, name):
    """Same positional order and defaults as Keras for every Keras argument."""
    keras, _ = keras_tf
    theirs = inspect.signature(getattr(keras.layers, name).__init__).parameters
    ours = inspect.signature(getattr(L, name).__init__).parameters
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD,)
    their_pos = [p for p in theirs.values() if p.kind in kinds and p.name != "self"]
    our_pos = [p for p in ours.values() if p.kind in kinds and p.name != "self"]
    assert [p.name for p in our_pos[:len(their_pos)]] == [p.name for p in their_pos]
    rank = getattr(L, name).rank
    for p in their_pos:
        default, expected = ours[p.name].default, p.default
        if p.name == "pool_size":  # an int means the same size on every dim, as in Keras
            default, expected = ((v,) * rank if isinstance(v, int) else v
                                 for v in (default, expected))
        assert default == expected, (name, p.name)
        # and the layer built with defaults really uses Keras's default
        if p.name == "pool_size" and p.default is not inspect.Parameter.empty:
            assert getattr(L, name)().pool_size == expected
    if name in KERAS_ALIASES:
        assert getattr(L, name) is getattr(L, KERAS_ALIASES[name])
        assert getattr(keras.layers, name) is getattr(keras.layers, KERAS_ALIASES[name])
