"""Run ONNX pooling models on poolkit.

>>> import poolkit.onnx                                    # doctest: +SKIP
>>> (y,) = poolkit.onnx.run("model.onnx", [x])           # doctest: +SKIP

Supported operators (every attribute of every opset version): ``MaxPool`` (with ``Indices``,
``storage_order`` 0 and 1), ``AveragePool``, ``LpPool``, ``GlobalMaxPool``, ``GlobalAveragePool``,
``GlobalLpPool``, ``MaxUnpool`` (with and without ``output_shape``) and ``MaxRoiPool``, plus the
``Unsqueeze`` / ``Squeeze`` / ``Identity`` glue that converters put around 1-D pooling. Anything
else raises :class:`UnsupportedOnnxError` naming the node, the operator and the attribute; a
model is never run with an attribute it would ignore.

Where ONNX implementations disagree, poolkit follows the operator specification:

* ``auto_pad=SAME_*`` with dilations uses the spec's total pad
  ``(out - 1) * stride + (kernel - 1) * dilation + 1 - in`` (onnxruntime rejects dilations there,
  the reference evaluator ignores them); a negative total (window smaller than the stride) is
  clamped to 0, as TensorFlow does.
* A NaN in a ``MaxPool`` window gives NaN and its index (onnxruntime's answer depends on where
  the NaN sits and on whether ``Indices`` are asked for).
* ``MaxUnpool`` with an ``output_shape`` input: see ``unpool_index_space`` in :func:`run`.
* ``MaxRoiPool`` reproduces the Caffe/onnxruntime bin arithmetic bit for bit.

:mod:`poolkit.onnx.backend` implements the ONNX Backend API on top of :func:`run`.
The ``onnx`` package is imported only when a model is loaded.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from ._mapping import OnnxNodeError, UnsupportedOnnxError

__all__ = ["run", "prepare", "OnnxNodeError", "UnsupportedOnnxError", "SUPPORTED_OPS"]

#: ONNX operator types that :func:`run` executes.
SUPPORTED_OPS = ("MaxPool", "AveragePool", "LpPool", "GlobalMaxPool", "GlobalAveragePool",
                 "GlobalLpPool", "MaxUnpool", "MaxRoiPool", "Unsqueeze", "Squeeze", "Identity")


def prepare(model: Any, *, unpool_index_space: str = "inferred"):
    """Check a model once and return a callable ``inputs -> list of outputs``.

    Parameters
    ----------
    model : onnx.ModelProto, str, os.PathLike or bytes
        The model, a path to a ``.onnx`` file or its serialized bytes.
    unpool_index_space : {"inferred", "output"}
        See :func:`run`.

    Returns
    -------
    callable
        ``f(inputs) -> list[np.ndarray]``, with ``inputs`` as in :func:`run`.

    Raises
    ------
    UnsupportedOnnxError
        An operator, attribute or attribute value poolkit does not run.
    OnnxNodeError
        Invalid attributes (wrong length, missing required attribute, ...).
    """
    from ._graph import Program

    return Program(model, unpool_index_space=unpool_index_space)


def run(model: Any, inputs: Sequence[Any] | Mapping[str, Any], *,
        unpool_index_space: str = "inferred") -> list[np.ndarray]:
    """Run an ONNX pooling model on NumPy arrays.

    Parameters
    ----------
    model : onnx.ModelProto, str, os.PathLike or bytes
        The model, a path to a ``.onnx`` file or its serialized bytes.
    inputs : list of array_like or dict of str to array_like
        Values of the graph inputs (initializers excluded), in graph order or by name.
    unpool_index_space : {"inferred", "output"}
        How ``MaxUnpool`` reads its indices when an ``output_shape`` input differs from the
        unpooled size ``(in - 1) * stride - (lo + hi) + kernel``. ``"inferred"`` (default) follows
        the ONNX reference implementation and conformance tests: indices address the unpooled
        size and the result is zero-extended to ``output_shape``. ``"output"`` follows ONNX
        Runtime and PyTorch: indices address the ``output_shape`` plane.

    Returns
    -------
    list of ndarray
        The graph outputs, in graph order.

    Raises
    ------
    UnsupportedOnnxError
        An operator, attribute, attribute value or dtype poolkit does not run (the message names
        the node, the operator and the attribute).
    OnnxNodeError
        Invalid attributes or inputs for a node.
    ValueError
        Missing or unknown graph inputs.

    Examples
    --------
    >>> import numpy as np
    >>> from onnx import helper, TensorProto
    >>> node = helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2])
    >>> graph = helper.make_graph(
    ...     [node], "pool", [helper.make_tensor_value_info("x", TensorProto.FLOAT, None)],
    ...     [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    >>> model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 22)])
    >>> x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    >>> run(model, [x])[0]
    array([[[[ 5.,  7.],
             [13., 15.]]]], dtype=float32)
    """
    return prepare(model, unpool_index_space=unpool_index_space)(inputs)
