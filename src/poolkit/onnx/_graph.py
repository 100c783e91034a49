"""Load an ONNX model and run its graph node by node on the poolkit ops of :mod:`._mapping`."""
from __future__ import annotations

import os
from typing import Any, Mapping, Sequence

import numpy as np

from ._mapping import OPS, NodeContext, OnnxNodeError, UnsupportedOnnxError

_DEFAULT_DOMAINS = ("", "ai.onnx")


def _onnx():
    try:
        import onnx
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("poolkit.onnx needs the 'onnx' package: pip install 'poolkit[onnx]'"
                          ) from exc
    return onnx


def load_model(model: Any):
    """Return an ``onnx.ModelProto`` from a ModelProto, a path or serialized bytes."""
    onnx = _onnx()
    if isinstance(model, onnx.ModelProto):
        return model
    if isinstance(model, (bytes, bytearray, memoryview)):
        return onnx.load_from_string(bytes(model))
    if isinstance(model, (str, os.PathLike)):
        return onnx.load(os.fspath(model))
    raise TypeError("`model` must be an onnx.ModelProto, a path or serialized bytes; received "
                    f"model of type {type(model).__name__}")


def model_opset(model) -> int:
    """The model's opset version for the default ONNX domain."""
    for imp in model.opset_import:
        if imp.domain in _DEFAULT_DOMAINS:
            return int(imp.version)
    found = [(i.domain, i.version) for i in model.opset_import]
    raise UnsupportedOnnxError("the model imports no opset of the default ONNX domain; "
                               f"received opset_import={found}")


class CompiledNode:
    """One node, checked once against its operator schema: ready to run on arrays."""

    def __init__(self, node, opset: int, unpool_index_space: str = "inferred") -> None:
        onnx = _onnx()
        self.inputs = list(node.input)
        self.outputs = list(node.output)
        while self.outputs and not self.outputs[-1]:
            self.outputs.pop()
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        self.ctx = NodeContext(node.name, node.op_type, opset, attrs, len(self.outputs),
                               unpool_index_space)
        if node.domain not in _DEFAULT_DOMAINS:
            raise self.ctx.unsupported(f"domain {node.domain!r} is not supported; poolkit runs "
                                       "the default ONNX domain only")
        if node.op_type not in OPS:
            raise self.ctx.unsupported(
                f"operator type {node.op_type!r} is not supported; poolkit runs "
                f"{', '.join(sorted(OPS))}")
        try:
            schema = onnx.defs.get_schema(node.op_type, opset, "")
        except onnx.defs.SchemaError as exc:
            raise self.ctx.error(f"operator {node.op_type} does not exist at opset {opset}"
                                 ) from exc
        for a in node.attribute:
            if a.name not in schema.attributes:
                raise self.ctx.unsupported(
                    f"is not an attribute of {node.op_type} at opset {opset} (its attributes: "
                    f"{', '.join(sorted(schema.attributes)) or 'none'})", a.name)
            want = schema.attributes[a.name].type
            if a.type != want:
                raise self.ctx.error(
                    f"must be of type {onnx.AttributeProto.AttributeType.Name(want)}; received "
                    f"{onnx.AttributeProto.AttributeType.Name(a.type)}", a.name)
        for name, attr in schema.attributes.items():
            if attr.required and name not in attrs:
                raise self.ctx.error("is required", name)
        if len(self.outputs) > len(schema.outputs):
            raise self.ctx.error(f"{node.op_type} at opset {opset} has at most "
                                 f"{len(schema.outputs)} output(s); received {len(self.outputs)}")
        self.fn, self.n_required, self.n_optional = OPS[node.op_type]
        present = [i for i in self.inputs if i]
        if len(self.inputs) > self.n_required + self.n_optional or len(present) < self.n_required \
                or any(not i for i in self.inputs[:self.n_required]):
            raise self.ctx.error(f"expects {self.n_required} input(s)"
                                 + (f" and {self.n_optional} optional" if self.n_optional else "")
                                 + f"; received inputs={self.inputs}")

    def __call__(self, *args: np.ndarray | None) -> list[np.ndarray]:
        try:
            outs = self.fn(self.ctx, *args)
        except (OnnxNodeError, UnsupportedOnnxError):
            raise
        except ValueError as exc:
            raise self.ctx.error(str(exc)) from exc
        except TypeError as exc:
            raise TypeError(f"{self.ctx.describe()}: {exc}") from exc
        return outs[:len(self.outputs)]


class Program:
    """A model's graph compiled once: every node checked, initializers converted."""

    def __init__(self, model: Any, *, unpool_index_space: str = "inferred") -> None:
        _onnx()
        from onnx import numpy_helper

        if unpool_index_space not in ("inferred", "output"):
            raise ValueError("`unpool_index_space` must be 'inferred' or 'output'; received "
                             f"unpool_index_space={unpool_index_space!r}")
        self.model = load_model(model)
        graph = self.model.graph
        self.opset = model_opset(self.model)
        self.constants: dict[str, np.ndarray] = {
            t.name: numpy_helper.to_array(t) for t in graph.initializer}
        self.input_names = [i.name for i in graph.input if i.name not in self.constants]
        self.output_names = [o.name for o in graph.output]
        self.nodes = [CompiledNode(n, self.opset, unpool_index_space) for n in graph.node]

    def __call__(self, inputs: Sequence[Any] | Mapping[str, Any]) -> list[np.ndarray]:
        values: dict[str, np.ndarray] = dict(self.constants)
        if isinstance(inputs, Mapping):
            unknown = [k for k in inputs if k not in self.input_names and k not in self.constants]
            if unknown:
                raise ValueError(f"`inputs` names {unknown} are not graph inputs; the graph "
                                 f"inputs are {self.input_names}")
            values.update({k: np.asarray(v) for k, v in inputs.items()})
        else:
            inputs = list(inputs)
            if len(inputs) > len(self.input_names):
                raise ValueError(f"`inputs` has {len(inputs)} arrays but the graph has "
                                 f"{len(self.input_names)} inputs {self.input_names}")
            values.update({k: np.asarray(v) for k, v in zip(self.input_names, inputs)})
        missing = [k for k in self.input_names if k not in values]
        if missing:
            raise ValueError(f"`inputs` lacks the graph inputs {missing}")
        for node in self.nodes:
            args = []
            for name in node.inputs:
                if not name:
                    args.append(None)
                elif name in values:
                    args.append(values[name])
                else:
                    raise OnnxNodeError(f"{node.ctx.describe()}: input {name!r} is not computed "
                                        "before this node (graph not topologically sorted?)")
            for name, val in zip(node.outputs, node(*args)):
                if name:
                    values[name] = val
        return [values[n] for n in self.output_names]
