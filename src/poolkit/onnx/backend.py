"""The ONNX Backend API on poolkit, for ``onnx.backend.test.BackendTest``.

>>> import onnx.backend.test                                         # doctest: +SKIP
>>> import poolkit.onnx.backend as backend                           # doctest: +SKIP
>>> tests = onnx.backend.test.BackendTest(backend, __name__)         # doctest: +SKIP

Only the CPU device exists. Importing this module imports ``onnx``.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import onnx
from onnx.backend.base import Backend, BackendRep, Device, DeviceType

from . import prepare as _prepare

__all__ = ["PoolkitBackend", "PoolkitRep", "prepare", "run_model", "run_node",
           "supports_device"]


class PoolkitRep(BackendRep):
    """A prepared model: :meth:`run` maps inputs to the list of graph outputs."""

    def __init__(self, program: Any) -> None:
        super().__init__()
        self._program = program

    def run(self, inputs: Any, **kwargs: Any) -> tuple[np.ndarray, ...]:
        """Run on a list (graph input order), a dict (name -> array) or a single array."""
        if isinstance(inputs, np.ndarray):
            inputs = [inputs]
        return tuple(self._program(inputs))


def _check_device(device: str) -> None:
    if not PoolkitBackend.supports_device(device):
        raise ValueError(f"poolkit runs on the CPU only; received device={device!r}")


class PoolkitBackend(Backend):
    """ONNX backend executing pooling graphs with poolkit."""

    @classmethod
    def is_compatible(cls, model: onnx.ModelProto, device: str = "CPU", **kwargs: Any) -> bool:
        """True when every node can run (checked by compiling the graph)."""
        try:
            cls.prepare(model, device, **kwargs)
        except (NotImplementedError, ValueError):
            return False
        return True

    @classmethod
    def prepare(cls, model: onnx.ModelProto, device: str = "CPU", **kwargs: Any) -> PoolkitRep:
        """Check the model and return a :class:`PoolkitRep`."""
        _check_device(device)
        return PoolkitRep(_prepare(model, **kwargs))

    @classmethod
    def run_model(cls, model: onnx.ModelProto, inputs: Any, device: str = "CPU",
                  **kwargs: Any) -> tuple[np.ndarray, ...]:
        """Prepare and run in one go."""
        return cls.prepare(model, device, **kwargs).run(inputs)

    @classmethod
    def run_node(cls, node: onnx.NodeProto, inputs: Sequence[Any] | Mapping[str, Any],
                 device: str = "CPU", outputs_info: Sequence[tuple[Any, Any]] | None = None,
                 **kwargs: Any) -> tuple[np.ndarray, ...]:
        """Run a single node on arrays given in the node's input order (or by name)."""
        _check_device(device)
        from onnx import helper

        opset = int(kwargs.pop("opset_version", onnx.defs.onnx_opset_version()))
        names = [n for n in node.input if n]
        if isinstance(inputs, Mapping):
            feed = {k: np.asarray(v) for k, v in inputs.items()}
        else:
            feed = {k: np.asarray(v) for k, v in zip(names, inputs)}
        graph = helper.make_graph(
            [node], "run_node",
            [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(feed[n].dtype),
                                           None) for n in names if n in feed],
            [helper.make_tensor_value_info(n, onnx.TensorProto.UNDEFINED, None)
             for n in node.output if n])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        return cls.run_model(model, feed, device, **kwargs)

    @classmethod
    def supports_device(cls, device: str) -> bool:
        """Only ``"CPU"``."""
        return Device(device).type == DeviceType.CPU


prepare = PoolkitBackend.prepare
run_model = PoolkitBackend.run_model
run_node = PoolkitBackend.run_node
supports_device = PoolkitBackend.supports_device
is_compatible = PoolkitBackend.is_compatible
