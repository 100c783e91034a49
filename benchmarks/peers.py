"""The implementations that are timed side by side: poolkit and its peers.

Each peer turns a :class:`~benchmarks.rows.Row` plus its NumPy input into a
:class:`Prepared` call: ``run()`` does the timed work (forward, or forward and
backward) and blocks until the result exists; ``to_numpy(result)`` converts the
result to an array in the row's layout, untimed, so it can be compared with poolkit.

A peer that cannot compute *exactly* the row's operation (another padding rule,
a layout or dtype it does not support) raises :class:`Unsupported`; it never
computes something merely similar. Where a peer has no single op for the row but
an exact composition exists, the composition is used and named in ``Prepared.note``.

Frameworks are imported lazily, inside :meth:`Peer.available` / :meth:`Peer.prepare`.
"""
from __future__ import annotations

import importlib
import math
import os
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .rows import Row, output_spatial, resolve_pads

__all__ = ["Unsupported", "Prepared", "Peer", "PEERS", "get_peers"]


class Unsupported(Exception):
    """The peer has no exact equivalent of the row (the reason is the message)."""


@dataclass
class Prepared:
    """A ready-to-time call."""

    run: Callable[[], Any]
    to_numpy: Callable[[Any], np.ndarray]
    note: str = ""
    #: How many calls of the op one ``run()`` makes. GPU peers queue several launches and
    #: wait once, so a call's time is not a host round trip; the harness divides by this.
    calls: int = 1


def _threads() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        return os.cpu_count() or 1


