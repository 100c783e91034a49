"""ONNX backend conformance: every forward pooling node case shipped with the ``onnx`` package.

``onnx.backend.test.case.node.collect_testcases`` yields the node test cases (model + input and
expected output arrays) that ONNX backends must pass.  Each pooling case is translated from
its ONNX node attributes to a poolkit call with ``data_format="channels_first"`` and compared
with the expected outputs: exactly for MaxPool values and Indices, with the case's own
``rtol``/``atol`` otherwise.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")

import poolkit as pk  # noqa: E402

FORWARD_OPS = {"MaxPool", "AveragePool", "LpPool", "GlobalMaxPool", "GlobalAveragePool",
               "GlobalLpPool"}


@functools.lru_cache(maxsize=None)
def pooling_cases() -> dict[str, Any]:
    """All node test cases whose name mentions pooling, keyed by name."""
    from onnx.backend.test.case.node import collect_testcases

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unrelated ops' case generators warn on overflow
        cases = collect_testcases(None)
    return {c.name: c for c in cases if "pool" in c.name.lower()}


def _attrs(node: Any) -> dict[str, Any]:
    out = {}
    for a in node.attribute:
        v = onnx.helper.get_attribute_value(a)
        out[a.name] = v.decode() if isinstance(v, bytes) else v
    return out


def translate(node: Any, rank: int) -> tuple[Any, tuple, dict]:
    """ONNX pooling node -> ``(poolkit function, positional args, keyword args)``."""
    op = node.op_type
    a = _attrs(node)
    if op.startswith("Global"):
        func = {"GlobalMaxPool": pk.global_max_pool, "GlobalAveragePool": pk.global_avg_pool,
                "GlobalLpPool": pk.global_lp_pool}[op]
        args = (a.get("p", 2),) if op == "GlobalLpPool" else ()
        return func, args, dict(data_format="channels_first", keepdims=True)
    auto_pad = a.get("auto_pad", "NOTSET")
    if auto_pad == "SAME_UPPER":
        padding: Any = "same"
    elif auto_pad == "SAME_LOWER":
        padding = "same_lower"
    elif auto_pad == "VALID":
        padding = "valid"
    else:  # NOTSET: pads = [x1_begin, x2_begin, ..., x1_end, x2_end, ...]
        pads = a.get("pads", [0] * (2 * rank))
        padding = tuple((int(pads[i]), int(pads[i + rank])) for i in range(rank))
    kwargs: dict[str, Any] = dict(
        strides=tuple(a.get("strides", [1] * rank)),
        padding=padding,
        dilation=tuple(a.get("dilations", [1] * rank)),
        ceil_mode=bool(a.get("ceil_mode", 0)),
        data_format="channels_first",
    )
    kernel = tuple(a["kernel_shape"])
    if op == "MaxPool":
        return pk.max_pool, (kernel,), kwargs
    if op == "AveragePool":
        kwargs["count_include_pad"] = bool(a.get("count_include_pad", 0))
        return pk.avg_pool, (kernel,), kwargs
    if op == "LpPool":
        return pk.lp_pool, (a.get("p", 2), kernel), kwargs
    raise NotImplementedError(op)


def onnx_indices(plane_indices: np.ndarray, spatial: tuple[int, ...], storage_order: int) -> np.ndarray:
    """poolkit's per-(n, c)-plane row-major argmax -> ONNX MaxPool ``Indices``.

    ONNX indices are flat over the whole ``N*C*spatial`` tensor, row-major for
    ``storage_order=0`` and with column-major spatial dims for ``storage_order=1``.
    """
    n, c = plane_indices.shape[:2]
    coords = np.unravel_index(plane_indices, spatial)
    within = np.ravel_multi_index(coords, spatial, order="F" if storage_order else "C")
    plane = (np.arange(n)[:, None] * c + np.arange(c)[None, :]).reshape(
        (n, c) + (1,) * len(spatial))
    return within + plane * int(np.prod(spatial))


def _case_names() -> list[str]:
    try:
        return sorted(pooling_cases())
    except Exception:  # pragma: no cover - onnx present but its test data is not
        return []


@pytest.mark.parametrize("name", _case_names())
def test_onnx_pooling_case(name: str) -> None:
    case = pooling_cases()[name]
    node = case.model.graph.node[0]
    if node.op_type == "MaxUnpool":
        pytest.skip("MaxUnpool is covered by the unpooling tests, not the forward pooling proof")
    assert node.op_type in FORWARD_OPS, node.op_type
    rtol = getattr(case, "rtol", 1e-3) or 1e-3
    atol = getattr(case, "atol", 1e-7) or 1e-7
    for inputs, expected in case.data_sets:
        x = inputs[0]
        rank = x.ndim - 2
        func, args, kwargs = translate(node, rank)
        x_before = x.copy()
        want_indices = node.op_type == "MaxPool" and len(expected) > 1
        if want_indices:
            y, idx = func(x, *args, return_indices=True, **kwargs)
        else:
            y = func(x, *args, **kwargs)
        np.testing.assert_array_equal(x, x_before)
        assert y.shape == expected[0].shape
        assert y.dtype == expected[0].dtype
        if node.op_type in ("MaxPool", "GlobalMaxPool"):
            np.testing.assert_array_equal(y, expected[0])
        else:
            np.testing.assert_allclose(y, expected[0], rtol=rtol, atol=atol)
        if not node.op_type.startswith("Global"):
            assert pk.output_shape(x.shape, *args[-1:], **{
                k: v for k, v in kwargs.items() if k != "count_include_pad"}) == y.shape
        if want_indices:
            storage_order = _attrs(node).get("storage_order", 0)
            np.testing.assert_array_equal(
                onnx_indices(idx, x.shape[2:], storage_order), expected[1])


def test_all_pooling_cases_are_collected() -> None:
    cases = pooling_cases()
    ops = {c.model.graph.node[0].op_type for c in cases.values()}
    assert {"MaxPool", "AveragePool", "LpPool", "GlobalMaxPool", "GlobalAveragePool"} <= ops
    assert ops <= FORWARD_OPS | {"MaxUnpool"}
    assert len(cases) >= 50  # 53 with onnx 1.16+; guards against silently collecting nothing


def test_onnx_indices_conversion() -> None:
    # 2x3 plane, argmax at (1, 2): row-major 5, column-major 2*2 + 1 = 5 -> use (0, 2) instead.
    idx = np.array([[[2]], [[5]]], dtype=np.int64).reshape(1, 2, 1, 1)
    np.testing.assert_array_equal(onnx_indices(idx, (2, 3), 0).ravel(), [2, 6 + 5])
    np.testing.assert_array_equal(onnx_indices(idx, (2, 3), 1).ravel(), [4, 6 + 5])