def _sym_pads(row: Row, quick: bool) -> tuple[int, ...]:
    """Symmetric pads (PyTorch style) or Unsupported."""
    pads = row.pads(quick)
    if any(lo != hi for lo, hi in pads):
        raise Unsupported(f"asymmetric padding {pads}")
    if any(lo > k // 2 for (lo, _), k in zip(pads, row.pool_size)):
        raise Unsupported("padding larger than half the window")
    return tuple(lo for lo, _ in pads)


def _window(row: Row, quick: bool) -> tuple[tuple[int, ...], tuple[int, ...], list[tuple[int, int]]]:
    """``(pool_size, strides, pads)`` of a windowed row, or of an adaptive row whose sizes
    divide (then it is an ordinary pooling with window = stride = in/out); else Unsupported."""
    if row.kind == "windowed":
        return row.pool_size, row.strides, row.pads(quick)
    spatial = row.nc_spatial(quick)[2]
    if any(n % o for n, o in zip(spatial, row.output_size)):
        raise Unsupported("adaptive pooling with sizes that do not divide")
    k = tuple(n // o for n, o in zip(spatial, row.output_size))
    return k, k, [(0, 0)] * row.ndim


class Peer:
    """Base class: one implementation to time."""

    #: Short name used by ``--peers`` and as the table column.
    name = ""
    #: Column header.
    label = ""
    #: Module whose presence makes the peer available.
    module = ""
    #: Whether RSS growth shows what a call allocates (False for allocators that keep freed blocks).
    rss_measurable = True
    #: Whether the peer runs on a GPU (``--gpu``): it gets its own floor and is not a CPU rival.
    gpu = False

    def available(self) -> bool:
        """Whether the peer's package is installed (imports nothing heavy otherwise)."""
        return importlib.util.find_spec(self.module) is not None

    def version(self) -> str:
        """Version string of the peer's package."""
        mod = importlib.import_module(self.module)
        return str(getattr(mod, "__version__", "?"))

    def setup(self) -> None:
        """One-time configuration (threads) before the first row."""

    def prepare(self, row: Row, x: np.ndarray, dy: np.ndarray | None, quick: bool,
                for_memory: bool = False) -> Prepared:
        """Build the timed call for ``row`` on input ``x`` (and ``dy`` when backward)."""
        raise NotImplementedError


# --------------------------------------------------------------------- poolkit
class PoolkitPeer(Peer):
    name, label, module = "poolkit", "poolkit", "poolkit"

    #: Set by the harness to the registry's callables (name -> function) when available.
    funcs: dict[str, Callable] | None = None

    def func(self, op: str) -> Callable:
        if self.funcs is not None and op in self.funcs:
            return self.funcs[op]
        import poolkit

        try:
            return getattr(poolkit, op)
        except AttributeError:
            raise Unsupported(f"poolkit.{op} not available") from None

    def prepare(self, row, x, dy, quick, for_memory=False):
        f = self.func(row.op)
        args, kw = row.call_args()
        if not row.backward:
            return Prepared(lambda: f(x, *args, **kw), np.asarray)
        import poolkit

        if not hasattr(poolkit, "vjp"):
            raise Unsupported("poolkit.vjp not available yet")

        def run():
            _, pullback = poolkit.vjp(f, x, *args, **kw)
            return pullback(dy)

        return Prepared(run, np.asarray)


# --------------------------------------------------------------------- PyTorch
class TorchPeer(Peer):
    name, label, module = "torch", "PyTorch", "torch"
    device = "cpu"

    def setup(self):
        import torch

        torch.set_num_threads(_threads())

    def prepare(self, row, x, dy, quick, for_memory=False):
        import torch
        import torch.nn.functional as F

        nd = row.ndim
        cl = row.layout == "channels_last"
        red, kind = row.reduction, row.kind
        if x.dtype == np.uint8 and red != "max":
            raise Unsupported("no uint8 kernel")
        perm = (0, nd + 1, *range(1, nd + 1))          # N...C -> NC...
        inv = (0, *range(2, nd + 2), 1)               # NC... -> N...C

        def to_torch(a):
            t = torch.from_numpy(a)
            # a permuted NHWC array *is* a channels_last tensor (same strides), also once copied
            # to a GPU (`Tensor.to` keeps dense strides)
            return (t.permute(perm) if cl else t).to(self.device)

        def back(t):
            t = t.detach()
            if cl and t.dim() == nd + 2:
                t = t.permute(inv)
            return t.cpu().numpy()

        note = ""
        if cl and nd == 1:
            note = "no channels-last 1-D memory format: strided (N, C, L) view"
        dims = tuple(range(2, nd + 2))
        if kind == "global":
            if red == "max":
                fn = lambda t: t.amax(dim=dims)  # noqa: E731
            elif red == "avg":
                fn = lambda t: t.mean(dim=dims)  # noqa: E731
            else:
                fn = lambda t: torch.linalg.vector_norm(t, ord=row.p, dim=dims)  # noqa: E731
            note = {"max": "Tensor.amax", "avg": "Tensor.mean", "lp": "linalg.vector_norm"}[red]
        elif kind == "adaptive":
            pool = getattr(F, f"adaptive_{red}_pool{nd}d")
            fn = lambda t: pool(t, row.output_size)  # noqa: E731
        elif red == "max":
            pool = getattr(F, f"max_pool{nd}d")
            pad = _sym_pads(row, quick)
            fn = lambda t: pool(t, row.pool_size, row.strides, pad)  # noqa: E731
        elif red == "avg":
            pool = getattr(F, f"avg_pool{nd}d")
            pad = _sym_pads(row, quick)
            fn = lambda t: pool(t, row.pool_size, row.strides, pad, count_include_pad=False)  # noqa: E731
        else:
            if any(p != (0, 0) for p in row.pads(quick)):
                raise Unsupported("lp_pool has no padding")
            if row.p % 2:
                raise Unsupported("torch lp_pool sums x**p, not |x|**p: differs for odd p")
            pool = getattr(F, f"lp_pool{nd}d")
            fn = lambda t: pool(t, row.p, row.pool_size, row.strides)  # noqa: E731

        xt = to_torch(x)
        if not row.backward:
            def run():
                with torch.no_grad():
                    return fn(xt)
            return self._prepared(run, back, note)

        xt = xt.detach().requires_grad_(True)
        dyt = to_torch(dy) if kind != "global" else torch.from_numpy(dy).to(self.device)

        def run_bwd():
            y = fn(xt)
            (dx,) = torch.autograd.grad(y, xt, dyt)
            return dx

        return self._prepared(run_bwd, back, note)

    def _prepared(self, run, back, note):
        return Prepared(run, back, note)


#: Launches a GPU peer queues per timed ``run()`` before it waits once.
GPU_CALLS = 20


class TorchCudaPeer(TorchPeer):
    """PyTorch on the first CUDA device (``--gpu``); the input is copied there untimed."""

    name, label = "torch-cuda", "PyTorch CUDA"
    device, gpu, rss_measurable, calls = "cuda", True, False, GPU_CALLS

    def available(self):
        if not super().available():
            return False
        import torch

        return torch.cuda.is_available()

    def _prepared(self, run, back, note):
        def run_many():
            for _ in range(self.calls):
                y = run()
            self._sync()
            return y

        return Prepared(run_many, back, note, calls=self.calls)

    def _sync(self):
        import torch

        torch.cuda.synchronize()

    def copy_bandwidth(self, nbytes: int = 2**30, repeat: int = 20) -> dict[str, Any]:
        """Device-to-device copy bandwidth (bytes read + written per second, median of CUDA-event
        timed copies of ``nbytes``), the GPU counterpart of the harness's CPU copy."""
        import torch

        src = torch.rand(nbytes // 4, device="cuda")
        dst = torch.empty_like(src)
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        ts = []
        for i in range(repeat + 3):
            start.record()
            dst.copy_(src)
            end.record()
            end.synchronize()
            if i >= 3:
                ts.append(start.elapsed_time(end) / 1e3)
        bw = 2 * src.numel() * 4 / float(np.median(ts))
        return {"device": torch.cuda.get_device_name(), "bytes": float(src.numel() * 4), "bandwidth": bw}


# --------------------------------------------------------------------- TensorFlow
class TensorFlowPeer(Peer):
    name, label, module = "tf", "TensorFlow", "tensorflow"
    # TF's CPU allocator keeps freed buffers: after warm-up a call's RSS growth is ~0
    rss_measurable = False

    def setup(self):
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import tensorflow as tf

        n = _threads()
        try:
            tf.config.threading.set_intra_op_parallelism_threads(n)
            tf.config.threading.set_inter_op_parallelism_threads(n)
        except RuntimeError:  # already initialised
            pass

    def prepare(self, row, x, dy, quick, for_memory=False):
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import tensorflow as tf

        if row.layout != "channels_last":
            raise Unsupported("TF CPU pooling kernels are channels-last only")
        nd = row.ndim
        red, kind = row.reduction, row.kind
        axes = list(range(1, nd + 1))
        note = ""

        if kind == "global":
            if red == "max":
                fn, note = (lambda t: tf.reduce_max(t, axis=axes)), "reduce_max"
            elif red == "avg":
                fn, note = (lambda t: tf.reduce_mean(t, axis=axes)), "reduce_mean"
            elif row.p == 2:
                fn, note = (lambda t: tf.sqrt(tf.reduce_sum(t * t, axis=axes))), "sqrt(reduce_sum(x*x))"
            else:
                raise Unsupported("no Lp reduction")
        else:
            k, s, pads = _window(row, quick)
            k, s = list(k), list(s)
            if kind == "adaptive":
                note = "pool with window = stride = in/out (sizes divide)"
            if all(p == (0, 0) for p in pads):
                padding = "VALID"
            elif pads == resolve_pads(row.nc_spatial(quick)[2], k, s, "same"):
                padding = "SAME"
            else:
                padding = None
            if red == "max":
                if padding is not None:
                    fn = lambda t: tf.nn.max_pool(t, k, s, padding)  # noqa: E731
                elif nd == 2:
                    explicit = [[0, 0], *[list(p) for p in pads], [0, 0]]
                    note = "explicit padding"
                    fn = lambda t: tf.nn.max_pool2d(t, k, s, explicit)  # noqa: E731
                else:
                    # exact composition: pad with the dtype's lowest value, then VALID
                    fill = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
                    fill = tf.constant(fill, dtype=tf.as_dtype(x.dtype))
                    tpads = [[0, 0], *[list(p) for p in pads], [0, 0]]
                    note = "tf.pad(lowest) + VALID max_pool"
                    fn = lambda t: tf.nn.max_pool(tf.pad(t, tpads, constant_values=fill), k, s, "VALID")  # noqa: E731
            elif red == "avg":
                if padding is None:
                    raise Unsupported(f"no TF average-pool padding equals pads {pads}")
                fn = lambda t: tf.nn.avg_pool(t, k, s, padding)  # noqa: E731
            else:
                if padding != "VALID" or row.p != 2:
                    raise Unsupported("no Lp pooling op")
                area = float(math.prod(k))
                note = "sqrt(k*avg_pool(x*x)) (no Lp op)"
                fn = lambda t: tf.sqrt(tf.nn.avg_pool(t * t, k, s, "VALID") * area)  # noqa: E731

        with tf.device("/CPU:0"):
            xt = tf.constant(x)
            dyt = tf.constant(dy) if dy is not None else None
        if not row.backward:
            f = tf.function(fn)
            return Prepared(lambda: f(xt), lambda r: r.numpy(), note)

        @tf.function
        def fb(t, d):
            with tf.GradientTape() as tape:
                tape.watch(t)
                y = fn(t)
            # the forward result is returned too: a graph that returned only the gradient would
            # drop the forward pass of an average (AvgPoolGrad needs only the input's shape)
            return tape.gradient(y, t, output_gradients=d), y

        return Prepared(lambda: fb(xt, dyt), lambda r: r[0].numpy(), note)


# --------------------------------------------------------------------- ONNX Runtime
class OnnxRuntimePeer(Peer):
    name, label, module = "ort", "ONNX Runtime", "onnxruntime"

    def available(self):
        return super().available() and importlib.util.find_spec("onnx") is not None

    def prepare(self, row, x, dy, quick, for_memory=False):
        if row.layout != "channels_first":
            raise Unsupported("ONNX pooling is channels-first only")
        if row.backward:
            raise Unsupported("inference only")
        import onnx
        import onnxruntime as ort
        from onnx import TensorProto, helper

        elem = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.float16): TensorProto.FLOAT16,
                np.dtype(np.float64): TensorProto.DOUBLE, np.dtype(np.uint8): TensorProto.UINT8,
                np.dtype(np.int8): TensorProto.INT8}.get(x.dtype)
        if elem is None:
            raise Unsupported(f"dtype {x.dtype}")
        red, kind = row.reduction, row.kind
        if red == "lp" and row.p != int(row.p):
            raise Unsupported("LpPool p must be an integer")
        note = ""
        attrs: dict[str, Any] = {}
        if kind == "global":
            op = {"max": "GlobalMaxPool", "avg": "GlobalAveragePool", "lp": "GlobalLpPool"}[red]
        else:
            k, s, pads = _window(row, quick)
            if kind == "adaptive":
                note = "pool with window = stride = in/out (sizes divide)"
            op = {"max": "MaxPool", "avg": "AveragePool", "lp": "LpPool"}[red]
            attrs = dict(kernel_shape=list(k), strides=list(s),
                         pads=[lo for lo, _ in pads] + [hi for _, hi in pads])
            if red == "avg":
                attrs["count_include_pad"] = 0
        if red == "lp":
            attrs["p"] = int(row.p)
        out_shape = list(row.output_shape(quick)) + ([1] * row.ndim if kind == "global" else [])
        node = helper.make_node(op, ["x"], ["y"], **attrs)
        graph = helper.make_graph(
            [node], "pool", [helper.make_tensor_value_info("x", elem, list(x.shape))],
            [helper.make_tensor_value_info("y", elem, out_shape)])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
        model.ir_version = 9
        onnx.checker.check_model(model)
        so = ort.SessionOptions()
        so.intra_op_num_threads = _threads()
        so.inter_op_num_threads = 1
        so.log_severity_level = 3
        if for_memory:
            so.enable_cpu_mem_arena = False  # so that RSS reflects what each call allocates
        sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
        feed = {"x": x}
        if kind == "global":
            to_np = lambda r: r[0].reshape(r[0].shape[:2])  # noqa: E731
        else:
            to_np = lambda r: r[0]  # noqa: E731
        return Prepared(lambda: sess.run(None, feed), to_np, note)


# --------------------------------------------------------------------- JAX
class JaxPeer(Peer):
    name, label, module = "jax", "JAX", "jax"
    platform = "cpu"
    calls = 1

    def setup(self):
        os.environ.setdefault("JAX_PLATFORMS", "cpu")

    def prepare(self, row, x, dy, quick, for_memory=False):
        os.environ.setdefault("JAX_PLATFORMS", "cpu")
        import jax
        import jax.numpy as jnp
        from jax import lax

        nd = row.ndim
        axes = row.spatial_axes()
        rank = nd + 2
        red, kind = row.reduction, row.kind
        if np.dtype(x.dtype).itemsize == 8:
            raise Unsupported("64-bit types need jax_enable_x64")
        p = row.p

        def full(per_spatial, fill):
            out = [fill] * rank
            for a, v in zip(axes, per_spatial):
                out[a] = v
            return tuple(out)

        if kind == "global":
            note = {"max": "jnp.max", "avg": "jnp.mean", "lp": "sqrt(sum(x*x))"}[red]
            if red == "max":
                def fn(t):
                    return jnp.max(t, axis=axes)
            elif red == "avg":
                def fn(t):
                    return jnp.mean(t, axis=axes)
            else:
                def fn(t):
                    a = jnp.abs(t)
                    s = jnp.sum(a * a if p == 2 else a ** p, axis=axes)
                    return jnp.sqrt(s) if p == 2 else s ** (1.0 / p)
        else:
            k, s, pads = _window(row, quick)
            note = "lax.reduce_window"
            if kind == "adaptive":
                note += " with window = stride = in/out (sizes divide)"
            win, strides, padcfg = full(k, 1), full(s, 1), full(pads, (0, 0))
            if red == "max":
                init = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
                init = np.array(init, dtype=x.dtype)

                def fn(t):
                    return lax.reduce_window(t, init, lax.max, win, strides, padcfg)
            else:
                zero = np.array(0, dtype=x.dtype)
                if all(q == (0, 0) for q in pads):
                    counts = None
                else:  # number of real cells per window (count_include_pad=False)
                    ones = np.ones(full(row.nc_spatial(quick)[2], 1), dtype=np.float32)
                    counts = np.asarray(lax.reduce_window(ones, np.float32(0), lax.add, win, strides, padcfg))
                    counts = counts.astype(x.dtype)
                area = math.prod(k)
                if red == "avg":
                    def fn(t):
                        total = lax.reduce_window(t, zero, lax.add, win, strides, padcfg)
                        return total / area if counts is None else total / counts
                else:
                    def fn(t):
                        a = jnp.abs(t)
                        total = lax.reduce_window(a * a if p == 2 else a ** p, zero, lax.add, win, strides, padcfg)
                        return jnp.sqrt(total) if p == 2 else total ** (1.0 / p)

        dev = jax.devices(self.platform)[0]
        xj = jax.device_put(x, dev)
        calls = self.calls
        if not row.backward:
            f = jax.jit(fn)

            def run_fwd():
                for _ in range(calls):
                    y = f(xj)
                return y.block_until_ready()
            return Prepared(run_fwd, np.asarray, note, calls=calls)
        dyj = jax.device_put(dy, dev)

        @jax.jit
        def fb(t, d):
            # the forward result is returned too: a compiled graph that returned only the
            # gradient would drop the forward pass of an average (its gradient needs only shapes)
            y, pull = jax.vjp(fn, t)
            return y, pull(d)[0]

        def run():
            for _ in range(calls):
                y, dx = fb(xj, dyj)
            return dx.block_until_ready(), y.block_until_ready()

        return Prepared(run, lambda r: np.asarray(r[0]), note, calls=calls)


class JaxGpuPeer(JaxPeer):
    """JAX on the first CUDA device (``--gpu``, which lets JAX see its GPU platform)."""

    name, label = "jax-gpu", "JAX GPU"
    platform, gpu, rss_measurable, calls = "gpu", True, False, GPU_CALLS

    def available(self):
        if not super().available():
            return False
        try:
            import jax

            return bool(jax.devices("gpu"))
        except Exception:  # no GPU platform (or JAX_PLATFORMS=cpu)
            return False


# --------------------------------------------------------------------- NumPy
class NumpyPeer(Peer):
    name, label, module = "numpy", "NumPy", "numpy"

    def prepare(self, row, x, dy, quick, for_memory=False):
        from numpy.lib.stride_tricks import sliding_window_view

        if row.backward:
            raise Unsupported("no autodiff")
        axes = row.spatial_axes()
        nd = row.ndim
        n, c, spatial = row.nc_spatial(quick)
        outdt = np.dtype(row.out_dtype)
        acc = np.float32 if outdt == np.float16 else outdt
        red, kind, p = row.reduction, row.kind, row.p

        if kind == "global":
            if red == "max":
                return Prepared(lambda: x.max(axis=axes), np.asarray, "ndarray.max")
            if red == "avg":
                return Prepared(lambda: x.mean(axis=axes, dtype=acc).astype(outdt, copy=False), np.asarray,
                                "ndarray.mean")
            if p == 2:
                return Prepared(lambda: np.sqrt(np.square(x, dtype=acc).sum(axis=axes)).astype(outdt, copy=False),
                                np.asarray, "sqrt(sum(x*x))")
            raise Unsupported("global Lp with p != 2")

        pool_size, strides, pads = _window(row, quick)
        out = output_spatial(spatial, pool_size, strides, pads)

        if all(q == (0, 0) for q in pads) and tuple(pool_size) == tuple(strides):
            # non-overlapping windows: crop + reshape, reduce over the window axes
            shape, redax, sl = [n], [], [slice(None)] * x.ndim
            if row.layout == "channels_first":
                shape.append(c)
            for a, o, k in zip(axes, out, pool_size):
                sl[a] = slice(0, o * k)
                shape += [o, k]
                redax.append(len(shape) - 1)
            if row.layout == "channels_last":
                shape.append(c)
            redax = tuple(redax)
            sl = tuple(sl)
            note = "crop + reshape"

            def windows():
                return x[sl].reshape(shape)
        else:
            note = "pad + sliding_window_view"
            sl = [slice(None)] * (x.ndim + nd)
            for a, st in zip(axes, strides):
                sl[a] = slice(None, None, st)
            sl = tuple(sl)
            redax = tuple(range(x.ndim, x.ndim + nd))
            padcfg = [(0, 0)] * x.ndim
            for a, q in zip(axes, pads):
                padcfg[a] = q
            fill = (-np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min) if red == "max" else 0

            def windows():
                xp = np.pad(x, padcfg, constant_values=fill) if any(q != (0, 0) for q in pads) else x
                return sliding_window_view(xp, pool_size, axis=axes)[sl]

        if red == "max":
            return Prepared(lambda: windows().max(axis=redax), np.asarray, note)
        if red == "avg":
            if any(q != (0, 0) for q in pads):
                # divisor = number of real cells in each window
                onesp = np.pad(np.ones(spatial, dtype=acc), pads)
                cnt = sliding_window_view(onesp, pool_size)[tuple(slice(None, None, st) for st in strides)]
                cnt = cnt.sum(axis=tuple(range(nd, 2 * nd)))
                if row.layout == "channels_last":
                    cnt = cnt[..., None]

                def run():
                    return (windows().sum(axis=redax, dtype=acc) / cnt).astype(outdt, copy=False)
            else:
                def run():
                    return windows().mean(axis=redax, dtype=acc).astype(outdt, copy=False)
            return Prepared(run, np.asarray, note)

        def run_lp():
            w = windows().astype(acc, copy=False)
            if p == 2:
                return np.sqrt((w * w).sum(axis=redax)).astype(outdt, copy=False)
            return ((np.abs(w) ** p).sum(axis=redax) ** (1.0 / p)).astype(outdt, copy=False)
        return Prepared(run_lp, np.asarray, note)


#: Every known peer, in column order (poolkit first).
PEERS: dict[str, Peer] = {p.name: p for p in (PoolkitPeer(), TorchPeer(), TensorFlowPeer(),
                                                OnnxRuntimePeer(), JaxPeer(), NumpyPeer(),
                                                TorchCudaPeer(), JaxGpuPeer())}


def get_peers(names: str | None, gpu: bool = False) -> list[Peer]:
    """Installed peers named in the comma-separated ``names`` (all CPU peers when None, and the
    GPU peers too when ``gpu``); poolkit always first."""
    if names:
        wanted = [n.strip() for n in names.split(",") if n.strip()]
        unknown = [n for n in wanted if n not in PEERS]
        if unknown:
            raise ValueError(f"`peers` must name known peers {sorted(PEERS)}; received peers={names!r}")
    else:
        wanted = [n for n, p in PEERS.items() if gpu or not p.gpu]
    if "poolkit" not in wanted:
        wanted.insert(0, "poolkit")
    return [PEERS[n] for n in PEERS if n in wanted and PEERS[n].available()]
